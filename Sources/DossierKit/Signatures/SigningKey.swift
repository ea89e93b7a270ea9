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

    /// The secret key file, in wiping memory: comment lines (name, key id, public key), then
    /// the Bech32 line of the key id and the seed.
    func secretFile() throws(DossierError) -> SecureBytes {
        let nameLine = name.map { "# name: \($0)\n" } ?? ""
        let head = "# dossier signing key (secret: keep it mode 0600)\n\(nameLine)# key id: \(publicKey.keyID)\n# public key: \(publicKey.base64)\n"
        let keyID = self.keyID
        let secret = withBytes(privateKey.rawRepresentation) { seed in
            SecureBytes(count: keyID.count + seed.count) { out in
                keyID.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: out[..<keyID.count]).copyMemory(from: $0) }
                UnsafeMutableRawBufferPointer(rebasing: out[keyID.count...]).copyMemory(from: seed)
            }
        }
        do {
            let line = try withBytes(secret) { (bytes) throws(Bech32.DecodingError) in
                try Bech32.encodeSecret(hrp: Self.hrp, bytes: bytes, uppercase: true)
            }
            return SecretFile.assemble(head, line, "\n")
        } catch {
            throw DossierError(.key, "encoding the signing key failed: \(error)")
        }
    }

    /// The secret key file text. Treat it as secret: a Swift string cannot be wiped when it
    /// is released, so prefer `write(toPath:passphrase:)`, which never makes one.
    public var secretFileText: String {
        guard let file = try? secretFile() else { return "" }
        return file.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
    }

    /// Parses secret key file text (the plain form). The copies made here are wiped, but the
    /// caller's string cannot be: `load(path:passphrase:)` never makes one.
    public init(secretFileText text: String) throws(DossierError) {
        var bytes = Array(text.utf8)
        defer { secureWipe(&bytes) }
        self = try withBytes(bytes) { (file) throws(DossierError) in try SigningKey(secretFile: file) }
    }

    /// Parses a secret key file held in wiping memory, without copying its secret line.
    init(secretFile file: UnsafeRawBufferPointer) throws(DossierError) {
        let lines = SecretFile.lines(file).filter { !$0.isEmpty }
        let namePrefix = Array("# name: ".utf8)
        let name = lines.first { file[$0].starts(with: namePrefix) }
            .map { String(decoding: file[($0.lowerBound + namePrefix.count)..<$0.upperBound], as: UTF8.self) }
        let keyLines = lines.filter { file[$0.lowerBound] != UInt8(ascii: "#") }
        guard keyLines.count == 1 else {
            throw DossierError(.key, "a signing key file must hold exactly one DOSSIER-SIGNING-KEY-1… line, found \(keyLines.count)")
        }
        guard let decoded = try? Bech32.decodeSecret(UnsafeRawBufferPointer(rebasing: file[keyLines[0]])),
              decoded.hrp == Self.hrp, decoded.bytes.count == 40 else {
            throw DossierError(.key, "not a dossier signing key (expected DOSSIER-SIGNING-KEY-1…)")
        }
        let keyID = withBytes(decoded.bytes) { Array($0[0..<8]) }
        let seed = decoded.bytes.copy(8..<decoded.bytes.count)
        do {
            try self.init(privateKey: Ed25519.PrivateKey(rawRepresentation: seed), keyID: keyID,
                          name: name.flatMap { $0.isEmpty ? nil : $0 })
        } catch let error as DossierError {
            throw error
        } catch {
            throw DossierError(.key, "invalid signing key: \(error)")
        }
    }

    /// Loads a secret key file, decrypting it with `passphrase` when it is passphrase-protected.
    /// Refuses files that group or others can access. The file's bytes, its decrypted text
    /// and every intermediate of the parsing stay in wiping memory.
    public static func load(path: String, passphrase: (@Sendable () throws -> String)? = nil) throws(DossierError) -> SigningKey {
        try load(path, passphrase: passphrase.map { text in { Passphrase(try text()) } })
    }

    /// Loads a secret key file as `load(path:passphrase:)` does, asking `passphrase` only if
    /// the file is passphrase-protected; the passphrase never becomes a string.
    public static func load(path: String, passphrase: @escaping @Sendable () throws -> Passphrase) throws(DossierError) -> SigningKey {
        try load(path, passphrase: Optional(passphrase))
    }

    private static func load(_ path: String, passphrase: (() throws -> Passphrase)?) throws(DossierError) -> SigningKey {
        let contents: SecureBytes
        do {
            contents = try SecretFile.read(path)
        } catch {
            switch error {
            case .system(let failure): throw DossierError(.key, failure.description)
            case .notRegularFile: throw DossierError(.key, "\(path) is not a regular file")
            case .tooLarge: throw DossierError(.key, "\(path) is too large to be a key file")
            case .changed: throw DossierError(.key, "\(path) changed while it was read")
            case .publicKey(let kind):
                throw DossierError(.key, "\(path) holds \(kind), not a secret key", hint: "give the secret key file (.sign for signing, .age for opening)")
            case .exposed(let mode):
                throw DossierError(.key, "secret key file \(path) is accessible by group or others (mode \(String(mode, radix: 8)))",
                                   hint: "run: chmod 600 \(path)")
            }
        }
        if withBytes(contents, { AgeArmor.isEncryptedKeyFile($0) }) {
            guard let passphrase else {
                throw DossierError(.key, "\(path) is passphrase-protected", hint: "supply the passphrase")
            }
            let secret: Passphrase
            do { secret = try passphrase() } catch { throw DossierError(.key, "reading the passphrase failed: \(error)") }
            let plain: SecureBytes
            do {
                plain = try Age.decryptSecret(contents.unsafeCopy, with: [AgeIdentity.passphrase(secret, maxWorkFactor: AgeScrypt.keyFileMaxWorkFactor)])
            } catch where error.kind == .noMatch {
                throw DossierError(.key, "wrong passphrase for \(path)")
            } catch {
                throw DossierError(.key, "cannot decrypt \(path): \(error)")
            }
            return try withBytes(plain) { (file) throws(DossierError) in try SigningKey(secretFile: file) }
        }
        return try withBytes(contents) { (file) throws(DossierError) in
            guard SecretFile.isUTF8(file) else { throw DossierError(.key, "\(path) is not a text file") }
            return try SigningKey(secretFile: file)
        }
    }

    /// Writes the secret key file (mode 0600, never overwriting), optionally encrypted
    /// with a passphrase (age scrypt, work factor 18). No unwiped copy of the key is made.
    public func write(toPath path: String, passphrase: String? = nil) throws(DossierError) {
        try write(path, passphrase: passphrase.map { Passphrase($0) })
    }

    /// Writes the secret key file as `write(toPath:passphrase:)` does, encrypted with
    /// `passphrase`.
    public func write(toPath path: String, passphrase: Passphrase) throws(DossierError) {
        try write(path, passphrase: Optional(passphrase))
    }

    private func write(_ path: String, passphrase: Passphrase?) throws(DossierError) {
        let file = try secretFile()
        var encrypted: [UInt8]?
        if let passphrase {
            do {
                let recipient = try AgeRecipient.passphrase(passphrase)
                encrypted = try withBytes(file) { (plain) throws(AgeError) in try Age.encrypt(bytes: plain, to: [recipient], armored: true) }
            } catch {
                throw DossierError(.key, "encrypting the key failed: \(error)")
            }
        }
        do {
            if let encrypted {
                try SecretFile.write(encrypted, to: path)
            } else {
                try SecretFile.write(file, to: path)
            }
        } catch {
            throw DossierError(.output, "writing \(path) failed: \(error)", hint: "the file must not exist yet")
        }
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

extension String {
    /// Without the leading and trailing Unicode scalars that are in `set` — by scalars, not
    /// Characters: in a String, "\r\n" is one Character, so a set of " \t\r\n" would not
    /// contain a lone "\n".
    func trimmingCharacters(in set: String) -> String {
        let members = Set(set.unicodeScalars)
        var s = Substring(self).unicodeScalars
        while let c = s.first, members.contains(c) { s = s.dropFirst() }
        while let c = s.last, members.contains(c) { s = s.dropLast() }
        return String(s)
    }
}
