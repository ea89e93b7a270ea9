/// The capacity in which someone signs a dossier: the sealing archivist, the approving
/// officer, the countersigning archive, or whoever transferred it. Roles are lower-case
/// words (`[a-z][a-z0-9-]*`, up to 32 characters); the six common ones have names.
public struct DossierRole: RawRepresentable, Hashable, Sendable, Comparable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The role word as written in signature names, statements and trust files, e.g. "sealer".
    public let rawValue: String

    /// A role from its word; nil unless it is `[a-z][a-z0-9-]*` of at most 32 bytes.
    public init?(rawValue: String) {
        let bytes = Array(rawValue.utf8)
        guard let first = bytes.first, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first), bytes.count <= 32,
              bytes.allSatisfy({ (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || $0 == UInt8(ascii: "-") })
        else { return nil }
        self.rawValue = rawValue
    }

    /// A role from a literal such as `"registrar"`; an invalid literal is a programming
    /// error and traps.
    public init(stringLiteral value: String) {
        guard let role = DossierRole(rawValue: value) else { preconditionFailure("invalid role literal \(value)") }
        self = role
    }

    /// The archivist who sealed the dossier.
    public static let sealer: DossierRole = "sealer"
    /// The officer who approved the sealing.
    public static let approver: DossierRole = "approver"
    /// An archive countersigning a sealed dossier (e.g. on receipt).
    public static let countersigner: DossierRole = "countersigner"
    /// Whoever re-wrapped the dossier for new recipients.
    public static let transferrer: DossierRole = "transferrer"
    /// Whoever opens a dossier: the role `dossier open` signs its access-log entry in.
    public static let reader: DossierRole = "reader"
    /// An archivist recording a loan, return or other event in the access log (`dossier log --record`).
    public static let archivist: DossierRole = "archivist"

    public var description: String { rawValue }
    public static func < (lhs: DossierRole, rhs: DossierRole) -> Bool { lhs.rawValue < rhs.rawValue }
}
