/// A failure reported by libarchive (or by a stream under it), with libarchive's message.
struct ArchiveError: Error, Sendable, CustomStringConvertible {
    let reason: String
    /// The error thrown by our own source or sink inside a libarchive callback, if that caused it.
    let underlying: (any Error)?

    init(_ reason: String, underlying: (any Error)? = nil) {
        self.reason = reason
        self.underlying = underlying
    }

    var description: String { reason }
}
