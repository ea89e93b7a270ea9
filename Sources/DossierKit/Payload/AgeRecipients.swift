/// What a recipient type does when encrypting: wrap the file key into stanzas.
protocol AgeRecipientType: Sendable {
    func wrap(_ fileKey: SecureBytes) throws(AgeError) -> [AgeStanza]
    /// Whether this recipient must be alone in a header (scrypt).
    var mustBeAlone: Bool { get }
}

/// What an identity type does when decrypting: find its stanza and unwrap the file key.
protocol AgeIdentityType: Sendable {
    /// Returns the file key, nil when no stanza is for this identity, or throws a header
    /// failure when a stanza of its type is malformed.
    func unwrap(_ stanzas: [AgeStanza]) throws(AgeError) -> SecureBytes?
}

/// Someone a payload is encrypted to: an X25519 public key (`age1…`) or a passphrase.
public struct AgeRecipient: Sendable, CustomStringConvertible {
    let type: any AgeRecipientType
    /// The recipient for people and logs: the `age1…` string, or "scrypt passphrase (work
    /// factor N)" (never the passphrase).
    public let description: String

    /// Parses an X25519 recipient (`age1…`).
    public init(_ string: String) throws(AgeError) {
        let key = try AgeX25519.Recipient(parsing: string)
        self.type = key
        self.description = key.encoded
    }

    init(type: any AgeRecipientType, description: String) {
        self.type = type
        self.description = description
    }

    /// A passphrase recipient (scrypt, N = 2^workFactor). It must be the only recipient.
    /// age's default work factor is 18 (about one second here); 1…30 are accepted.
    public static func passphrase(_ passphrase: Passphrase, workFactor: Int = AgeScrypt.defaultWorkFactor) throws(AgeError) -> AgeRecipient {
        AgeRecipient(type: try AgeScrypt.Recipient(passphrase: passphrase.secret, workFactor: workFactor), description: "scrypt passphrase (work factor \(workFactor))")
    }

    /// A passphrase recipient from a string (see `Passphrase` for why bytes are better).
    public static func passphrase(_ passphrase: String, workFactor: Int = AgeScrypt.defaultWorkFactor) throws(AgeError) -> AgeRecipient {
        try Self.passphrase(Passphrase(passphrase), workFactor: workFactor)
    }
}

/// Someone who can decrypt: an X25519 identity (`AGE-SECRET-KEY-1…`) or a passphrase.
/// The description never shows secret material.
public struct AgeIdentity: Sendable, CustomStringConvertible {
    let type: any AgeIdentityType
    /// The identity for people: "X25519 identity for age1…", "scrypt passphrase" or
    /// "mlkem768x25519 identity (unsupported)"; never the secret.
    public let description: String

    init(type: any AgeIdentityType, description: String) {
        self.type = type
        self.description = description
    }

    /// Parses one identity string: `AGE-SECRET-KEY-1…` (X25519). `AGE-SECRET-KEY-PQ-1…`
    /// (post-quantum hybrid) parses but cannot unwrap yet: its stanzas are checked for
    /// well-formedness and otherwise reported as no match.
    public init(_ string: String) throws(AgeError) {
        var bytes = Array(string.utf8)
        defer { secureWipe(&bytes) }
        self = try withBytes(bytes) { (line) throws(AgeError) in try AgeIdentity(secretLine: line) }
    }

    /// Parses one identity line held in wiping memory (nothing copies it).
    init(secretLine line: UnsafeRawBufferPointer) throws(AgeError) {
        if line.starts(with: "AGE-SECRET-KEY-PQ-1".utf8) {
            self.init(type: try AgeHybridPlaceholder.Identity(parsing: line), description: "mlkem768x25519 identity (unsupported)")
        } else {
            let identity = try AgeX25519.Identity(parsing: line)
            self.init(type: identity, description: "X25519 identity for \(identity.recipient.encoded)")
        }
    }

    /// A passphrase identity. Headers asking for a work factor above `maxWorkFactor`
    /// (default 22, about 4 GiB of memory and 15 s here) are refused before any work.
    public static func passphrase(_ passphrase: Passphrase, maxWorkFactor: Int = AgeScrypt.defaultMaxWorkFactor) throws(AgeError) -> AgeIdentity {
        AgeIdentity(type: try AgeScrypt.Identity(passphrase: passphrase.secret, maxWorkFactor: maxWorkFactor), description: "scrypt passphrase")
    }

    /// A passphrase identity from a string (see `Passphrase` for why bytes are better).
    public static func passphrase(_ passphrase: String, maxWorkFactor: Int = AgeScrypt.defaultMaxWorkFactor) throws(AgeError) -> AgeIdentity {
        try Self.passphrase(Passphrase(passphrase), maxWorkFactor: maxWorkFactor)
    }

    /// The X25519 recipient (`age1…`) of this identity, if it is one.
    public var recipient: AgeRecipient? {
        guard let x = type as? AgeX25519.Identity else { return nil }
        return AgeRecipient(type: x.recipient, description: x.recipient.encoded)
    }
}

/// Shared rule for recipients whose stanza body is the file key sealed with
/// ChaCha20-Poly1305 under a derived key and an all-zero nonce.
enum AgeWrap {
    static let zeroNonce = [UInt8](repeating: 0, count: 12)

    static func seal(_ fileKey: SecureBytes, key: SecureBytes) throws(AgeError) -> [UInt8] {
        do {
            return try ChaChaPoly.seal(fileKey, key: key, nonce: zeroNonce)
        } catch {
            throw AgeError(.invalidArgument, "wrapping the file key failed: \(error)")
        }
    }

    /// Opens a stanza body: a body that cannot hold a 16-byte file key is a header failure
    /// (checked before decrypting); a body that does not authenticate means "not for us".
    static func open(_ body: [UInt8], key: SecureBytes, stanza: String) throws(AgeError) -> SecureBytes? {
        guard body.count == AgeStream.fileKeySize + ChaChaPoly.tagByteCount else {
            throw AgeError(.header, "the \(stanza) stanza body is \(body.count) bytes, not a wrapped 16-byte file key")
        }
        guard var fileKey = try? ChaChaPoly.open(body, key: key, nonce: zeroNonce) else { return nil }
        return SecureBytes(consuming: &fileKey)
    }

    /// Decodes a stanza argument that must be canonical base64 of exactly `count` bytes.
    static func decodeArgument(_ argument: String, count: Int, what: String) throws(AgeError) -> [UInt8] {
        guard let bytes = AgeBase64.decode(Array(argument.utf8)) else {
            throw AgeError(.header, "the \(what) is not canonical unpadded base64")
        }
        guard bytes.count == count else {
            throw AgeError(.header, "the \(what) is \(bytes.count) bytes, expected \(count)")
        }
        return bytes
    }
}
