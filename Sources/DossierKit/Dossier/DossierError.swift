/// An error from sealing, verifying, opening or transferring a dossier.
///
/// `kind` says which layer failed, so callers and tests can tell an unsafe path from a bad
/// signature from a wrong key; `reason` says what exactly, and `hint` what to do when the
/// fix is known. Reasons never contain secret material.
public struct DossierError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Which layer failed. The raw value is a short label for messages ("unsafe path",
    /// "no matching identity").
    public enum Kind: String, Sendable, CaseIterable {
        /// A parameter is missing or out of range.
        case invalidArgument = "invalid argument"
        /// The folder or archive to seal cannot be sealed as it is (symlink, special file, changed while read).
        case source = "source"
        /// A path is unsafe or collides with another (at sealing or opening).
        case unsafePath = "unsafe path"
        /// The output exists or cannot be written.
        case output = "output"
        /// The .dossier container is malformed, truncated or has unexpected entries. Opening,
        /// countersigning and transferring also throw it when the public manifest cannot be
        /// read (malformed, not canonical, unknown version): the reason names the failed check.
        case container = "container"
        /// The private manifest inside the payload is malformed or not canonical (found when
        /// opening). A bad public manifest or transfer record is a failed check in a
        /// `VerificationReport`; opening and amending throw `.container` (the manifest) or
        /// `.signature` (a transfer record) for it.
        case manifest = "manifest"
        /// A signature is malformed or invalid, a signer the manifest names has no valid
        /// signature, or signing failed. Opening, countersigning and transferring
        /// throw it for any failed integrity check of the verification (also a changed age
        /// header, a broken transfer chain or mismatched timestamps); importing a log throws
        /// it when the export does not verify.
        case signature = "signature"
        /// Signatures are valid but not from trusted keys with the required roles (or, when
        /// importing a log, its actors or checkpoint signer are not trusted).
        case untrusted = "untrusted"
        /// The encrypted payload is damaged: the age header is malformed or its MAC does not
        /// verify, a chunk does not authenticate or the stream ends early, or (when opening)
        /// the body does not match its signed SHA-256 and size. When none of the identities
        /// is a recipient the kind is `.noIdentity`, not this.
        case payload = "payload"
        /// None of the given identities is a recipient of the dossier (it unwraps no stanza
        /// of the age header). Not evidence of tampering.
        case noIdentity = "no matching identity"
        /// Decrypted content disagrees with the private manifest (missing, extra or changed files).
        case content = "content"
        /// A key file or trust file is malformed or has unsafe permissions.
        case key = "key"
        /// A profile is malformed or cannot be read, or the seal's options break it (a
        /// public field it does not allow).
        case profile = "profile"
        /// The folder does not meet the profile it is sealed under (and no override reason
        /// was given): the folder is at fault, not the profile.
        case profileNotMet = "profile not met"
        /// The access log could not be opened, read or written, is open read-only, has no
        /// history of the dossier or one that does not start with its anchored genesis entry,
        /// or does not verify.
        case accessLog = "access log"
        /// Reading or writing failed (e.g. the container file cannot be opened or read).
        case io = "I/O"
        /// The operation was asked to stop — by the application's `DossierCancellation`, or
        /// (the CLI only) by a signal: Ctrl-C, SIGTERM, SIGHUP — and removed what it had
        /// written. Not a fault of the dossier or the input.
        case interrupted = "interrupted"
    }

    /// Which layer failed; see `Kind`.
    public let kind: Kind
    /// What exactly failed, for people (e.g. "/cases/2024-117 already exists").
    /// Never contains secret material.
    public let reason: String
    /// What to do about it, when that is known (e.g. "open into a new folder"); nil otherwise.
    public let hint: String?

    /// Makes an error of `kind` with `reason` and, optionally, a `hint`.
    public init(_ kind: Kind, _ reason: String, hint: String? = nil) {
        self.kind = kind
        self.reason = reason
        self.hint = hint
    }

    /// The reason, followed by the hint in parentheses when there is one.
    public var description: String {
        hint.map { "\(reason) (\($0))" } ?? reason
    }
}

extension DossierError {
    /// Our own error that caused `error`, passed up through libarchive or the age layer
    /// (e.g. the payload size limit, with its hint), if there is one.
    static func cause(of error: any Error) -> DossierError? {
        if let error = error as? DossierError { return error }
        if let error = error as? ArchiveError, let underlying = error.underlying { return cause(of: underlying) }
        if let error = error as? AgeError, let underlying = error.underlying { return cause(of: underlying) }
        return nil
    }
}
