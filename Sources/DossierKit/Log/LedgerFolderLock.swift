#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Who has a ledger open, across processes. Every process that opens a ledger for writing
/// holds a shared lock (`flock`) on the ledger's folder, from before SQLite opens the file
/// until the ledger is closed. A command that made a new ledger and then failed before
/// recording anything removes it only under the exclusive lock, that is, only when no other
/// process has it open: it used to remove it while another process — the first seal of the
/// day from a second shell — was writing its entry into it, and that entry went with the
/// file while its seal reported "logged" (review of session 20: 17 of 50 racing rounds).
///
/// The lock is on the folder, not on the ledger file: closing any descriptor of the file
/// would drop SQLite's own POSIX locks on it. Where the file system cannot lock (some
/// network shares), nobody gets the exclusive lock and nothing is removed.
package final class LedgerFolderLock: Sendable {
    private let descriptor: Atomic<Int32>

    private init(_ descriptor: Int32) {
        self.descriptor = Atomic(descriptor)
    }

    /// The shared lock on the folder of `ledgerPath`, waiting while a remover holds the
    /// exclusive one; nil where the folder cannot be opened or locked (the ledger is then
    /// used without it).
    package static func shared(for ledgerPath: String) -> LedgerFolderLock? {
        lock(ledgerPath, LOCK_SH)
    }

    /// The exclusive lock on the folder of `ledgerPath` if no process holds the shared one
    /// (no other process has a ledger in that folder open), without waiting; else nil.
    package static func exclusive(for ledgerPath: String) -> LedgerFolderLock? {
        lock(ledgerPath, LOCK_EX | LOCK_NB)
    }

    private static func lock(_ ledgerPath: String, _ operation: Int32) -> LedgerFolderLock? {
        let folder = FileSystem.parent(of: ledgerPath)
        let fd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        while flock(fd, operation) != 0 {
            guard errno == EINTR else {
                close(fd)
                return nil
            }
        }
        return LedgerFolderLock(fd)
    }

    /// Gives the lock up (again: nothing).
    package func release() {
        let fd = descriptor.exchange(-1, ordering: .acquiringAndReleasing)
        if fd >= 0 { close(fd) }
    }

    deinit { release() }
}
