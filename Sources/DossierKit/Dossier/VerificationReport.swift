/// What `Dossier.verify` found: every check with its outcome, every signature with its
/// validity and trust, and (with an identity) the content check. Never only a Bool.
public struct VerificationReport: Sendable {
    /// The overall outcome.
    public enum Status: String, Sendable {
        /// Intact, signed by trusted keys in every required role.
        case valid
        /// Intact, but a signature is untrusted or a required role is missing.
        case untrusted
        /// Malformed, modified, truncated or with an invalid signature.
        case invalid
    }

    /// One check and its outcome.
    public struct Check: Sendable, Equatable {
        public let name: String
        public let passed: Bool
        public let detail: String
        /// A failed trust check makes a dossier untrusted; any other failed check makes it invalid.
        public let isTrustCheck: Bool
    }

    /// One signature found in the container.
    public struct Signature: Sendable, Equatable {
        /// The container entry, e.g. "META-INF/signatures/01-sealer-E7620F1842B4E81F.minisig".
        public let entry: String
        public let keyID: String
        public let role: DossierRole
        /// The signer name in the signed trusted comment (claimed by the signer).
        public let signerName: String
        /// When the signer says it signed.
        public let signedAt: String
        /// The signature is well-formed and verifies over the manifest (or transfer record).
        public let isValid: Bool
        /// The key is in the trust store.
        public let isTrusted: Bool
        /// The trust store's name for the key.
        public let trustedName: String?
        /// The trust store allows this key to sign in this role.
        public let isRoleAllowed: Bool
        /// Why it is not valid, trusted or allowed, if it is not.
        public let problem: String?
        /// Malformed, inconsistent or failing verification (as opposed to merely untrusted).
        public let isBroken: Bool

        /// The outcome in one word: "valid", "untrusted key", "role not allowed" or "invalid".
        public var outcome: String {
            if isBroken { return "invalid" }
            if !isTrusted { return "untrusted key" }
            if !isRoleAllowed { return "role not allowed" }
            return "valid"
        }
    }

    /// One recorded transfer (re-wrap for new recipients).
    public struct Transfer: Sendable, Equatable {
        public let sequence: Int
        public let at: String
        public let byKeyID: String
        public let byName: String
        public let reason: String
        public let recipientCount: Int
        public let signature: Signature
    }

    /// The result of checking the decrypted content against the private manifest.
    public struct ContentCheck: Sendable, Equatable {
        public let filesChecked: Int
        public let bytesChecked: Int64
        public let problems: [String]
    }

    public let path: String
    public internal(set) var manifest: DossierManifest?
    public internal(set) var checks: [Check] = []
    public internal(set) var signatures: [Signature] = []
    public internal(set) var transfers: [Transfer] = []
    public internal(set) var requiredRoles: [DossierRole] = []
    public internal(set) var missingRoles: [DossierRole] = []
    public internal(set) var content: ContentCheck?
    /// The recipient stanza types of the age header ("X25519", "scrypt", …): who can decrypt, by kind.
    public internal(set) var recipientTypes: [String] = []
    /// The payload digests were those of the seal's read-back of the file it was writing
    /// (same ranges, read from the file), not of a second read at the end.
    var payloadReadBack = false
    /// Size of the container file in bytes.
    public internal(set) var containerBytes: Int64 = 0

    init(path: String) { self.path = path }

    public var status: Status {
        if checks.contains(where: { !$0.passed && !$0.isTrustCheck }) { return .invalid }
        if checks.contains(where: { !$0.passed }) { return .untrusted }
        return .valid
    }

    /// True when `status` is `.valid`.
    public var isValid: Bool { status == .valid }

    /// The first failed checks, for an error message.
    public var failureSummary: String {
        checks.filter { !$0.passed }.map { "\($0.name): \($0.detail)" }.joined(separator: "; ")
    }

    mutating func pass(_ name: String, _ detail: String) {
        checks.append(Check(name: name, passed: true, detail: detail, isTrustCheck: false))
    }

    mutating func fail(_ name: String, _ detail: String, trust: Bool = false) {
        checks.append(Check(name: name, passed: false, detail: detail, isTrustCheck: trust))
    }
}
