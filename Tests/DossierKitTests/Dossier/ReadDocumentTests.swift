import Foundation
import Testing
@testable import DossierKit

/// `Dossier.read`: one document into memory, with everything an opening checks and logs.
@Suite("Dossier: reading one document into memory")
struct ReadDocumentTests {
    /// A dossier whose first document (in the tar's order) is `a/first.txt`, followed by
    /// 6 MiB that do not compress — more than an opening decrypts ahead (4 × 1 MiB) — so
    /// that damage near the payload's end is met after the document was read whole.
    private static func sealed(_ fx: DossierFixture, _ name: String) throws -> (path: String, id: String, first: [UInt8], other: [UInt8]) {
        let first = Array("release certificate, case 2024-117\n".utf8)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var other = [UInt8](repeating: 0, count: 6 << 20)
        other.withUnsafeMutableBytes { raw in
            let words = raw.bindMemory(to: UInt64.self)
            for i in words.indices {
                state &+= 0x9E37_79B9_7F4A_7C15
                var z = (state ^ (state >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                words[i] = z ^ (z >> 31)
            }
        }
        let receipt = try fx.seal(try fx.folder(name, ["a/first.txt": first, "z/scan.bin": other]))
        return (receipt.path, receipt.manifest.dossierID, first, other)
    }

    private static func entries(_ fx: DossierFixture, _ id: String) throws -> [LogEntry] {
        try fx.log.history(of: id)
    }

    @Test("a document comes back byte for byte, after the whole payload checked, with its opened entry naming it, and nothing on disk")
    func readsOneDocument() throws {
        let fx = try DossierFixture()
        let dossier = try Self.sealed(fx, "case-read")
        let before = try FileManager.default.contentsOfDirectory(atPath: fx.dir.url.path).sorted()
        let document = try Dossier.read("z/scan.bin", from: dossier.path, with: [fx.recipient.identity], trusting: fx.trust,
                                        recordingTo: fx.recorder)
        #expect(document.bytes == dossier.other)
        #expect(document.path == "z/scan.bin")
        let sealedTime = try FileManager.default.attributesOfItem(atPath: fx.dir.path("case-read/z/scan.bin"))[.modificationDate] as? Date
        #expect(document.modificationTime == Int64(sealedTime?.timeIntervalSince1970 ?? -1))
        // The whole content was checked against the private manifest, not only this document.
        #expect(document.report.content?.filesChecked == 2)
        #expect(document.report.checks.contains { $0.name == "content" && $0.passed })
        let last = try #require(try Self.entries(fx, dossier.id).last)
        #expect(last.event == .opened)
        #expect(last.details == ["document": "z/scan.bin"])
        // Nothing was written beside the dossier (no staging folder, no plaintext).
        let after = try FileManager.default.contentsOfDirectory(atPath: fx.dir.url.path).sorted()
        #expect(after.filter { !$0.hasPrefix("ledger.sqlite") } == before.filter { !$0.hasPrefix("ledger.sqlite") })

        let small = try Dossier.read("a/first.txt", from: dossier.path, with: [fx.recipient.identity], trusting: fx.trust,
                                     recordingTo: fx.recorder, options: OpenOptions(only: "a/first.txt"))
        #expect(small.bytes == dossier.first)
    }

    @Test("what is sure to fail is refused before anything is logged: a path no dossier holds, another OpenOptions.only, no or the wrong identity, an untrusted sealer, a log that cannot be written, a stop asked for")
    func refusedBeforeLogging() throws {
        let fx = try DossierFixture()
        let dossier = try Self.sealed(fx, "case-refused")
        let logged = try Self.entries(fx, dossier.id).count
        let stranger = try AgeX25519.generate()
        let cancelled = DossierCancellation()
        cancelled.cancel()
        // The same ledger, through a second handle that is closed: the entry cannot be written.
        let closedLog = try AccessLog(path: fx.log.path)
        try closedLog.close()
        let closedRecorder = AccessRecorder(log: closedLog, actor: DossierSigner(key: fx.sealer, role: .reader, name: "Anna Archivist"), purpose: "test")
        let cases: [(String, DossierError.Kind, String, () throws -> OpenedDocument)] = [
            ("./a/first.txt", .invalidArgument, "the document to read", {
                try Dossier.read("./a/first.txt", from: dossier.path, with: [fx.recipient.identity], trusting: fx.trust, recordingTo: fx.recorder)
            }),
            ("only", .invalidArgument, "OpenOptions.only names z/scan.bin", {
                try Dossier.read("a/first.txt", from: dossier.path, with: [fx.recipient.identity], trusting: fx.trust, recordingTo: fx.recorder,
                                 options: OpenOptions(only: "z/scan.bin"))
            }),
            ("no identity", .invalidArgument, "no identities given", {
                try Dossier.read("a/first.txt", from: dossier.path, with: [], trusting: fx.trust, recordingTo: fx.recorder)
            }),
            ("stranger", .noIdentity, "none of the given identities", {
                try Dossier.read("a/first.txt", from: dossier.path, with: [stranger.identity], trusting: fx.trust, recordingTo: fx.recorder)
            }),
            ("untrusted", .untrusted, "intact but not trusted", {
                try Dossier.read("a/first.txt", from: dossier.path, with: [fx.recipient.identity], trusting: .empty, recordingTo: fx.recorder)
            }),
            ("negative", .invalidArgument, "negative", {
                try Dossier.read("a/first.txt", from: dossier.path, with: [fx.recipient.identity], trusting: fx.trust, recordingTo: fx.recorder,
                                 maxBytes: -1)
            }),
            ("log closed", .accessLog, "is closed", {
                try Dossier.read("a/first.txt", from: dossier.path, with: [fx.recipient.identity], trusting: fx.trust, recordingTo: closedRecorder)
            }),
            ("cancelled", .interrupted, "cancelled by the application", {
                try Dossier.read("a/first.txt", from: dossier.path, with: [fx.recipient.identity], trusting: fx.trust, recordingTo: fx.recorder,
                                 options: OpenOptions(cancellation: cancelled))
            }),
        ]
        for (name, kind, reason, body) in cases {
            do {
                let document = try body()
                Issue.record("\(name): read \(document.bytes.count) bytes")
            } catch let error as DossierError {
                #expect(error.kind == kind && error.reason.contains(reason), "\(name): \(error)")
            }
            #expect(try Self.entries(fx, dossier.id).count == logged, "\(name) was logged")
        }
    }

    @Test("a document the dossier does not hold, or one over maxBytes, is found while decrypting: refused, with its opened entry on record")
    func refusedWhileDecrypting() throws {
        let fx = try DossierFixture()
        let dossier = try Self.sealed(fx, "case-late")
        var logged = try Self.entries(fx, dossier.id).count
        do {
            _ = try Dossier.read("a/missing.txt", from: dossier.path, with: [fx.recipient.identity], trusting: fx.trust, recordingTo: fx.recorder)
            Issue.record("read a document the dossier does not hold")
        } catch {
            #expect(error.kind == .invalidArgument && error.reason == "the dossier has no document \"a/missing.txt\"", "\(error)")
        }
        logged += 1
        #expect(try Self.entries(fx, dossier.id).count == logged)
        // The limit is inclusive: exactly the document's size is read, one byte less is refused.
        let exact = try Dossier.read("z/scan.bin", from: dossier.path, with: [fx.recipient.identity], trusting: fx.trust,
                                     recordingTo: fx.recorder, maxBytes: dossier.other.count)
        #expect(exact.bytes == dossier.other)
        logged += 1
        do {
            _ = try Dossier.read("z/scan.bin", from: dossier.path, with: [fx.recipient.identity], trusting: fx.trust,
                                 recordingTo: fx.recorder, maxBytes: dossier.other.count - 1)
            Issue.record("read more than maxBytes")
        } catch {
            #expect(error.kind == .invalidArgument && error.reason.contains("holds \(dossier.other.count) bytes, more than the \(dossier.other.count - 1)"), "\(error)")
        }
        logged += 1
        #expect(try Self.entries(fx, dossier.id).count == logged)
    }

    @Test("damage after the document (the payload's last chunk) releases nothing: the document is returned only when everything authenticated")
    func damageAfterTheDocument() throws {
        let fx = try DossierFixture()
        let dossier = try Self.sealed(fx, "case-damaged")
        try DossierFixture.flipPayloadByte(dossier.path, fromEnd: 20)
        // The document was read whole before the damage was met: what the sink kept is wiped.
        let sink = DocumentSink(document: "a/first.txt", maxBytes: Dossier.defaultMaxDocumentBytes)
        do {
            let document = try Dossier.read("a/first.txt", from: dossier.path, with: [fx.recipient.identity], trusting: fx.trust,
                                            recordingTo: fx.recorder, into: sink)
            Issue.record("released \(document.bytes.count) bytes of a damaged dossier")
        } catch {
            #expect(error.kind == .payload && error.reason.contains("chunk"), "\(error)")
        }
        #expect(sink.found && sink.take().isEmpty)
        // A document over the limit in a damaged dossier: the damage is what is reported
        // (the limit is applied once everything authenticated).
        do {
            _ = try Dossier.read("z/scan.bin", from: dossier.path, with: [fx.recipient.identity], trusting: fx.trust,
                                 recordingTo: fx.recorder, maxBytes: 1)
            Issue.record("read a damaged dossier")
        } catch {
            #expect(error.kind == .payload, "\(error)")
        }
    }

    @Test("a reading cut short wipes what it kept")
    func sinkWipes() throws {
        let sink = DocumentSink(document: "a.txt", maxBytes: 16)
        #expect(try sink.beginFile("b.txt", size: 4, permissions: 0o644, mtime: 0) == false)
        #expect(try sink.beginFile("a.txt", size: 4, permissions: 0o644, mtime: 7))
        try [UInt8]("abcd".utf8).withUnsafeBytes { try sink.fileData($0) }
        sink.wipe()
        #expect(sink.take().isEmpty)
        // Too large: its data is skipped (still hashed by the reader), the refusal comes at the end.
        let large = DocumentSink(document: "a.txt", maxBytes: 16)
        #expect(try large.beginFile("a.txt", size: 17, permissions: 0o644, mtime: 0) == false)
        #expect(throws: DossierError.self) { try large.finish() }
    }
}
