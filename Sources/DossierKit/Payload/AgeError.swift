/// An error from the age layer (the encrypted payload of a dossier).
///
/// `kind` tells what failed, in the categories of the age test suite, so callers and tests
/// can tell a malformed header from a wrong key from a modified payload.
public struct AgeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What failed. The raw value is a short label for messages ("header failure",
    /// "no match", …).
    public enum Kind: String, Sendable, CaseIterable {
        /// The header is malformed, non-canonical or disallowed (rejected while parsing or unwrapping).
        case header = "header failure"
        /// The header is fine but none of the identities unwraps any stanza.
        case noMatch = "no match"
        /// A file key was unwrapped but the header MAC does not verify.
        case hmac = "HMAC failure"
        /// The STREAM payload failed (bad tag, truncated, trailing data) before a clean end.
        case payload = "payload failure"
        /// The ASCII armor is invalid.
        case armor = "armor failure"
        /// A key string or identity file is malformed.
        case invalidKey = "invalid key"
        /// A parameter is out of range (work factor, recipient combination).
        case invalidArgument = "invalid argument"
        /// Reading or writing the underlying stream failed.
        case io = "I/O failure"
    }

    /// What failed; see `Kind`.
    public let kind: Kind
    /// What exactly failed, for people.
    public let reason: String
    /// The error of the byte source or sink that caused an `.io` failure (a layer above may
    /// need it whole, e.g. a size limit with its hint).
    let underlying: (any Error)?

    /// Makes an error of `kind` with `reason` (and no underlying error).
    public init(_ kind: Kind, _ reason: String) {
        self.init(kind, reason, underlying: nil)
    }

    init(_ kind: Kind, _ reason: String, underlying: (any Error)?) {
        self.kind = kind
        self.reason = reason
        self.underlying = underlying
    }

    public var description: String { "\(kind.rawValue): \(reason)" }

    /// Equal kind and reason (the underlying error is not compared).
    public static func == (lhs: AgeError, rhs: AgeError) -> Bool { lhs.kind == rhs.kind && lhs.reason == rhs.reason }

    /// Wraps an error from a byte source or sink, keeping age errors (from the armor layer) as they are.
    static func wrapping(_ error: any Error, _ what: String) -> AgeError {
        if let error = error as? AgeError { return error }
        return AgeError(.io, "\(what): \(error)", underlying: error)
    }
}
