import Foundation
import Testing
@testable import DossierKit

/// The transfer rules of FORMAT.md §6, each broken alone by a transfer record that is
/// validly signed by a trusted transferrer: the dossier is invalid and the transfer's check
/// names the rule.
@Suite("Transfer rules (FORMAT.md §6)")
struct TransferRulesTests {
    @Test("a validly signed record that does not continue the chain, a malformed record, or one signed in another role")
    func brokenRecords() throws {
        let fx = try DossierFixture()
        let receipt = try fx.seal(try fx.folder("moved", ["doc.txt": Array("content".utf8)]))
        let mover = try SigningKey.generate()
        try Dossier.rewrap(receipt.path, with: [fx.recipient.identity], to: [AgeRecipient(try AgeX25519.generate().recipient)],
                           by: DossierSigner(key: mover, role: .transferrer, name: "Transfer Desk"), reason: "moved", trusting: fx.trust)
        let trust = TrustStore(fx.trust.entries + [.init(name: "Transfer Desk", roles: [.transferrer, .approver], publicKey: mover.publicKey)])
        let container = try ContainerReader(path: receipt.path)
        let transfer = try #require(container.transfers.first)
        let entries = try container.layout.entries.map { ($0.name, try container.file.read(at: $0.dataOffset, count: Int($0.size))) }
        let recordName = ContainerFormat.transferName(1)

        /// The dossier with the record changed by `change` and signed again by the mover in `role`.
        func verify(_ name: String, role: DossierRole = .transferrer, _ change: (inout [String: JSONValue]) -> Void) throws -> VerificationReport {
            guard case .object(var record) = try JSONValue.parseCanonical(transfer.record) else { throw DossierError(.manifest, "no record") }
            change(&record)
            let bytes = JSONValue.object(record).canonicalBytes()
            let statement = SignatureStatement(dossierID: receipt.manifest.dossierID, role: role, keyID: mover.publicKey.keyID,
                                               time: record["at"]?.stringValue ?? "", name: "Transfer Desk")
            let signature = Array(try mover.sign(bytes, trustedComment: statement.trustedComment).fileText.utf8)
            let path = fx.dir.path(name)
            let file = try FileSink(creating: path)
            let writer = try ContainerWriter(sink: file, mtime: Int64(container.payload.mtime))
            for (entry, data) in entries {
                try writer.add(entry, entry == recordName ? bytes : entry == recordName + ".minisig" ? signature : data)
            }
            try writer.close()
            try file.close()
            return Dossier.verify(path, trusting: trust, requiringRoles: [.sealer, .approver])
        }
        func expectFailure(_ report: VerificationReport, _ needle: String, sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(report.status == .invalid, "\(report.failureSummary)", sourceLocation: sourceLocation)
            let check = report.checks.first { $0.name == "transfer 1" }
            #expect(check?.passed == false && check?.detail.contains(needle) == true, "\(check.map { "\($0.detail)" } ?? "no transfer check")",
                    sourceLocation: sourceLocation)
        }

        #expect(try verify("control.dossier") { _ in }.status == .valid, "the re-signed control must verify")
        let chain = "the record does not continue the chain of headers of this dossier"
        expectFailure(try verify("previous.dossier") { $0["previousHeaderSHA256"] = .string(String(repeating: "ab", count: 32)) }, chain)
        expectFailure(try verify("body.dossier") { $0["bodySHA256"] = .string(String(repeating: "ab", count: 32)) }, chain)
        expectFailure(try verify("sequence.dossier") { $0["sequence"] = .integer(2) }, chain)
        expectFailure(try verify("id.dossier") { $0["dossierId"] = "another-dossier" }, chain)
        expectFailure(try verify("recipients.dossier") { $0["recipients"] = .integer(0) }, "a transfer record is malformed")
        expectFailure(try verify("far.dossier") { $0["sequence"] = .integer(100) }, "a transfer record is malformed")
        expectFailure(try verify("many.dossier") { $0["recipients"] = .integer(10_001) }, "a transfer record is malformed")
        // The reason as a re-wrap writes it: one line of at most 4096 bytes (spec-only reader
        // of session 17: a record with a line break in its reason verified).
        for (name, reason) in [("newline", "moved\nto archive B"), ("cr", "moved\rB"), ("separator", "moved\u{2028}B"),
                               ("long", String(repeating: "r", count: 4097))] {
            expectFailure(try verify(name + ".dossier") { $0["reason"] = .string(reason) }, "reason is not one line")
        }
        #expect(try verify("longest.dossier") { $0["reason"] = .string(String(repeating: "r", count: 4096)) }.status == .valid)
        // The last record describes the current header: its recipient count is the header's
        // stanza count (a record saying 7 for a header of 1 verified).
        let counted = try verify("seven.dossier") { $0["recipients"] = .integer(7) }
        #expect(counted.status == .invalid && counted.checks.contains { $0.name == "payload header" && !$0.passed && $0.detail.contains("says 7 recipient(s)") },
                "\(counted.failureSummary)")
        expectFailure(try verify("role.dossier", role: .approver) { _ in }, "the entry name, the signed statement and the key id disagree")
    }

    @Test("a chain of two transfers: each record continues the one before, only the last recipients open, and no link can be dropped, reordered or reused")
    func chainOfTwo() throws {
        let fx = try DossierFixture()
        let files = ["doc.txt": Array("chained".utf8)]
        let receipt = try fx.seal(try fx.folder("chained", files))
        let desk = DossierSigner(key: try SigningKey.generate(), role: .transferrer, name: "Transfer Desk")
        let trust = TrustStore(fx.trust.entries + [.init(name: "Transfer Desk", roles: [.transferrer], publicKey: desk.key.publicKey)])
        let second = try AgeX25519.generate(), third = try AgeX25519.generate()
                try Dossier.rewrap(receipt.path, with: [fx.recipient.identity], to: [AgeRecipient(second.recipient)], by: desk,
                           reason: "to the regional archive", trusting: trust)
        let afterFirst = try Data(contentsOf: URL(fileURLWithPath: receipt.path))
        try Dossier.rewrap(receipt.path, with: [second.identity], to: [AgeRecipient(third.recipient), AgeRecipient(second.recipient)], by: desk,
                           reason: "to the state archive", trusting: trust)

        let report = Dossier.verify(receipt.path, trusting: trust, requiringRoles: [.sealer, .approver])
        #expect(report.status == .valid, "\(report.failureSummary)")
        #expect(report.transfers.map(\.sequence) == [1, 2])
        #expect(report.transfers.map(\.reason) == ["to the regional archive", "to the state archive"])
        #expect(report.transfers.map(\.recipientCount) == [1, 2])
        // The records chain: sealed header → first record's header → second record's header.
        let container = try ContainerReader(path: receipt.path)
        let records = try container.transfers.map { try TransferRecord(canonical: $0.record) }
        #expect(records[0].previousHeaderSHA256 == receipt.manifest.payloadHeaderSHA256)
        #expect(records[1].previousHeaderSHA256 == records[0].headerSHA256)
        #expect(records.allSatisfy { $0.bodySHA256 == receipt.manifest.payloadBodySHA256 })
        // Only the current recipients open it.
        _ = try Dossier.open(receipt.path, with: [third.identity], into: fx.dir.path("opened"), trusting: trust, recordingTo: fx.recorder)
        #expect(try DossierFixture.contents(of: fx.dir.path("opened")) == files)
        do {
            _ = try Dossier.open(receipt.path, with: [fx.recipient.identity], into: fx.dir.path("old"), trusting: trust, recordingTo: fx.recorder)
            Issue.record("the sealed-to recipient still opened the dossier")
        } catch { #expect(error.kind == .noIdentity, "\(error)") }

        // Rebuilt containers: the entries of the twice-moved dossier, some transfer entries
        // dropped or renamed (as someone with write access could).
        let entries = try container.layout.entries.map { ($0.name, try container.file.read(at: $0.dataOffset, count: Int($0.size))) }
        let one = ContainerFormat.transferName(1), two = ContainerFormat.transferName(2)
        func rebuilt(_ name: String, _ rename: (String) -> String?) throws -> VerificationReport {
            let path = fx.dir.path(name)
            let file = try FileSink(creating: path)
            let writer = try ContainerWriter(sink: file, mtime: Int64(container.payload.mtime))
            var kept = entries.compactMap { entry in rename(entry.0).map { ($0, entry.1) } }
            // Transfer entries in their numbers' order, where a writer puts them.
            let places = kept.indices.filter { kept[$0].0.hasPrefix("META-INF/transfers/") }
            let ordered = places.map { kept[$0] }.sorted { $0.0 < $1.0 }
            for (place, entry) in zip(places, ordered) { kept[place] = entry }
            for (entry, data) in kept { try writer.add(entry, data) }
            try writer.close()
            try file.close()
            return Dossier.verify(path, trusting: trust, requiringRoles: [.sealer, .approver])
        }
        #expect(try rebuilt("control.dossier") { $0 }.status == .valid, "the rebuilt control must verify")
        // The second record dropped: the header is no longer the last record's.
        let dropLast = try rebuilt("drop-last.dossier") { $0.hasPrefix(two) ? nil : $0 }
        #expect(dropLast.status == .invalid && dropLast.failureSummary.contains("neither the sealed one nor the last transferred one"),
                "\(dropLast.failureSummary)")
        // The first dropped and the second renumbered as the first: it does not continue the sealed header.
        let dropFirst = try rebuilt("drop-first.dossier") { $0.hasPrefix(one) ? nil : $0.hasPrefix(two) ? one + $0.dropFirst(two.count) : $0 }
        #expect(dropFirst.status == .invalid && dropFirst.failureSummary.contains("transfer 1: the record does not continue the chain"),
                "\(dropFirst.failureSummary)")
        // The two swapped: neither continues the one before.
        let swapped = try rebuilt("swapped.dossier") { $0.hasPrefix(one) ? two + $0.dropFirst(one.count) : $0.hasPrefix(two) ? one + $0.dropFirst(two.count) : $0 }
        #expect(swapped.status == .invalid && swapped.failureSummary.contains("transfer 1: the record does not continue the chain"),
                "\(swapped.failureSummary)")
        // Only the first dropped (a gap in the numbers).
        let gap = try rebuilt("gap.dossier") { $0.hasPrefix(one) ? nil : $0 }
        #expect(gap.status == .invalid && gap.failureSummary.contains("unexpected entry \"META-INF/transfers/02.json\""),
                "\(gap.failureSummary)")
        // The file as it was after the first transfer still verifies on its own (a copy kept
        // elsewhere): the chain is per file, not a claim about later copies.
        let earlier = fx.dir.path("after-first.dossier")
        try afterFirst.write(to: URL(fileURLWithPath: earlier))
        #expect(Dossier.verify(earlier, trusting: trust).transfers.count == 1)
    }

    @Test("the 100th transfer is refused: a dossier records at most 99 (FORMAT.md §7), and the refused file is unchanged")
    func hundredthTransferRefused() throws {
        let fx = try DossierFixture()
        let receipt = try fx.seal(try fx.folder("busy", ["doc.txt": Array("content".utf8)]))
        let mover = DossierSigner(key: try SigningKey.generate(), role: .transferrer, name: "Transfer Desk")
        let trust = TrustStore(fx.trust.entries + [.init(name: "Transfer Desk", roles: [.transferrer], publicKey: mover.key.publicKey)])
        let recipient = try AgeRecipient(fx.recipient.recipient)
        let shelf = URL(fileURLWithPath: receipt.path).deletingLastPathComponent().path
        for n in 1...99 {
            try Dossier.rewrap(receipt.path, with: [fx.recipient.identity], to: [recipient], by: mover, reason: "move \(n)", trusting: trust)
        }
        #expect(try ContainerReader(path: receipt.path).transfers.count == 99)
        let before = try Data(contentsOf: URL(fileURLWithPath: receipt.path))
        let listed = try FileManager.default.contentsOfDirectory(atPath: shelf).sorted()
        var refusal: DossierError?
        do {
            try Dossier.rewrap(receipt.path, with: [fx.recipient.identity], to: [recipient], by: mover, reason: "move 100", trusting: trust)
        } catch { refusal = error }
        let error = try #require(refusal, "the 100th transfer went through")
        #expect(error.kind == .invalidArgument && error.reason.contains("a dossier records at most 99 transfers"), "\(error)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: receipt.path)) == before, "the refused transfer changed the file")
        #expect(try FileManager.default.contentsOfDirectory(atPath: shelf).sorted() == listed, "the refused transfer left a file behind")
        #expect(Dossier.verify(receipt.path, trusting: trust).status == .valid)
    }
}
