import CDossierSystem
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs libarchive's disk writer (`DiskWriter`) on a thread of its own, fed through a bounded
/// queue of batches, so that creating, writing, timestamping and closing files runs on one
/// core while decompression, tar parsing and hashing run on another. On a dossier of many
/// small files the file system work is about half of an opening.
///
/// Where the kernel lets a thread have a working directory of its own (`unshare(CLONE_FS)`,
/// unprivileged on Linux, but refused by some seccomp profiles), the thread's working
/// directory is the staging folder, reached through the descriptor the caller opened right
/// after creating it. Paths are then relative to it: libarchive's symlink check
/// (`ARCHIVE_EXTRACT_SECURE_SYMLINKS`) walks only the entry's own components instead of
/// every component of the absolute path, absolute paths are refused outright
/// (`SECURE_NOABSOLUTEPATHS`), a swapped-in ancestor of the staging folder cannot redirect
/// anything, and libarchive's per-entry `umask(0)`/`umask(old)` pair touches only this
/// thread. Elsewhere it falls back to absolute paths below the staging folder's real path.
///
/// Memory: at most `maxQueued` batches of about `batchBytes` of file data each. A failure on
/// the thread is thrown by the next `submit`-ing call or by `finish`; `cancel` stops and
/// waits for the thread (call it before removing the staging folder).
final class ExtractionThread: @unchecked Sendable {
    private enum Operation {
        case directory(path: String, permissions: UInt32, mtime: Int64)
        case begin(path: String, size: Int64, permissions: UInt32, mtime: Int64)
        case data(Range<Int>)
        case end
    }

    private final class Batch {
        var operations: [Operation] = []
        var bytes: [UInt8] = []
    }

    private let root: String
    private let descriptor: Int32
    private let batchBytes: Int
    /// syncfs after every this many bytes extracted (on a helper thread).
    private let writebackStep: Int
    private let maxOperations = 1024
    private let maxQueued: Int
    private let condition = NSCondition()
    private var queue: [Batch] = []
    private var spare: [Batch] = []
    private var current = Batch()
    private var finishing = false
    private var cancelled = false
    private var threadDone = false
    private var failure: DossierError?
    private var relative = false
    /// Relative mode, on the thread only: the folder (relative to the staging folder, ""
    /// for the staging folder itself) that is the thread's working directory.
    private var workingFolder = ""

    /// The system calls tests replace (syncfs, fchdir into the staging folder).
    private let calls: StagingFolder.Calls
    /// syncfs after every this many bytes extracted, by default.
    static let defaultWritebackStep = 8 << 20

    /// Starts the thread. `root` is the staging folder's real path; `descriptor` an open
    /// descriptor of that folder (owned by the caller, kept open until `finish` or `cancel`
    /// returned). `privateWorkingDirectory: false` forces absolute paths (tests).
    ///
    /// `absolutePathsAllowed: false` (the opener did not check that nobody else can rename
    /// entries in the staging folder's folder, because the system lets threads have a working
    /// directory of their own) makes a failure to get one — to `unshare` or to
    /// `calls.enterFolder` (`fchdir`) — fail the extraction instead of falling back to
    /// absolute paths.
    init(root: String, descriptor: Int32, privateWorkingDirectory: Bool = true, absolutePathsAllowed: Bool = true,
         batchBytes: Int = 1 << 20, maxQueued: Int = 4, writebackStep: Int = ExtractionThread.defaultWritebackStep,
         calls: StagingFolder.Calls = .system) {
        self.root = root
        self.calls = calls
        self.writebackStep = writebackStep
        self.descriptor = descriptor
        self.batchBytes = batchBytes
        self.maxQueued = maxQueued
        current.bytes.reserveCapacity(batchBytes)
        let thread = Thread { [self] in
            // A working directory of this thread's own, in the staging folder; or absolute
            // paths (if unshare worked but fchdir did not, this thread's working directory is
            // an unshared copy of the process's), where the opener allows them.
            guard privateWorkingDirectory else { return work(relative: false) }
            var step = "unshare(CLONE_FS)"
            if dossier_unshare_fs() == 0 {
                step = "fchdir to the staging folder"
                if calls.enterFolder(descriptor) == 0 { return work(relative: true) }
            }
            let reason = String(cString: strerror(errno))
            if absolutePathsAllowed { return work(relative: false) }
            work(relative: false, refusal: DossierError(.output, "the extraction thread cannot work in the staging folder (\(step): \(reason)); nothing was written"))
        }
        thread.name = "dossier.extract"
        thread.start()
    }

    /// Whether this system lets a thread have a working directory of its own (probed once,
    /// on a throwaway thread).
    static let privateWorkingDirectoryAvailable: Bool = {
        final class Box: @unchecked Sendable { var value = false }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        let probe = Thread {
            box.value = dossier_unshare_fs() == 0
            done.signal()
        }
        probe.start()
        done.wait()
        return box.value
    }()

    /// Whether the thread wrote relative to its own working directory (valid after `finish`).
    var usedPrivateWorkingDirectory: Bool {
        condition.lock()
        defer { condition.unlock() }
        return relative
    }

    func directory(_ path: String, permissions: UInt32, mtime: Int64) throws(DossierError) {
        try append(.directory(path: path, permissions: permissions, mtime: mtime))
    }

    func beginFile(_ path: String, size: Int64, permissions: UInt32, mtime: Int64) throws(DossierError) {
        try append(.begin(path: path, size: size, permissions: permissions, mtime: mtime))
    }

    func fileData(_ bytes: UnsafeRawBufferPointer) throws(DossierError) {
        var offset = 0
        while offset < bytes.count {
            let n = min(batchBytes - current.bytes.count, bytes.count - offset)
            if n > 0 {
                let start = current.bytes.count
                current.bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)]))
                current.operations.append(.data(start..<(start + n)))
                offset += n
            }
            if current.bytes.count >= batchBytes { try submit() }
        }
    }

    func endFile() throws(DossierError) {
        try append(.end)
    }

    private func append(_ operation: Operation) throws(DossierError) {
        current.operations.append(operation)
        if current.operations.count >= maxOperations { try submit() }
    }

    private func submit() throws(DossierError) {
        condition.lock()
        defer { condition.unlock() }
        while queue.count >= maxQueued && failure == nil && !threadDone { condition.wait() }
        if let failure { throw failure }
        guard !threadDone else { throw DossierError(.output, "extraction stopped early") }
        queue.append(current)
        current = spare.popLast() ?? Batch()
        if current.bytes.capacity < batchBytes { current.bytes.reserveCapacity(batchBytes) }
        condition.broadcast()
    }

    /// Hands over what is left, waits until everything is written, the deferred folder
    /// times and permissions are applied and the file system has written it all back
    /// (`syncfs`: an opened folder survives a power loss once it is in place), and throws
    /// the thread's failure.
    func finish() throws(DossierError) {
        if !current.operations.isEmpty { try submit() }
        condition.lock()
        defer { condition.unlock() }
        finishing = true
        condition.broadcast()
        while !threadDone { condition.wait() }
        if let failure { throw failure }
    }

    /// Stops the thread after the batch it is writing and waits for it. Safe after `finish`.
    func cancel() {
        condition.lock()
        defer { condition.unlock() }
        cancelled = true
        if failure == nil { failure = DossierError(.output, "extraction was cancelled") }
        queue.removeAll()
        condition.broadcast()
        while !threadDone { condition.wait() }
    }

    /// Writes the batches until finished, cancelled or failed; with a `refusal`, writes nothing
    /// and fails with it.
    private func work(relative: Bool, refusal: DossierError? = nil) {
        condition.lock()
        self.relative = relative
        condition.unlock()
        var failed = refusal
        var disk: DiskWriter?
        // The file system writes back while we extract (syncfs every 8 MiB on a helper
        // thread), so that the final syncfs finds little left to do. (Measured on typical, on
        // this VM: every 32 MiB 0.875 s, 8 MiB 0.76 s, 2 MiB 0.95 s; without any flush 0.64 s.)
        let writeback = EarlyWriteback(fd: descriptor, path: root, step: writebackStep, flush: .fileSystem, syncFileSystem: calls.syncFileSystem)
        if failed == nil {
            do { disk = try DiskWriter(refuseAbsolutePaths: relative) } catch { failed = DossierError(.output, "\(error)") }
        }
        let prefix = relative ? "" : root + "/"
        while true {
            condition.lock()
            while queue.isEmpty && !finishing && !cancelled { condition.wait() }
            guard !cancelled, failed == nil, let batch = queue.first else {
                // Done: finishing with an empty queue, cancelled, or failed (the queue is
                // dropped so that the producer is not left waiting for room).
                queue.removeAll()
                condition.unlock()
                break
            }
            queue.removeFirst()
            condition.unlock()
            if let disk {
                do throws(DossierError) { try run(batch, on: disk, prefix: prefix) } catch { failed = error }
                writeback.wrote(batch.bytes.count)
            }
            batch.operations.removeAll(keepingCapacity: true)
            batch.bytes.removeAll(keepingCapacity: true)
            condition.lock()
            if failed != nil { failure = failed }
            spare.append(batch)
            condition.broadcast()
            condition.unlock()
        }
        if let disk, failed == nil, !cancelled {
            // Deferred folder times and permissions, by the paths the folders were made with:
            // from the staging folder.
            do throws(DossierError) {
                if relative { try enter("") }
                do { try disk.close() } catch { throw DossierError(.unsafePath, "extraction refused: \(error)") }
            } catch { failed = error }
            do { try writeback.stop() } catch { failed = failed ?? DossierError(.output, "writing the opened files to disk failed: \(error)") }
            if failed == nil, calls.syncFileSystem(descriptor) != 0 {
                failed = DossierError(.output, "writing the opened files to disk failed: \(String(cString: strerror(errno)))")
            }
        }
        try? writeback.stop()
        // Freeing the writer applies libarchive's deferred folder fix-ups even after a
        // failure, by the paths the folders were made with: from the staging folder.
        if disk != nil && relative && !workingFolder.isEmpty && fchdir(descriptor) == 0 { workingFolder = "" }
        disk = nil
        condition.lock()
        if failure == nil { failure = failed }
        threadDone = true
        condition.broadcast()
        condition.unlock()
    }

    /// Refuses what our path rules never let through and libarchive may no longer see whole
    /// (an absolute path, a NUL byte). With absolute paths, a path of PATH_MAX bytes or more
    /// makes libarchive chdir() through it — and the working directory is the whole
    /// process's in that mode.
    private func checkPath(_ prefix: String, _ path: String) throws(DossierError) {
        guard !path.hasPrefix("/"), !path.utf8.contains(0) else {
            throw DossierError(.unsafePath, "extraction refused: \(path) is an absolute path or holds a NUL byte")
        }
        guard !prefix.isEmpty, prefix.utf8.count + path.utf8.count >= Int(PATH_MAX) else { return }
        throw DossierError(.output, "\(path) is too long to be written below \(root) on this system (\(PATH_MAX) bytes at most)",
                           hint: "open into a folder with a shorter path")
    }

    /// Relative mode: makes `folder` (relative to the staging folder; "" for the staging
    /// folder) this thread's working directory, reached from the staging folder's descriptor
    /// one component at a time without following a symlink. Returns false, and changes
    /// nothing, if a component does not exist.
    @discardableResult
    private func enter(_ folder: String) throws(DossierError) -> Bool {
        if folder == workingFolder { return true }
        var current = descriptor
        defer { if current != descriptor { close(current) } }
        if !folder.isEmpty {
            for component in folder.split(separator: "/", omittingEmptySubsequences: false) {
                // What libarchive's SECURE_NODOTDOT refuses in the part of the path it no
                // longer sees (our path rules never let it through; `checkPath` refuses
                // absolute paths and NUL bytes).
                guard !component.isEmpty, component != ".", component != ".." else {
                    throw DossierError(.unsafePath, "extraction refused: \(folder) has an empty, \".\" or \"..\" component")
                }
                let next = openat(current, String(component), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                guard next >= 0 else {
                    let code = errno
                    if code == ENOENT { return false }
                    if code == ELOOP || code == ENOTDIR {
                        throw DossierError(.unsafePath, "extraction refused: \(folder) is not a folder of the opening (\(String(cString: strerror(code))))")
                    }
                    throw DossierError(.output, "extraction failed: cannot open the folder \(folder): \(String(cString: strerror(code)))")
                }
                if current != descriptor { close(current) }
                current = next
            }
        }
        guard fchdir(current) == 0 else {
            let code = errno
            throw DossierError(.output, "extraction failed: cannot enter \(folder.isEmpty ? "the staging folder" : folder): \(String(cString: strerror(code)))")
        }
        workingFolder = folder
        return true
    }

    /// The path to hand libarchive for a file at `path`: relative mode, its last component,
    /// from its folder as working directory — so that libarchive's symlink check has only that
    /// component left to look at, the folders having been entered by descriptor without
    /// following links (a folder the dossier never listed is made by libarchive from the
    /// staging folder, with its own checks); absolute mode, the full path.
    private func filePath(_ path: String, prefix: String) throws(DossierError) -> String {
        guard relative else { return prefix + path }
        guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else {
            try enter("")
            return path
        }
        let folder = String(path[..<slash])
        if try enter(folder) { return String(path[path.index(after: slash)...]) }
        try enter("")
        return path
    }

    private func run(_ batch: Batch, on disk: DiskWriter, prefix: String) throws(DossierError) {
        for operation in batch.operations {
            switch operation {
            case let .directory(path, permissions, mtime):
                try checkPath(prefix, path)
                // Folders from the staging folder: libarchive fixes their times and modes up
                // at the end by the path they were made with.
                if relative { try enter("") }
                do {
                    try disk.begin(path: prefix + path, isDirectory: true, size: 0, permissions: permissions, mtime: mtime)
                    try disk.finishEntry()
                } catch { throw Self.failure(error, path) }
            case let .begin(path, size, permissions, mtime):
                try checkPath(prefix, path)
                let target = try filePath(path, prefix: prefix)
                do { try disk.begin(path: target, isDirectory: false, size: size, permissions: permissions, mtime: mtime) } catch {
                    throw Self.failure(error, path)
                }
            case let .data(range):
                do { try withBytes(batch.bytes) { (raw) throws(ArchiveError) in try disk.write(UnsafeRawBufferPointer(rebasing: raw[range])) } } catch {
                    throw DossierError(.output, "writing failed: \(error)")
                }
            case .end:
                do { try disk.finishEntry() } catch { throw Self.failure(error, nil) }
            }
        }
    }

    /// What a failure of libarchive's disk writer means: the file system failing (out of
    /// space or inodes, an I/O error) is a write failure; anything else is a refusal.
    private static func failure(_ error: ArchiveError, _ path: String?) -> DossierError {
        let what = path.map { "\($0): \(error)" } ?? "\(error)"
        return error.isResourceFailure ? DossierError(.output, "writing failed: \(what)") : DossierError(.unsafePath, "extraction refused: \(what)")
    }
}
