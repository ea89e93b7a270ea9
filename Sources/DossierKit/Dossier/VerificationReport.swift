/// What `Dossier.verify` found: every check with its outcome, every signature with its
/// validity and trust, and (with an identity) the content check. Never only a Bool.
public struct VerificationReport: Sendable {
    /// The overall outcome.
    public enum Status: String, Sendable {
        /// Intact, signed by trusted keys in every required role.
        case valid
        /// Intact, but a signature is untrusted or a required role is missing (or, verifying
        /// with identities, none of them is a recipient, so the content was not checked).
        case untrusted
        /// Malformed, modified, truncated or with an invalid signature.
        case invalid
    }

    /// One check and its outcome.
    public struct Check: Sendable, Equatable {
        /// What was checked: "container", "manifest", "timestamps", "signature ENTRY",
        /// "signers", "required roles", "transfer N", "payload header", "payload body" or
        /// "content".
        public let name: String
        /// Whether the check passed.
        public let passed: Bool
        /// What was found, for people: the facts checked when it passed, the problem when
        /// it failed.
        public let detail: String
        /// A failed trust check makes a dossier untrusted; any other failed check makes it invalid.
        public let isTrustCheck: Bool
    }

    /// One signature found in the container.
    public struct Signature: Sendable, Equatable {
        /// The container entry, e.g. "META-INF/signatures/01-sealer-E7620F1842B4E81F.minisig".
        public let entry: String
        /// The key id (16 upper-case hex digits) of the signed statement; for a signature
        /// too malformed to have one, the signature's own key id or the one its entry name
        /// (for a transfer, its record) claims.
        public let keyID: String
        /// The role of the signed statement; for a signature too malformed to have one, the
        /// role its entry name claims (`.transferrer` for a transfer record's signature).
        public let role: DossierRole
        /// The signer name in the signed trusted comment (claimed by the signer).
        public let signerName: String
        /// When the signer says it signed: RFC 3339 UTC, seconds precision; empty when the
        /// signature is too malformed to say.
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
        /// The transfer's number, 1…99: the first re-wrap is 1 (`META-INF/transfers/01.json`).
        public let sequence: Int
        /// When it was re-wrapped, as the record says: RFC 3339 UTC, seconds precision.
        public let at: String
        /// The key id the record names as the transferrer's (16 upper-case hex digits).
        public let byKeyID: String
        /// The transferrer's name as the record gives it (claimed, like `Signature.signerName`).
        public let byName: String
        /// Why it was transferred, one line as recorded.
        public let reason: String
        /// How many recipients the payload was re-wrapped for.
        public let recipientCount: Int
        /// The transferrer's signature over the record, with its validity and trust.
        public let signature: Signature
    }

    /// The result of checking the decrypted content against the private manifest.
    public struct ContentCheck: Sendable, Equatable {
        /// Files whose size and SHA-256 matched the private manifest (0 when the check failed).
        public let filesChecked: Int
        /// Content bytes of those files (0 when the check failed).
        public let bytesChecked: Int64
        /// Empty when the content matched; otherwise the reason it did not (or could not be
        /// checked, e.g. no identity is a recipient) as one entry.
        public let problems: [String]
    }

    /// The file verified. In the reports `seal`, `countersign` and `rewrap` return, the
    /// dossier's path (it was verified under a temporary name before it was renamed there).
    public internal(set) var path: String
    /// The public manifest, parsed from the file before any signature is checked; nil when
    /// the container or the manifest could not be read. Use it (e.g. its
    /// `accessLogGenesisSHA256` or payload digests) only when `status` is not `.invalid`,
    /// and trust what it claims only when `status` is `.valid`: before that it is whatever
    /// the file says.
    public internal(set) var manifest: DossierManifest?
    /// Why the file could not be read at all (missing, a folder, no permission), or nil.
    /// `status` is then `.invalid` — nothing could be verified — but this is not evidence of
    /// tampering: a caller checking a shelf can tell a mistyped path from a damaged dossier.
    public internal(set) var unreadable: String?
    /// Every check run, in order, passed or failed; `status` is derived from these.
    public internal(set) var checks: [Check] = []
    /// The signatures in `META-INF/signatures/`, in container order (transfer records'
    /// signatures are in `transfers`).
    public internal(set) var signatures: [Signature] = []
    /// The transfer records, oldest first. Checking stops at the first record that is
    /// malformed or does not continue the chain of headers; that one and later ones are
    /// not listed (a failed check says why).
    public internal(set) var transfers: [Transfer] = []
    /// The roles that had to carry a valid signature by a key trusted for them, sorted.
    public internal(set) var requiredRoles: [DossierRole] = []
    /// The required roles without such a signature, sorted; empty when all are present.
    public internal(set) var missingRoles: [DossierRole] = []
    /// The check of the decrypted content: nil unless identities were given to `verify`
    /// (or the report is an opening's).
    public internal(set) var content: ContentCheck?
    /// The recipient stanza types of the age header ("X25519", "scrypt", …): who can decrypt, by kind.
    public internal(set) var recipientTypes: [String] = []
    /// The payload digests were those of the seal's read-back of the file it was writing
    /// (same ranges, read from the file), not of a second read at the end.
    var payloadReadBack = false
    /// Size of the container file in bytes.
    public internal(set) var containerBytes: Int64 = 0

    init(path: String) { self.path = path }

    /// `.invalid` if any check other than a trust check failed, else `.untrusted` if a trust
    /// check failed, else `.valid`.
    public var status: Status {
        if checks.contains(where: { !$0.passed && !$0.isTrustCheck }) { return .invalid }
        if checks.contains(where: { !$0.passed }) { return .untrusted }
        return .valid
    }

    /// True when `status` is `.valid`.
    public var isValid: Bool { status == .valid }

    /// Every failed check as "name: detail", joined by "; " (empty when none failed), for an
    /// error message.
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
