import Foundation
import Testing
@testable import DossierKit
#if canImport(Glibc)
import Glibc
#endif

/// The extraction thread: relative paths in its own working directory (or absolute ones
/// where threads cannot have one), batches handed over a bounded queue, failures on the
/// thread reported to the opener, nothing left behind.
@Suite("opening: the extraction thread")
struct ExtractionTests {
    /// Path → (mode, mtime) of everything below `root`, folders included.
    static func attributes(of root: String) throws -> [String: [Int64]] {
        var out: [String: [Int64]] = [:]
        let enumerator = FileManager.default.enumerator(atPath: root)
        while let path = enumerator?.nextObject() as? String {
            let info = try FileSystem.lstatus(root + "/" + path)
            out[path] = [Int64(info.st_mode), Int64(info.st_mtim.tv_sec)]
        }
        return out
    }

    @Test("the same tree, modes and times with the thread's own working directory and with absolute paths")
    func bothModesAgree() throws {
        let fx = try DossierFixture()
        let big = [UInt8].random(count: (3 << 20) + 17)
        let source = try fx.folder("case", [
            "a.txt": Array("first".utf8), "empty.bin": [], "big/scan.tif": big,
            "x/y/z/deep.txt": Array("deep".utf8), "x/y/other.txt": Array("other".utf8), "名前/文書.txt": Array("名".utf8),
        ], emptyDirectories: ["hollow/inner"])
        chmod(source + "/a.txt", 0o750)  // sealed as 0755 (executable), the others as 0644 / 0755
        chmod(source + "/x/y", 0o700)
        var times = [timespec(tv_sec: 1_500_000_000, tv_nsec: 0), timespec(tv_sec: 1_500_000_000, tv_nsec: 0)]
        utimensat(AT_FDCWD, source + "/x/y/z/deep.txt", &times, 0)
        utimensat(AT_FDCWD, source + "/x/y", &times, 0)
        let receipt = try fx.seal(source)

        let workingDirectory = FileManager.default.currentDirectoryPath
        let relative = try Dossier.open(receipt.path, with: [fx.recipient.identity], into: fx.dir.path("rel"), trusting: fx.trust,
                                        recordingTo: fx.recorder)
        var options = OpenOptions()
        options.absolutePathsForTesting = true
        let absolute = try Dossier.open(receipt.path, with: [fx.recipient.identity], into: fx.dir.path("abs"), trusting: fx.trust,
                                        recordingTo: fx.recorder, options: options)
        // Threads get their own working directory wherever unshare(CLONE_FS) is allowed (this
        // machine; not an unprivileged Docker container, whose seccomp profile refuses it).
        #expect(relative.extractedRelative == ExtractionThread.privateWorkingDirectoryAvailable)
        #expect(!absolute.extractedRelative)
        let expected = try DossierFixture.contents(of: source)
        #expect(try DossierFixture.contents(of: fx.dir.path("rel")) == expected)
        #expect(try DossierFixture.contents(of: fx.dir.path("abs")) == expected)
        let attributes = try Self.attributes(of: fx.dir.path("rel"))
        #expect(attributes == (try Self.attributes(of: fx.dir.path("abs"))))
        #expect(attributes["a.txt"]?[0] == Int64(Glibc.S_IFREG | 0o755))
        #expect(attributes["x/y/other.txt"]?[0] == Int64(Glibc.S_IFREG | 0o644))
        #expect(attributes["x/y/z/deep.txt"]?[1] == 1_500_000_000)
        #expect(attributes["x/y"] == [Int64(Glibc.S_IFDIR | 0o755), 1_500_000_000])
        #expect(attributes["hollow/inner"] != nil)
        #expect(relative.filesWritten == 6 && absolute.filesWritten == 6)
        #expect(relative.bytesWritten == Int64(expected.values.map(\.count).reduce(0, +)))
        // The opener's own working directory is untouched.
        #expect(FileManager.default.currentDirectoryPath == workingDirectory)
    }

    @Test("a write that fails on the extraction thread (a full disk) fails the opening and leaves nothing",
          .enabled(if: DossierFixture.canMount, "needs root with CAP_SYS_ADMIN (a tmpfs mount)"), arguments: [false, true])
    func fullDisk(absolutePaths: Bool) throws {
        let fx = try DossierFixture()
        let receipt = try fx.seal(try fx.folder("full", [
            "a.bin": [UInt8].random(count: 2 << 20),
            "b.txt": Array("after".utf8),
        ]))
        guard let small = try fx.smallFileSystem("small", options: "size=1m") else { return }
        defer { DossierFixture.unmount(small) }
        var options = OpenOptions()
        options.availableBytesForTesting = 1 << 40
        options.absolutePathsForTesting = absolutePaths
        do {
            _ = try Dossier.open(receipt.path, with: [fx.recipient.identity], into: small + "/out", trusting: fx.trust,
                                 recordingTo: fx.recorder, options: options)
            Issue.record("opened 2 MiB into a 1 MiB file system")
        } catch {
            #expect(error.kind == .output, "\(error)")
            #expect(error.reason.contains("writing failed"), "\(error.reason)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: small) == [])
    }

    @Test("a file system out of inodes is reported as a write failure with its cause, not as unsafe content",
          .enabled(if: DossierFixture.canMount, "needs root with CAP_SYS_ADMIN (a tmpfs mount)"), arguments: [false, true])
    func outOfInodes(absolutePaths: Bool) throws {
        let fx = try DossierFixture()
        let receipt = try fx.seal(try fx.folder("inodes", Dictionary(uniqueKeysWithValues: (0..<12).map { ("f\($0).txt", [UInt8($0)]) })))
        guard let small = try fx.smallFileSystem("few-inodes", options: "size=8m,nr_inodes=6") else { return }
        defer { DossierFixture.unmount(small) }
        // Refused up front, before it is logged…
        let logged = try fx.log.history(of: receipt.manifest.dossierID).count
        do {
            var options = OpenOptions()
            options.availableBytesForTesting = 1 << 40
            _ = try Dossier.open(receipt.path, with: [fx.recipient.identity], into: small + "/out", trusting: fx.trust,
                                 recordingTo: fx.recorder, options: options)
            Issue.record("opened 12 files into a file system with 6 inodes")
        } catch {
            #expect(error.kind == .output && error.reason.contains("can only make"), "\(error)")
        }
        #expect(try fx.log.history(of: receipt.manifest.dossierID).count == logged)
        // …and, should the inodes run out all the same, reported with its cause.
        var options = OpenOptions()
        options.absolutePathsForTesting = absolutePaths
        options.availableBytesForTesting = 1 << 40
        options.availableInodesForTesting = 1 << 40
        do {
            _ = try Dossier.open(receipt.path, with: [fx.recipient.identity], into: small + "/out", trusting: fx.trust,
                                 recordingTo: fx.recorder, options: options)
            Issue.record("opened 12 files into a file system with 6 inodes")
        } catch {
            #expect(error.kind == .output, "\(error)")
            #expect(error.reason.contains("No space left on device"), "\(error.reason)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: small) == [])
    }

    /// Writes `files` through extraction workers (one unless told) with tiny batches into a
    /// new staging folder beside `destination`; returns the staging folder's path.
    @discardableResult
    private func extract(_ files: [(String, [UInt8])], beside destination: String, batchBytes: Int, relative: Bool,
                         threads: Int = 1) throws(DossierError) -> String {
        let staging: StagingFolder
        do { staging = try StagingFolder(beside: destination, tag: "test") } catch { throw DossierError(.output, "\(error)") }
        defer { staging.close() }
        let thread = ExtractionThread(root: staging.root, descriptor: staging.descriptor, privateWorkingDirectory: relative,
                                      threads: threads, batchBytes: batchBytes, maxQueued: 1)
        defer { thread.cancel() }
        for (path, content) in files {
            try thread.beginFile(path, size: Int64(content.count), permissions: 0o600, mtime: 0)
            // Handed over in pieces of 5 bytes, split again across 7-byte batches.
            var offset = 0
            while offset < content.count {
                let end = min(offset + 5, content.count)
                try withBytes(Array(content[offset..<end])) { (raw) throws(DossierError) in try thread.fileData(raw) }
                offset = end
            }
            try thread.endFile()
        }
        try thread.finish()
        #expect(thread.usedPrivateWorkingDirectory == (relative && ExtractionThread.privateWorkingDirectoryAvailable))
        return staging.root
    }

    @Test("data split across many tiny batches arrives whole, in order (one worker and three)", arguments: [false, true], [1, 3])
    func tinyBatches(relative: Bool, threads: Int) throws {
        let dir = try TemporaryDirectory()
        let files = (0..<40).map { ("d\($0 % 7)/f\($0).txt", Array("file number \($0) ".utf8) + [UInt8](repeating: UInt8($0), count: $0 * 3)) }
        let out = try extract(files, beside: dir.path("out"), batchBytes: 7, relative: relative, threads: threads)
        #expect(try DossierFixture.contents(of: out) == Dictionary(uniqueKeysWithValues: files))
    }

    @Test("files of folders never listed are written (libarchive makes the folders); a folder that is a symlink inside the staging folder is not written through",
          arguments: [false, true])
    func foldersByDescriptor(relative: Bool) throws {
        let dir = try TemporaryDirectory()
        let files = [("a/b/c.txt", Array("c".utf8)), ("a/b/d.txt", Array("d".utf8)), ("e.txt", Array("e".utf8)), ("a/f.txt", Array("f".utf8)),
                     ("名前/文書.txt", Array("名".utf8))]
        let out = try extract(files, beside: dir.path("out"), batchBytes: 7, relative: relative)
        #expect(try DossierFixture.contents(of: out) == Dictionary(uniqueKeysWithValues: files))

        try FileSystem.makeDirectory(dir.path("victim"), mode: 0o700)
        let staging = try StagingFolder(beside: dir.path("planted"), tag: "test")
        defer { staging.remove() }
        #expect(symlinkat(dir.path("victim"), staging.descriptor, "link") == 0)
        let thread = ExtractionThread(root: staging.root, descriptor: staging.descriptor, privateWorkingDirectory: relative)
        do {
            try thread.beginFile("link/f.txt", size: 1, permissions: 0o600, mtime: 0)
            try withBytes([UInt8(1)]) { (raw) throws(DossierError) in try thread.fileData(raw) }
            try thread.endFile()
            try thread.finish()
            Issue.record("wrote through a symlink")
        } catch {
            thread.cancel()
            #expect(error.kind == .unsafePath, "\(error)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path("victim")) == [])
    }

    @Test("a refusal on the thread reaches the producer (no hang) and nothing escapes",
          arguments: [false, true], ["../escape.txt", "ok/../../escape.txt", "ok/./../../escape.txt", "ok//../escape.txt", "/escape.txt",
                                     "ok/..\u{0}x/..\u{0}y/escape.txt"])
    func refusalReachesProducer(relative: Bool, hostile: String) throws {
        let dir = try TemporaryDirectory()
        try FileSystem.makeDirectory(dir.path("deep"), mode: 0o700)
        // Our path rules would never let these through; the extraction's own checks (ours for
        // the folders entered by descriptor, libarchive's for the rest) are the second wall.
        let files = [("ok/in.txt", Array("fine".utf8)), (hostile, Array("out".utf8))] + (0..<50).map { ("n\($0)", [UInt8](repeating: 1, count: 20)) }
        do {
            try extract(files, beside: dir.path("deep/out"), batchBytes: 7, relative: relative)
            Issue.record("extracted \(hostile)")
        } catch {
            #expect(error.kind == .unsafePath, "\(error)")
            #expect(error.reason.contains("..") || error.reason.contains("empty") || error.reason.contains("absolute"), "\(error.reason)")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.path("deep/escape.txt")))
        #expect(!FileManager.default.fileExists(atPath: dir.path("escape.txt")))
    }

    @Test("after a failure inside a subfolder, libarchive's deferred folder fix-ups still apply from the staging folder")
    func fixupsAfterFailure() throws {
        let dir = try TemporaryDirectory()
        let staging = try StagingFolder(beside: dir.path("out"), tag: "test")
        defer { staging.remove() }
        let thread = ExtractionThread(root: staging.root, descriptor: staging.descriptor)
        do {
            // "a" and "a/b/a" get different times; the thread is in "a/b" when the refusal comes.
            try thread.directory("a", permissions: 0o700, mtime: 1_000_000_000)
            try thread.directory("a/b", permissions: 0o700, mtime: 1_200_000_000)
            try thread.directory("a/b/a", permissions: 0o700, mtime: 1_500_000_000)
            try thread.beginFile("a/b/f.txt", size: 1, permissions: 0o600, mtime: 0)
            try withBytes([UInt8(1)]) { (raw) throws(DossierError) in try thread.fileData(raw) }
            try thread.endFile()
            try thread.beginFile("a/b/../g.txt", size: 0, permissions: 0o600, mtime: 0)
            try thread.endFile()
            try thread.finish()
            Issue.record("extracted a path with ..")
        } catch {
            thread.cancel()
            #expect(error.kind == .unsafePath, "\(error)")
        }
        // A fix-up applied from "a/b" would have given "a/b/a" the time of "a".
        #expect(try FileSystem.lstatus(staging.root + "/a/b/a").st_mtim.tv_sec == 1_500_000_000)
        #expect(try FileSystem.lstatus(staging.root + "/a").st_mtim.tv_sec == 1_000_000_000)
    }

    @Test("finish after cancel reports the cancellation, not success")
    func finishAfterCancel() throws {
        let dir = try TemporaryDirectory()
        let staging = try StagingFolder(beside: dir.path("out"), tag: "t")
        defer { staging.close() }
        let thread = ExtractionThread(root: staging.root, descriptor: staging.descriptor)
        // Nothing pending: finish() submits nothing and must still see the cancellation.
        thread.cancel()
        #expect(throws: DossierError.self) { try thread.finish() }
    }

    @Test("with absolute paths, a path reaching PATH_MAX is refused (libarchive would chdir the whole process through it)")
    func pathMaxWithAbsolutePaths() throws {
        let dir = try TemporaryDirectory()
        let long = (0..<20).map { _ in String(repeating: "d", count: 200) }.joined(separator: "/") + "/f.txt"
        do {
            try extract([(long, Array("x".utf8))], beside: dir.path("out"), batchBytes: 1 << 20, relative: false)
            Issue.record("extracted a \(long.utf8.count)-byte path with absolute paths")
        } catch {
            #expect(error.kind == .output, "\(error)")
            #expect(error.reason.contains("too long"), "\(error.reason)")
        }
    }

    @Test("absolute paths are refused in the thread's own working directory")
    func absoluteRefused() throws {
        try #require(ExtractionThread.privateWorkingDirectoryAvailable, "unshare(CLONE_FS) is refused here")
        let dir = try TemporaryDirectory()
        do {
            try extract([(dir.path("outside.txt"), Array("x".utf8))], beside: dir.path("out"), batchBytes: 1 << 20, relative: true)
            Issue.record("extracted an absolute path")
        } catch {
            #expect(error.kind == .unsafePath, "\(error)")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.path("outside.txt")))
    }

    @Test("a staging folder swapped right after mkdir (for a symlink, a folder open to others, another user's folder) is refused and nothing is touched")
    func stagingSwappedAtBirth() throws {
        let dir = try TemporaryDirectory()
        try FileSystem.makeDirectory(dir.path("victim"), mode: 0o700)
        let root = dir.path("")
        var swaps = ["symlink", "open folder"]
        if geteuid() == 0 { swaps.append("another user's folder") }
        for swap in swaps {
            do {
                _ = try StagingFolder(beside: dir.path("out"), tag: "t") { made in
                    rename(made, root + "/moved-" + swap)
                    switch swap {
                    case "symlink": symlink(root + "/victim", made)
                    case "open folder": mkdir(made, 0o700); chmod(made, 0o777)
                    default: mkdir(made, 0o700); chown(made, 65534, 65534)
                    }
                }
                Issue.record("\(swap): accepted")
            } catch {
                #expect(error.description.contains("replaced") || error.description.contains("not a private folder"), "\(swap): \(error)")
            }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path("victim")) == [])
        // The swapped-in names stay (they are not ours to remove; nothing of ours is in them).
        let left = try FileManager.default.contentsOfDirectory(atPath: dir.path("")).sorted()
        #expect(left.filter { $0.hasPrefix(".out.t-") }.count == swaps.count, "\(left)")
    }

    @Test("without a working directory of its own, opening into a folder others can rename entries in is refused before logging")
    func fallbackNeedsUnsharedFolder() throws {
        let fx = try DossierFixture()
        let receipt = try fx.seal(try fx.folder("shared", ["a.txt": [1]]), id: "shared")
        let shared = fx.dir.path("shared-out")
        try FileSystem.makeDirectory(shared, mode: 0o700)
        chmod(shared, 0o777)
        var options = OpenOptions()
        options.absolutePathsForTesting = true
        do {
            _ = try Dossier.open(receipt.path, with: [fx.recipient.identity], into: shared + "/out", trusting: fx.trust,
                                 recordingTo: fx.recorder, options: options)
            Issue.record("opened into a world-writable folder with absolute paths")
        } catch {
            #expect(error.kind == .output && error.reason.contains("others can rename"), "\(error)")
        }
        #expect(try fx.log.history(of: "shared").map(\.event) == [.sealed])
        // The sticky bit (as /tmp has) is enough: others cannot rename what is ours.
        chmod(shared, 0o1777)
        _ = try Dossier.open(receipt.path, with: [fx.recipient.identity], into: shared + "/out", trusting: fx.trust,
                             recordingTo: fx.recorder, options: options)
        #expect(try DossierFixture.contents(of: shared + "/out") == ["a.txt": [1]])
    }

    /// Runs `body` on a thread of its own whose file-system user is `nobody` when the tests
    /// run as root (root passes every permission check); `setfsuid` changes only the calling
    /// thread, and back to 0 restores its capabilities.
    static func asOtherUser(_ body: @escaping @Sendable () -> Void) {
        typealias SetFSUID = @convention(c) (UInt32) -> Int32
        guard geteuid() == 0, let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "setfsuid") else { return body() }
        let setfsuid = unsafeBitCast(symbol, to: SetFSUID.self)
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            _ = setfsuid(65534)
            body()
            _ = setfsuid(0)
            done.signal()
        }
        thread.start()
        done.wait()
    }

    @Test("removing a staging tree empties folders whose modes (from the payload) forbid it: read-only, no search, no access")
    func removalOfLockedFolders() throws {
        let dir = try TemporaryDirectory()
        if geteuid() == 0 { chown(dir.url.path, 65534, 65534) }
        let root = dir.path("tree")
        nonisolated(unsafe) var built = false
        nonisolated(unsafe) var result = "not run"
        nonisolated(unsafe) var leftOver = true
        Self.asOtherUser {
            // Built by the same user that removes it, as an opening's staging folder is.
            var ok = mkdir(root, 0o700) == 0
            for folder in ["readonly", "nosearch", "none", "none/inner"] {
                ok = ok && mkdir(root + "/" + folder, 0o700) == 0
                ok = ok && FileManager.default.createFile(atPath: root + "/" + folder + "/plain.txt", contents: Data("secret".utf8))
            }
            for (folder, mode) in [("none/inner", 0o000), ("readonly", 0o555), ("nosearch", 0o600), ("none", 0o000)] as [(String, mode_t)] {
                ok = ok && chmod(root + "/" + folder, mode) == 0
            }
            // The modes hold for this user: the file below a read-only folder cannot be unlinked.
            built = ok && unlink(root + "/readonly/plain.txt") != 0 && errno == EACCES
            result = FileSystem.removeTree(root)
            leftOver = FileManager.default.fileExists(atPath: root)
        }
        if geteuid() == 0 { chown(dir.url.path, 0, 0) }
        #expect(built)
        #expect(result == "")
        #expect(!leftOver)
    }

    @Test("removing a tree does not follow a symlink inside it; stale temporaries of another user are left alone")
    func removalFollowsNothing() throws {
        let dir = try TemporaryDirectory()
        try FileSystem.makeDirectory(dir.path("victim"), mode: 0o700)
        try Data("keep".utf8).write(to: URL(fileURLWithPath: dir.path("victim/thesis.pdf")))
        try FileSystem.makeDirectory(dir.path("tree"), mode: 0o700)
        try FileSystem.makeDirectory(dir.path("tree/sub"), mode: 0o700)
        try Data("x".utf8).write(to: URL(fileURLWithPath: dir.path("tree/sub/thesis.pdf")))
        symlink(dir.path("victim"), dir.path("tree/link"))
        #expect(FileSystem.removeTree(dir.path("tree")) == "")
        #expect(!FileManager.default.fileExists(atPath: dir.path("tree")))
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir.path("victim/thesis.pdf"))) == Data("keep".utf8))
        guard geteuid() == 0 else { return }
        // A "stale" temporary (dead pid) planted by another user beside the destination.
        let planted = dir.path(".out.opening-999999-abc")
        try FileSystem.makeDirectory(planted, mode: 0o700)
        chown(planted, 65534, 65534)
        #expect(FileSystem.removeStaleTemporaries(of: dir.path("out"), tag: "opening").isEmpty)
        #expect(FileManager.default.fileExists(atPath: planted))
        chown(planted, 0, 0)
        #expect(FileSystem.removeStaleTemporaries(of: dir.path("out"), tag: "opening") == [planted])
    }

    /// Review of session 15: whether the process that made a temporary still runs was asked
    /// of this machine only, so on a folder shared between machines (NFS) a live seal or
    /// opening of another machine looked dead and its temporary was removed under it.
    @Test("temporaries name their machine: one of another machine is left alone, one of this machine whose process is gone is removed")
    func staleTemporariesOfThisMachineOnly() throws {
        let dir = try TemporaryDirectory()
        let made = FileSystem.temporarySibling(of: dir.path("out"), tag: "opening")
        #expect(FileSystem.lastComponent(of: made).hasPrefix(".out.opening-\(getpid())-\(FileSystem.machineTag)-"), "\(made)")
        let other = dir.path(".out.opening-999999-0badc0de-abc")
        let ours = dir.path(".out.opening-999999-\(FileSystem.machineTag)-abc")
        let older = dir.path(".out.opening-999998-abc")  // made before temporaries named their machine
        for path in [other, ours, older] { try FileSystem.makeDirectory(path, mode: 0o700) }
        #expect(Set(FileSystem.removeStaleTemporaries(of: dir.path("out"), tag: "opening")) == [ours, older])
        #expect(FileManager.default.fileExists(atPath: other))
    }

    @Test("a staging folder renamed away while filled is not moved into place, and is emptied through its descriptor")
    func stagingSwappedLater() throws {
        let dir = try TemporaryDirectory()
        let staging = try StagingFolder(beside: dir.path("out"), tag: "t")
        let fd = openat(staging.descriptor, "plain.txt", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        #expect(fd >= 0)
        close(fd)
        rename(staging.path, dir.path("elsewhere"))
        mkdir(staging.path, 0o700)
        #expect(!staging.isInPlace)
        #expect(throws: StagingFolder.Failure.self) { try staging.moveIntoPlace(as: dir.path("out")) }
        #expect(!FileManager.default.fileExists(atPath: dir.path("out")))
        staging.remove()
        // Our folder (now "elsewhere") holds no plaintext any more; the stranger's folder is left alone.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path("elsewhere")) == [])
        #expect(FileManager.default.fileExists(atPath: staging.path))
    }

    @Test("opening with the staging folder swapped for a symlink to a private folder fails before the opening is logged")
    func openRefusesSwappedStaging() throws {
        let fx = try DossierFixture()
        let receipt = try fx.seal(try fx.folder("swap", ["a.txt": [1]]), id: "swap")
        try FileSystem.makeDirectory(fx.dir.path("victim"), mode: 0o700)
        let victim = fx.dir.path("victim")
        var options = OpenOptions()
        options.afterCreatingStagingForTesting = { made in
            rename(made, made + "-moved")
            symlink(victim, made)
        }
        do {
            _ = try Dossier.open(receipt.path, with: [fx.recipient.identity], into: fx.dir.path("out"), trusting: fx.trust,
                                 recordingTo: fx.recorder, options: options)
            Issue.record("opened through a swapped staging folder")
        } catch {
            #expect(error.kind == .output, "\(error)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: victim) == [])
        #expect(!FileManager.default.fileExists(atPath: fx.dir.path("out")))
        #expect(try fx.log.history(of: "swap").map(\.event) == [.sealed])
    }
}

/// Failures a real disk or file server produces while an opening is put in place, injected
/// through `StagingFolder.Calls`: each must end in a clear error, and never in plaintext
/// left where nobody expects it nor in a destination that looks complete but is not.
@Suite("opening: putting the content in place when the file system fails")
struct PlacementFailureTests {
    /// Counts calls across threads.
    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var count = 0
        /// Counts a call and returns its number (1 for the first).
        func next() -> Int { lock.lock(); defer { lock.unlock() }; count += 1; return count }
        var value: Int { lock.lock(); defer { lock.unlock() }; return count }
    }

    static func sealed(_ fx: DossierFixture, _ id: String) throws -> SealReceipt {
        try fx.seal(try fx.folder(id, ["a.txt": Array("alpha".utf8), "sub/b.bin": [1, 2, 3]]), id: id)
    }

    static func open(_ fx: DossierFixture, _ receipt: SealReceipt, into destination: String, _ options: OpenOptions) throws(DossierError) -> OpenReceipt {
        try Dossier.open(receipt.path, with: [fx.recipient.identity], into: destination, trusting: fx.trust, recordingTo: fx.recorder, options: options)
    }

    /// Names beside the destination other than the ones given (left-over staging folders).
    static func leftovers(in dir: TemporaryDirectory, except: Set<String>) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir.path("")).filter { $0.contains(".opening-") && !except.contains($0) }
    }

    @Test("where RENAME_NOREPLACE is not supported (NFS), the content is moved into place by a plain rename")
    func renameFallback() throws {
        let fx = try DossierFixture()
        let receipt = try Self.sealed(fx, "nfs")
        let plain = Counter()
        var options = OpenOptions()
        options.placementCallsForTesting.renameNoReplace = { _, _, _, _ in errno = EINVAL; return -1 }
        options.placementCallsForTesting.rename = { from, fromName, to, toName in _ = plain.next(); return renameat(from, fromName, to, toName) }
        _ = try Self.open(fx, receipt, into: fx.dir.path("out"), options)
        #expect(plain.value == 1)
        #expect(try DossierFixture.contents(of: fx.dir.path("out")) == ["a.txt": Array("alpha".utf8), "sub/b.bin": [1, 2, 3]])
        #expect(try Self.leftovers(in: fx.dir, except: []).isEmpty)
    }

    @Test("a rename refused for another reason fails the opening and removes the staging folder")
    func renameRefused() throws {
        let fx = try DossierFixture()
        let receipt = try Self.sealed(fx, "eacces")
        let plain = Counter()
        var options = OpenOptions()
        options.placementCallsForTesting.renameNoReplace = { _, _, _, _ in errno = EACCES; return -1 }
        options.placementCallsForTesting.rename = { _, _, _, _ in _ = plain.next(); return 0 }
        do {
            _ = try Self.open(fx, receipt, into: fx.dir.path("out"), options)
            Issue.record("opened although the rename failed")
        } catch {
            #expect(error.kind == .output && error.reason.contains("cannot rename") && error.reason.contains(String(cString: strerror(EACCES))), "\(error)")
        }
        #expect(plain.value == 0, "a plain rename may replace a folder made since the check: only where NOREPLACE is unsupported")
        #expect(!FileManager.default.fileExists(atPath: fx.dir.path("out")))
        #expect(try Self.leftovers(in: fx.dir, except: []).isEmpty)
    }

    @Test("a staging folder swapped between the last check and the rename: the swap is detected at the destination and the plaintext is emptied where it went")
    func swappedBeforeRename() throws {
        let fx = try DossierFixture()
        let receipt = try Self.sealed(fx, "race")
        let away = fx.dir.path("moved-away")
        var options = OpenOptions()
        options.placementCallsForTesting.beforeRename = { staging in
            rename(staging, away)
            mkdir(staging, 0o700)
            _ = FileManager.default.createFile(atPath: staging + "/planted.txt", contents: Data("planted".utf8))
        }
        do {
            _ = try Self.open(fx, receipt, into: fx.dir.path("out"), options)
            Issue.record("opened although the staging folder was swapped")
        } catch {
            #expect(error.kind == .output && error.reason.contains("was replaced while it was being moved"), "\(error)")
        }
        // Our folder, wherever it went, holds no plaintext; what was swapped in is not ours and is left as it is.
        #expect(try FileManager.default.contentsOfDirectory(atPath: away) == [])
        #expect(try DossierFixture.contents(of: fx.dir.path("out")) == ["planted.txt": Array("planted".utf8)])
    }

    @Test("an fsync of the destination's folder failing after the rename is reported, and the complete content stays in place")
    func folderSyncFails() throws {
        let fx = try DossierFixture()
        let receipt = try Self.sealed(fx, "fsync")
        var options = OpenOptions()
        options.placementCallsForTesting.syncFolder = { _ in errno = EIO; return -1 }
        do {
            _ = try Self.open(fx, receipt, into: fx.dir.path("out"), options)
            Issue.record("reported success although the rename was not made durable")
        } catch {
            #expect(error.kind == .output && error.reason.contains("could not be made durable"), "\(error)")
        }
        #expect(try DossierFixture.contents(of: fx.dir.path("out")) == ["a.txt": Array("alpha".utf8), "sub/b.bin": [1, 2, 3]])
        #expect(try Self.leftovers(in: fx.dir, except: []).isEmpty)
    }

    @Test("where the extraction thread cannot enter the staging folder, it does not fall back to absolute paths unless the destination's folder was checked for them")
    func cannotEnterStaging() throws {
        let fx = try DossierFixture()
        let receipt = try Self.sealed(fx, "fchdir")
        var options = OpenOptions()
        options.placementCallsForTesting.enterFolder = { _ in errno = EACCES; return -1 }
        if ExtractionThread.privateWorkingDirectoryAvailable {
            // The opener relied on the thread's own working directory and checked nothing else.
            do {
                _ = try Self.open(fx, receipt, into: fx.dir.path("out"), options)
                Issue.record("opened with absolute paths into an unchecked folder")
            } catch {
                #expect(error.kind == .output && error.reason.contains("fchdir to the staging folder"), "\(error)")
            }
            #expect(!FileManager.default.fileExists(atPath: fx.dir.path("out")))
            #expect(try Self.leftovers(in: fx.dir, except: []).isEmpty)
        }
        // The thread itself: it falls back to absolute paths only where they are allowed
        // (the opener allows them where unshare is refused, after checking the folder).
        for allowed in [false, true] {
            let staging = try StagingFolder(beside: fx.dir.path("direct-\(allowed)"), tag: "t")
            defer { staging.remove() }
            var calls = StagingFolder.Calls.system
            calls.enterFolder = { _ in errno = EACCES; return -1 }
            let thread = ExtractionThread(root: staging.root, descriptor: staging.descriptor, absolutePathsAllowed: allowed, calls: calls)
            do {
                try thread.beginFile("a.txt", size: 2, permissions: 0o644, mtime: 0)
                try withBytes(Array("ok".utf8)) { (raw) throws(DossierError) in try thread.fileData(raw) }
                try thread.endFile()
                try thread.finish()
                #expect(allowed, "wrote with absolute paths although they were not allowed")
                #expect(!thread.usedPrivateWorkingDirectory)
                #expect(try DossierFixture.contents(of: staging.root) == ["a.txt": Array("ok".utf8)])
            } catch {
                thread.cancel()
                #expect(!allowed && "\(error)".contains("fchdir to the staging folder"), "\(error)")
                #expect(try DossierFixture.contents(of: staging.root).isEmpty)
            }
        }
    }

    @Test("a write-back error (syncfs) while extracting or at the end fails the opening and leaves nothing",
          arguments: ["while extracting", "at the end"])
    func writebackFails(when: String) throws {
        let fx = try DossierFixture()
        let receipt = try Self.sealed(fx, "eio")
        let calls = Counter()
        var options = OpenOptions()
        if when == "while extracting" {
            // A flush after every batch; only the first call fails: the helper's (a flush
            // requested before the end still runs, before the final one).
            options.writebackStepForTesting = 1
            options.placementCallsForTesting.syncFileSystem = { fd in
                if calls.next() == 1 { errno = EIO; return -1 }
                return StagingFolder.Calls.system.syncFileSystem(fd)
            }
        } else {
            options.placementCallsForTesting.syncFileSystem = { _ in _ = calls.next(); errno = EIO; return -1 }
        }
        do {
            _ = try Self.open(fx, receipt, into: fx.dir.path("out"), options)
            Issue.record("opened although the write-back failed")
        } catch {
            #expect(error.kind == .output && error.reason.contains("writing the opened files to disk failed")
                    && error.reason.contains(String(cString: strerror(EIO))), "\(error)")
        }
        #expect(calls.value >= 1)
        #expect(!FileManager.default.fileExists(atPath: fx.dir.path("out")))
        #expect(try Self.leftovers(in: fx.dir, except: []).isEmpty)
    }
}
