/// A passphrase held in memory that is wiped when the last reference to it goes away.
///
/// A Swift `String` cannot be wiped: its storage may be copied, and it is freed as it is.
/// Every function of the library that takes a passphrase takes a `Passphrase` too (the
/// `String` forms turn theirs into one); made from bytes with `init(consuming:)`, a
/// passphrase never becomes a string at all, which is how the `dossier` command line
/// handles the passphrases it reads. A passphrase is used as its exact bytes (age's scrypt
/// recipients); its text form is UTF-8. The description never shows it.
public final class Passphrase: Sendable, CustomStringConvertible {
    /// The passphrase's bytes, in wiping memory.
    package let secret: SecureBytes

    /// Takes the passphrase's bytes (no line end) and wipes `bytes`. Only the array's own
    /// storage is wiped: if it shares its storage with another array (a copy not yet
    /// written to), that one keeps the bytes.
    public init(consuming bytes: inout [UInt8]) {
        secret = SecureBytes(consuming: &bytes)
    }

    /// The UTF-8 bytes of `text`. The copy made here is wiped; `text` itself cannot be, so
    /// prefer `init(consuming:)` where the passphrase is read as bytes.
    public convenience init(_ text: String) {
        var bytes = Array(text.utf8)
        self.init(consuming: &bytes)
    }

    /// Whether the passphrase has no bytes.
    public var isEmpty: Bool { secret.count == 0 }

    /// Whether both passphrases have the same bytes, compared in constant time (lengths
    /// are not secret: different lengths return `false` at once).
    public func matches(_ other: Passphrase) -> Bool {
        secret == other.secret
    }

    public var description: String { "Passphrase(redacted)" }
}
