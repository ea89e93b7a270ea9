#if canImport(Glibc)
import Glibc
#endif

/// An Ed25519 signing key with its minisign key id.
///
/// Secret key files are text: comment lines, then `DOSSIER-SIGNING-KEY-1…` (Bech32 of the
/// 8-byte key id and the 32-byte seed). A file may instead be an age-armored, passphrase-
/// encrypted copy of that text. Files are written mode 0600 and refused when group or
/// others can read them. The public half is a standard minisign public key.
public struct SigningKey: Sendable {
    let privateKey: Ed25519.PrivateKey
    let keyID: [UInt8]
    /// The minisign public key (safe to share).
    public let publicKey: SignerPublicKey
    /// The holder's name, as recorded in the key file ("# name: …"), if any.
    public let name: String?

    static let hrp = "dossier-signing-key-"

    init(privateKey: Ed25519.PrivateKey, keyID: [UInt8], name: String? = nil) throws(DossierError) {
        self.privateKey = privateKey
        self.keyID = keyID
        self.name = name
        do {
            publicKey = SignerPublicKey(MinisignPublicKey(keyID: keyID, key: try privateKey.publicKey()))
        } catch {
            throw DossierError(.key, "invalid signing key: \(error)")
        }
    }

    /// Generates a new key with a random key id, for the holder `name` (one line).
    public static func generate(name: String? = nil) throws(DossierError) -> SigningKey {
        if let name, name.isEmpty || name.count > 200 || name.contains(where: { $0.isNewline }) {
            throw DossierError(.invalidArgument, "a key holder's name must be 1…200 characters on one line")
        }
        do {
            return try SigningKey(privateKey: Ed25519.PrivateKey(), keyID: SecureRandom.bytes(8), name: name)
        } catch let error as DossierError {
            throw error
        } catch {
            throw DossierError(.key, "key generation failed: \(error)")
        }
    }

    /// The secret key file text. Treat it as secret.
    public var secretFileText: String {
        var bytes = keyID + privateKey.rawRepresentation.unsafeCopy
        defer { secureWipe(&bytes) }
        let line = ((try? Bech32.encode(hrp: Self.hrp, bytes: bytes, maxLength: nil)) ?? "").uppercased()
        let nameLine = name.map { "# name: \($0)\n" } ?? ""
        return "# dossier signing key (secret: keep it mode 0600)\n\(nameLine)# key id: \(publicKey.keyID)\n# public key: \(publicKey.base64)\n\(line)\n"
    }

    /// Parses secret key file text (the plain form).
    public init(secretFileText text: String) throws(DossierError) {
        let all = text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).map { $0.trimmingWhitespace() }
        let name = all.first { $0.hasPrefix("# name: ") }.map { String($0.dropFirst("# name: ".count)) }
        let lines = all.filter { !$0.isEmpty && !$0.hasPrefix("#") }
        guard lines.count == 1 else {
            throw DossierError(.key, "a signing key file must hold exactly one DOSSIER-SIGNING-KEY-1… line, found \(lines.count)")
        }
        guard var decoded = try? Bech32.decodeBytes(String(lines[0]), maxLength: nil), decoded.hrp == Self.hrp, decoded.bytes.count == 40 else {
            throw DossierError(.key, "not a dossier signing key (expected DOSSIER-SIGNING-KEY-1…)")
        }
        let keyID = Array(decoded.bytes[0..<8])
        var seed = Array(decoded.bytes[8...])
        secureWipe(&decoded.bytes)
        do {
            try self.init(privateKey: Ed25519.PrivateKey(rawRepresentation: SecureBytes(consuming: &seed)), keyID: keyID,
                          name: name.flatMap { $0.isEmpty ? nil : $0 })
        } catch let error as DossierError {
            throw error
        } catch {
            throw DossierError(.key, "invalid signing key: \(error)")
        }
    }

    /// Loads a secret key file, decrypting it with `passphrase` when it is passphrase-protected.
    /// Refuses files that group or others can access.
    public static func load(path: String, passphrase: (@Sendable () throws -> String)? = nil) throws(DossierError) -> SigningKey {
        var bytes = try SecretFile.read(path)
        defer { secureWipe(&bytes) }
        if let first = bytes.first, AgeArmor.looksArmored(firstByte: first) {
            guard let passphrase else {
                throw DossierError(.key, "\(path) is passphrase-protected", hint: "supply the passphrase")
            }
            let secret: String
            do { secret = try passphrase() } catch { throw DossierError(.key, "reading the passphrase failed: \(error)") }
            do {
                var plain = try Age.decrypt(bytes, with: [AgeIdentity.passphrase(secret, maxWorkFactor: AgeScrypt.maximumWorkFactor)])
                defer { secureWipe(&plain) }
                return try SigningKey(secretFileText: String(decoding: plain, as: UTF8.self))
            } catch let error as AgeError where error.kind == .noMatch {
                throw DossierError(.key, "wrong passphrase for \(path)")
            } catch let error as DossierError {
                throw error
            } catch {
                throw DossierError(.key, "cannot decrypt \(path): \(error)")
            }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw DossierError(.key, "\(path) is not a text file") }
        return try SigningKey(secretFileText: text)
    }

    /// Writes the secret key file (mode 0600, never overwriting), optionally encrypted
    /// with a passphrase (age scrypt, work factor 18).
    public func write(toPath path: String, passphrase: String? = nil) throws(DossierError) {
        var text = Array(secretFileText.utf8)
        defer { secureWipe(&text) }
        guard let passphrase else {
            try SecretFile.write(text, to: path)
            return
        }
        let encrypted: [UInt8]
        do {
            encrypted = try Age.encrypt(text, to: [AgeRecipient.passphrase(passphrase)], armored: true)
        } catch {
            throw DossierError(.key, "encrypting the key failed: \(error)")
        }
        try SecretFile.write(encrypted, to: path)
    }


    /// Signs `message` as minisign does (prehashed Ed25519).
    func sign(_ message: [UInt8], trustedComment: String) throws(DossierError) -> MinisignSignature {
        do {
            return try MinisignSignature.sign(message, key: privateKey, keyID: keyID, trustedComment: trustedComment,
                                              untrustedComment: "dossier signature \(publicKey.keyID) \(publicKey.base64)")
        } catch {
            throw DossierError(.signature, "signing failed: \(error)")
        }
    }
}

/// A signer's public key in minisign's format.
public struct SignerPublicKey: Sendable, Hashable, CustomStringConvertible {
    let minisign: MinisignPublicKey

    init(_ minisign: MinisignPublicKey) { self.minisign = minisign }

    /// Parses a minisign public key: the `RW…` line or a whole `.pub` file.
    public init(_ text: String) throws(DossierError) {
        let trimmed = text.trimmingCharacters(in: " \t\r\n")
        do {
            if trimmed.hasPrefix("untrusted comment:") {
                minisign = try MinisignPublicKey(fileText: text)
            } else {
                minisign = try MinisignPublicKey(base64: trimmed)
            }
        } catch {
            throw DossierError(.key, "not a minisign public key: \(error)")
        }
    }

    /// The key id, 16 upper-case hex digits as minisign prints it.
    public var keyID: String { minisign.keyIDHex }
    /// The `RW…` line.
    public var base64: String { minisign.base64 }
    /// A `.pub` file minisign reads.
    public var fileText: String { minisign.fileText() }
    public var description: String { "\(keyID) \(base64)" }
}

/// Reading and writing files that hold secrets.
enum SecretFile {
    static func read(_ path: String) throws(DossierError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw DossierError(.key, FileError(operation: "open", path: path, code: errno).description) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw DossierError(.key, FileError(operation: "stat", path: path, code: errno).description) }
        guard info.st_mode & Glibc.S_IFMT == Glibc.S_IFREG else { throw DossierError(.key, "\(path) is not a regular file") }
        guard info.st_size <= 1 << 20 else { throw DossierError(.key, "\(path) is too large to be a key file") }
        var bytes: [UInt8]
        do {
            bytes = try FileSource(fileDescriptor: fd).readAll(limit: 1 << 20)
        } catch {
            throw DossierError(.key, "reading \(path) failed: \(error)")
        }
        if let kind = publicKind(of: bytes) {
            secureWipe(&bytes)
            throw DossierError(.key, "\(path) holds \(kind), not a secret key", hint: "give the secret key file (.sign for signing, .age for opening)")
        }
        guard info.st_mode & 0o077 == 0 else {
            secureWipe(&bytes)
            throw DossierError(.key, "secret key file \(path) is accessible by group or others (mode \(String(info.st_mode & 0o777, radix: 8)))",
                               hint: "run: chmod 600 \(path)")
        }
        return bytes
    }

    /// What public key a file given as a secret one holds ("an age recipient", "a minisign
    /// public key"), or nil. Public keys are the usual mix-up (keys/anna.pub for keys/anna.sign).
    static func publicKind(of bytes: [UInt8]) -> String? {
        let text = String(decoding: bytes.prefix(4096), as: UTF8.self)
        guard !text.contains("SECRET-KEY"), !text.contains("secret key"), !text.hasPrefix("age-encryption.org/"),
              !text.hasPrefix("-----BEGIN") else { return nil }
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && !$0.hasPrefix("#") }
        if let first = lines.first, first.hasPrefix("age1") { return "an age recipient (a public key)" }
        if text.hasPrefix("untrusted comment:") && text.contains("public key") { return "a minisign public key" }
        if lines.count == 1, let only = lines.first, only.hasPrefix("RW"), only.count == 56 { return "a minisign public key" }
        return nil
    }

    static func write(_ bytes: [UInt8], to path: String) throws(DossierError) {
        do {
            let sink = try FileSink(creating: path, mode: 0o600)
            do {
                try sink.write(bytes)
                try sink.sync()
                try sink.close()
            } catch {
                unlink(path)
                throw error
            }
        } catch {
            throw DossierError(.output, "writing \(path) failed: \(error)", hint: "the file must not exist yet")
        }
    }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let c = s.first, set.contains(c) { s = s.dropFirst() }
        while let c = s.last, set.contains(c) { s = s.dropLast() }
        return String(s)
    }
}
