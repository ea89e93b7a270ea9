import Foundation
import Testing
@testable import DossierKit

/// `Dossier.list`: what a dossier holds, recorded as an access (an `opened` entry with
/// `contents: listed`, which every reader of the log knows), releasing no document.
@Suite("Dossier: listing a dossier's documents")
struct ListContentsTests {
    private static let files: [String: [UInt8]] = [
        "01_intake/form.txt": Array("intake form\n".utf8),
        "13_release/certificate.pdf": Array("%PDF-1.4 release certificate".utf8),
        "tools/run.sh": Array("#!/bin/sh\necho\n".utf8),
    ]

    private static func sealed(_ fx: DossierFixture, _ name: String) throws -> SealReceipt {
        let source = try fx.folder(name, files, emptyDirectories: ["02_empty"])
        chmod(source + "/tools/run.sh", 0o755)
        return try fx.seal(source)
    }

    @Test("every document with its size, digest, media type and mode, every folder; an opened entry with contents: listed on record; nothing written")
    func listsEverything() throws {
        let fx = try DossierFixture()
        let receipt = try Self.sealed(fx, "case-list")
        let before = try FileManager.default.contentsOfDirectory(atPath: fx.dir.url.path).sorted()
        let contents = try Dossier.list(receipt.path, with: [fx.recipient.identity], trusting: fx.trust, recordingTo: fx.recorder)
        #expect(Set(contents.documents.map(\.path)) == Set(Self.files.keys))
        for document in contents.documents {
            let content = try #require(Self.files[document.path])
            #expect(document.size == Int64(content.count), "\(document.path)")
            #expect(document.sha256 == Hex.encode(SHA256.hash(content)), "\(document.path)")
            #expect(document.isExecutable == (document.path == "tools/run.sh"), "\(document.path)")
        }
        #expect(contents.documents.first { $0.path.hasSuffix(".pdf") }?.mediaType == "application/pdf")
        #expect(contents.documents.first { $0.path.hasSuffix(".txt") }?.mediaType == "text/plain")
        #expect(Set(contents.folders).isSuperset(of: ["01_intake", "02_empty", "13_release", "tools"]), "\(contents.folders)")
        #expect(contents.report.content?.filesChecked == 3)
        let last = try #require(try fx.log.history(of: receipt.manifest.dossierID).last)
        #expect(last.event == .opened && last.details == ["contents": "listed"])
        // The history with that entry verifies, also as an export.
        let log = fx.log.verify(dossierID: receipt.manifest.dossierID, trusting: fx.trust)
        #expect(log.isIntact, "\(log.problems)")
        let export = try fx.log.export(dossierID: receipt.manifest.dossierID, actor: fx.signers[0])
        #expect(AccessLog.verifyExport(export, trusting: fx.trust).isIntact)
        let after = try FileManager.default.contentsOfDirectory(atPath: fx.dir.url.path).sorted()
        #expect(after.filter { !$0.hasPrefix("ledger.sqlite") } == before.filter { !$0.hasPrefix("ledger.sqlite") })
    }

    @Test("what is sure to fail is refused before anything is logged; damage is met after the entry and lists nothing")
    func refusals() throws {
        let fx = try DossierFixture()
        let receipt = try Self.sealed(fx, "case-refused")
        let id = receipt.manifest.dossierID
        let logged = try fx.log.history(of: id).count
        let stranger = try AgeX25519.generate()
        let closedLog = try AccessLog(path: fx.log.path)
        try closedLog.close()
        let closed = AccessRecorder(log: closedLog, actor: DossierSigner(key: fx.sealer, role: .reader, name: "Anna Archivist"), purpose: "test")
        let cases: [(String, DossierError.Kind, String, () throws -> DossierContents)] = [
            ("only", .invalidArgument, "OpenOptions.only", {
                try Dossier.list(receipt.path, with: [fx.recipient.identity], trusting: fx.trust, recordingTo: fx.recorder,
                                 options: OpenOptions(only: "01_intake/form.txt"))
            }),
            ("no identity", .invalidArgument, "no identities", {
                try Dossier.list(receipt.path, with: [], trusting: fx.trust, recordingTo: fx.recorder)
            }),
            ("stranger", .noIdentity, "none of the given identities", {
                try Dossier.list(receipt.path, with: [stranger.identity], trusting: fx.trust, recordingTo: fx.recorder)
            }),
            ("untrusted", .untrusted, "intact but not trusted", {
                try Dossier.list(receipt.path, with: [fx.recipient.identity], trusting: .empty, recordingTo: fx.recorder)
            }),
            ("log closed", .accessLog, "is closed", {
                try Dossier.list(receipt.path, with: [fx.recipient.identity], trusting: fx.trust, recordingTo: closed)
            }),
        ]
        for (name, kind, reason, body) in cases {
            do {
                let contents = try body()
                Issue.record("\(name): listed \(contents.documents.count) documents")
            } catch let error as DossierError {
                #expect(error.kind == kind && error.reason.contains(reason), "\(name): \(error)")
            }
            #expect(try fx.log.history(of: id).count == logged, "\(name) was logged")
        }
        // A flipped byte in the payload's last chunk: logged (the attempt is on record), then refused.
        try DossierFixture.flipPayloadByte(receipt.path, fromEnd: 20)
        do {
            let contents = try Dossier.list(receipt.path, with: [fx.recipient.identity], trusting: fx.trust, recordingTo: fx.recorder)
            Issue.record("listed \(contents.documents.count) documents of a damaged dossier")
        } catch {
            #expect(error.kind == .payload, "\(error)")
        }
        #expect(try fx.log.history(of: id).last?.details == ["contents": "listed"])
    }

    @Test("mode and time come from the tar entry, as open uses them, not from the private manifest (the sealer's word)")
    func modeFromTheTar() throws {
        let fx = try DossierFixture()
        // The tar says 0755; the private manifest HostileDossier writes says 0644.
        let path = try HostileDossier.build(fx, name: "mode-mismatch", entries: [
            .file("content/run.sh", Array("#!/bin/sh\n".utf8), mode: 0o755),
        ], declaredDirectories: 0)
        let contents = try Dossier.list(path, with: [fx.recipient.identity], trusting: fx.trust, recordingTo: fx.recorder)
        let document = try #require(contents.documents.first)
        #expect(document.path == "run.sh" && document.isExecutable)
        let out = fx.dir.path("mode-mismatch-out")
        _ = try Dossier.open(path, with: [fx.recipient.identity], into: out, trusting: fx.trust, recordingTo: fx.recorder)
        let mode = try FileManager.default.attributesOfItem(atPath: out + "/run.sh")[.posixPermissions] as? Int
        #expect(mode == 0o755)
    }
}
