import CDossierSystem
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Asks the kernel to read the next files of a folder walk into the page cache while the
/// walker is still busy with earlier ones, for sources that are not in memory.
///
/// The seal reads a case folder one file at a time, in a fixed order (bytewise names,
/// depth first: `ContentWriter`). When the files are on disk and not cached — a folder
/// nobody read since the machine started, or pages the system evicted — every file's first
/// read waits for the disk while the cores that compress, hash and encrypt have nothing to
/// do. This helper walks the same folder in the same order on its own thread and, for the
/// files just ahead of the walker, asks for their first bytes with
/// `posix_fadvise(POSIX_FADV_WILLNEED)`, which queues the reads and returns: the disk then
/// reads many files at once (on this kind of VM a 20,000-file folder reads in 0.75 s with
/// several reads in flight against 1.66 s one after another).
///
/// It costs nothing on a cached folder: the thread starts only when the walker's read of a
/// file finds it not cached (`notCached`), and it rests again after
/// `Limits.cachedFilesBeforeRest` files in a row that were already cached.
///
/// Advice only: it opens files and folders the way the walker does (relative to their
/// folder, never following a link, regular files and folders only, no deeper than a
/// dossier path may go), reads at most one byte of a file into this process (to see whether
/// it is cached), ignores every error (the walker's own checks decide what is sealed), and
/// keeps at most `Limits.filesAhead` files and `Limits.bytesAhead` bytes ahead of the
/// walker. `stop()` ends the thread and closes every descriptor it opened (waiting at most
/// `stopWait`; a thread blocked in the kernel closes them itself when it ends).
final class FolderReadAhead: @unchecked Sendable {
    struct Limits: Sendable {
        /// Files asked for that the walker has not reached yet.
        var filesAhead = 256
        /// Bytes asked for that the walker has not reached yet (page cache, not this
        /// process's memory): no file is asked for once this many are, so up to one file's
        /// `bytesPerFile` more.
        var bytesAhead: Int64 = 32 << 20
        /// The first bytes of each file asked for; the kernel's own read-ahead follows the
        /// walker through the rest of a large file.
        var bytesPerFile: Int64 = 8 << 20
        /// Files in a row found already cached after which the helper rests until the
        /// walker finds another file not cached.
        var cachedFilesBeforeRest = 32
    }

    /// What was done (for tests and benchmarks).
    struct Statistics: Sendable, Equatable {
        /// Times the walker woke the helper (its first start included).
        var wakeUps = 0
        /// Files whose reading was asked for.
        var filesRequested = 0
        /// Files the helper opened and found already cached.
        var filesCached = 0
        /// Folders the helper listed.
        var foldersListed = 0
    }

    /// How long `stop()` waits for the thread (blocked in the kernel, say on a hung network
    /// file system) before it leaves it to end, and to close its descriptors, by itself.
    static let stopWait: Double = 2

    /// Asks for the first `length` bytes of the open regular file `fd`; returns whether
    /// they were cached already (then nothing is asked). Replaced by tests.
    typealias Request = @Sendable (_ fd: Int32, _ length: Int64) -> Bool

    private let root: Int32
    private let limits: Limits
    private let request: Request
    private let startThread: (@escaping @Sendable () -> Void) -> Bool
    private let condition = NSCondition()
    /// Files the walker has finished: it reads the file of this index (in walk order) next.
    private var walkerDone = 0
    /// The helper works on files from this index on; nil while it rests.
    private var wantedFrom: Int?
    /// Files asked for and not yet passed by the walker: (index, bytes), oldest first.
    private var ahead: [(index: Int, bytes: Int64)] = []
    private var aheadBytes: Int64 = 0
    private var cachedInARow = 0
    private var started = false
    private var stopping = false
    private var finished = false
    private var rootClosed = false
    /// `stop()` gave up waiting: the thread closes `root` when it ends.
    private var abandoned = false
    private var counts = Statistics()

    /// For a walk of the open folder `directory` (which the caller keeps; the helper opens
    /// its own description of it). Returns nil when it cannot.
    /// `startThread` starts the helper's thread, false when it cannot (tests replace it).
    init?(folder directory: Int32, limits: Limits = Limits(), request: @escaping Request = FolderReadAhead.askKernel,
          startThread: @escaping (@escaping @Sendable () -> Void) -> Bool = { (try? SystemThread.start(name: "dossier.readahead", $0)) != nil }) {
        // Its own open file description: listing a directory moves its read position,
        // which a dup would share with the walker's.
        let fd = openat(directory, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        root = fd
        self.limits = limits
        self.request = request
        self.startThread = startThread
    }

    /// Only reached when the thread never ran or has ended (it holds the helper): closes `root`.
    deinit {
        stop()
    }

    var statistics: Statistics {
        condition.lock()
        defer { condition.unlock() }
        return counts
    }

    /// The walker's read of the file of index `index` had to wait for the disk: read
    /// ahead from the next file on (starts the thread the first time).
    func notCached(fileIndex index: Int) {
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else { return }
        counts.wakeUps += 1
        wantedFrom = max(wantedFrom ?? 0, index + 1)
        cachedInARow = 0
        if !started {
            // Without a thread (the system refused one) there is no read-ahead, nothing else.
            started = startThread { [self] in work() }
            if !started { stopping = true }
        }
        condition.broadcast()
    }

    /// The walker has finished `count` files (it reads the file of index `count` next).
    func walkerFinished(files count: Int) {
        condition.lock()
        defer { condition.unlock() }
        walkerDone = count
        // A resting helper stays where it is (it catches up when woken again).
        if wantedFrom != nil { condition.broadcast() }
    }

    /// Ends the thread (if it started) and waits for it, at most `stopWait` seconds; every
    /// descriptor it opened is closed — by the thread itself when it ends later.
    func stop() {
        condition.lock()
        defer { condition.unlock() }
        stopping = true
        condition.broadcast()
        let deadline = Date().addingTimeInterval(Self.stopWait)
        while started && !finished {
            if !condition.wait(until: deadline) { break }
        }
        if started && !finished {
            abandoned = true
        } else if !rootClosed {
            rootClosed = true
            close(root)
        }
    }

    /// Whether `stop()` was called (read by the thread before each entry).
    private var isStopping: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stopping
    }

    /// `posix_fadvise(WILLNEED)` of the file's first `length` bytes, unless its first byte
    /// is cached (a read that must not wait tells).
    static let askKernel: Request = { fd, length in
        var byte: UInt8 = 0
        if dossier_read_cached(fd, &byte, 1, 0) >= 0 { return true }
        _ = posix_fadvise(fd, 0, off_t(length), POSIX_FADV_WILLNEED)
        return false
    }

    // MARK: - The helper thread

    private enum Turn {
        case request
        case skip
        case stop
    }

    private func work() {
        var next = 0
        _ = walk(root, depth: 0, next: &next)
        condition.lock()
        finished = true
        if abandoned && !rootClosed {
            rootClosed = true
            close(root)
        }
        condition.broadcast()
        condition.unlock()
    }

    /// Walks `directory` (`depth` levels below the top) as the seal's walker does; false
    /// when stopped. It goes no deeper than paths the walker accepts (`DossierPath.maxDepth`),
    /// so it never holds more folders open than the walker may.
    private func walk(_ directory: Int32, depth: Int, next: inout Int) -> Bool {
        guard !isStopping else { return false }
        guard let entries = try? FileSystem.listDirectory(fd: directory, path: "") else { return true }
        condition.lock()
        counts.foldersListed += 1
        condition.unlock()
        for entry in entries {
            // Folders, links and other entries need no turn: stop is looked at for each.
            guard !isStopping else { return false }
            var type = Int32(entry.type)
            if type == Int32(DT_UNKNOWN) {
                guard let info = try? FileSystem.lstatusAt(directory, entry.name, path: "") else { continue }
                type = FileSystem.isRegular(info) ? Int32(DT_REG) : FileSystem.isDirectory(info) ? Int32(DT_DIR) : Int32(DT_UNKNOWN)
            }
            if type == Int32(DT_DIR) {
                guard depth + 1 < DossierPath.maxDepth else { continue }
                let fd = FileSystem.openAt(directory, entry.name, flags: O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                guard fd >= 0 else { continue }
                let going = walk(fd, depth: depth + 1, next: &next)
                close(fd)
                guard going else { return false }
            } else if type == Int32(DT_REG) {
                let index = next
                next += 1
                switch turn(for: index) {
                case .stop: return false
                case .skip: continue
                case .request: requestFile(entry.name, in: directory, index: index)
                }
            }
        }
        return true
    }

    /// Waits until the file of `index` may be asked for, or is to be skipped.
    private func turn(for index: Int) -> Turn {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if stopping { return .stop }
            // Resting: stay here, without following the walker, until woken.
            guard let from = wantedFrom else {
                condition.wait()
                continue
            }
            // Files the walker has reached need nothing more.
            while let oldest = ahead.first, oldest.index < walkerDone {
                aheadBytes -= oldest.bytes
                ahead.removeFirst()
            }
            if index < walkerDone || index < from { return .skip }
            if ahead.count < limits.filesAhead && aheadBytes < limits.bytesAhead { return .request }
            condition.wait()
        }
    }

    private func requestFile(_ name: [UInt8], in directory: Int32, index: Int) {
        let fd = FileSystem.openAt(directory, name, flags: O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, FileSystem.isRegular(info) else { return }
        let length = min(Int64(info.st_size), limits.bytesPerFile)
        let cached = request(fd, length)
        condition.lock()
        defer { condition.unlock() }
        ahead.append((index, length))
        aheadBytes += length
        if cached {
            counts.filesCached += 1
            cachedInARow += 1
            if cachedInARow >= limits.cachedFilesBeforeRest {
                cachedInARow = 0
                wantedFrom = nil
            }
        } else {
            counts.filesRequested += 1
            cachedInARow = 0
        }
    }
}
