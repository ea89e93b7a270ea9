#if canImport(Glibc)
import Glibc
#endif

extension AgeIdentity {
    /// Parses an identity file in age's format: one `AGE-SECRET-KEY-1…` per line; empty
    /// lines and lines starting with `#` are ignored. Errors name the line number and never
    /// echo its content (it may be a secret key).
    public static func parseIdentityFile(_ text: String) throws(AgeError) -> [AgeIdentity] {
        var identities: [AgeIdentity] = []
        var number = 0
        // "\r\n" is one Character in Swift, so split on both line endings explicitly.
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            number += 1
            var line = Substring(rawLine)
            if line.hasSuffix("\r") { line = line.dropLast() }
            let trimmed = line.trimmingWhitespace()
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            do {
                identities.append(try AgeIdentity(String(trimmed)))
            } catch {
                throw AgeError(.invalidKey, "line \(number) of the identity file is not an age identity (\(error.reason))")
            }
        }
        guard !identities.isEmpty else { throw AgeError(.invalidKey, "the identity file holds no identities") }
        return identities
    }

    /// Loads an identity file. Refuses files that group or others may read or write: a
    /// secret key must be private to its owner (`chmod 600`). A passphrase-encrypted
    /// identity file (age-armored, as `age -p` writes it) is decrypted with `passphrase`.
    public static func loadIdentityFile(atPath path: String, passphrase: (@Sendable () throws -> String)? = nil) throws(AgeError) -> [AgeIdentity] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw AgeError(.io, FileError(operation: "open", path: path, code: errno).description) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw AgeError(.io, FileError(operation: "stat", path: path, code: errno).description) }
        guard info.st_mode & Glibc.S_IFMT == Glibc.S_IFREG else { throw AgeError(.invalidKey, "\(path) is not a regular file") }
        guard info.st_size <= 1 << 20 else { throw AgeError(.invalidKey, "\(path) is too large to be an identity file") }
        var bytes: [UInt8]
        do {
            bytes = try FileSource(fileDescriptor: fd).readAll(limit: 1 << 20)
        } catch {
            throw AgeError(.io, "reading \(path) failed: \(error)")
        }
        defer { secureWipe(&bytes) }
        if let kind = SecretFile.publicKind(of: bytes) {
            throw AgeError(.invalidKey, "\(path) holds \(kind), not an identity; give the identity file (.age)")
        }
        guard info.st_mode & 0o077 == 0 else {
            throw AgeError(.invalidKey, "secret key file \(path) is accessible by group or others (mode \(String(info.st_mode & 0o777, radix: 8))); run: chmod 600 \(path)")
        }
        if let first = bytes.first, AgeArmor.looksArmored(firstByte: first) || bytes.starts(with: Array("age-encryption.org/".utf8)) {
            guard let passphrase else { throw AgeError(.invalidKey, "\(path) is passphrase-protected; a passphrase is needed") }
            let secret: String
            do { secret = try passphrase() } catch { throw AgeError(.invalidArgument, "reading the passphrase failed: \(error)") }
            var plain: [UInt8]
            do { plain = try Age.decrypt(bytes, with: [AgeIdentity.passphrase(secret, maxWorkFactor: AgeScrypt.maximumWorkFactor)]) } catch {
                if error.kind == .noMatch { throw AgeError(.invalidKey, "wrong passphrase for \(path)") }
                throw error
            }
            defer { secureWipe(&plain) }
            guard let text = String(validating: plain, as: UTF8.self) else { throw AgeError(.invalidKey, "\(path) does not decrypt to text") }
            return try parseIdentityFile(text)
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw AgeError(.invalidKey, "\(path) is not UTF-8 text")
        }
        return try parseIdentityFile(text)
    }
}

extension AgeX25519.GeneratedKey {
    /// Writes the identity file to `path` with mode 0600, encrypted with `passphrase` when
    /// given (age-armored scrypt, readable by `age -d`). Never overwrites: an existing file
    /// is an error. The data is fsynced before this returns.
    public func writeIdentityFile(toPath path: String, passphrase: String? = nil) throws(AgeError) {
        var plain = Array(identityFile.utf8)
        defer { secureWipe(&plain) }
        var encrypted: [UInt8]?
        if let passphrase {
            encrypted = try Age.encrypt(plain, to: [AgeRecipient.passphrase(passphrase)], armored: true)
        }
        do {
            let sink = try FileSink(creating: path, mode: 0o600)
            do {
                try sink.write(encrypted ?? plain)
                try sink.sync()
                try sink.close()
            } catch {
                unlink(path)
                throw error
            }
        } catch {
            throw AgeError(.io, "writing the identity file failed: \(error)")
        }
    }
}

extension Substring {
    func trimmingWhitespace() -> Substring {
        var s = self
        while let c = s.first, c == " " || c == "\t" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" { s = s.dropLast() }
        return s
    }
}
