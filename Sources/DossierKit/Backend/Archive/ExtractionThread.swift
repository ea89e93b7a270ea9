import CDossierSystem
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs libarchive's disk writer (`DiskWriter`) on threads of its own — one or more workers,
/// each fed through a bounded queue of batches — so that creating, writing, timestamping and
/// closing files runs beside decompression, tar parsing and hashing. On a dossier of many
/// small files the file system's work (creating inodes) is most of an opening, and two
/// workers creating files in different folders do it side by side.
///
/// Which worker writes what (decided by the producer in `directory` and `beginFile`): every
/// listed folder has an owner, the worker with the least work so far when its entry comes;
/// the owner makes the folder and writes its files (two threads creating files in one
/// folder would wait for each other's hold on it in the kernel), except files of 1 MiB or
/// more, which go to whichever worker has less work (their cost is the data written, not
/// the inode). A worker that is to write below a folder another worker makes — the nearest
/// listed folder above the entry — first waits until that worker has made it (an `await`
/// operation; the batch holding the folder is handed over at once, so the wait always
/// ends); otherwise libarchive would make the folder itself, and the folder's own entry,
/// finding it there, would not give it its mode and time. A worker applies its folders'
/// deferred times and permissions (`DiskWriter.close`) only after every worker has written
/// everything (after a failure, when it frees its writer: the staging folder is removed).
///
/// Where the kernel lets a thread have a working directory of its own (`unshare(CLONE_FS)`,
/// unprivileged on Linux, but refused by some seccomp profiles), every worker's working
/// directory is the staging folder, reached through the descriptor the caller opened right
/// after creating it. Paths are then relative to it: libarchive's symlink check
/// (`ARCHIVE_EXTRACT_SECURE_SYMLINKS`) walks only the entry's own components instead of
/// every component of the absolute path, absolute paths are refused outright
/// (`SECURE_NOABSOLUTEPATHS`), a swapped-in ancestor of the staging folder cannot redirect
/// anything, and libarchive's per-entry `umask(0)`/`umask(old)` pair touches only that
/// thread. Elsewhere it falls back to absolute paths below the staging folder's real path;
/// there the umask is the process's, and libarchive's per-entry `umask(0)`/`umask(old)` of
/// two workers could interleave and leave it at 0, so workers writing by absolute paths
/// take turns (`absolutePathTurns`), and an opener that may fall back asks for one worker.
///
/// Memory: at most `maxQueued` (4) batches of about `batchBytes` of file data per worker; by
/// default 1 MiB divided among the workers, so ~6 MiB in all with the batches being filled
/// and written, whatever the number of workers. (Two queued per worker measured ~5% slower
/// on small files for ~0.6 MiB less.) A failure on any worker stops them all (the first
/// in time is reported: with two workers, a refusal and a disk failure in one opening may
/// be reported either way) and is thrown by the next `submit`-ing call or by `finish`;
/// `cancel` stops and waits for the workers (call it before removing the staging folder).
final class ExtractionThread: @unchecked Sendable {
    private enum Operation {
        case directory(path: String, permissions: UInt32, mtime: Int64)
        case begin(path: String, size: Int64, permissions: UInt32, mtime: Int64)
        case data(Range<Int>)
        case end
        /// Wait until worker `worker` has made `folders` folders (one of them the folder the
        /// next entries go into).
        case await(worker: Int, folders: Int)
    }

    private final class Batch {
        var operations: [Operation] = []
        var bytes: [UInt8] = []
    }

    /// A folder made by the extraction: which worker makes it, and how many folders that
    /// worker has made once it is made.
    private struct Folder {
        var worker: Int
        var ordinal: Int
    }

    /// The producer's view of one worker (touched by the producing thread only).
    private struct Route {
        var current = Batch()
        /// Folder operations appended, and how many of them are in batches handed over.
        var foldersQueued = 0
        var foldersSubmitted = 0
        /// Work routed to this worker so far (bytes, plus `entryCost` per entry).
        var cost: Int64 = 0
        /// For every other worker, the most folders this worker has already been told to wait for.
        var awaited: [Int]
    }

    private let root: String
    private let descriptor: Int32
    private let batchBytes: Int
    private let maxOperations = 1024
    private let maxQueued: Int
    /// The number of workers.
    let threads: Int
    private let condition = NSCondition()
    // Guarded by `condition`:
    private var queues: [[Batch]]
    private var spare: [Batch] = []
    private var foldersMade: [Int]
    private var workerDone: [Bool]
    private var workersDone = 0
    private var workersDrained = 0
    private var relativeWorkers = 0
    private var finishing = false
    private var cancelled = false
    private var failure: DossierError?
    // The producer's (the caller of directory/beginFile/fileData/endFile/finish):
    private var routes: [Route]
    private var folders: [String: Folder] = [:]
    private var fileWorker = 0
    private var finished = false

    /// The system calls tests replace (syncfs, fchdir into the staging folder).
    private let calls: StagingFolder.Calls
    /// Workers writing by absolute paths, in every extraction of the process, take turns at the
    /// libarchive calls that set and restore the process's umask (see `Worker.inTurn`); a
    /// worker copying the process's umask into its own (`unshare`) takes a turn too.
    static let absolutePathTurns = NSLock()
    /// Tests: runs on a worker (given its index) before it makes a folder.
    private let beforeFolder: (@Sendable (Int) -> Void)?
    /// The file system writes back while we extract (syncfs every `writebackStep` bytes on a
    /// helper thread), so that the final syncfs finds little left to do. (Measured on typical,
    /// on the VM of sessions 5–10: every 32 MiB 0.875 s, 8 MiB 0.76 s, 2 MiB 0.95 s; without
    /// any flush 0.64 s.)
    private let writeback: EarlyWriteback
    /// syncfs after every this many bytes extracted, by default.
    static let defaultWritebackStep = 8 << 20
    /// What routing counts for making one file or folder, besides its bytes.
    static let entryCost: Int64 = 64 << 10
    /// Files at least this large go to whichever worker has less work, not to their folder's owner.
    static let largeFile: Int64 = 1 << 20
    /// At most this many workers (measured on two cores; see docs/PERFORMANCE.md).
    static let defaultThreads = max(1, min(2, ProcessInfo.processInfo.activeProcessorCount))
    /// Below this many content bytes per file and folder, an opening is mostly the file
    /// system making inodes, which a second worker does beside the first. (Session 12, two
    /// cores, one worker against two, interleaved: 16 KiB files 0.485 / 0.417 s, 32 KiB
    /// 0.497 / 0.484 s, 64 KiB 0.392 / 0.411 s — two are slower there.)
    static let smallEntryBytes: Int64 = 16 << 10

    /// Workers for an opening of `entries` files and folders holding `bytes` of content: one
    /// for large files (the cores are busy hashing and decrypting; a second writer only adds
    /// switching), `defaultThreads` for small ones. Measured (session 12, two cores): 20,000
    /// files of 4 KiB open 9–25% faster with two, 64,448 files of 0.6 KiB ~20%; files of
    /// 64 KiB ~5% slower, of 630 KiB no faster.
    static func threads(entries: Int64, bytes: Int64) -> Int {
        entries > 0 && bytes / entries < smallEntryBytes ? defaultThreads : 1
    }

    /// Starts the workers. `root` is the staging folder's real path; `descriptor` an open
    /// descriptor of that folder (owned by the caller, kept open until `finish` or `cancel`
    /// returned). `privateWorkingDirectory: false` forces absolute paths (tests).
    ///
    /// `absolutePathsAllowed: false` (the opener did not check that nobody else can rename
    /// entries in the staging folder's folder, because the system lets threads have a working
    /// directory of their own) makes a failure to get one — to `unshare` or to
    /// `calls.enterFolder` (`fchdir`) — fail the extraction instead of falling back to
    /// absolute paths.
    init(root: String, descriptor: Int32, privateWorkingDirectory: Bool = true, absolutePathsAllowed: Bool = true,
         threads: Int = 1, batchBytes: Int? = nil, maxQueued: Int = 4,
         writebackStep: Int = ExtractionThread.defaultWritebackStep, calls: StagingFolder.Calls = .system,
         beforeFolderForTesting: (@Sendable (Int) -> Void)? = nil) {
        precondition(threads >= 1, "an extraction needs a worker")
        self.root = root
        self.calls = calls
        self.beforeFolder = beforeFolderForTesting
        self.descriptor = descriptor
        self.threads = threads
        self.batchBytes = batchBytes ?? max(64 << 10, (1 << 20) / threads)
        self.maxQueued = maxQueued
        queues = Array(repeating: [], count: threads)
        foldersMade = Array(repeating: 0, count: threads)
        workerDone = Array(repeating: false, count: threads)
        entriesRouted = Array(repeating: 0, count: threads)
        routes = (0..<threads).map { _ in Route(awaited: Array(repeating: 0, count: threads)) }
        // Started after the workers: where the system gives few threads, they get them first.
        writeback = EarlyWriteback(fd: descriptor, path: root, step: writebackStep, flush: .fileSystem, startNow: false,
                                   syncFileSystem: calls.syncFileSystem)
        for index in 0..<threads {
            routes[index].current.bytes.reserveCapacity(self.batchBytes)
            let body: @Sendable () -> Void = { [self] in
                // A working directory of this thread's own, in the staging folder; or absolute
                // paths (if unshare worked but fchdir did not, this thread's working directory is
                // an unshared copy of the process's), where the opener allows them.
                let worker = Worker(index: index, pool: self)
                guard privateWorkingDirectory else { return worker.work(relative: false) }
                var step = "unshare(CLONE_FS)"
                // The thread's own umask is a copy of the process's at this moment: taken in turn
                // with workers writing by absolute paths, which set the process's to 0 for an
                // instant (a copy made then would stay 0: folders libarchive makes came out 0775).
                Self.absolutePathTurns.lock()
                let unshared = dossier_unshare_fs() == 0
                var code = errno
                Self.absolutePathTurns.unlock()
                if unshared {
                    // This thread's umask is its own now: 022, whatever the process's. The
                    // opened modes are set explicitly (0644/0755), but libarchive makes folders
                    // through mkdir, which a umask such as 0277 left unwritable for their
                    // owner ("Can't create 'form.txt': Permission denied"; review of session 17).
                    umask(0o022)
                    step = "fchdir to the staging folder"
                    if calls.enterFolder(descriptor) == 0 { return worker.work(relative: true) }
                    code = errno
                }
                let reason = String(cString: strerror(code))
                if absolutePathsAllowed { return worker.work(relative: false) }
                worker.work(relative: false, refusal: DossierError(.output, "the extraction thread cannot work in the staging folder (\(step): \(reason)); the opening stops"))
            }
            do throws(SystemThread.Refused) { try SystemThread.start(name: "dossier.extract", body) } catch {
                // A worker that cannot run fails the extraction at once (the others drain
                // and end; the producer's next hand-over reports it).
                Worker(index: index, pool: self).work(relative: false, refusal: DossierError(.output, "cannot start an extraction worker: \(error)"))
            }
        }
        condition.lock()
        let failed = failure != nil
        condition.unlock()
        if !failed { writeback.start() }
    }

    deinit {
        try? writeback.stop()
    }

    /// Whether this system lets a thread have a working directory of its own (probed once,
    /// on a throwaway thread).
    static let privateWorkingDirectoryAvailable: Bool = probePrivateWorkingDirectory()

    /// Tries `unshare(CLONE_FS)` on a throwaway thread; false where it fails or no thread
    /// can be had (an opening then asks for one worker writing by absolute paths, and
    /// stops, its worker refused too, with a clear error).
    static func probePrivateWorkingDirectory() -> Bool {
        final class Box: @unchecked Sendable { var value = false }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        do throws(SystemThread.Refused) {
            try SystemThread.start(name: "dossier.probe") {
                box.value = dossier_unshare_fs() == 0
                done.signal()
            }
        } catch { return false }
        done.wait()
        return box.value
    }

    /// Whether every worker wrote relative to its own working directory (valid after `finish`).
    var usedPrivateWorkingDirectory: Bool {
        condition.lock()
        defer { condition.unlock() }
        return relativeWorkers == threads
    }

    /// How many entries (files and folders) each worker was given (tests).
    private(set) var entriesRouted: [Int]

    // MARK: Producing (one thread)

    func directory(_ path: String, permissions: UInt32, mtime: Int64) throws(DossierError) {
        let worker = leastLoaded()
        try wait(for: listedFolder(above: path), on: worker)
        // Counted first: a batch handed over by `append` holds this folder.
        routes[worker].foldersQueued += 1
        try append(.directory(path: path, permissions: permissions, mtime: mtime), to: worker)
        routes[worker].cost += Self.entryCost
        // One worker needs no routing (nor the map of folders).
        if threads > 1 { folders[path] = Folder(worker: worker, ordinal: routes[worker].foldersQueued) }
        entriesRouted[worker] += 1
    }

    func beginFile(_ path: String, size: Int64, permissions: UInt32, mtime: Int64) throws(DossierError) {
        let listed = listedFolder(above: path)
        let worker = listed.flatMap { size < Self.largeFile ? $0.worker : nil } ?? leastLoaded()
        try wait(for: listed, on: worker)
        try append(.begin(path: path, size: size, permissions: permissions, mtime: mtime), to: worker)
        routes[worker].cost += Self.entryCost + max(0, size)
        fileWorker = worker
        entriesRouted[worker] += 1
    }

    func fileData(_ bytes: UnsafeRawBufferPointer) throws(DossierError) {
        let worker = fileWorker
        var offset = 0
        while offset < bytes.count {
            let current = routes[worker].current
            let n = min(batchBytes - current.bytes.count, bytes.count - offset)
            if n > 0 {
                let start = current.bytes.count
                current.bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)]))
                current.operations.append(.data(start..<(start + n)))
                offset += n
            }
            if current.bytes.count >= batchBytes { try submit(worker) }
        }
    }

    func endFile() throws(DossierError) {
        try append(.end, to: fileWorker)
    }

    /// The worker with the least work routed to it so far (the first of equals).
    private func leastLoaded() -> Int {
        var best = 0
        for index in 1..<threads where routes[index].cost < routes[best].cost { best = index }
        return best
    }

    /// The folder part of `path` ("" for the staging folder itself).
    private static func folder(of path: String) -> String {
        guard path.utf8.contains(UInt8(ascii: "/")) else { return "" }
        return FileSystem.parent(of: path)
    }

    /// The nearest folder above `path` that the dossier listed (made by a worker), if any;
    /// nil with one worker.
    private func listedFolder(above path: String) -> Folder? {
        guard threads > 1 else { return nil }
        var folder = Self.folder(of: path)
        while !folder.isEmpty {
            if let listed = folders[folder] { return listed }
            folder = Self.folder(of: folder)
        }
        return nil
    }

    /// Makes `worker` wait, before the entry it is given next, for `folder` (the nearest listed
    /// folder above that entry) when another worker makes it (and `worker` has not waited for
    /// it already); hands that worker's batch holding the folder over now, so that the wait ends.
    private func wait(for folder: Folder?, on worker: Int) throws(DossierError) {
        guard let folder, folder.worker != worker,
              routes[worker].awaited[folder.worker] < folder.ordinal else { return }
        if routes[folder.worker].foldersSubmitted < folder.ordinal { try submit(folder.worker) }
        try append(.await(worker: folder.worker, folders: folder.ordinal), to: worker)
        routes[worker].awaited[folder.worker] = folder.ordinal
    }

    private func append(_ operation: Operation, to worker: Int) throws(DossierError) {
        routes[worker].current.operations.append(operation)
        if routes[worker].current.operations.count >= maxOperations { try submit(worker) }
    }

    private func submit(_ worker: Int) throws(DossierError) {
        condition.lock()
        defer { condition.unlock() }
        while queues[worker].count >= maxQueued && failure == nil && !workerDone[worker] { condition.wait() }
        if let failure { throw failure }
        guard !workerDone[worker] else { throw DossierError(.output, "extraction stopped early") }
        queues[worker].append(routes[worker].current)
        routes[worker].foldersSubmitted = routes[worker].foldersQueued
        routes[worker].current = spare.popLast() ?? Batch()
        if routes[worker].current.bytes.capacity < batchBytes { routes[worker].current.bytes.reserveCapacity(batchBytes) }
        condition.broadcast()
    }

    /// Hands over what is left, waits until everything is written, the deferred folder
    /// times and permissions are applied and the file system has written it all back
    /// (`syncfs`: an opened folder survives a power loss once it is in place), and throws
    /// the workers' failure.
    func finish() throws(DossierError) {
        for worker in 0..<threads where !routes[worker].current.operations.isEmpty { try submit(worker) }
        condition.lock()
        finishing = true
        condition.broadcast()
        while workersDone < threads { condition.wait() }
        let failed = failure
        condition.unlock()
        if let failed {
            try? writeback.stop()
            throw failed
        }
        guard !finished else { return }
        finished = true
        var written: DossierError?
        do { try writeback.stop() } catch { written = DossierError(.output, "writing the opened files to disk failed: \(error)") }
        if written == nil, calls.syncFileSystem(descriptor) != 0 {
            written = DossierError(.output, "writing the opened files to disk failed: \(String(cString: strerror(errno)))")
        }
        guard let written else { return }
        // Kept: a later `finish` must not report success.
        condition.lock()
        failure = written
        condition.unlock()
        throw written
    }

    /// Stops the workers after the batches they are writing and waits for them. Safe after `finish`.
    func cancel() {
        condition.lock()
        cancelled = true
        if failure == nil && !finished { failure = DossierError(.output, "extraction was cancelled") }
        for index in queues.indices { queues[index].removeAll() }
        condition.broadcast()
        while workersDone < threads { condition.wait() }
        condition.unlock()
        try? writeback.stop()
    }

    // MARK: The workers

    /// One worker: its disk writer, its working folder, the batches of its queue.
    private final class Worker {
        let index: Int
        let pool: ExtractionThread
        var relative = false
        /// Relative mode: the folder (relative to the staging folder, "" for the staging
        /// folder itself) that is this thread's working directory.
        var workingFolder = ""
        var descriptor: Int32 { pool.descriptor }
        var root: String { pool.root }

        init(index: Int, pool: ExtractionThread) {
            self.index = index
            self.pool = pool
        }

        /// Runs `body` (a libarchive call that may set the umask) in turn with every other
        /// worker of the process writing by absolute paths: they share the process's umask.
        /// Relative workers have their own (`unshare(CLONE_FS)`) and need no turn.
        func inTurn<R>(_ body: () throws(ArchiveError) -> R) throws(ArchiveError) -> R {
            guard !relative else { return try body() }
            ExtractionThread.absolutePathTurns.lock()
            defer { ExtractionThread.absolutePathTurns.unlock() }
            return try body()
        }

        /// Writes the batches until finished, cancelled or failed; with a `refusal`, writes
        /// nothing and fails with it.
        func work(relative: Bool, refusal: DossierError? = nil) {
            let condition = pool.condition
            self.relative = relative
            condition.lock()
            if relative { pool.relativeWorkers += 1 }
            condition.unlock()
            var failed = refusal
            var disk: DiskWriter?
            if failed == nil {
                do { disk = try inTurn { () throws(ArchiveError) in try DiskWriter(refuseAbsolutePaths: relative) } } catch {
                    failed = DossierError(.output, "\(error)")
                }
            }
            let prefix = relative ? "" : root + "/"
            while failed == nil {
                condition.lock()
                while pool.queues[index].isEmpty && !pool.finishing && !pool.cancelled && pool.failure == nil { condition.wait() }
                guard !pool.cancelled, pool.failure == nil, let batch = pool.queues[index].first else {
                    // Done: finishing with an empty queue, cancelled, or failed (the queue is
                    // dropped so that the producer is not left waiting for room).
                    pool.queues[index].removeAll()
                    condition.unlock()
                    break
                }
                pool.queues[index].removeFirst()
                condition.unlock()
                if let disk {
                    do throws(DossierError) { try run(batch, on: disk, prefix: prefix) } catch { failed = error }
                    pool.writeback.wrote(batch.bytes.count)
                }
                batch.operations.removeAll(keepingCapacity: true)
                batch.bytes.removeAll(keepingCapacity: true)
                condition.lock()
                if failed != nil && pool.failure == nil { pool.failure = failed }
                pool.spare.append(batch)
                condition.broadcast()
                condition.unlock()
            }
            // Every worker has written everything before any applies its folders' deferred
            // times and permissions: a file written into a folder afterwards would change the
            // folder's time again.
            condition.lock()
            if failed != nil && pool.failure == nil { pool.failure = failed }
            pool.workersDrained += 1
            condition.broadcast()
            while pool.workersDrained < pool.threads && pool.failure == nil && !pool.cancelled { condition.wait() }
            let allWritten = pool.failure == nil && !pool.cancelled
            condition.unlock()
            if let disk, allWritten {
                // Deferred folder times and permissions, by the paths the folders were made with:
                // from the staging folder.
                do throws(DossierError) {
                    if relative { try enter("") }
                    do { try inTurn { () throws(ArchiveError) in try disk.close() } } catch {
                        throw DossierError(.unsafePath, "extraction refused: \(error)")
                    }
                } catch { failed = error }
            }
            // Freeing the writer applies libarchive's deferred folder fix-ups even after a
            // failure, by the paths the folders were made with: from the staging folder.
            if disk != nil && relative && !workingFolder.isEmpty && fchdir(descriptor) == 0 { workingFolder = "" }
            if !relative { ExtractionThread.absolutePathTurns.lock() }
            disk = nil
            if !relative { ExtractionThread.absolutePathTurns.unlock() }
            condition.lock()
            if pool.failure == nil { pool.failure = failed }
            pool.workerDone[index] = true
            pool.workersDone += 1
            condition.broadcast()
            condition.unlock()
        }

        /// Refuses what our path rules never let through and libarchive may no longer see whole
        /// (an absolute path, a NUL byte). With absolute paths, a path of PATH_MAX bytes or more
        /// makes libarchive chdir() through it — and the working directory is the whole
        /// process's in that mode.
        private func checkPath(_ prefix: String, _ path: String) throws(DossierError) {
            guard path.utf8.first != UInt8(ascii: "/"), !path.utf8.contains(0) else {
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
            if FileSystem.same(folder, workingFolder) { return true }
            var current = descriptor
            defer { if current != descriptor { close(current) } }
            if !folder.isEmpty {
                for component in FileSystem.components(of: folder, omittingEmpty: false) {
                    // What libarchive's SECURE_NODOTDOT refuses in the part of the path it no
                    // longer sees (our path rules never let it through; `checkPath` refuses
                    // absolute paths and NUL bytes).
                    guard !component.isEmpty, component != ".", component != ".." else {
                        throw DossierError(.unsafePath, "extraction refused: \(folder) has an empty, \".\" or \"..\" component")
                    }
                    let next = openat(current, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
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
            guard path.utf8.contains(UInt8(ascii: "/")) else {
                try enter("")
                return path
            }
            if try enter(FileSystem.parent(of: path)) { return FileSystem.lastComponent(of: path) }
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
                    pool.beforeFolder?(index)
                    do {
                        try inTurn { () throws(ArchiveError) in
                            try disk.begin(path: prefix + path, isDirectory: true, size: 0, permissions: permissions, mtime: mtime)
                            try disk.finishEntry()
                        }
                    } catch { throw ExtractionThread.failure(error, path) }
                    pool.madeFolder(index)
                case let .begin(path, size, permissions, mtime):
                    try checkPath(prefix, path)
                    let target = try filePath(path, prefix: prefix)
                    do { try inTurn { () throws(ArchiveError) in try disk.begin(path: target, isDirectory: false, size: size, permissions: permissions, mtime: mtime) } } catch {
                        throw ExtractionThread.failure(error, path)
                    }
                case let .data(range):
                    do { try withBytes(batch.bytes) { (raw) throws(ArchiveError) in try disk.write(UnsafeRawBufferPointer(rebasing: raw[range])) } } catch {
                        throw DossierError(.output, "writing failed: \(error)")
                    }
                case .end:
                    do { try inTurn { () throws(ArchiveError) in try disk.finishEntry() } } catch { throw ExtractionThread.failure(error, nil) }
                case let .await(worker, folders):
                    try pool.waitUntil(worker: worker, hasMade: folders)
                }
            }
        }
    }

    /// A worker made a folder (others may be waiting for it).
    private func madeFolder(_ worker: Int) {
        condition.lock()
        foldersMade[worker] += 1
        condition.broadcast()
        condition.unlock()
    }

    /// Waits until `worker` has made `folders` folders; throws when the extraction stopped
    /// first (its failure is already on record).
    private func waitUntil(worker: Int, hasMade folders: Int) throws(DossierError) {
        condition.lock()
        defer { condition.unlock() }
        while foldersMade[worker] < folders && failure == nil && !cancelled && !workerDone[worker] { condition.wait() }
        guard foldersMade[worker] >= folders else {
            throw failure ?? DossierError(.output, "extraction stopped before a folder was made")
        }
    }

    /// What a failure of libarchive's disk writer means: the file system failing (out of
    /// space or inodes, an I/O error) is a write failure; anything else is a refusal.
    private static func failure(_ error: ArchiveError, _ path: String?) -> DossierError {
        let what = path.map { "\($0): \(error)" } ?? "\(error)"
        return error.isResourceFailure ? DossierError(.output, "writing failed: \(what)") : DossierError(.unsafePath, "extraction refused: \(what)")
    }
}
