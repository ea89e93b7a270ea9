import Foundation
import Testing
@testable import DossierKit

@Suite("Dossier: countersignatures and transfers")
struct AmendTests {
    @Test("a countersignature is added later without changing the manifest, payload or earlier signatures")
    func countersign() throws {
        let fx = try DossierFixture()
        let receipt = try fx.seal(try fx.folder("case-c", ["x.txt": Array("x".utf8)]))
        let before = try ContainerReader(path: receipt.path)
        let archive = try SigningKey.generate()
        try Dossier.countersign(receipt.path, as: DossierSigner(key: archive, role: .countersigner, name: "City Archive"), trusting: fx.trust)
        let after = try ContainerReader(path: receipt.path)
        #expect(after.manifestBytes == before.manifestBytes)
        #expect(after.signatures.count == 3)
        #expect(after.signatures[0].text == before.signatures[0].text && after.signatures[1].text == before.signatures[1].text)
        let payloadBefore = try before.file.read(at: before.payload.dataOffset, count: Int(before.payload.size))
        #expect(try after.file.read(at: after.payload.dataOffset, count: Int(after.payload.size)) == payloadBefore)

        var trust = fx.trust.entries
        trust.append(.init(name: "City Archive", roles: [.countersigner], publicKey: archive.publicKey))
        let report = Dossier.verify(receipt.path, trusting: TrustStore(trust), requiringRoles: [.sealer, .approver, .countersigner])
        #expect(report.status == .valid, "\(report.failureSummary)")
        // Without trusting the archive's key the dossier is intact but its countersignature untrusted.
        let partial = Dossier.verify(receipt.path, trusting: fx.trust, requiringRoles: [.sealer, .countersigner])
        #expect(partial.status == .untrusted)
        #expect(partial.missingRoles == [.countersigner])
        // The same key cannot countersign twice in the same role.
        do {
            try Dossier.countersign(receipt.path, as: DossierSigner(key: archive, role: .countersigner, name: "City Archive"), trusting: fx.trust)
            Issue.record("countersigned twice")
        } catch {
            #expect(error.reason.contains("already signed"), "\(error)")
        }
    }

    @Test("amending in place writes through a symlink to its target and keeps the file's permissions")
    func amendKeepsLinkAndMode() throws {
        let fx = try DossierFixture()
        let real = try shelved(fx, "case-l")
        #expect(chmod(real, 0o640) == 0)
        try Dossier.countersign(fx.dir.path("link.dossier"), as: DossierSigner(key: try SigningKey.generate(), role: .countersigner, name: "City Archive"),
                                trusting: fx.trust, allowUntrusted: true)
        let link = try FileManager.default.attributesOfItem(atPath: fx.dir.path("link.dossier"))
        #expect(link[.type] as? FileAttributeType == .typeSymbolicLink)
        #expect(try ContainerReader(path: real).signatures.count == 3)
        #expect(try FileManager.default.attributesOfItem(atPath: real)[.posixPermissions] as? Int == 0o640)
    }

    @Test("a file swapped in while a dossier is amended in place is never replaced (symlink race)")
    func amendRefusesSwappedTarget() throws {
        let fx = try DossierFixture()
        let real = try shelved(fx, "case-r")
        let victim = fx.dir.path("victim.txt")
        try Data("precious".utf8).write(to: URL(fileURLWithPath: victim))
        // Two swaps an attacker who can write the folders could make after verification:
        // the link pointed elsewhere, and the verified file itself replaced.
        let swaps: [(String, () throws -> Void)] = [
            ("link retargeted", {
                try FileManager.default.removeItem(atPath: fx.dir.path("link.dossier"))
                try FileManager.default.createSymbolicLink(atPath: fx.dir.path("link.dossier"), withDestinationPath: victim)
            }),
            ("file replaced", {
                try FileManager.default.removeItem(atPath: real)
                try FileManager.default.createSymbolicLink(atPath: real, withDestinationPath: victim)
            }),
        ]
        for (index, (name, swap)) in swaps.enumerated() {
            do {
                let signer = DossierSigner(key: try SigningKey.generate(), role: .countersigner, name: "Archive \(index)")
                try Dossier.countersign(fx.dir.path("link.dossier"), as: signer, trusting: fx.trust, allowUntrusted: true,
                                        beforeReplacingForTesting: { try? swap() })
                // The link was resolved before verification: the verified file got the signature.
                #expect(index == 0, "\(name): amended a file swapped in after verification")
                #expect(try ContainerReader(path: real).signatures.count == 3)
            } catch {
                #expect(index == 1, "\(name): \(error)")
                #expect(error.kind == .output, "\(name): \(error)")
            }
            #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious", "\(name)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: fx.dir.path("shelf")).allSatisfy { !$0.contains(".amending-") }, "\(name)")
            // Put things back for the next swap.
            try? FileManager.default.removeItem(atPath: fx.dir.path("link.dossier"))
            try FileManager.default.createSymbolicLink(atPath: fx.dir.path("link.dossier"), withDestinationPath: "shelf/case-r.dossier")
        }
    }

    @Test("AccessRecorder.record(_:for:) checks the manifest's anchor: not into another ledger, a registration only for a dossier without history")
    func recordForManifest() throws {
        let fx = try DossierFixture()
        let receipt = try fx.seal(try fx.folder("case-rec", ["x.txt": Array("x".utf8)]))
        // Into the dossier's own ledger: appended to its history.
        let loan = try fx.recorder.record(.loaned, for: receipt.manifest, details: ["borrower": "court"])
        #expect(loan.sequence == 2 && loan.payloadSHA256 == receipt.manifest.payloadBodySHA256)
        // Into another ledger, which has no history of it: refused, nothing written.
        let other = try AccessLog(path: fx.dir.path("other.sqlite"), createIfMissing: true)
        let elsewhere = AccessRecorder(log: other, actor: fx.recorder.actor, purpose: "loan")
        for event in [LogEvent.loaned, .registered] {
            do {
                try elsewhere.record(event, for: receipt.manifest)
                Issue.record("\(event) recorded into a ledger without the dossier's history")
            } catch {
                #expect(error.kind == .accessLog && error.reason.contains("no history"), "\(error)")
            }
        }
        #expect(try other.history(of: "case-rec").isEmpty)
        // A dossier sealed without a log: registered first, then its events.
        var options = SealOptions()
        options.log = nil
        let unlogged = try Dossier.seal(try fx.folder("case-free", ["y.txt": [1]]), to: [AgeRecipient(fx.recipient.recipient)], signedBy: fx.signers,
                                        writingTo: fx.dir.path("case-free.dossier"), options: options)
        #expect(throws: DossierError.self) { try elsewhere.record(.returned, for: unlogged.manifest) }
        try elsewhere.record(.registered, for: unlogged.manifest)
        try elsewhere.record(.returned, for: unlogged.manifest)
        #expect(try other.history(of: "case-free").map(\.event) == [.registered, .returned])
    }

    @Test("the reports of seal, countersign and rewrap name the dossier, not the temporary file they were verified under")
    func reportsNameTheDossier() throws {
        let fx = try DossierFixture()
        let receipt = try fx.seal(try fx.folder("case-path", ["x.txt": Array("x".utf8)]))
        #expect(receipt.report.path == receipt.path, "\(receipt.report.path)")
        let signer = DossierSigner(key: try SigningKey.generate(), role: .countersigner, name: "Archive")
        let countersigned = try Dossier.countersign(receipt.path, as: signer, trusting: fx.trust, allowUntrusted: true)
        #expect(countersigned.path == receipt.path, "\(countersigned.path)")
        let copy = fx.dir.path("copy.dossier")
        let elsewhere = try Dossier.countersign(receipt.path, as: DossierSigner(key: try SigningKey.generate(), role: .countersigner, name: "B"),
                                                trusting: fx.trust, allowUntrusted: true, writingTo: copy)
        #expect(elsewhere.path == copy, "\(elsewhere.path)")
        let transferrer = DossierSigner(key: try SigningKey.generate(), role: .transferrer, name: "Mover")
        let moved = try Dossier.rewrap(receipt.path, with: [fx.recipient.identity], to: [try AgeRecipient(fx.recipient.recipient)], by: transferrer,
                                       reason: "test", trusting: fx.trust, allowUntrusted: true)
        #expect(moved.path == receipt.path, "\(moved.path)")
    }

    @Test("rewrap without identities is refused up front as a wrong argument (as open does), not as a damaged payload")
    func rewrapWithoutIdentities() throws {
        let fx = try DossierFixture()
        let receipt = try fx.seal(try fx.folder("case-noid", ["x.txt": Array("x".utf8)]))
        let transferrer = DossierSigner(key: try SigningKey.generate(), role: .transferrer, name: "Mover")
        let recipient = try AgeRecipient(fx.recipient.recipient)
        do {
            try Dossier.rewrap(receipt.path, with: [], to: [recipient], by: transferrer, reason: "test", trusting: fx.trust, allowUntrusted: true)
            Issue.record("re-wrapped without an identity")
        } catch {
            #expect(error.kind == .invalidArgument, "\(error)")
        }
    }

    @Test("an fsync of the folder failing after the amended dossier is in place says it is in place (and logged), and removes nothing")
    func folderSyncFailsAfterRename() throws {
        let fx = try DossierFixture()
        let receipt = try fx.seal(try fx.folder("case-sync", ["x.txt": Array("x".utf8)]))
        let signer = DossierSigner(key: try SigningKey.generate(), role: .countersigner, name: "Archive")
        let before = try fx.log.history(of: "case-sync").count
        do {
            try Dossier.countersign(receipt.path, as: signer, trusting: fx.trust, allowUntrusted: true, recordingTo: fx.recorder,
                                    beforeReplacingForTesting: nil, syncFolderForTesting: { _ in errno = EIO; return -1 })
            Issue.record("reported success although the rename was not made durable")
        } catch {
            #expect(error.kind == .output && error.reason.contains("is in place") && !error.reason.contains("cannot move"), "\(error)")
            #expect(error.hint?.contains("access log") == true, "\(error)")
        }
        // The amended file is there, with the countersignature, and the event is logged once.
        #expect(try ContainerReader(path: receipt.path).signatures.contains { $0.name.role == .countersigner })
        #expect(try fx.log.history(of: "case-sync").count == before + 1)
        #expect(Dossier.verify(receipt.path, trusting: fx.trust).status != .invalid)
        // Without a recorder nothing was logged, and the hint does not say it was.
        do {
            try Dossier.countersign(receipt.path, as: DossierSigner(key: try SigningKey.generate(), role: .countersigner, name: "Unlogged"),
                                    trusting: fx.trust, allowUntrusted: true, beforeReplacingForTesting: nil,
                                    syncFolderForTesting: { _ in errno = EIO; return -1 })
            Issue.record("reported success although the rename was not made durable")
        } catch {
            #expect(error.reason.contains("is in place") && error.hint?.contains("access log") == false, "\(error)")
        }
    }

    @Test("two amendments of one dossier at once: the second is refused before it is logged, and the first keeps its signature")
    func concurrentAmendments() throws {
        let fx = try DossierFixture()
        let receipt = try fx.seal(try fx.folder("case-two", ["x.txt": Array("x".utf8)]))
        let first = DossierSigner(key: try SigningKey.generate(), role: .countersigner, name: "Archive One")
        let second = DossierSigner(key: try SigningKey.generate(), role: .countersigner, name: "Archive Two")
        nonisolated(unsafe) var secondError: DossierError?
        // The second amendment starts (and has verified the file) while the first is about to
        // replace it — as two processes could.
        try Dossier.countersign(receipt.path, as: first, trusting: fx.trust, allowUntrusted: true, recordingTo: fx.recorder,
                                beforeReplacingForTesting: {
            do {
                try Dossier.countersign(receipt.path, as: second, trusting: fx.trust, allowUntrusted: true, recordingTo: fx.recorder)
            } catch let error as DossierError {
                secondError = error
            } catch {
                Issue.record("\(error)")
            }
        })
        let error = try #require(secondError, "both amendments went through")
        #expect(error.kind == .output && error.reason.contains("being amended"), "\(error)")
        let signatures = try ContainerReader(path: receipt.path).signatures
        #expect(signatures.contains { $0.name.keyID == first.key.publicKey.keyID })
        #expect(!signatures.contains { $0.name.keyID == second.key.publicKey.keyID })
        let logged = try fx.log.history(of: receipt.manifest.dossierID).filter { $0.event == .countersigned }
        #expect(logged.map { $0.details["keyId"] } == [first.key.publicKey.keyID])
        // Afterwards the second one works.
        try Dossier.countersign(receipt.path, as: second, trusting: fx.trust, allowUntrusted: true, recordingTo: fx.recorder)
        #expect(try ContainerReader(path: receipt.path).signatures.count == signatures.count + 1)
    }

    @Test("an opening that allows untrusted signers logs a bounded summary of them, however many long-named signers were added")
    func manyUntrustedSigners() throws {
        let fx = try DossierFixture()
        let receipt = try fx.seal(try fx.folder("case-many", ["x.txt": Array("x".utf8)]))
        // Anyone who can write the file can add countersignatures of untrusted keys.
        for index in 0..<12 {
            let signer = DossierSigner(key: try SigningKey.generate(), role: .countersigner, name: "Stranger \(index) " + String(repeating: "x", count: 6_000))
            try Dossier.countersign(receipt.path, as: signer, trusting: fx.trust, allowUntrusted: true)
        }
        var options = OpenOptions()
        options.allowUntrusted = true
        options.requiredRoles = [.sealer, .countersigner]
        let opened = try Dossier.open(receipt.path, with: [fx.recipient.identity], into: fx.dir.path("many-out"), trusting: fx.trust,
                                      recordingTo: fx.recorder, options: options)
        #expect(opened.destination == fx.dir.path("many-out"))
        let entry = try #require(try fx.log.history(of: receipt.manifest.dossierID).last)
        let summary = try #require(entry.details["untrustedAllowed"])
        #expect(summary.utf8.count <= 2_048 && summary.hasSuffix("…"), "\(summary.utf8.count) bytes")
        // Cut between characters, whatever their length in UTF-8.
        for text in [String(repeating: "调查", count: 500), String(repeating: "a👍🏽é", count: 300)] {
            for limit in [10, 11, 12, 13, 100] {
                let clipped = Dossier.clipped(text, toBytes: limit)
                #expect(clipped.utf8.count <= limit && clipped.hasSuffix("…") && text.hasPrefix(String(clipped.dropLast())), "\(limit)")
            }
        }
        #expect(Dossier.clipped("short", toBytes: 10) == "short")
    }

    /// Seals `id`, moves it to shelf/ID.dossier and links link.dossier to it; returns the shelf path.
    func shelved(_ fx: DossierFixture, _ id: String) throws -> String {
        let receipt = try fx.seal(try fx.folder(id, ["x.txt": Array("x".utf8)]))
        try FileManager.default.createDirectory(atPath: fx.dir.path("shelf"), withIntermediateDirectories: true)
        let real = fx.dir.path("shelf/\(id).dossier")
        try FileManager.default.moveItem(atPath: receipt.path, toPath: real)
        try FileManager.default.createSymbolicLink(atPath: fx.dir.path("link.dossier"), withDestinationPath: "shelf/\(id).dossier")
        return real
    }

    @Test("countersigning and transferring refuse untrusted signers unless allowed, and leave the file as it was")
    func untrustedRefused() throws {
        let fx = try DossierFixture()
        let receipt = try fx.seal(try fx.folder("case-u", ["x.txt": Array("x".utf8)]))
        let original = try Data(contentsOf: URL(fileURLWithPath: receipt.path))
        let archive = DossierSigner(key: try SigningKey.generate(), role: .countersigner, name: "City Archive")
        let mover = DossierSigner(key: try SigningKey.generate(), role: .transferrer, name: "Transfer Desk")
        let next = try AgeRecipient(try AgeX25519.generate().recipient)
        let attempts: [(String, () throws(DossierError) -> Void)] = [
            ("countersign, no trust", { () throws(DossierError) in try Dossier.countersign(receipt.path, as: archive) }),
            ("countersign, missing role", { () throws(DossierError) in
                try Dossier.countersign(receipt.path, as: archive, trusting: fx.trust, requiringRoles: [.sealer, .countersigner]) }),
            ("rewrap, no trust", { () throws(DossierError) in
                try Dossier.rewrap(receipt.path, with: [fx.recipient.identity], to: [next], by: mover, reason: "r") }),
        ]
        for (name, attempt) in attempts {
            do {
                try attempt()
                Issue.record("\(name): went ahead")
            } catch {
                #expect(error.kind == .untrusted, "\(name): \(error)")
            }
            #expect(try Data(contentsOf: URL(fileURLWithPath: receipt.path)) == original, "\(name)")
        }
        try Dossier.countersign(receipt.path, as: archive, allowUntrusted: true)
        #expect(try ContainerReader(path: receipt.path).signatures.count == 3)
    }

    @Test("a transfer re-wraps for new recipients, keeps the sealer's signatures valid and is recorded and signed")
    func transfer() throws {
        let fx = try DossierFixture()
        let files = ["doc.txt": Array("case content".utf8)]
        let receipt = try fx.seal(try fx.folder("case-t", files))
        let before = try ContainerReader(path: receipt.path)
        let newArchive = try AgeX25519.generate()
        let mover = try SigningKey.generate()
        let moverSigner = DossierSigner(key: mover, role: .transferrer, name: "Transfer Desk")
        try Dossier.rewrap(receipt.path, with: [fx.recipient.identity], to: [AgeRecipient(newArchive.recipient)], by: moverSigner,
                           reason: "transferred to the provincial archive", trusting: fx.trust)
        let after = try ContainerReader(path: receipt.path)
        #expect(after.manifestBytes == before.manifestBytes)
        #expect(after.transfers.count == 1)

        var trust = fx.trust.entries
        trust.append(.init(name: "Transfer Desk", roles: [.transferrer], publicKey: mover.publicKey))
        let report = Dossier.verify(receipt.path, trusting: TrustStore(trust), requiringRoles: [.sealer, .approver])
        #expect(report.status == .valid, "\(report.failureSummary)")
        #expect(report.transfers.first?.reason == "transferred to the provincial archive")
        #expect(report.transfers.first?.signature.isValid == true)

        // The new archive opens it; the old recipient no longer can.
        let out = fx.dir.path("moved")
        _ = try Dossier.open(receipt.path, with: [newArchive.identity], into: out, trusting: TrustStore(trust), recordingTo: fx.recorder)
        #expect(try DossierFixture.contents(of: out) == files)
        do {
            _ = try Dossier.open(receipt.path, with: [fx.recipient.identity], into: fx.dir.path("old"), trusting: TrustStore(trust), recordingTo: fx.recorder)
            Issue.record("the old recipient still opened the dossier")
        } catch {
            #expect(error.kind == .noIdentity)
        }
        // An untrusted transferrer makes the dossier untrusted, not invalid.
        #expect(Dossier.verify(receipt.path, trusting: fx.trust).status == .untrusted)
    }

    @Test("the report an amendment returns trusts the amending key in its new role and keeps the roles the trust store gave it")
    func amendingKeyKeepsItsRoles() throws {
        let fx = try DossierFixture()
        let receipt = try fx.seal(try fx.folder("case-k", ["a.txt": Array("a".utf8)]))
        // The sealer's own key countersigns, then transfers (one archivist doing all three).
        let countersigned = try Dossier.countersign(receipt.path, as: DossierSigner(key: fx.sealer, role: .countersigner, name: "Anna Archivist"),
                                                    trusting: fx.trust)
        #expect(countersigned.status == .valid, "\(countersigned.failureSummary)")
        let countersigner = TrustStore([.init(name: "Anna Archivist", roles: [.sealer, .countersigner], publicKey: fx.sealer.publicKey)]
                                       + fx.trust.entries.dropFirst())
        let transferred = try Dossier.rewrap(receipt.path, with: [fx.recipient.identity], to: [AgeRecipient(try AgeX25519.generate().recipient)],
                                             by: DossierSigner(key: fx.sealer, role: .transferrer, name: "Anna Archivist"),
                                             reason: "moved", trusting: countersigner)
        #expect(transferred.status == .valid, "\(transferred.failureSummary)")
        // As `verify` says with the same trust plus the new roles.
        let roles: Set<DossierRole> = [.sealer, .countersigner, .transferrer]
        let trust = TrustStore([.init(name: "Anna Archivist", roles: roles, publicKey: fx.sealer.publicKey)] + fx.trust.entries.dropFirst())
        #expect(Dossier.verify(receipt.path, trusting: trust).status == .valid)
    }

    @Test("opening, countersigning or transferring a file that is missing or a folder is an I/O error, not a damaged container")
    func unreadableIsIO() throws {
        let fx = try DossierFixture()
        let signer = DossierSigner(key: try SigningKey.generate(), role: .countersigner, name: "City Archive")
        let mover = DossierSigner(key: try SigningKey.generate(), role: .transferrer, name: "Registry")
        let recipient = try AgeRecipient(fx.recipient.recipient)
        for path in [fx.dir.path("no-such.dossier"), fx.dir.url.path] {
            let attempts: [(String, () throws(DossierError) -> Void)] = [
                ("open", { () throws(DossierError) in
                    _ = try Dossier.open(path, with: [fx.recipient.identity], into: fx.dir.path("out"), trusting: fx.trust, recordingTo: fx.recorder) }),
                ("countersign", { () throws(DossierError) in try Dossier.countersign(path, as: signer, trusting: fx.trust) }),
                ("rewrap", { () throws(DossierError) in
                    try Dossier.rewrap(path, with: [fx.recipient.identity], to: [recipient], by: mover,
                                       reason: "moved", trusting: fx.trust) }),
            ]
            for (name, attempt) in attempts {
                do throws(DossierError) {
                    try attempt()
                    Issue.record("\(name) of \(path) went through")
                } catch {
                    #expect(error.kind == .io, "\(name) of \(path): \(error)")
                }
            }
        }
    }

    @Test("a header swapped without a transfer record is detected")
    func unrecordedHeaderChange() throws {
        let fx = try DossierFixture()
        let receipt = try fx.seal(try fx.folder("case-h", ["a.txt": [1, 2, 3]]))
        // Re-wrap the payload by hand (as an attacker with a key could) and rebuild the container.
        let container = try ContainerReader(path: receipt.path)
        let payload = try container.file.read(at: container.payload.dataOffset, count: Int(container.payload.size))
        let sink = MemorySink()
        try Age.rewrap(from: MemorySource(payload), to: sink, identities: [fx.recipient.identity],
                       recipients: [AgeRecipient(try AgeX25519.generate().recipient)])
        let forged = fx.dir.path("forged.dossier")
        let file = try FileSink(creating: forged)
        let writer = try ContainerWriter(sink: file, mtime: Int64(container.payload.mtime))
        try writer.add("mimetype", Array(ContainerFormat.mimetype.utf8))
        try writer.add("payload.age", sink.bytes)
        try writer.add("META-INF/manifest.json", container.manifestBytes)
        for signature in container.signatures { try writer.add(signature.name.entryName, signature.text) }
        try writer.close()
        try file.close()
        let report = Dossier.verify(forged, trusting: fx.trust)
        #expect(report.status == .invalid)
        #expect(report.checks.contains { $0.name == "payload header" && !$0.passed })
        // The body is unchanged, so its digest still matches: only the header check fails.
        #expect(report.checks.contains { $0.name == "payload body" && $0.passed })
    }
}
