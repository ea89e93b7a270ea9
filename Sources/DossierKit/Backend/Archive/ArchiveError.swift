import Glibc
/// A failure reported by libarchive (or by a stream under it), with libarchive's message.
struct ArchiveError: Error, Sendable, CustomStringConvertible {
    let reason: String
    /// The error thrown by our own source or sink inside a libarchive callback, if that caused it.
    let underlying: (any Error)?
    /// The system error behind it (libarchive's `archive_errno`), when there is one.
    let code: Int32?

    init(_ reason: String, underlying: (any Error)? = nil, code: Int32? = nil) {
        self.reason = reason
        self.underlying = underlying
        self.code = code
    }

    /// A failure of the file system rather than a refusal of what was asked: out of space or
    /// inodes, over quota, an I/O error, too many open files, a read-only file system, no
    /// permission (a local fault, not unsafe content).
    var isResourceFailure: Bool {
        guard let code else { return false }
        return [ENOSPC, EDQUOT, EIO, EMFILE, ENFILE, EROFS, ENOMEM, EFBIG, EACCES].contains(code)
    }

    var description: String { reason }
}
