import Foundation
import Synchronization
import GRDBSQLite
import Testing
@testable import DossierKit

/// `DossierCancellation`: an application stops a seal, an opening or an amendment, and
/// nothing of it stays behind.
@Suite("Dossier: cancelling long operations")
struct CancellationTests {
    /// A folder of three 8 MiB files of pseudo-random bytes: more than the pipelines hold
    /// ahead (4 blocks of 1 MiB), so a stop asked for at the first progress report is met
    /// while the bytes still move.
    private static func bigFolder(_ fx: DossierFixture, _ name: String) throws -> String {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var files: [String: [UInt8]] = [:]
        for index in 1...3 {
            var bytes = [UInt8](repeating: 0, count: 8 << 20)
            bytes.withUnsafeMutableBytes { raw in
                let words = raw.bindMemory(to: UInt64.self)
                for i in words.indices {
                    state &+= 0x9E37_79B9_7F4A_7C15
                    var z = state
                    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                    words[i] = z ^ (z >> 31)
                }
            }
            files["scan-\(index).bin"] = bytes
        }
        return try fx.folder(name, files)
    }

    /// Names in `folder` that a stopped operation could have left: temporaries, staging folders.
    private static func leftovers(in folder: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder).filter {
            $0.contains(".tmp") || $0.contains(".opening-") || $0.contains(".amending-") || $0.hasPrefix(".")
        }
    }

    private static func expectInterrupted(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            try body()
            Issue.record("finished although cancelled", sourceLocation: sourceLocation)
        } catch let error as DossierError {
            #expect(error.kind == .interrupted, "\(error)", sourceLocation: sourceLocation)
            #expect(error.reason == "cancelled by the application", sourceLocation: sourceLocation)
        } catch {
            Issue.record("\(error)", sourceLocation: sourceLocation)
        }
    }

    @Test("a seal cancelled while it writes leaves no dossier, no temporary and no log entry")
    func sealCancelledWhileWriting() throws {
        let fx = try DossierFixture()
        let source = try Self.bigFolder(fx, "case-big")
        let cancellation = DossierCancellation()
        let reports = CallCounter()
        let output = fx.dir.path("case-big.dossier")
        Self.expectInterrupted {
            _ = try fx.seal(source, to: output, options: SealOptions(progress: { done, _ in
                if reports.next() == 1 {
                    #expect(done < 24 << 20)
                    cancellation.cancel()
                }
            }, cancellation: cancellation))
        }
        // Stopped where the bytes move, not at the end (a report every 256 KiB: ~96 for the
        // whole 24 MiB).
        #expect((1..<48).contains(reports.value), "\(reports.value) progress reports")
        #expect(!FileSystem.exists(output))
        #expect(try Self.leftovers(in: fx.dir.url.path) == [])
        #expect(try fx.log.history(of: "case-big").isEmpty)
        // The same folder seals afterwards under the same id: nothing was used up.
        let receipt = try fx.seal(source, to: output)
        #expect(Dossier.verify(receipt.path, trusting: fx.trust).status == .valid)
    }

    @Test("a seal cancelled before it starts writes nothing")
    func sealCancelledBefore() throws {
        let fx = try DossierFixture()
        let source = try fx.folder("case-small", ["a.txt": Array("a".utf8)])
        let cancellation = DossierCancellation()
        cancellation.cancel()
        #expect(cancellation.isCancelled)
        Self.expectInterrupted {
            _ = try fx.seal(source, options: SealOptions(cancellation: cancellation))
        }
        #expect(!FileSystem.exists(fx.dir.path("case-small.dossier")))
        #expect(try Self.leftovers(in: fx.dir.url.path) == [])
        #expect(try fx.log.history(of: "case-small").isEmpty)
    }

    @Test("an opening cancelled while it extracts leaves no content; its opened entry stays on record")
    func openCancelledWhileExtracting() throws {
        let fx = try DossierFixture()
        let receipt = try fx.seal(try Self.bigFolder(fx, "case-open"))
        let shelf = fx.dir.path("opened")
        try FileManager.default.createDirectory(atPath: shelf, withIntermediateDirectories: false)
        let cancellation = DossierCancellation()
        let reports = CallCounter()
        Self.expectInterrupted {
            _ = try Dossier.open(receipt.path, with: [fx.recipient.identity], into: shelf + "/case-open", trusting: fx.trust,
                                 recordingTo: fx.recorder, options: OpenOptions(progress: { _, _ in
                if reports.next() == 1 { cancellation.cancel() }
            }, cancellation: cancellation))
        }
        #expect((1..<48).contains(reports.value), "\(reports.value) progress reports")
        #expect(try FileManager.default.contentsOfDirectory(atPath: shelf) == [])
        let history = try fx.log.history(of: "case-open")
        #expect(history.map(\.event) == [.sealed, .opened])
        #expect(fx.log.verify(dossierID: "case-open", trusting: fx.trust, anchor: receipt.manifest.accessLogGenesisSHA256).isValid)
    }

    @Test("an opening cancelled before it starts is not logged and writes nothing")
    func openCancelledBefore() throws {
        let fx = try DossierFixture()
        let receipt = try fx.seal(try fx.folder("case-o", ["a.txt": Array("a".utf8)]))
        let shelf = fx.dir.path("opened")
        try FileManager.default.createDirectory(atPath: shelf, withIntermediateDirectories: false)
        let cancellation = DossierCancellation()
        cancellation.cancel()
        Self.expectInterrupted {
            _ = try Dossier.open(receipt.path, with: [fx.recipient.identity], into: shelf + "/case-o", trusting: fx.trust,
                                 recordingTo: fx.recorder, options: OpenOptions(cancellation: cancellation))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: shelf) == [])
        #expect(try fx.log.history(of: "case-o").map(\.event) == [.sealed])
    }

    /// Holds the ledger's write lock from a connection of its own (as another process
    /// writing it would) until `release`.
    private final class LedgerWriter: @unchecked Sendable {
        private var connection: OpaquePointer?
        init(_ path: String) throws {
            #expect(sqlite3_open_v2(path, &connection, SQLITE_OPEN_READWRITE, nil) == SQLITE_OK)
            #expect(sqlite3_exec(connection, "BEGIN IMMEDIATE", nil, nil, nil) == SQLITE_OK)
        }
        func release() {
            sqlite3_exec(connection, "ROLLBACK", nil, nil, nil)
            sqlite3_close(connection)
            connection = nil
        }
        deinit { if connection != nil { release() } }
    }

    @Test("a seal or an opening waiting for a ledger another process is writing stops when cancelled (it waited up to 120 s, then went on)")
    func cancelledWhileTheLedgerIsBusy() throws {
        let fx = try DossierFixture()
        let sealed = try fx.seal(try fx.folder("case-busy", ["a.txt": Array("a".utf8)]))
        let source = try fx.folder("case-wait", ["b.txt": Array("b".utf8)])
        let shelf = fx.dir.path("opened")
        try FileManager.default.createDirectory(atPath: shelf, withIntermediateDirectories: false)
        for opening in [false, true] {
            let writer = try LedgerWriter(fx.dir.path("ledger.sqlite"))
            let cancellation = DossierCancellation()
            let started = ContinuousClock.now
            // Cancelled 0.3 s in; the lock is held for 3 s: a wait that ignores the
            // cancellation gets the lock then and records its entry.
            let released = DispatchSemaphore(value: 0)
            let canceller = Thread { usleep(300_000); cancellation.cancel() }
            let releaser = Thread { usleep(3_000_000); writer.release(); released.signal() }
            canceller.start()
            releaser.start()
            Self.expectInterrupted {
                if opening {
                    _ = try Dossier.open(sealed.path, with: [fx.recipient.identity], into: shelf + "/case-busy", trusting: fx.trust,
                                         recordingTo: fx.recorder, options: OpenOptions(cancellation: cancellation))
                } else {
                    _ = try fx.seal(source, options: SealOptions(cancellation: cancellation))
                }
            }
            #expect(ContinuousClock.now - started < .seconds(2), "opening: \(opening)")
            released.wait()
            #expect(try Self.leftovers(in: fx.dir.url.path) == [])
            #expect(!FileSystem.exists(fx.dir.path("case-wait.dossier")))
            #expect(try FileManager.default.contentsOfDirectory(atPath: shelf) == [])
        }
        #expect(try fx.log.history(of: "case-wait").isEmpty)
        #expect(try fx.log.history(of: "case-busy").map(\.event) == [.sealed])
    }

    @Test("a countersignature whose entry waited for a busy ledger while another process put a new dossier at its path does not overwrite that dossier (review of session 20: in-place countersign racing seal --force)")
    func replacedWhileTheEntryWaited() throws {
        let fx = try DossierFixture()
        let receipt = try fx.seal(try fx.folder("case-old", ["a.txt": Array("old".utf8)]))
        let newer = try fx.seal(try fx.folder("case-new", ["a.txt": Array("new".utf8)]))
        let newerBytes = try Data(contentsOf: URL(fileURLWithPath: newer.path))
        let writer = try LedgerWriter(fx.dir.path("ledger.sqlite"))
        // While the countersignature's entry waits for the lock, the newer dossier takes the
        // path (as `seal --force` renames its file into place); then the lock is let go.
        let released = DispatchSemaphore(value: 0)
        let other = Thread {
            usleep(700_000)
            rename(newer.path, receipt.path)
            usleep(300_000)
            writer.release()
            released.signal()
        }
        other.start()
        do {
            try Dossier.countersign(receipt.path, as: DossierSigner(key: try SigningKey.generate(), role: .countersigner, name: "City Archive"),
                                    trusting: fx.trust, allowUntrusted: true, recordingTo: fx.recorder)
            Issue.record("the countersigned old dossier replaced the new one")
        } catch {
            #expect(error.kind == .output && error.reason.contains("was replaced"), "\(error)")
        }
        released.wait()
        #expect(try Data(contentsOf: URL(fileURLWithPath: receipt.path)) == newerBytes)
        #expect(try Self.leftovers(in: fx.dir.url.path) == [])
    }

    @Test("a countersignature or transfer that is cancelled changes nothing: same bytes, no temporary, no log entry")
    func amendmentsCancelled() throws {
        let fx = try DossierFixture()
        let receipt = try fx.seal(try Self.bigFolder(fx, "case-a"))
        let before = try Data(contentsOf: URL(fileURLWithPath: receipt.path))
        let cancellation = DossierCancellation()
        cancellation.cancel()
        Self.expectInterrupted {
            try Dossier.countersign(receipt.path, as: DossierSigner(key: try SigningKey.generate(), role: .countersigner, name: "City Archive"),
                                    trusting: fx.trust, recordingTo: fx.recorder, cancellation: cancellation)
        }
        let next = try AgeX25519.generate()
        Self.expectInterrupted {
            try Dossier.rewrap(receipt.path, with: [fx.recipient.identity], to: [AgeRecipient(next.recipient)],
                               by: DossierSigner(key: try SigningKey.generate(), role: .transferrer, name: "Registry"),
                               reason: "moved to the state archive", trusting: fx.trust, recordingTo: fx.recorder, cancellation: cancellation)
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: receipt.path)) == before)
        #expect(try Self.leftovers(in: fx.dir.url.path) == [])
        #expect(try fx.log.history(of: "case-a").map(\.event) == [.sealed])
    }

    @Test("a countersignature cancelled after its copy verified, before its entry, still changes nothing")
    func amendmentCancelledAtTheEnd() throws {
        let fx = try DossierFixture()
        let receipt = try fx.seal(try fx.folder("case-e", ["a.txt": Array("a".utf8)]))
        let before = try Data(contentsOf: URL(fileURLWithPath: receipt.path))
        let cancellation = DossierCancellation()
        Self.expectInterrupted {
            try Dossier.countersign(receipt.path, as: DossierSigner(key: try SigningKey.generate(), role: .countersigner, name: "City Archive"),
                                    trusting: fx.trust, recordingTo: fx.recorder, cancellation: cancellation,
                                    beforeReplacingForTesting: { cancellation.cancel() })
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: receipt.path)) == before)
        #expect(try Self.leftovers(in: fx.dir.url.path) == [])
        #expect(try fx.log.history(of: "case-e").map(\.event) == [.sealed])
    }

    @Test("Dossier.run: the work runs on a thread of its own, and cancelling the task stops it with nothing left behind")
    func taskCancellation() async throws {
        let fx = try DossierFixture()
        let source = try Self.bigFolder(fx, "case-task")
        let output = fx.dir.path("case-task.dossier")
        let started = CallCounter()
        let recipients = [try AgeRecipient(fx.recipient.recipient)], signers = fx.signers
        let recorder = fx.recorder
        let task = Task {
            try await Dossier.run { cancellation in
                try Dossier.seal(source, to: recipients, signedBy: signers, writingTo: output,
                                 options: SealOptions(log: recorder, progress: { _, _ in
                    // Hold the seal at its first report until the task is cancelled.
                    guard started.next() == 1 else { return }
                    let deadline = Date().addingTimeInterval(10)
                    while !cancellation.isCancelled && Date() < deadline { usleep(1_000) }
                }, cancellation: cancellation))
            }
        }
        while started.value == 0 { try await Task.sleep(nanoseconds: 1_000_000) }
        task.cancel()
        do {
            _ = try await task.value
            Issue.record("the seal finished although its task was cancelled")
        } catch let error as DossierError {
            #expect(error.kind == .interrupted, "\(error)")
        }
        #expect(!FileSystem.exists(output))
        #expect(try Self.leftovers(in: fx.dir.url.path) == [])
        #expect(try fx.log.history(of: "case-task").isEmpty)

        // Not cancelled: the result comes back, from a thread named for it.
        let (receipt, thread) = try await Dossier.run { _ in
            let name = try String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)
            return (try Dossier.seal(source, to: recipients, signedBy: signers, writingTo: output, options: SealOptions(log: recorder)),
                    name.trimmingCharacters(in: .newlines))
        }
        #expect(thread == "dossier.run")
        #expect(Dossier.verify(receipt.path, trusting: fx.trust).status == .valid)
        // A task cancelled before it starts the work: stopped at once.
        let earlyOutput = fx.dir.path("early.dossier")
        let early = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await Dossier.run { cancellation in
                try Dossier.seal(source, to: recipients, signedBy: signers, writingTo: earlyOutput,
                                 options: SealOptions(dossierID: "case-early", cancellation: cancellation))
            }
        }
        do {
            _ = try await early.value
            Issue.record("a cancelled task sealed")
        } catch let error as DossierError {
            #expect(error.kind == .interrupted, "\(error)")
        }
        #expect(!FileSystem.exists(fx.dir.path("early.dossier")))
    }
}
