import CDossierSystem
import Foundation
import Testing
@testable import DossierKit
#if canImport(Glibc)
import Glibc
#endif

/// The read-ahead of a folder being sealed: the walker's order, its limits, rest on cached
/// files, links and special files left alone, errors ignored, nothing left open; and in a
/// seal, woken by a folder that is not cached and not by one that is.
@Suite("sealing: read-ahead of a folder not in memory")
struct FolderReadAheadTests {
    /// Records what the helper asked for: the path of each file and the length.
    final class Recorder: @unchecked Sendable {
        private let lock = NSLock()
        private var requests: [(path: String, length: Int64)] = []
        private let cached: Bool

        init(cached: Bool = false) { self.cached = cached }

        var request: FolderReadAhead.Request {
            { [self] fd, length in
                let path = FolderReadAheadTests.path(of: fd)
                lock.lock()
                requests.append((path, length))
                lock.unlock()
                return cached
            }
        }

        var paths: [String] {
            lock.lock()
            defer { lock.unlock() }
            return requests.map(\.path)
        }

        var lengths: [Int64] {
            lock.lock()
            defer { lock.unlock() }
            return requests.map(\.length)
        }
    }

    static func path(of fd: Int32) -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)")) ?? "?"
    }

    /// The regular files below `root` in the seal's order (bytewise names, depth first),
    /// found independently of `FileSystem.listDirectory`.
    static func walkOrder(_ root: String) throws -> [String] {
        var out: [String] = []
        let names = try FileManager.default.contentsOfDirectory(atPath: root)
            .sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        for name in names {
            let path = root + "/" + name
            let info = try FileSystem.lstatus(path)
            if FileSystem.isDirectory(info) { out += try walkOrder(path) } else if FileSystem.isRegular(info) { out.append(path) }
        }
        return out
    }

    /// Waits (at most 10 s) until `condition` holds.
    static func eventually(_ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(10)
        while !condition() {
            if Date() > deadline { return false }
            usleep(2_000)
        }
        return true
    }

    /// Descriptors of this process open on something below `root`, other than `except`.
    static func openBelow(_ root: String, except: Int32) -> [String] {
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return fds.compactMap { name -> String? in
            guard let fd = Int32(name), fd != except else { return nil }
            let target = path(of: fd)
            return target.hasPrefix(root) ? target : nil
        }
    }

    /// A helper over the folder `root` (opened here: close `fd`) recording what it asks for.
    static func start(_ root: String, cached: Bool = false, _ configure: (inout FolderReadAhead.Limits) -> Void = { _ in },
                      startThread: @escaping (@escaping @Sendable () -> Void) -> Bool = { (try? SystemThread.start(name: "dossier.readahead", $0)) != nil })
        throws -> (fd: Int32, recorder: Recorder, helper: FolderReadAhead) {
        let fd = try openFolder(root)
        let recorder = Recorder(cached: cached)
        var limits = FolderReadAhead.Limits()
        configure(&limits)
        guard let helper = FolderReadAhead(folder: fd, limits: limits, request: recorder.request, startThread: startThread) else {
            close(fd)
            throw FileError(operation: "open", path: root, code: errno)
        }
        return (fd, recorder, helper)
    }

    static func openFolder(_ path: String) throws -> Int32 {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw FileError(operation: "open", path: path, code: errno) }
        return fd
    }

    /// A tree whose bytewise order differs from a case-insensitive one, with nested folders.
    static func tree(_ fx: DossierFixture, size: Int = 1000) throws -> String {
        let content = [UInt8](repeating: 7, count: size)
        return try fx.folder("tree", [
            "B.txt": content, "a.txt": content, "a/1.txt": content, "a/b/2.txt": content,
            "a/b/3.txt": content, "a0/4.txt": content, "b/5.txt": content, "b/6.txt": content,
            "c.txt": content,
        ], emptyDirectories: ["empty"])
    }

    @Test("asks for the files after the one not cached, in the walker's order, at most filesAhead ahead")
    func walkOrderAndFilesAhead() throws {
        let fx = try DossierFixture()
        let root = try Self.tree(fx)
        let order = try Self.walkOrder(root)
        #expect(order.count == 9)
        let (fd, recorder, helper) = try Self.start(root) { $0.filesAhead = 2 }
        defer { close(fd) }
        helper.notCached(fileIndex: 0)
        #expect(Self.eventually { recorder.paths.count == 2 })
        usleep(100_000)
        #expect(recorder.paths == Array(order[1...2]))
        // The walker finishes file 0: it reads file 1, which is still ahead.
        helper.walkerFinished(files: 1)
        usleep(100_000)
        #expect(recorder.paths.count == 2)
        helper.walkerFinished(files: 2)
        #expect(Self.eventually { recorder.paths.count == 3 })
        #expect(recorder.paths == Array(order[1...3]))
        helper.walkerFinished(files: 7)
        #expect(Self.eventually { recorder.paths.count == 5 })
        usleep(50_000)
        // Files 4–6, which the walker passed meanwhile, are not asked for.
        #expect(recorder.paths == Array(order[1...3]) + Array(order[7...8]))
        helper.stop()
        // The top folder, a, a/b, a0, b and empty.
        #expect(helper.statistics == .init(wakeUps: 1, filesRequested: 5, filesCached: 0, foldersListed: 6))
        #expect(Self.openBelow(root, except: fd).isEmpty)
    }

    @Test("keeps at most bytesAhead ahead and asks for at most bytesPerFile of a file")
    func byteLimits() throws {
        let fx = try DossierFixture()
        let root = try fx.folder("sizes", [
            "0": [UInt8](repeating: 1, count: 10), "1": [UInt8](repeating: 1, count: 100_000),
            "2": [UInt8](repeating: 1, count: 100_000), "3": [UInt8](repeating: 1, count: 300_000),
            "4": [UInt8](repeating: 1, count: 100_000), "5": [],
        ])
        let (fd, recorder, helper) = try Self.start(root) { $0.bytesAhead = 250_000; $0.bytesPerFile = 120_000 }
        defer { close(fd) }
        helper.notCached(fileIndex: 0)
        // 1, 2 (200,000 bytes ahead), 3 (320,000): then full.
        #expect(Self.eventually { recorder.paths.count == 3 })
        usleep(100_000)
        #expect(recorder.lengths == [100_000, 100_000, 120_000])
        // The walker passes files 1 and 2: 120,000 bytes ahead, room for file 4 and the empty 5.
        helper.walkerFinished(files: 3)
        #expect(Self.eventually { recorder.paths.count == 5 })
        #expect(recorder.lengths == [100_000, 100_000, 120_000, 100_000, 0])
        helper.stop()
    }

    @Test("rests after cachedFilesBeforeRest cached files in a row, until the walker finds one not cached")
    func restsOnCachedFiles() throws {
        let fx = try DossierFixture()
        let root = try Self.tree(fx)
        let order = try Self.walkOrder(root)
        let (fd, recorder, helper) = try Self.start(root, cached: true) { $0.cachedFilesBeforeRest = 2 }
        defer { close(fd) }
        helper.notCached(fileIndex: 0)
        // Counted under the same lock as the decision to rest.
        #expect(Self.eventually { helper.statistics.filesCached == 2 })
        usleep(100_000)
        #expect(recorder.paths == Array(order[1...2]))
        helper.notCached(fileIndex: 4)
        #expect(Self.eventually { recorder.paths.count == 4 })
        usleep(100_000)
        #expect(recorder.paths == Array(order[1...2]) + Array(order[5...6]))
        helper.stop()
        let statistics = helper.statistics
        #expect(statistics.wakeUps == 2 && statistics.filesRequested == 0 && statistics.filesCached == 4)
    }

    @Test("does nothing until the walker finds a file not cached, and stops at once")
    func idleUntilWoken() throws {
        let fx = try DossierFixture()
        let root = try Self.tree(fx)
        let (fd, recorder, helper) = try Self.start(root)
        defer { close(fd) }
        helper.walkerFinished(files: 3)
        usleep(50_000)
        helper.stop()
        helper.notCached(fileIndex: 0)  // after stop: ignored, no thread
        usleep(50_000)
        #expect(recorder.paths.isEmpty)
        #expect(helper.statistics == .init())
    }

    @Test("never follows a link, never opens a pipe, and asks only for regular files below the folder")
    func linksAndSpecialFiles() throws {
        let fx = try DossierFixture()
        let outside = try fx.folder("outside", ["secret.txt": [1, 2, 3], "deep/secret2.txt": [4]])
        let root = try fx.folder("linked", ["a.txt": [1], "m.txt": [2], "z.txt": [3]])
        try FileManager.default.createSymbolicLink(atPath: root + "/b-file-link", withDestinationPath: outside + "/secret.txt")
        try FileManager.default.createSymbolicLink(atPath: root + "/c-folder-link", withDestinationPath: outside)
        let pipe = root + "/d-pipe"
        #expect(mkfifo(pipe, 0o600) == 0)
        // A writer opening the pipe waits until someone opens it for reading: it tells
        // whether the helper opened it.
        let writerOpened = DispatchSemaphore(value: 0)
        let writer = Thread {
            let end = open(pipe, O_WRONLY | O_CLOEXEC)
            writerOpened.signal()
            if end >= 0 { close(end) }
        }
        writer.start()
        let (fd, recorder, helper) = try Self.start(root)
        defer { close(fd) }
        // From the first file on (as if the walker found file -1 not cached).
        helper.notCached(fileIndex: -1)
        #expect(Self.eventually { recorder.paths.count == 3 })
        usleep(100_000)
        helper.stop()
        #expect(recorder.paths == [root + "/a.txt", root + "/m.txt", root + "/z.txt"])
        #expect(Self.openBelow(root, except: fd).isEmpty)
        #expect(writerOpened.wait(timeout: .now() + 0.2) == .timedOut, "the helper opened the pipe")
        // Let the writer go.
        let reader = open(pipe, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        #expect(writerOpened.wait(timeout: .now() + 10) == .success)
        if reader >= 0 { close(reader) }
    }

    @Test("a folder removed before its turn is skipped, and the walk goes on")
    func vanishedFolder() throws {
        let fx = try DossierFixture()
        let root = try fx.folder("vanishing", ["a/1": [1], "b/2": [2], "b/3": [3], "c/4": [4], "d/5": [5]])
        let (fd, recorder, helper) = try Self.start(root) { $0.filesAhead = 1 }
        defer { close(fd) }
        helper.notCached(fileIndex: 0)
        // b/2 asked for; the helper waits to ask for b/3, after listing the top folder.
        #expect(Self.eventually { recorder.paths.count == 1 })
        try FileManager.default.removeItem(atPath: root + "/c")
        helper.walkerFinished(files: 3)
        #expect(Self.eventually { recorder.paths.count == 2 })
        helper.stop()
        #expect(recorder.paths == [root + "/b/2", root + "/d/5"])
        #expect(Self.openBelow(root, except: fd).isEmpty)
    }

    @Test("stop ends a helper waiting for the walker, and closes its folders")
    func stopWhileWaiting() throws {
        let fx = try DossierFixture()
        let root = try Self.tree(fx)
        let (fd, recorder, helper) = try Self.start(root) { $0.filesAhead = 1 }
        defer { close(fd) }
        helper.notCached(fileIndex: 1)
        #expect(Self.eventually { recorder.paths.count == 1 })
        // a/b/2.txt asked for (and closed); waiting to ask for a/b/3.txt, with the top
        // folder, a and a/b open.
        #expect(Self.eventually { Self.openBelow(root, except: fd).count == 3 })
        #expect(ParallelExtractionTests.returns(within: 10) { helper.stop() })
        #expect(Self.openBelow(root, except: fd).isEmpty)
    }

    @Test("goes no deeper than the walker accepts, so it holds at most as many folders open")
    func depthLimit() throws {
        let fx = try DossierFixture()
        // 70 levels of folders "d", a file "f" in each: "d" sorts first, so the walk goes
        // down before it asks for any file.
        var files: [String: [UInt8]] = [:]
        var path = ""
        for _ in 0..<70 {
            path += "d/"
            files[path + "f"] = [1]
        }
        let root = try fx.folder("deep", files)
        let (fd, recorder, helper) = try Self.start(root) { $0.filesAhead = 1 }
        defer { close(fd) }
        helper.notCached(fileIndex: -1)
        #expect(Self.eventually { recorder.paths.count == 1 })
        usleep(50_000)
        // The deepest file a seal accepts: 64 components below the folder.
        let first = try #require(recorder.paths.first)
        #expect(first.dropFirst(root.count + 1).split(separator: "/").count == DossierPath.maxDepth)
        // Then it waits to ask for the file next to the 63rd folder: its own description of
        // the top folder and the 62 folders above it are open.
        #expect(Self.eventually { Self.openBelow(root, except: fd).count == DossierPath.maxDepth - 1 })
        helper.walkerFinished(files: 1_000)
        helper.stop()
        #expect(recorder.paths.allSatisfy { $0.dropFirst(root.count + 1).split(separator: "/").count <= DossierPath.maxDepth })
        #expect(Self.openBelow(root, except: fd).isEmpty)
    }

    @Test("stop is looked at before every folder and entry: a helper in a tree of folders without files stops at once")
    func stopAmongFolders() throws {
        let fx = try DossierFixture()
        // 5,000 empty folders, then the one file.
        let root = try fx.folder("folders", ["z.txt": [2]])
        for index in 0..<5_000 { try FileManager.default.createDirectory(atPath: root + "/m\(index)", withIntermediateDirectories: false) }
        let (fd, recorder, helper) = try Self.start(root)
        defer { close(fd) }
        helper.notCached(fileIndex: -1)
        helper.stop()
        // Without a look at each folder, stop waited until all 5,001 were listed.
        #expect(helper.statistics.foldersListed < 2_500)
        #expect(recorder.paths.isEmpty)
        #expect(Self.openBelow(root, except: fd).isEmpty)
    }

    @Test("stop waits at most stopWait for a helper blocked in the kernel; the helper closes its folders when it ends")
    func stopDoesNotWaitForEver() throws {
        let fx = try DossierFixture()
        let root = try Self.tree(fx)
        let fd = try Self.openFolder(root)
        defer { close(fd) }
        // A request that blocks, as a read of a hung network mount would.
        let blocked = DispatchSemaphore(value: 0)
        let entered = DispatchSemaphore(value: 0)
        let request: FolderReadAhead.Request = { _, _ in
            entered.signal()
            blocked.wait()
            return false
        }
        guard let helper = FolderReadAhead(folder: fd, request: request) else {
            Issue.record("no helper")
            return
        }
        helper.notCached(fileIndex: 0)
        #expect(entered.wait(timeout: .now() + 10) == .success)
        let started = Date()
        #expect(ParallelExtractionTests.returns(within: 10) { helper.stop() })
        let waited = Date().timeIntervalSince(started)
        #expect(waited >= FolderReadAhead.stopWait - 0.1 && waited < FolderReadAhead.stopWait + 5, "\(waited) s")
        // Still inside the request: its folders (the top one, a) are open until it ends.
        #expect(!Self.openBelow(root, except: fd).isEmpty)
        blocked.signal()
        #expect(Self.eventually { Self.openBelow(root, except: fd).isEmpty })
    }

    @Test("a resting helper does not follow the walker through the folder")
    func restingStaysPut() throws {
        let fx = try DossierFixture()
        var files: [String: [UInt8]] = [:]
        for folder in 0..<50 { files["f\(folder)/x"] = [1] }
        let root = try fx.folder("resting", files)
        let (fd, _, helper) = try Self.start(root, cached: true) { $0.cachedFilesBeforeRest = 2 }
        defer { close(fd) }
        helper.notCached(fileIndex: 0)
        #expect(Self.eventually { helper.statistics.filesCached == 2 })
        usleep(50_000)
        let listed = helper.statistics.foldersListed
        for done in 1...50 { helper.walkerFinished(files: done) }
        usleep(100_000)
        #expect(helper.statistics.foldersListed == listed)
        helper.stop()
    }

    @Test("without a thread (the system refuses one) there is no read-ahead, and stop does not wait")
    func noThread() throws {
        let fx = try DossierFixture()
        let root = try Self.tree(fx)
        let (fd, recorder, helper) = try Self.start(root, startThread: { _ in false })
        defer { close(fd) }
        helper.notCached(fileIndex: 0)
        helper.notCached(fileIndex: 3)
        helper.walkerFinished(files: 5)
        #expect(ParallelExtractionTests.returns(within: 10) { helper.stop() })
        #expect(recorder.paths.isEmpty)
        #expect(Self.openBelow(root, except: fd).isEmpty)
        // A thread can be made here, and runs what it is given.
        let ran = DispatchSemaphore(value: 0)
        try SystemThread.start(name: "dossier.test") { ran.signal() }
        #expect(ran.wait(timeout: .now() + 10) == .success)
    }

    /// Drops the page cache of every file below `root` (written back first).
    static func evict(_ root: String) throws {
        for path in try walkOrder(root) {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw FileError(operation: "open", path: path, code: errno) }
            defer { close(fd) }
            #expect(fsync(fd) == 0)
            #expect(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0)
        }
    }

    /// Whether this file system drops a file's cached pages on POSIX_FADV_DONTNEED and
    /// reports it to a read that must not wait (not tmpfs, for one).
    static func canEvict() -> Bool {
        guard let dir = try? TemporaryDirectory() else { return false }
        let path = dir.path("probe")
        guard (try? Data(repeating: 1, count: 65_536).write(to: URL(fileURLWithPath: path))) != nil else { return false }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        guard fsync(fd) == 0, posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0 else { return false }
        var byte: UInt8 = 0
        return dossier_read_cached(fd, &byte, 1, 0) < 0 && errno == EAGAIN
    }

    @Test("a seal of a folder not in memory that fails after waking the read-ahead leaves nothing open",
          .enabled(if: canEvict(), "the temporary folder's file system keeps its pages cached (tmpfs?)"))
    func coldSealFails() throws {
        let fx = try DossierFixture()
        var files: [String: [UInt8]] = [:]
        for file in 0..<30 { files["docs/\(file).bin"] = ParallelExtractionTests.bytes(8_000, seed: UInt64(file)) }
        let root = try fx.folder("cold-fails", files)
        try FileManager.default.createSymbolicLink(atPath: root + "/zz-link", withDestinationPath: root + "/docs/1.bin")
        try Self.evict(root)
        #expect(throws: DossierError.self) { try fx.seal(root, id: "cold-fails") }
        #expect(Self.openBelow(root, except: -1).isEmpty)
    }

    @Test("a seal of a folder not in memory wakes the read-ahead and seals the same content; a cached one does not",
          .enabled(if: canEvict(), "the temporary folder's file system keeps its pages cached (tmpfs?)"))
    func sealColdAndCached() throws {
        let fx = try DossierFixture()
        var files: [String: [UInt8]] = [:]
        for folder in 0..<4 {
            for file in 0..<10 {
                files["section-\(folder)/doc-\(file).bin"] = ParallelExtractionTests.bytes(20_000 + 1_000 * file, seed: UInt64(folder * 100 + file))
            }
        }
        // Its first 64 KiB alone cached: the seal's first read returns part of a piece.
        files["big.bin"] = ParallelExtractionTests.bytes(1 << 20, seed: 99)
        let root = try fx.folder("cold", files)
        try Self.evict(root)
        let big = open(root + "/big.bin", O_RDONLY | O_CLOEXEC)
        #expect(big >= 0)
        #expect(posix_fadvise(big, 0, 0, POSIX_FADV_RANDOM) == 0)
        var head = [UInt8](repeating: 0, count: 65_536)
        #expect(pread(big, &head, head.count, 0) == head.count)
        close(big)
        let cold = try fx.seal(root, id: "cold-1", to: fx.dir.path("cold-1.dossier"))
        #expect(cold.sourceReadAhead.wakeUps >= 1)
        #expect(cold.sourceReadAhead.filesRequested >= 1)
        // Sealed just now: every file is cached.
        let cached = try fx.seal(root, id: "cold-2", to: fx.dir.path("cold-2.dossier"))
        #expect(cached.sourceReadAhead == .init())
        for (dossier, id) in [(cold.path, "cold-1"), (cached.path, "cold-2")] {
            let out = fx.dir.path("opened-\(id)")
            _ = try Dossier.open(dossier, with: [fx.recipient.identity], into: out, trusting: fx.trust, recordingTo: fx.recorder)
            #expect(try DossierFixture.contents(of: out) == files)
        }
    }
}

extension FolderReadAheadTests {
    /// Seals a folder of 12 files in three folders with the walker's no-wait first reads
    /// failing with `error`; returns how often one was tried, the receipt, and whether the
    /// opened dossier holds the folder's files.
    func sealAnswering(_ error: Int32) throws -> (tries: Int, readAhead: FolderReadAhead.Statistics, sameContent: Bool) {
        let fx = try DossierFixture()
        var files: [String: [UInt8]] = [:]
        for file in 0..<12 { files["part-\(file % 3)/\(file).bin"] = ParallelExtractionTests.bytes(5_000 + 700 * file, seed: UInt64(file)) }
        let root = try fx.folder("answers", files)
        var receipt: SealReceipt?
        let tries = try ContentWriter.answeringNoWaitReads(with: error) { receipt = try fx.seal(root, id: "answers") }
        let out = fx.dir.path("opened")
        _ = try Dossier.open(receipt!.path, with: [fx.recipient.identity], into: out, trusting: fx.trust, recordingTo: fx.recorder)
        return (tries, receipt!.sourceReadAhead, try DossierFixture.contents(of: out) == files)
    }

    @Test("where the kernel has no no-wait reads (EOPNOTSUPP, EINVAL) the walker stops trying them after the first file, and the seal reads as usual")
    func noWaitReadsUnsupported() throws {
        for error in [EOPNOTSUPP, EINVAL] {
            let sealed = try sealAnswering(error)
            #expect(sealed.tries == 1, "\(error)")
            #expect(sealed.readAhead == .init())
            #expect(sealed.sameContent)
        }
    }

    @Test("a file not in memory (EAGAIN) wakes the read-ahead; any other failure of the no-wait read is left to the ordinary read; both seal the same content")
    func noWaitReadsAnswered() throws {
        let notCached = try sealAnswering(EAGAIN)
        #expect(notCached.tries == 12)
        #expect(notCached.readAhead.wakeUps >= 1)
        #expect(notCached.sameContent)
        let failing = try sealAnswering(EIO)
        #expect(failing.tries == 12)
        #expect(failing.readAhead == .init())
        #expect(failing.sameContent)
    }
}
