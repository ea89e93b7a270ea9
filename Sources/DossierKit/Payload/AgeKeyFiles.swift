#if canImport(Glibc)
import Glibc
#endif

extension AgeIdentity {
    /// Parses an identity file in age's format: one `AGE-SECRET-KEY-1…` per line; empty
    /// lines and lines starting with `#` are ignored. Errors name the line number and never
    /// echo its content (it may be a secret key). The text's copies made here are wiped, but
    /// the caller's string cannot be: `loadIdentityFile(atPath:)` never makes one.
    public static func parseIdentityFile(_ text: String) throws(AgeError) -> [AgeIdentity] {
        var bytes = Array(text.utf8)
        defer { secureWipe(&bytes) }
        return try withBytes(bytes) { (file) throws(AgeError) in try parseIdentityFile(bytes: file) }
    }

    /// Parses an identity file held in wiping memory, line by line, without copying it.
    static func parseIdentityFile(bytes file: UnsafeRawBufferPointer) throws(AgeError) -> [AgeIdentity] {
        var identities: [AgeIdentity] = []
        for (index, line) in SecretFile.lines(file).enumerated() {
            if line.isEmpty || file[line.lowerBound] == UInt8(ascii: "#") { continue }
            do {
                identities.append(try AgeIdentity(secretLine: UnsafeRawBufferPointer(rebasing: file[line])))
            } catch {
                throw AgeError(.invalidKey, "line \(index + 1) of the identity file is not an age identity (\(error.reason))")
            }
        }
        guard !identities.isEmpty else { throw AgeError(.invalidKey, "the identity file holds no identities") }
        return identities
    }

    /// Loads an identity file. Refuses files that group or others may read or write: a
    /// secret key must be private to its owner (`chmod 600`). A passphrase-encrypted
    /// identity file (age-armored, as `age -p` writes it) is decrypted with `passphrase`.
    /// The file's bytes, its decrypted text and every intermediate of the parsing stay in
    /// wiping memory.
    public static func loadIdentityFile(atPath path: String, passphrase: (@Sendable () throws -> String)? = nil) throws(AgeError) -> [AgeIdentity] {
        try loadIdentityFile(path, passphrase: passphrase.map { text in { Passphrase(try text()) } })
    }

    /// Loads an identity file as `loadIdentityFile(atPath:passphrase:)` does, asking
    /// `passphrase` only if the file is passphrase-protected; the passphrase never becomes a
    /// string.
    public static func loadIdentityFile(atPath path: String, passphrase: @escaping @Sendable () throws -> Passphrase) throws(AgeError) -> [AgeIdentity] {
        try loadIdentityFile(path, passphrase: Optional(passphrase))
    }

    private static func loadIdentityFile(_ path: String, passphrase: (() throws -> Passphrase)?) throws(AgeError) -> [AgeIdentity] {
        let contents: SecureBytes
        do {
            contents = try SecretFile.read(path)
        } catch {
            switch error {
            case .system(let failure): throw AgeError(.io, failure.description)
            case .notRegularFile: throw AgeError(.invalidKey, "\(path) is not a regular file")
            case .tooLarge: throw AgeError(.invalidKey, "\(path) is too large to be an identity file")
            case .changed: throw AgeError(.io, "\(path) changed while it was read")
            case .publicKey(let kind): throw AgeError(.invalidKey, "\(path) holds \(kind), not an identity; give the identity file (.age)")
            case .exposed(let mode):
                throw AgeError(.invalidKey, "secret key file \(path) is accessible by group or others (mode \(String(mode, radix: 8))); run: chmod 600 \(path)")
            }
        }
        let encrypted = withBytes(contents) { AgeArmor.isEncryptedKeyFile($0) }
        if encrypted {
            guard let passphrase else { throw AgeError(.invalidKey, "\(path) is passphrase-protected; a passphrase is needed") }
            let secret: Passphrase
            do { secret = try passphrase() } catch { throw AgeError(.invalidArgument, "reading the passphrase failed: \(error)") }
            let plain: SecureBytes
            do {
                plain = try Age.decryptSecret(contents.unsafeCopy, with: [AgeIdentity.passphrase(secret, maxWorkFactor: AgeScrypt.keyFileMaxWorkFactor)])
            } catch {
                if error.kind == .noMatch { throw AgeError(.invalidKey, "wrong passphrase for \(path)") }
                throw error
            }
            return try withBytes(plain) { (file) throws(AgeError) in
                guard SecretFile.isUTF8(file) else { throw AgeError(.invalidKey, "\(path) does not decrypt to text") }
                return try parseIdentityFile(bytes: file)
            }
        }
        return try withBytes(contents) { (file) throws(AgeError) in
            guard SecretFile.isUTF8(file) else { throw AgeError(.invalidKey, "\(path) is not UTF-8 text") }
            return try parseIdentityFile(bytes: file)
        }
    }
}

extension AgeX25519.GeneratedKey {
    /// Writes the identity file to `path` with mode 0600, encrypted with `passphrase` when
    /// given (age-armored scrypt, readable by `age -d`). Never overwrites: an existing file
    /// is an error. The data is fsynced before this returns.
    public func writeIdentityFile(toPath path: String, passphrase: String? = nil) throws(AgeError) {
        try writeIdentityFile(path, passphrase: passphrase.map { Passphrase($0) })
    }

    /// Writes the identity file as `writeIdentityFile(toPath:passphrase:)` does, encrypted
    /// with `passphrase`.
    public func writeIdentityFile(toPath path: String, passphrase: Passphrase) throws(AgeError) {
        try writeIdentityFile(path, passphrase: Optional(passphrase))
    }

    private func writeIdentityFile(_ path: String, passphrase: Passphrase?) throws(AgeError) {
        var encrypted: [UInt8]?
        if let passphrase {
            let recipient = try AgeRecipient.passphrase(passphrase)
            encrypted = try withBytes(identityFileBytes) { (plain) throws(AgeError) in
                try Age.encrypt(bytes: plain, to: [recipient], armored: true)
            }
        }
        do {
            if let encrypted {
                try SecretFile.write(encrypted, to: path)
            } else {
                try SecretFile.write(identityFileBytes, to: path)
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
