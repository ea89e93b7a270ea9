/// An error from sealing, verifying, opening or transferring a dossier.
///
/// `kind` says which layer failed, so callers and tests can tell an unsafe path from a bad
/// signature from a wrong key; `reason` says what exactly, and `hint` what to do when the
/// fix is known. Reasons never contain secret material.
public struct DossierError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        /// A parameter is missing or out of range.
        case invalidArgument = "invalid argument"
        /// The folder or archive to seal cannot be sealed as it is (symlink, special file, changed while read).
        case source = "source"
        /// A path is unsafe or collides with another (at sealing or opening).
        case unsafePath = "unsafe path"
        /// The output exists or cannot be written.
        case output = "output"
        /// The .dossier container is malformed, truncated or has unexpected entries.
        case container = "container"
        /// The public or private manifest is malformed, not canonical or of an unknown version.
        case manifest = "manifest"
        /// A signature is malformed or invalid, or a required signature is missing.
        case signature = "signature"
        /// Signatures are valid but not from trusted keys with the required roles.
        case untrusted = "untrusted"
        /// The encrypted payload failed (header, MAC, chunk authentication) or no identity matches.
        case payload = "payload"
        /// None of the given identities is a recipient of the dossier.
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
        /// The access log could not be written or does not verify.
        case accessLog = "access log"
        /// Reading or writing failed.
        case io = "I/O"
    }

    public let kind: Kind
    public let reason: String
    public let hint: String?

    public init(_ kind: Kind, _ reason: String, hint: String? = nil) {
        self.kind = kind
        self.reason = reason
        self.hint = hint
    }

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
