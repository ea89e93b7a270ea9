import Foundation
import Testing
@testable import DossierKit
#if canImport(Glibc)
import Glibc
#endif

/// Several extraction workers: the same tree, modes and times as one, work routed by
/// folder, a worker waiting for a folder another worker makes, and no hang when a worker
/// fails or a queue is full.
@Suite("opening: several extraction workers")
struct ParallelExtractionTests {
    /// Runs `body` on a thread of its own and waits at most `seconds` for it; false when it
    /// did not return in time (a hang: the thread is left behind).
    static func returns(within seconds: Double, _ body: @escaping @Sendable () -> Void) -> Bool {
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            body()
            done.signal()
        }
        thread.start()
        return done.wait(timeout: .now() + seconds) == .success
    }

    /// Runs a producer's calls (`body`) on a thread of its own, waiting at most `seconds`:
    /// nil when it hung, else the error it threw, if any.
    static func produce(within seconds: Double, _ body: @escaping @Sendable () throws(DossierError) -> Void) -> DossierError?? {
        final class Outcome: @unchecked Sendable { var error: DossierError? }
        let outcome = Outcome()
        let returned = returns(within: seconds) {
            do throws(DossierError) { try body() } catch { outcome.error = error }
        }
        return returned ? .some(outcome.error) : nil
    }

    /// Random bytes from a seeded generator.
    static func bytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: state >> 56)
        }
    }

    @Test("one, two and three workers give the same files, modes and folder times, with relative and with absolute paths")
    func sameTree() throws {
        let fx = try DossierFixture()
        var files: [String: [UInt8]] = [:]
        for a in 0..<4 {
            for b in 0..<3 {
                for c in 0..<5 { files["s\(a)/f\(b)/note-\(c).txt"] = Array("note \(a) \(b) \(c)".utf8) }
            }
            files["s\(a)/summary.txt"] = Array("summary \(a)".utf8)
        }
        files["s1/f2/scan.tif"] = Self.bytes((1 << 20) + 333, seed: 1)
        files["s3/big.bin"] = Self.bytes((3 << 19) + 7, seed: 2)
        files["top.txt"] = Array("top".utf8)
        let source = try fx.folder("case", files, emptyDirectories: ["s2/empty/inner"])
        var times = [timespec(tv_sec: 1_400_000_000, tv_nsec: 0), timespec(tv_sec: 1_400_000_000, tv_nsec: 0)]
        for (offset, folder) in ["s0", "s1/f2", "s2/empty/inner", "s2/empty", "s3/f0", "s3"].enumerated() {
            chmod(source + "/" + folder, offset.isMultiple(of: 2) ? 0o700 : 0o750)
            times[0].tv_sec += 1_000
            times[1].tv_sec += 1_000
            utimensat(AT_FDCWD, source + "/" + folder, &times, 0)
        }
        let receipt = try fx.seal(source)

        var reference: [String: [Int64]]?
        for absolute in [false, true] {
            for threads in 1...3 {
                var options = OpenOptions()
                options.absolutePathsForTesting = absolute
                options.extractionThreadsForTesting = threads
                let out = fx.dir.path("out-\(absolute)-\(threads)")
                let opened = try Dossier.open(receipt.path, with: [fx.recipient.identity], into: out, trusting: fx.trust,
                                              recordingTo: fx.recorder, options: options)
                #expect(opened.extractedRelative == (!absolute && ExtractionThread.privateWorkingDirectoryAvailable))
                #expect(try DossierFixture.contents(of: out) == files, "absolute \(absolute), \(threads) workers")
                let attributes = try ExtractionTests.attributes(of: out)
                #expect(attributes["s1/f2"] == [Int64(Glibc.S_IFDIR | 0o755), 1_400_002_000], "\(threads) workers")
                #expect(attributes["s3"] == [Int64(Glibc.S_IFDIR | 0o755), 1_400_006_000], "\(threads) workers")
                #expect(attributes["s2/empty/inner"]?[1] == 1_400_003_000, "\(threads) workers")
                if let reference {
                    #expect(attributes == reference, "absolute \(absolute), \(threads) workers")
                } else {
                    reference = attributes
                }
            }
        }
    }

    @Test("work is routed by folder: each worker makes its folders and their small files; large files go to the worker with less work")
    func routing() throws {
        let dir = try TemporaryDirectory()
        let staging = try StagingFolder(beside: dir.path("out"), tag: "test")
        defer { staging.close() }
        let pool = ExtractionThread(root: staging.root, descriptor: staging.descriptor, threads: 2)
        defer { pool.cancel() }
        func file(_ path: String, _ content: [UInt8]) throws(DossierError) {
            try pool.beginFile(path, size: Int64(content.count), permissions: 0o600, mtime: 0)
            try withBytes(content) { (raw) throws(DossierError) in try pool.fileData(raw) }
            try pool.endFile()
        }
        // a → worker 0; b → worker 1 (less work); their small files with them.
        try pool.directory("a", permissions: 0o700, mtime: 0)
        try pool.directory("b", permissions: 0o700, mtime: 0)
        for n in 0..<3 { try file("a/\(n).txt", [UInt8(n)]) }
        try file("b/0.txt", [9])
        // Worker 0 now has more work (4 entries against 2): a large file of a goes to worker 1.
        try file("a/large.bin", Self.bytes(1 << 20, seed: 3))
        try pool.finish()
        #expect(pool.entriesRouted == [4, 3])
        #expect(try DossierFixture.contents(of: staging.root)["a/large.bin"] == Self.bytes(1 << 20, seed: 3))
    }

    @Test("a worker writing into a folder that another worker makes waits until it is made, also through folders nobody listed (its mode and time are not lost)",
          arguments: [false, true], ["slow/large.bin", "slow/unlisted/large.bin"])
    func waitsForTheFolder(relative: Bool, path: String) throws {
        let dir = try TemporaryDirectory()
        let staging = try StagingFolder(beside: dir.path("out"), tag: "test")
        defer { staging.close() }
        // Worker 0 is slow to make its folders; worker 1 gets the large file inside one.
        let pool = ExtractionThread(root: staging.root, descriptor: staging.descriptor, privateWorkingDirectory: relative, threads: 2,
                                    beforeFolderForTesting: { worker in if worker == 0 { usleep(300_000) } })
        defer { pool.cancel() }
        let content = Self.bytes((1 << 20) + 5, seed: 4)
        try pool.directory("slow", permissions: 0o750, mtime: 1_400_000_000)
        try pool.beginFile(path, size: Int64(content.count), permissions: 0o600, mtime: 0)
        try withBytes(content) { (raw) throws(DossierError) in try pool.fileData(raw) }
        try pool.endFile()
        try pool.finish()
        #expect(pool.entriesRouted == [1, 1])
        // Had worker 1 written first, libarchive would have made "slow" itself (0755, now),
        // and the folder's own entry would have found it there and changed nothing.
        let info = try FileSystem.lstatus(staging.root + "/slow")
        #expect(info.st_mode & 0o7777 == 0o750)
        #expect(info.st_mtim.tv_sec == 1_400_000_000)
        #expect(try DossierFixture.contents(of: staging.root) == [path: content])
    }

    @Test("a worker waiting for a folder whose batch is not handed over yet does not hang the opening when its queue is full")
    func noHangOnFullQueue() throws {
        let dir = try TemporaryDirectory()
        let staging = try StagingFolder(beside: dir.path("out"), tag: "test")
        defer { staging.close() }
        // Tiny batches and one queued batch per worker: the producer blocks on worker 1's
        // queue while worker 1 waits for the folder in worker 0's batch.
        let pool = ExtractionThread(root: staging.root, descriptor: staging.descriptor, threads: 2, batchBytes: 4096, maxQueued: 1)
        let content = Self.bytes(3 << 19, seed: 5)
        let outcome = Self.produce(within: 30) { () throws(DossierError) in
            try pool.directory("f", permissions: 0o700, mtime: 0)
            for n in 0..<2 {
                try pool.beginFile("f/large-\(n).bin", size: Int64(content.count), permissions: 0o600, mtime: 0)
                try withBytes(content) { (raw) throws(DossierError) in try pool.fileData(raw) }
                try pool.endFile()
            }
            try pool.finish()
        }
        guard let error = outcome else { Issue.record("the extraction hung"); return }
        #expect(error == nil, "\(String(describing: error))")
        #expect(try DossierFixture.contents(of: staging.root) == ["f/large-0.bin": content, "f/large-1.bin": content])
        pool.cancel()
    }

    @Test("a worker waiting for a folder that another worker refuses to make stops, and the refusal reaches the producer")
    func refusalWhileWaiting() throws {
        let dir = try TemporaryDirectory()
        try FileSystem.makeDirectory(dir.path("deep"), mode: 0o700)
        let staging = try StagingFolder(beside: dir.path("deep/out"), tag: "test")
        defer { staging.remove() }
        // Worker 0 refuses only once the producer has handed everything over and waits in
        // `finish` for worker 1, which waits for worker 0's folder.
        let pool = ExtractionThread(root: staging.root, descriptor: staging.descriptor, threads: 2,
                                    beforeFolderForTesting: { worker in if worker == 0 { usleep(300_000) } })
        let outcome = Self.produce(within: 30) { () throws(DossierError) in
            try pool.directory("a/../../b", permissions: 0o700, mtime: 0)
            let content = Self.bytes((1 << 20) + 1, seed: 6)
            try pool.beginFile("a/../../b/large.bin", size: Int64(content.count), permissions: 0o600, mtime: 0)
            try withBytes(content) { (raw) throws(DossierError) in try pool.fileData(raw) }
            try pool.endFile()
            try pool.finish()
        }
        guard let error = outcome else { Issue.record("the extraction hung"); return }
        pool.cancel()
        #expect(error?.kind == .unsafePath, "\(String(describing: error))")
        #expect(error?.reason.contains("..") == true, "\(String(describing: error))")
        #expect(pool.entriesRouted == [1, 1])
        #expect(!FileManager.default.fileExists(atPath: dir.path("b")))
        #expect(!FileManager.default.fileExists(atPath: dir.path("deep/b")))
    }

    @Test("two workers for small files where there are two cores, one for large files and for nothing")
    func workersForContent() {
        #expect(ExtractionThread.threads(entries: 20_214, bytes: 86_000_000) == ExtractionThread.defaultThreads)
        #expect(ExtractionThread.threads(entries: 491, bytes: 251_000_000) == 1)
        // 3,000 files of ~64 KiB opened ~5% slower with two (performance-history.md, session 12).
        #expect(ExtractionThread.threads(entries: 3_061, bytes: 196_000_000) == 1)
        #expect(ExtractionThread.threads(entries: 10, bytes: 10 * ExtractionThread.smallEntryBytes) == 1)
        #expect(ExtractionThread.threads(entries: 10, bytes: 10 * ExtractionThread.smallEntryBytes - 1) == ExtractionThread.defaultThreads)
        #expect(ExtractionThread.threads(entries: 0, bytes: 0) == 1)
        #expect(ExtractionThread.defaultThreads == min(2, ProcessInfo.processInfo.activeProcessorCount))
    }

    /// The process's umask, read without changing it (/proc/self/status).
    static func processUmask() throws -> mode_t? {
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Umask:") }) else { return nil }
        return mode_t(line.dropFirst(6).trimmingCharacters(in: .whitespaces), radix: 8)
    }

    @Test("several workers leave the process's umask and working directory as they were; folders libarchive makes get the umask",
          arguments: [false, true], [2, 3])
    func processStateKept(relative: Bool, threads: Int) throws {
        let dir = try TemporaryDirectory()
        let umaskBefore = try #require(try Self.processUmask())
        let workingDirectory = FileManager.default.currentDirectoryPath
        for round in 0..<6 {
            let staging = try StagingFolder(beside: dir.path("out-\(round)"), tag: "test")
            let pool = ExtractionThread(root: staging.root, descriptor: staging.descriptor, privateWorkingDirectory: relative,
                                        threads: threads, batchBytes: 512)
            for folder in 0..<24 {
                // Listed folders, and files in folders nobody listed (libarchive makes those).
                try pool.directory("listed-\(folder)", permissions: 0o700, mtime: 0)
                for file in 0..<12 {
                    let path = file.isMultiple(of: 2) ? "listed-\(folder)/f\(file)" : "unlisted-\(folder)/inner/f\(file)"
                    try pool.beginFile(path, size: 3, permissions: 0o600, mtime: 0)
                    try withBytes([UInt8(1), 2, 3]) { (raw) throws(DossierError) in try pool.fileData(raw) }
                    try pool.endFile()
                }
            }
            try pool.finish()
            pool.cancel()
            #expect(pool.entriesRouted.allSatisfy { $0 > 0 }, "\(pool.entriesRouted)")
            for folder in 0..<24 {
                for made in ["unlisted-\(folder)", "unlisted-\(folder)/inner"] {
                    let mode = try FileSystem.lstatus(staging.root + "/" + made).st_mode & 0o777
                    #expect(mode & umaskBefore == 0, "round \(round): \(made) is \(String(mode, radix: 8))")
                }
            }
            staging.remove()
            // A umask left at 0 stays 0; another test's opening may clear it for an instant.
            var umaskNow = try Self.processUmask()
            for _ in 0..<20 where umaskNow != umaskBefore {
                usleep(20_000)
                umaskNow = try Self.processUmask()
            }
            #expect(umaskNow == umaskBefore, "round \(round)")
            #expect(FileManager.default.currentDirectoryPath == workingDirectory)
        }
    }

    @Test("cancelling while a worker waits for another's folder returns, and finish then reports the cancellation")
    func cancelWhileWaiting() throws {
        let dir = try TemporaryDirectory()
        let staging = try StagingFolder(beside: dir.path("out"), tag: "test")
        defer { staging.remove() }
        let pool = ExtractionThread(root: staging.root, descriptor: staging.descriptor, threads: 2,
                                    beforeFolderForTesting: { worker in if worker == 0 { usleep(500_000) } })
        let content = Self.bytes((1 << 20) + 3, seed: 8)
        try pool.directory("slow", permissions: 0o700, mtime: 0)
        try pool.beginFile("slow/large.bin", size: Int64(content.count), permissions: 0o600, mtime: 0)
        try withBytes(content) { (raw) throws(DossierError) in try pool.fileData(raw) }
        try pool.endFile()
        // Worker 1 waits for "slow" (worker 0 sleeps before making it) when the opening is cancelled.
        #expect(Self.returns(within: 30) { pool.cancel() }, "cancel hung")
        #expect(throws: DossierError.self) { try pool.finish() }
    }

    @Test("a failed final write-back is reported by every later finish, not only the first")
    func writebackFailureKept() throws {
        let dir = try TemporaryDirectory()
        let staging = try StagingFolder(beside: dir.path("out"), tag: "test")
        defer { staging.remove() }
        var calls = StagingFolder.Calls.system
        calls.syncFileSystem = { _ in errno = EIO; return -1 }
        let pool = ExtractionThread(root: staging.root, descriptor: staging.descriptor, threads: 2, calls: calls)
        defer { pool.cancel() }
        try pool.beginFile("a.txt", size: 1, permissions: 0o600, mtime: 0)
        try withBytes([UInt8(7)]) { (raw) throws(DossierError) in try pool.fileData(raw) }
        try pool.endFile()
        for attempt in 1...2 {
            do {
                try pool.finish()
                Issue.record("finish \(attempt) succeeded although syncfs failed")
            } catch {
                #expect(error.kind == .output && error.reason.contains(String(cString: strerror(EIO))), "\(error)")
            }
        }
    }

    /// A random tree in a sealer's order (every listed folder before what is in it), with
    /// folders nobody listed, files of every size class, folder modes and times.
    struct RandomTree {
        var operations: [(path: String, folder: Bool, mode: UInt32, mtime: Int64, content: [UInt8])] = []
        var listed: [String: (mode: UInt32, mtime: Int64)] = [:]
        var unlisted: Set<String> = []

        init(seed: UInt64) {
            var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
            func next(_ bound: Int) -> Int {
                state ^= state << 13; state ^= state >> 7; state ^= state << 17
                return Int(state % UInt64(bound))
            }
            var folders = [""]
            for index in 0..<(40 + next(60)) {
                let parent = folders[next(folders.count)]
                if next(5) == 0, folders.count < 40 {
                    let name = (parent.isEmpty ? "" : parent + "/") + "d\(index)"
                    folders.append(name)
                    if next(4) == 0 {
                        unlisted.insert(name)  // made by libarchive when something inside it is written
                    } else {
                        let mode: UInt32 = [0o700, 0o750, 0o755][next(3)]
                        let mtime = Int64(1_300_000_000 + next(100_000_000))
                        listed[name] = (mode, mtime)
                        operations.append((name, true, mode, mtime, []))
                    }
                } else {
                    let size = [0, 1 + next(200), 1 + next(5_000), (1 << 20) + next(3)][next(100) < 3 ? 3 : next(3)]
                    let content = ParallelExtractionTests.bytes(size, seed: UInt64(index) &+ seed)
                    operations.append(((parent.isEmpty ? "" : parent + "/") + "f\(index).bin", false, 0o600, 0, content))
                }
            }
        }

        /// An unlisted folder with nothing below it is never made.
        func made(_ folder: String, in files: [String: [UInt8]]) -> Bool {
            files.keys.contains { $0.hasPrefix(folder + "/") } || listed.keys.contains { $0.hasPrefix(folder + "/") }
        }
    }

    @Test("random trees in a sealer's order: one, two and three workers write the same files, folder modes and times", arguments: 0..<12)
    func randomTrees(seed: UInt64) throws {
        let tree = RandomTree(seed: seed)
        let files = Dictionary(uniqueKeysWithValues: tree.operations.filter { !$0.folder }.map { ($0.path, $0.content) })
        let umaskNow = try #require(try Self.processUmask())
        let dir = try TemporaryDirectory()
        for threads in 1...3 {
            let staging = try StagingFolder(beside: dir.path("out-\(threads)"), tag: "test")
            let pool = ExtractionThread(root: staging.root, descriptor: staging.descriptor, threads: threads, batchBytes: 4096, maxQueued: 2)
            let outcome = Self.produce(within: 60) { () throws(DossierError) in
                for operation in tree.operations {
                    if operation.folder {
                        try pool.directory(operation.path, permissions: operation.mode, mtime: operation.mtime)
                    } else {
                        try pool.beginFile(operation.path, size: Int64(operation.content.count), permissions: operation.mode, mtime: operation.mtime)
                        try withBytes(operation.content) { (raw) throws(DossierError) in try pool.fileData(raw) }
                        try pool.endFile()
                    }
                }
                try pool.finish()
            }
            guard let error = outcome else { Issue.record("seed \(seed), \(threads) workers: hung"); return }
            pool.cancel()
            #expect(error == nil, "seed \(seed), \(threads) workers: \(String(describing: error))")
            #expect(try DossierFixture.contents(of: staging.root) == files, "seed \(seed), \(threads) workers")
            for (folder, attributes) in tree.listed {
                let info = try FileSystem.lstatus(staging.root + "/" + folder)
                #expect(info.st_mode & 0o777 == mode_t(attributes.mode) && info.st_mtim.tv_sec == attributes.mtime,
                        "seed \(seed), \(threads) workers: \(folder) is \(String(info.st_mode & 0o777, radix: 8)) at \(info.st_mtim.tv_sec)")
            }
            for folder in tree.unlisted where tree.made(folder, in: files) {
                let info = try FileSystem.lstatus(staging.root + "/" + folder)
                #expect(info.st_mode & 0o777 == 0o777 & ~umaskNow, "seed \(seed), \(threads) workers: \(folder)")
            }
            if threads > 1 && tree.operations.count > 30 { #expect(pool.entriesRouted.filter { $0 > 0 }.count > 1, "\(pool.entriesRouted)") }
            staging.remove()
        }
    }

    @Test("an opening uses two workers for many small files (where threads have their own working directory and there are two cores), one for large files, one document, or absolute paths")
    func workersOfAnOpening() throws {
        let fx = try DossierFixture()
        var small: [String: [UInt8]] = [:]
        for n in 0..<60 { small["f\(n % 6)/n\(n).txt"] = Array("note \(n)".utf8) }
        let smallDossier = try fx.seal(try fx.folder("small", small), id: "small")
        let largeDossier = try fx.seal(try fx.folder("large", ["scan.tif": Self.bytes(1 << 20, seed: 9), "a.txt": [1]]), id: "large")
        func workers(_ receipt: SealReceipt, _ out: String, only: String? = nil, absolute: Bool = false) throws -> Int {
            var options = OpenOptions(only: only)
            options.absolutePathsForTesting = absolute
            return try Dossier.open(receipt.path, with: [fx.recipient.identity], into: fx.dir.path(out), trusting: fx.trust,
                                    recordingTo: fx.recorder, options: options).extractionWorkers
        }
        let expected = ExtractionThread.privateWorkingDirectoryAvailable ? ExtractionThread.defaultThreads : 1
        #expect(try workers(smallDossier, "small-out") == expected)
        #expect(try workers(smallDossier, "small-one", only: "f1/n1.txt") == 1)
        #expect(try workers(smallDossier, "small-absolute", absolute: true) == 1)
        #expect(try workers(largeDossier, "large-out") == 1)
        #expect(try DossierFixture.contents(of: fx.dir.path("small-out")) == small)
    }
}
