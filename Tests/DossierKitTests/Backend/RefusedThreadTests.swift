import Foundation
import Testing
@testable import DossierKit
#if canImport(Glibc)
import Glibc
#endif

/// Where the system refuses a new thread (a process or container thread limit), every
/// helper does without it or fails with a clear error — none waits for ever for a thread
/// that never ran (Foundation's `Thread.start` ignores the refusal; a seal under
/// `ulimit -u 6` hung).
@Suite("threads refused by the system")
struct RefusedThreadTests {
    /// Every helper thread a seal, a verification and an opening start, but the extraction's.
    static let helpers: Set<String> = ["dossier.pipeline", "dossier.prefetch", "dossier.fsync", "dossier.writeback",
                                       "dossier.readback", "dossier.readahead", "dossier.background"]

    /// Fails every write after `limit` bytes.
    final class FailingSink: ByteSink {
        let limit: Int
        var written = 0
        init(limit: Int) { self.limit = limit }
        func write(_ bytes: UnsafeRawBufferPointer) throws {
            guard written + bytes.count <= limit else { throw FileError(operation: "write", path: "test", code: ENOSPC) }
            written += bytes.count
        }
    }

    /// Fails every read after `limit` bytes.
    final class FailingSource: ByteSource {
        let inner: MemorySource
        let limit: Int
        var read = 0
        init(_ bytes: [UInt8], limit: Int) {
            inner = MemorySource(bytes)
            self.limit = limit
        }
        func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
            guard read < limit else { throw FileError(operation: "read", path: "test", code: EIO) }
            let n = try inner.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<min(buffer.count, limit - read)]))
            read += n
            return n
        }
    }

    @Test("a refused thread never runs; a thread allowed runs")
    func refusal() throws {
        let ran = DispatchSemaphore(value: 0)
        #expect(throws: SystemThread.Refused.self) {
            try SystemThread.refusing(["dossier.x"]) { try SystemThread.start(name: "dossier.x") { ran.signal() } }
        }
        #expect(ran.wait(timeout: .now() + 0.2) == .timedOut)
        try SystemThread.refusing(["dossier.x"]) { try SystemThread.start(name: "dossier.y") { ran.signal() } }
        #expect(ran.wait(timeout: .now() + 10) == .success)
        let message = SystemThread.Refused(name: "dossier.pipeline", code: EAGAIN).description
        #expect(message.contains("dossier.pipeline") && message.contains("limit"))
    }

    @Test("the pipeline writes on the caller's thread: same bytes, errors at the write that fails")
    func pipelineWithoutThread() throws {
        let bytes = ParallelExtractionTests.bytes(3_000_000, seed: 5)
        let target = MemorySink()
        let pipeline = SystemThread.refusing(["dossier.pipeline"]) { PipelinedSink(target, blockSize: 1 << 16) }
        #expect(pipeline.direct)
        for start in stride(from: 0, to: bytes.count, by: 100_000) {
            try bytes[start..<min(start + 100_000, bytes.count)].withUnsafeBytes { try pipeline.write($0) }
        }
        try pipeline.close()
        #expect(target.bytes == bytes)
        #expect(throws: PipelinedSink.ClosedError.self) { try pipeline.write([1]) }

        let failing = SystemThread.refusing(["dossier.pipeline"]) { PipelinedSink(FailingSink(limit: 150_000), blockSize: 1 << 16) }
        try bytes[0..<100_000].withUnsafeBytes { try failing.write($0) }
        #expect(throws: FileError.self) { try bytes[0..<100_000].withUnsafeBytes { try failing.write($0) } }
        #expect(throws: FileError.self) { try failing.close() }
    }

    /// Holds its first write until `gate` is signalled, telling `entered` when it is held.
    final class GatedSink: ByteSink, @unchecked Sendable {
        let entered = DispatchSemaphore(value: 0)
        let gate = DispatchSemaphore(value: 0)
        let lock = NSLock()
        var writes = 0
        func write(_ bytes: UnsafeRawBufferPointer) throws {
            lock.lock()
            writes += 1
            let first = writes == 1
            lock.unlock()
            if first {
                entered.signal()
                gate.wait()
            }
        }
    }

    @Test("cancelling the pipeline drops the blocks still queued and returns the worker's error (a failed seal writes no more)")
    func pipelineCancel() throws {
        let target = GatedSink()
        let pipeline = PipelinedSink(target, blockSize: 1 << 16)
        let block = [UInt8](repeating: 7, count: 1 << 16)
        for _ in 0..<3 { try block.withUnsafeBytes { try pipeline.write($0) } }   // one in the worker's hand, two queued
        #expect(target.entered.wait(timeout: .now() + 10) == .success)
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.1) { target.gate.signal() }
        #expect(pipeline.cancel() == nil)
        #expect(target.writes == 1, "the queued blocks were written after cancel")
        #expect(throws: PipelinedSink.ClosedError.self) { try block.withUnsafeBytes { try pipeline.write($0) } }

        // Once the worker has failed (a later write says so), cancel returns that failure.
        let failing = PipelinedSink(FailingSink(limit: 1_000), blockSize: 1 << 16)
        var refused = false
        for _ in 0..<2_000 where !refused {
            do { try block.withUnsafeBytes { try failing.write($0) } } catch { refused = true }
            if !refused { usleep(1_000) }
        }
        #expect(refused)
        #expect(failing.cancel() is FileError)
    }

    @Test("the prefetcher reads on the caller's thread: same bytes by read and by block, the source's error, cancel")
    func prefetchWithoutThread() throws {
        let bytes = ParallelExtractionTests.bytes(700_000, seed: 6)
        let source = SystemThread.refusing(["dossier.prefetch"]) { PrefetchingSource(MemorySource(bytes), blockSize: 65_536) }
        #expect(source.direct)
        var read: [UInt8] = []
        var piece = [UInt8](repeating: 0, count: 10_000)
        while true {
            let n = try piece.withUnsafeMutableBytes { try source.read(into: $0) }
            if n == 0 { break }
            read += piece[0..<n]
        }
        #expect(read == bytes)
        #expect(try piece.withUnsafeMutableBytes { try source.read(into: $0) } == 0)

        let blocks = SystemThread.refusing(["dossier.prefetch"]) { PrefetchingSource(MemorySource(bytes), blockSize: 65_536) }
        var joined: [UInt8] = []
        while true {
            let block = try blocks.nextBlock()
            if block.isEmpty { break }
            joined += block
        }
        #expect(joined == bytes)
        blocks.cancel()

        let failing = SystemThread.refusing(["dossier.prefetch"]) { PrefetchingSource(FailingSource(bytes, limit: 100_000), blockSize: 65_536) }
        #expect(throws: FileError.self) {
            while try piece.withUnsafeMutableBytes({ try failing.read(into: $0) }) > 0 {}
        }
        #expect(ParallelExtractionTests.returns(within: 10) { failing.cancel() })
    }

    @Test("a background job runs at once on the caller's thread; the early write-back does without its flushes; the read-back is not started")
    func smallHelpersWithoutThread() throws {
        final class Flag: @unchecked Sendable { var set = false }
        let flag = Flag()
        let task = SystemThread.refusing(["dossier.background"]) {
            BackgroundTask { flag.set = true; throw FileError(operation: "fsync", path: "x", code: EIO) }
        }
        #expect(flag.set)
        #expect(throws: FileError.self) { try task.wait() }

        let dir = try TemporaryDirectory()
        let sink = try FileSink(creating: dir.path("file"))
        SystemThread.refusing(["dossier.writeback"]) { sink.startWritebackEarly(every: 1) }
        #expect(!sink.earlyWritebackRunning)
        try sink.write([1, 2, 3])
        try sink.sync()
        try sink.close()
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir.path("file"))) == Data([1, 2, 3]))

        #expect(throws: FileError.self) {
            try SystemThread.refusing(["dossier.readback"]) { try ReadBackHasher(path: dir.path("file"), crcStart: 0, shaStart: 0) }
        }
    }

    @Test("seal, verify and open with every helper thread refused: the same dossier, valid, the same content")
    func sealVerifyOpenWithoutHelpers() throws {
        let fx = try DossierFixture()
        var files: [String: [UInt8]] = [:]
        for index in 0..<12 { files["part-\(index % 3)/doc-\(index).bin"] = ParallelExtractionTests.bytes(150_000 + index * 7_000, seed: UInt64(index)) }
        let root = try fx.folder("refused", files)
        final class Run: @unchecked Sendable {
            let fx: DossierFixture
            let root: String
            var failure: (any Error)?
            var sealed = false
            var verified = false
            var opened: [String: [UInt8]]?
            init(_ fx: DossierFixture, _ root: String) { (self.fx, self.root) = (fx, root) }
        }
        let run = Run(fx, root)
        // On a thread of its own with a watchdog: a helper waiting for a thread that never
        // ran would hang here.
        let returned = ParallelExtractionTests.returns(within: 120) {
            do {
                try SystemThread.refusing(Self.helpers) {
                    let receipt = try run.fx.seal(run.root, id: "refused")
                    run.sealed = receipt.report.isValid
                    run.verified = Dossier.verify(receipt.path, trusting: run.fx.trust).isValid
                    let out = run.fx.dir.path("opened")
                    _ = try Dossier.open(receipt.path, with: [run.fx.recipient.identity], into: out, trusting: run.fx.trust,
                                         recordingTo: run.fx.recorder)
                    run.opened = try DossierFixture.contents(of: out)
                }
            } catch { run.failure = error }
        }
        #expect(returned, "hung")
        #expect(run.failure == nil, "\(String(describing: run.failure))")
        #expect(run.sealed && run.verified)
        #expect(run.opened == files)
    }

    @Test("an opening whose extraction worker is refused stops with a clear error and leaves nothing at the destination")
    func extractionWorkerRefused() throws {
        let fx = try DossierFixture()
        let files = ["a.txt": [UInt8](repeating: 1, count: 5_000), "b/c.txt": [UInt8](repeating: 2, count: 5_000)]
        let receipt = try fx.seal(try fx.folder("content", files), id: "no-worker")
        let out = fx.dir.path("opened")
        final class Opening: @unchecked Sendable {
            let fx: DossierFixture
            let path: String
            let out: String
            init(_ fx: DossierFixture, _ path: String, _ out: String) { (self.fx, self.path, self.out) = (fx, path, out) }
        }
        let opening = Opening(fx, receipt.path, out)
        for threads in [1, 2] {
            let outcome = ParallelExtractionTests.produce(within: 30) { () throws(DossierError) in
                var options = OpenOptions()
                options.extractionThreadsForTesting = threads
                do {
                    try SystemThread.refusing(["dossier.extract"]) {
                        _ = try Dossier.open(opening.path, with: [opening.fx.recipient.identity], into: opening.out,
                                             trusting: opening.fx.trust, recordingTo: opening.fx.recorder, options: options)
                    }
                } catch let error as DossierError { throw error } catch { throw DossierError(.output, "unexpected \(error)") }
            }
            guard let outcome else { Issue.record("the opening hung"); return }
            guard let error = outcome else { Issue.record("the opening succeeded"); return }
            #expect("\(error)".contains("cannot start an extraction worker"), "\(error)")
            #expect(!FileManager.default.fileExists(atPath: out))
        }
    }
}

extension RefusedThreadTests {
    @Test("an access log is not opened without a thread to spare (libdispatch would wait for one for ever when it is closed): a clear error, no file made")
    func accessLogWithoutThread() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path("ledger.sqlite")
        func refusal(_ error: any Error) -> Bool {
            guard let error = error as? DossierError else { return false }
            return error.kind == .accessLog && "\(error)".contains("refused a new thread") && "\(error)".contains("ulimit -u")
        }
        #expect(performing: {
            try SystemThread.refusing(["dossier.ledger"]) { _ = try AccessLog(path: path, createIfMissing: true) }
        }, throws: refusal)
        #expect(!FileManager.default.fileExists(atPath: path))
        // Made with a thread to spare, it opens for writing and for reading; refused, neither.
        _ = try AccessLog(path: path, createIfMissing: true)
        for readOnly in [true, false] {
            #expect(performing: {
                try SystemThread.refusing(["dossier.ledger"]) { _ = try AccessLog(path: path, readOnly: readOnly, immutableForTesting: false) }
            }, throws: refusal)
        }
        #expect(try AccessLog(path: path, readOnly: true).history(of: "none").isEmpty)
    }
}

extension RefusedThreadTests {
    @Test("the probe for a thread-private working directory answers no, without waiting, when its thread is refused")
    func probeWithoutThread() {
        final class Answer: @unchecked Sendable { var value: Bool? }
        let answer = Answer()
        let returned = ParallelExtractionTests.returns(within: 10) {
            answer.value = SystemThread.refusing(["dossier.probe"]) { ExtractionThread.probePrivateWorkingDirectory() }
        }
        #expect(returned, "the probe waited for a thread that never ran")
        #expect(answer.value == false)
        // Where the system allows it (Linux without a seccomp profile refusing unshare), yes.
        #expect(ExtractionThread.probePrivateWorkingDirectory() == ExtractionThread.privateWorkingDirectoryAvailable)
    }
}

extension RefusedThreadTests {
    /// What asks libdispatch (or Swift concurrency, which runs on it) for worker threads:
    /// where the system refuses them, libdispatch sleeps and asks again for ever.
    static let dispatchWorkers = [#"concurrentPerform"#, #"DispatchQueue\.global"#, #"\.async\s*[({]"#, #"asyncAfter"#, #"DispatchGroup"#,
                                  #"DispatchSource"#, #"DispatchIO"#, #"AsyncParsableCommand"#, #"\basync\b"#, #"(^|[^.A-Za-z0-9_])await\s+[A-Za-z_(\[]"#,
                                  #"\bactor\s+[A-Z]"#, #"(^|[^A-Za-z0-9_.])Task\b\s*(<[^>]*>)?\s*(\{|\(|\.)"#, #"OperationQueue"#,
                                  #"readabilityHandler"#, #"(^|[^A-Za-z0-9_])Thread\s*[({]"#, #"detachNewThread"#, #"(^|[^A-Za-z0-9_])Process\s*\("#]

    @Test("no code of ours asks libdispatch or Swift concurrency for worker threads (they hang where the system refuses threads); helpers start through SystemThread")
    func noDispatchWorkers() throws {
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Sources")
        let files = try FileManager.default.subpathsOfDirectory(atPath: sources.path).filter { $0.hasSuffix(".swift") }
        #expect(files.count > 50, "the sources were not found at \(sources.path)")
        let patterns = try Self.dispatchWorkers.map { try Regex($0) }
        var found: [String] = []
        for file in files {
            let text = try String(contentsOfFile: sources.path + "/" + file, encoding: .utf8)
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let code = line.trimmingCharacters(in: .whitespaces)
                guard !code.hasPrefix("//") else { continue }
                for pattern in patterns where code.contains(pattern) { found.append("\(file):\(number + 1): \(code)") }
            }
        }
        // The one exception: `Dossier.run`, an async function for callers already in Swift
        // concurrency. It asks for no worker thread (the work runs on a SystemThread, and
        // the caller's task resumes where the caller's executor puts it): its signature,
        // the cancellation handler and the continuation — those three lines, no more.
        let run = found.filter { $0.hasPrefix("DossierKit/Dossier/DossierCancellation.swift:") }
        #expect(run.count == 3 && run[0].hasSuffix(") async throws(E) -> T {") && run[1].contains("await withTaskCancellationHandler")
                && run[2].contains("await withCheckedContinuation"), "\(run)")
        #expect(found.count == run.count, "\(found.filter { !run.contains($0) })")
    }
}

extension RefusedThreadTests {
    @Test("an extraction asks for its workers' threads before the optional early write-back's (where threads are few, the workers get them); none for the write-back when a worker was refused")
    func workersFirst() throws {
        let dir = try TemporaryDirectory()
        for threads in [1, 2] {
            let staging = try StagingFolder(beside: dir.path("out-\(threads)"), tag: "test")
            defer { staging.close() }
            var pool: ExtractionThread?
            let starts = SystemThread.recordingStarts {
                pool = ExtractionThread(root: staging.root, descriptor: staging.descriptor, threads: threads)
            }
            pool?.cancel()
            #expect(starts == Array(repeating: "dossier.extract", count: threads) + ["dossier.writeback"])
        }
        let staging = try StagingFolder(beside: dir.path("out-refused"), tag: "test")
        defer { staging.close() }
        var pool: ExtractionThread?
        let starts = SystemThread.recordingStarts {
            SystemThread.refusing(["dossier.extract"]) {
                pool = ExtractionThread(root: staging.root, descriptor: staging.descriptor, threads: 1)
            }
        }
        pool?.cancel()
        #expect(starts == ["dossier.extract"])
    }
}

extension RefusedThreadTests {
    @Test("an early write-back started late starts once, and never after it was stopped (a late thread could flush a descriptor closed and reused meanwhile)")
    func writebackStartsOnce() throws {
        let dir = try TemporaryDirectory()
        let fd = open(dir.path("f.bin"), O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        #expect(fd >= 0)
        defer { close(fd) }
        let late = EarlyWriteback(fd: fd, path: "f.bin", step: 1, startNow: false)
        #expect(SystemThread.recordingStarts { late.start(); late.start() } == ["dossier.writeback"])
        late.wrote(10)
        try late.stop()
        let stopped = EarlyWriteback(fd: fd, path: "f.bin", step: 1, startNow: false)
        stopped.wrote(10)
        try stopped.stop()
        #expect(SystemThread.recordingStarts { stopped.start() }.isEmpty)
        #expect(!stopped.isRunning)
    }
}
