import Foundation
import Testing
@testable import DossierKit

/// Rules of the access log (FORMAT.md §8) that the ledger-tampering tests do not reach,
/// each broken alone by otherwise valid, validly signed entries, checkpoints and exports:
/// the problem names the rule.
@Suite("Access log rules (FORMAT.md §8)")
struct LogRulesTests {
    static let digest = String(repeating: "ab", count: 32)

    struct Keys {
        let anna: DossierSigner
        let office: SigningKey
        var trust: TrustStore {
            TrustStore([.init(name: "Anna", roles: [.sealer, "reader"], publicKey: anna.key.publicKey),
                        .init(name: "Office", roles: [.ledger], publicKey: office.publicKey)])
        }

        init() throws {
            anna = DossierSigner(key: try SigningKey.generate(name: "Anna"), role: .sealer, name: "Anna")
            office = try SigningKey.generate(name: "Office")
        }

        func entry(_ sequence: Int, _ event: LogEvent, after previous: LogEntry?, by actor: DossierSigner? = nil, dossier: String = "CC-1") throws -> LogEntry {
            try LogEntry.make(dossierID: dossier, sequence: sequence, event: event, at: "2026-11-27T12:00:0\(sequence % 10)Z", actor: actor ?? anna,
                              payloadSHA256: LogRulesTests.digest, purpose: "step \(sequence)", details: [:], previous: previous?.hash ?? LogEntry.zeroHash)
        }
    }

    static func chain(_ rows: [(statement: [UInt8], signature: String)], trust: TrustStore, anchor: String? = nil) -> LogReport {
        var report = LogReport(dossierID: "CC-1")
        AccessLog.verifyChain(rows.enumerated().map { AccessLog.ChainRow(index: $0.offset, statement: $0.element.statement, signature: $0.element.signature) },
                              dossierID: "CC-1", trust: trust, anchor: anchor, into: &report)
        return report
    }

    static func chain(_ entries: [LogEntry], trust: TrustStore, anchor: String? = nil) -> LogReport {
        chain(entries.map { (statement: $0.statement, signature: $0.signature) }, trust: trust, anchor: anchor)
    }

    static func expectProblem(_ report: LogReport, _ needle: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(report.problems.contains { $0.contains(needle) }, "\"\(needle)\" not among \(report.problems)", sourceLocation: sourceLocation)
    }

    @Test("the control chain verifies with no problems")
    func control() throws {
        let keys = try Keys()
        let first = try keys.entry(1, .sealed, after: nil)
        let second = try keys.entry(2, .opened, after: first)
        let report = Self.chain([first, second], trust: keys.trust, anchor: first.hash)
        #expect(report.problems.isEmpty && report.untrusted.isEmpty, "\(report.problems) \(report.untrusted)")
    }

    @Test("a chain must start with a sealed or registered entry naming no previous one, and never start again")
    func genesisRules() throws {
        let keys = try Keys()
        Self.expectProblem(Self.chain([try keys.entry(1, .opened, after: nil)], trust: keys.trust), "starts the log but is not a sealed or registered entry")
        let other = try keys.entry(1, .registered, after: nil, dossier: "CC-2")
        Self.expectProblem(Self.chain([try keys.entry(1, .registered, after: other)], trust: keys.trust), "starts the log but names a previous entry")
        let first = try keys.entry(1, .sealed, after: nil)
        Self.expectProblem(Self.chain([first, try keys.entry(2, .registered, after: first)], trust: keys.trust), "restarts the log in the middle")
        Self.expectProblem(Self.chain([first, try keys.entry(2, .sealed, after: first)], trust: keys.trust), "restarts the log in the middle")
    }

    @Test("the first entry must be the genesis entry the manifest anchors")
    func anchor() throws {
        let keys = try Keys()
        let first = try keys.entry(1, .sealed, after: nil)
        let impostor = try keys.entry(1, .registered, after: nil)
        Self.expectProblem(Self.chain([impostor], trust: keys.trust, anchor: first.hash), "is not the genesis entry anchored in the dossier's manifest")
    }

    @Test("an actor whose key id is trusted but whose public key is another")
    func impostorActor() throws {
        let keys = try Keys()
        let impostorKey = try SigningKey(privateKey: Ed25519.PrivateKey(), keyID: keys.anna.key.keyID, name: "Mallory")
        let impostor = DossierSigner(key: impostorKey, role: .sealer, name: "Anna")
        let report = Self.chain([try keys.entry(1, .sealed, after: nil, by: impostor)], trust: keys.trust)
        Self.expectProblem(report, "names key \(keys.anna.key.publicKey.keyID) with a different public key than the trusted one")
    }

    @Test("a stored statement that is not canonical JSON is a damaged entry")
    func nonCanonicalStatement() throws {
        let keys = try Keys()
        let first = try keys.entry(1, .sealed, after: nil)
        let spaced = Array(String(decoding: first.statement, as: UTF8.self).replacingOccurrences(of: "\":", with: "\": ").utf8)
        Self.expectProblem(Self.chain([(statement: spaced, signature: first.signature)], trust: keys.trust), "is damaged")
    }

    @Test("checkpoints: another root, more entries than the ledger, an invalid signature, a signer without the ledger role")
    func checkpointRules() throws {
        let keys = try Keys()
        let leaves = (0..<5).map { MerkleTree.leafHash(SHA256.hash([UInt8($0)])) }
        func verify(_ checkpoint: Checkpoint, trust: TrustStore? = nil) -> LogReport {
            var report = LogReport(dossierID: nil)
            AccessLog.verifyCheckpoint(checkpoint, leaves: leaves, trust: trust ?? keys.trust, into: &report)
            return report
        }
        let good = try Checkpoint.sign(origin: "bureau.example", size: 5, root: MerkleTree.root(leaves[...]), key: keys.office)
        let control = verify(good)
        #expect(control.problems.isEmpty && control.checkpointsVerified == 1, "\(control.problems)")
        // Leaves reordered: the same size, another root.
        let other = try Checkpoint.sign(origin: "bureau.example", size: 5, root: MerkleTree.root([leaves[1], leaves[0]] + leaves[2...]), key: keys.office)
        Self.expectProblem(verify(other), "were rewritten, removed or reordered")
        let larger = try Checkpoint.sign(origin: "bureau.example", size: 6, root: MerkleTree.root(leaves[...]), key: keys.office)
        Self.expectProblem(verify(larger), "the log was cut: checkpoint covers 6 entries, the ledger has 5")
        // Signed by a key with the office's id but another public key.
        let forger = try SigningKey(privateKey: Ed25519.PrivateKey(), keyID: keys.office.keyID, name: "Office")
        let forged = try Checkpoint.sign(origin: "bureau.example", size: 5, root: MerkleTree.root(leaves[...]), key: forger)
        let forgedReport = verify(forged)
        #expect(forgedReport.problems.isEmpty && forgedReport.checkpointsVerified == 0, "\(forgedReport.problems)")
        #expect(forgedReport.unusedCheckpoints.contains { $0.contains("does not verify") && $0.contains("not used") }, "\(forgedReport.unusedCheckpoints)")
        // Unauthenticated checkpoints change no verdict (anyone can write one: review of session
        // 16 made a genuine log INVALID with a hand-made note of an unknown key): what they
        // would say is listed among the untrusted findings.
        let stranger = try SigningKey.generate()
        for (note, saying) in [(try Checkpoint.sign(origin: "bureau.example", size: 999, root: MerkleTree.root(leaves[...]), key: stranger), "cut"),
                               (try Checkpoint.sign(origin: "bureau.example", size: 6, root: MerkleTree.root(leaves[...]), key: forger), "cut"),
                               (try Checkpoint.sign(origin: "bureau.example", size: 5, root: MerkleTree.root([leaves[1], leaves[0]] + leaves[2...]), key: keys.anna.key),
                                "rewritten")] {
            let report = verify(note)
            #expect(report.problems.isEmpty && report.checkpointsVerified == 0, "\(report.problems)")
            #expect(report.unusedCheckpoints.contains { $0.contains("not used") && $0.contains(saying) } && report.untrusted.isEmpty, "\(report.unusedCheckpoints)")
        }
        // A signer trusted, but not in the role ledger: checked, yet not counted as verified.
        let byAnna = try Checkpoint.sign(origin: "bureau.example", size: 5, root: MerkleTree.root(leaves[...]), key: keys.anna.key)
        let untrusted = verify(byAnna)
        #expect(untrusted.checkpointsVerified == 0 && untrusted.problems.isEmpty)
        #expect(untrusted.unusedCheckpoints.contains { $0.contains("not trusted in the role ledger") }, "\(untrusted.unusedCheckpoints)")
    }

    @Test("an export's header names its dossier by the id rules and by bytes: the Kelvin sign is not K")
    func exportHeaderIDByBytes() throws {
        let keys = try Keys()
        let dir = try TemporaryDirectory()
        let log = try AccessLog(path: dir.path("ledger.sqlite"), createIfMissing: true)
        try log.record(.registered, dossierID: "KC-1", payloadSHA256: Self.digest, actor: keys.anna, purpose: "intake")
        let export = try log.export(dossierID: "KC-1", actor: keys.anna)
        #expect(AccessLog.verifyExport(export, trusting: keys.trust, dossierID: "KC-1").isValid)
        var lines = export.split(separator: "\n").map(String.init)
        guard case .object(var header)? = try? JSONValue.parseCanonical(Array(lines[0].utf8)) else {
            Issue.record("the export has no header")
            return
        }
        header["dossierId"] = .string("\u{212A}C-1")
        lines[0] = String(decoding: JSONValue.object(header).canonicalBytes(), as: UTF8.self)
        let report = AccessLog.verifyExport(lines.joined(separator: "\n") + "\n", trusting: keys.trust, dossierID: "KC-1")
        #expect(!report.isIntact, "an export headed \\u{212A}C-1 verified as the log of KC-1")
    }

    @Test("a checkpoint note is accepted only in its one canonical form: no respelled signature line, no spaces in the origin")
    func checkpointCanonical() throws {
        let keys = try Keys()
        let leaves = (0..<3).map { MerkleTree.leafHash(SHA256.hash([UInt8($0)])) }
        let good = try Checkpoint.sign(origin: "bureau.example", size: 3, root: MerkleTree.root(leaves[...]), key: keys.office)
        #expect(try Checkpoint(parsing: good.note).note == good.note)
        let body = good.note.components(separatedBy: "\n\n")[0]
        let line = good.note.components(separatedBy: "\n\n")[1]
        let fields = line.dropLast().split(separator: " ").map(String.init)
        // The blob's last base64 digit with other padding bits (the same 68 bytes decoded).
        var blob = Array(fields[2])
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        let padded = blob.lastIndex { $0 != "=" }!
        blob[padded] = alphabet[alphabet.firstIndex(of: blob[padded])! ^ 1]
        let variants = [
            body + "\n\n " + line,                                          // leading space
            body + "\n\n" + fields[0] + "  " + fields[1] + " " + fields[2] + "\n",   // doubled space
            body + "\n\n" + fields[0] + " " + fields[1] + " " + String(blob) + "\n", // other padding bits
            body.replacingOccurrences(of: "bureau.example", with: "bureau example") + "\n\n" + line,
        ]
        for (index, variant) in variants.enumerated() {
            #expect(throws: DossierError.self, "variant \(index)") { try Checkpoint(parsing: variant) }
        }
        // No control character in an origin (C2SP notes hold none but the newline), nor a
        // bidirectional or separator one: refused when signing and when reading.
        for origin in ["a\u{1B}b", "a\u{7F}", "a\u{85}b", "a\u{202E}b", "a\u{2028}b", "a\tb"] {
            #expect(throws: DossierError.self, "\(origin.debugDescription)") {
                try Checkpoint.sign(origin: origin, size: 3, root: MerkleTree.root(leaves[...]), key: keys.office)
            }
            let note = good.note.replacingOccurrences(of: "bureau.example", with: origin)
            #expect(throws: DossierError.self, "\(origin.debugDescription)") { try Checkpoint(parsing: note) }
        }
    }

    @Test("a stored statement over 64 KiB is a damaged entry when read (FORMAT §8.1), one of 64 KiB is read")
    func statementSize() throws {
        let keys = try Keys()
        func statement(purposeBytes: Int) throws -> (bytes: [UInt8], signature: String) {
            let entry = try keys.entry(1, .sealed, after: nil)
            guard case .object(var object) = try JSONValue.parseCanonical(entry.statement) else { throw DossierError(.accessLog, "no object") }
            object["purpose"] = ""
            let base = JSONValue.object(object).canonicalBytes().count
            object["purpose"] = .string(String(repeating: "p", count: purposeBytes - base))
            let bytes = JSONValue.object(object).canonicalBytes()
            let signature = try keys.anna.key.privateKey.signature(for: LogEntry.signingContext + bytes)
            return (bytes, Data(signature).base64EncodedString())
        }
        let fits = try statement(purposeBytes: 64 * 1024)
        #expect(fits.bytes.count == 64 * 1024)
        #expect(throws: Never.self) { try LogEntry(statement: fits.bytes, signature: fits.signature) }
        let over = try statement(purposeBytes: 64 * 1024 + 1)
        #expect(over.bytes.count == 64 * 1024 + 1)
        #expect(throws: DossierError.self) { try LogEntry(statement: over.bytes, signature: over.signature) }
    }

    @Test("a checkpoint's heads line: signed, in one form, and checked against the ledger's newest entry per dossier")
    func checkpointHeadsLine() throws {
        let keys = try Keys()
        let dir = try TemporaryDirectory()
        let log = try AccessLog(path: dir.path("ledger.sqlite"), createIfMissing: true)
        for id in ["CC-b", "CC-B", "CC-a"] {
            try log.record(.registered, dossierID: id, payloadSHA256: Self.digest, actor: keys.anna, purpose: "intake")
            try log.record(.opened, dossierID: id, payloadSHA256: Self.digest, actor: keys.anna, purpose: "reading")
        }
        let good = try log.checkpoint(origin: "bureau.example", signedBy: keys.office)
        let body = good.note.components(separatedBy: "\n\n")[0].split(separator: "\n").map(String.init)
        let signature = good.note.components(separatedBy: "\n\n")[1]
        #expect(body.count == 4 && body[3].hasPrefix("heads 3 "), "\(body)")
        // The heads in the byte order of the ids ("CC-B" < "CC-a" < "CC-b"), each the newest entry.
        let rows = AccessLog.headRows(try log.store.records(dossierID: nil))
        let heads = LedgerHeads(rows)
        #expect(heads.heads.map(\.dossierID) == ["CC-B", "CC-a", "CC-b"] && heads.heads.allSatisfy { $0.sequence == 2 })
        #expect(good.heads?.root == Hex.encode(heads.commitment.root))
        // Respelled or impossible heads lines are refused (the signature is not even looked at).
        let root = String(body[3].split(separator: " ")[2])
        for variant in ["heads 03 \(root)", "heads 3  \(root)", "heads 3 \(root) ", "Heads 3 \(root)", "heads 0 \(root)",
                        "heads 7 \(root)", "heads -1 \(root)", "heads 3 \(Data(count: 31).base64EncodedString())", "heads 3"] {
            let note = (body[0..<3] + [variant]).joined(separator: "\n") + "\n\n" + signature
            #expect(throws: DossierError.self, "\(variant)") { try Checkpoint(parsing: note) }
        }
        let fifth = (body + ["extra"]).joined(separator: "\n") + "\n\n" + signature
        #expect(throws: DossierError.self) { try Checkpoint(parsing: fifth) }
        // Another heads root under the same signature: well-formed, but not signed by the office.
        let other = (body[0..<3] + ["heads 3 \(Data(repeating: 1, count: 32).base64EncodedString())"]).joined(separator: "\n") + "\n\n" + signature
        let parsed = try Checkpoint(parsing: other)
        #expect(!parsed.isSigned(by: keys.office.publicKey) && good.isSigned(by: keys.office.publicKey))
        // Signed by the office but naming other heads than the ledger holds (a wrong signer):
        // a problem of a checkpoint that is evidence.
        let leaves = rows.map { MerkleTree.leafHash($0.hash) }
        let wrong = try Checkpoint.sign(origin: "bureau.example", size: rows.count, root: MerkleTree.root(leaves[...]),
                                        heads: (3, [UInt8](repeating: 1, count: 32)), key: keys.office)
        var report = LogReport(dossierID: nil)
        AccessLog.verifyCheckpoint(wrong, leaves: leaves, rows: rows, trust: keys.trust, into: &report)
        Self.expectProblem(report, "names other newest entries per dossier")
        var control = LogReport(dossierID: nil)
        AccessLog.verifyCheckpoint(good, leaves: leaves, rows: rows, trust: keys.trust, into: &control)
        #expect(control.problems.isEmpty && control.checkpointsVerified == 1)
    }

    @Test("exports: a wrong inclusion proof is named, a checkpoint with an invalid signature is not used; diverging histories are not imported")
    func exportRules() throws {
        let keys = try Keys()
        let dir = try TemporaryDirectory()
        let log = try AccessLog(path: dir.path("ledger.sqlite"), createIfMissing: true)
        try log.record(.registered, dossierID: "CC-1", payloadSHA256: Self.digest, actor: keys.anna, purpose: "intake")
        for step in 1...3 { try log.record(.opened, dossierID: "CC-1", payloadSHA256: Self.digest, actor: keys.anna, purpose: "step \(step)") }
        _ = try log.checkpoint(origin: "bureau.example", signedBy: keys.office)
        let export = try log.export(dossierID: "CC-1", actor: keys.anna)
        #expect(AccessLog.verifyExport(export, trusting: keys.trust).isValid)
        var lines = export.split(separator: "\n").map(String.init)

        // One hash of the second entry's proof replaced by another valid-looking hash.
        guard case .object(var line)? = try? JSONValue.parseCanonical(Array(lines[2].utf8)),
              case .array(var proof)? = line["proof"], !proof.isEmpty else {
            Issue.record("the export's second entry has no proof")
            return
        }
        proof[0] = .string(Data(repeating: 7, count: 32).base64EncodedString())
        line["proof"] = .array(proof)
        var wrongProof = lines
        wrongProof[2] = String(decoding: JSONValue.object(line).canonicalBytes(), as: UTF8.self)
        let proofReport = AccessLog.verifyExport(wrongProof.joined(separator: "\n") + "\n", trusting: keys.trust)
        Self.expectProblem(proofReport, "export line 3 is not included in the export's checkpoint")

        // The header's checkpoint signed by a key with the office's id but another public key.
        let forger = try SigningKey(privateKey: Ed25519.PrivateKey(), keyID: keys.office.keyID, name: "Office")
        let stored = try #require(try log.checkpoints().last)
        let forged = try Checkpoint.sign(origin: stored.origin, size: stored.size, root: try #require(hexBytes(stored.root)), key: forger)
        guard case .object(var header)? = try? JSONValue.parseCanonical(Array(lines[0].utf8)) else {
            Issue.record("the export has no header")
            return
        }
        header["checkpoint"] = .string(forged.note)
        lines[0] = String(decoding: JSONValue.object(header).canonicalBytes(), as: UTF8.self)
        // Not evidence (anyone could put it there): not used, and the export's own signed
        // entries still verify.
        let forgedExport = AccessLog.verifyExport(lines.joined(separator: "\n") + "\n", trusting: keys.trust)
        #expect(forgedExport.isIntact && forgedExport.checkpointsVerified == 0, "\(forgedExport.problems)")
        #expect(forgedExport.unusedCheckpoints.contains { $0.contains("does not verify") }, "\(forgedExport.unusedCheckpoints)")

        // Another ledger with another history of the same dossier refuses the export.
        let elsewhere = try AccessLog(path: dir.path("other.sqlite"), createIfMissing: true)
        try elsewhere.record(.registered, dossierID: "CC-1", payloadSHA256: Self.digest, actor: keys.anna, purpose: "another intake")
        do {
            _ = try elsewhere.importLog(export, trusting: keys.trust)
            Issue.record("a diverging history was imported")
        } catch {
            #expect(error.reason.contains("the ledger's history of CC-1 and the export diverge"), "\(error)")
        }
    }
}
