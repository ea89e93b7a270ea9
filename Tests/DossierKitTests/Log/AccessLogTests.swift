import Foundation
import Synchronization
import GRDB
import Testing
@testable import DossierKit

@Suite("Access log: chains, tampering, checkpoints, exports")
struct AccessLogTests {
    struct Setup {
        let dir: TemporaryDirectory
        let log: AccessLog
        let anna: DossierSigner
        let otto: DossierSigner
        let office: SigningKey
        var trust: TrustStore {
            TrustStore([.init(name: "Anna", roles: [.sealer, "reader"], publicKey: anna.key.publicKey),
                        .init(name: "Otto", roles: [.approver], publicKey: otto.key.publicKey),
                        .init(name: "Office", roles: [.ledger], publicKey: office.publicKey)])
        }

        init() throws {
            dir = try TemporaryDirectory()
            log = try AccessLog(path: dir.path("ledger.sqlite"), createIfMissing: true)
            anna = DossierSigner(key: try SigningKey.generate(name: "Anna"), role: .sealer, name: "Anna")
            otto = DossierSigner(key: try SigningKey.generate(name: "Otto"), role: .approver, name: "Otto")
            office = try SigningKey.generate(name: "Office")
        }

        /// A dossier with a history of `count` entries (registered, then opened/loaned/returned…).
        func history(_ id: String, count: Int) throws {
            let digest = String(repeating: "ab", count: 32)
            try log.record(.registered, dossierID: id, payloadSHA256: digest, actor: anna, purpose: "intake")
            let events: [LogEvent] = [.opened, .loaned, .returned, .verified, .countersigned]
            for i in 1..<count {
                try log.record(events[i % events.count], dossierID: id, payloadSHA256: digest, actor: i % 2 == 0 ? anna : otto,
                               purpose: "step \(i)", details: events[i % events.count] == .loaned ? ["approver": "Otto", "borrower": "Court"] : [:])
            }
        }

        /// Runs SQL directly on the ledger file, as an attacker with file access would.
        func tamper(_ sql: String, _ arguments: StatementArguments = []) throws {
            let queue = try DatabaseQueue(path: dir.path("ledger.sqlite"))
            try queue.write { try $0.execute(sql: sql, arguments: arguments) }
        }
    }

    @Test("the first and the last entry of a dossier's history are read alone, as the whole history lists them, among other dossiers' entries")
    func edges() throws {
        let s = try Setup()
        try s.history("CC-A", count: 7)
        try s.history("CC-B", count: 3)
        try s.log.record(.verified, dossierID: "CC-A", payloadSHA256: String(repeating: "cd", count: 32), actor: s.anna, purpose: "last")
        try s.history("CC-C", count: 2)
        let history = try s.log.history(of: "CC-A")
        #expect(history.count == 8)
        #expect(try s.log.genesis(of: "CC-A") == history.first && history.first?.sequence == 1)
        #expect(try s.log.head(of: "CC-A") == history.last && history.last?.purpose == "last")
        #expect(try s.log.genesis(of: "CC-B")?.event == .registered && s.log.head(of: "CC-B")?.sequence == 3)
        #expect(try s.log.genesis(of: "CC-X") == nil && s.log.head(of: "CC-X") == nil)
    }

    @Test("an actor trusted only in another role is reported as untrusted for that entry")
    func actorRoles() throws {
        let s = try Setup()
        let office = DossierSigner(key: s.office, role: .sealer, name: "Office")
        try s.log.record(.registered, dossierID: "CC-R", payloadSHA256: String(repeating: "ab", count: 32), actor: office, purpose: "intake")
        let report = s.log.verify(dossierID: "CC-R", trusting: s.trust)
        #expect(report.isIntact && !report.isValid)
        #expect(report.untrusted.contains { $0.contains("not trusted in the role sealer") })
    }

    @Test("a chain of every event type verifies and reads back in order")
    func chain() throws {
        let s = try Setup()
        try s.history("CC-1", count: 6)
        try s.log.record(.destroyed, dossierID: "CC-1", payloadSHA256: String(repeating: "ab", count: 32), actor: s.anna,
                         purpose: "end of retention", details: ["order": "R-2031-7"])
        let history = try s.log.history(of: "CC-1")
        #expect(history.map(\.sequence) == Array(1...7))
        #expect(history.first?.event == .registered && history.last?.event == .destroyed)
        #expect(zip(history.dropFirst(), history).allSatisfy { $0.previous == $1.hash })
        #expect(history.allSatisfy { $0.isSignatureValid })
        let report = s.log.verify(dossierID: "CC-1", trusting: s.trust)
        #expect(report.isValid, "\(report.problems) \(report.untrusted)")
        // A second genesis and an event without history are refused.
        #expect(throws: DossierError.self) {
            try s.log.record(.registered, dossierID: "CC-1", payloadSHA256: String(repeating: "ab", count: 32), actor: s.anna, purpose: "again")
        }
        #expect(throws: DossierError.self) {
            try s.log.record(.opened, dossierID: "CC-none", payloadSHA256: String(repeating: "ab", count: 32), actor: s.anna, purpose: "x")
        }
        // Details too large for an entry are refused as such (not as "not canonical JSON").
        do {
            try s.log.record(.loaned, dossierID: "CC-1", payloadSHA256: String(repeating: "ab", count: 32), actor: s.anna, purpose: "x",
                             details: ["note": String(repeating: "n", count: 40_000)])
            Issue.record("recorded 40 KB of details")
        } catch {
            #expect(error.kind == .invalidArgument && error.reason.contains("at most 32 KiB"), "\(error)")
        }
    }

    @Test("editing, deleting, reordering or inserting an entry in the database is detected and named")
    func databaseTampering() throws {
        func fresh() throws -> Setup {
            let s = try Setup()
            try s.history("CC-2", count: 5)
            try s.history("CC-3", count: 3)
            return s
        }
        // Edit the purpose of entry #3, keeping the stored hash.
        var s = try fresh()
        try s.tamper("UPDATE entries SET statement = CAST(REPLACE(CAST(statement AS TEXT), 'step 2', 'step X') AS BLOB) WHERE dossier_id = 'CC-2' AND sequence = 3")
        var report = s.log.verify(trusting: s.trust)
        #expect(report.problems.contains { $0.contains("was edited") })
        #expect(report.problems.contains { $0.contains("#3") && $0.contains("invalid signature") })
        // Edit and fix the stored hash too: the chain and the signature still catch it.
        s = try fresh()
        try s.tamper("UPDATE entries SET statement = CAST(REPLACE(CAST(statement AS TEXT), 'step 2', 'step X') AS BLOB) WHERE dossier_id = 'CC-2' AND sequence = 3")
        let edited = try s.log.store.records(dossierID: "CC-2")[2]
        try s.tamper("UPDATE entries SET hash = ? WHERE idx = ?", [Hex.encode(SHA256.hash(edited.statement)), edited.index])
        report = s.log.verify(trusting: s.trust)
        #expect(report.problems.contains { $0.contains("#4") && $0.contains("chain is broken") })
        #expect(report.problems.contains { $0.contains("#3") && $0.contains("invalid signature") })
        // Delete entry #2.
        s = try fresh()
        try s.tamper("DELETE FROM entries WHERE dossier_id = 'CC-2' AND sequence = 2")
        report = s.log.verify(trusting: s.trust)
        #expect(report.problems.contains { $0.contains("#2 is missing") })
        #expect(report.problems.contains { $0.contains("an entry was deleted") })
        // Reorder: swap the positions of #2 and #3.
        s = try fresh()
        let rows = try s.log.store.records(dossierID: "CC-2")
        try s.tamper("UPDATE entries SET idx = -1 WHERE idx = ?", [rows[1].index])
        try s.tamper("UPDATE entries SET idx = ? WHERE idx = ?", [rows[1].index, rows[2].index])
        try s.tamper("UPDATE entries SET idx = ? WHERE idx = -1", [rows[2].index])
        report = s.log.verify(dossierID: "CC-2", trusting: s.trust)
        #expect(report.problems.contains { $0.contains("out of place") || $0.contains("chain is broken") })
        // Insert a forged entry signed by an outsider at the end of CC-3.
        s = try fresh()
        let outsider = DossierSigner(key: try SigningKey.generate(), role: .sealer, name: "Mallory")
        let head = try #require(try s.log.history(of: "CC-3").last)
        let forged = try LogEntry.make(dossierID: "CC-3", sequence: 4, event: .opened, at: head.at, actor: outsider,
                                       payloadSHA256: head.payloadSHA256, purpose: "unrecorded reading", details: [:], previous: head.hash)
        try s.tamper("INSERT INTO entries (idx, dossier_id, sequence, hash, statement, signature) VALUES (999, 'CC-3', 4, ?, ?, ?)",
                     [forged.hash, Data(forged.statement), forged.signature])
        report = s.log.verify(trusting: s.trust)
        #expect(report.problems.contains { $0.contains("an entry was deleted or inserted") })
        #expect(report.untrusted.contains { $0.contains("Mallory") })
    }

    @Test("a row re-filed under another dossier id or sequence (the index columns, not the signed statement) is detected, also for one dossier with a checkpoint")
    func refiledRows() throws {
        for column in ["dossier_id = 'ZZ-1'", "sequence = 9"] {
            let s = try Setup()
            try s.history("CC-A", count: 3)
            try s.history("CC-B", count: 2)
            let checkpoint = try s.log.checkpoint(origin: "bureau.example", signedBy: s.office)
            #expect(s.log.verify(dossierID: "CC-A", trusting: s.trust).isValid)
            // Hide CC-A's last entry from a query by dossier: no gap in the positions, and the
            // checkpoint's leaves (the statements) are unchanged.
            try s.tamper("UPDATE entries SET \(column) WHERE dossier_id = 'CC-A' AND sequence = 3")
            for report in [s.log.verify(dossierID: "CC-A", trusting: s.trust),
                           s.log.verify(dossierID: "CC-A", trusting: s.trust, checkpoints: [try Checkpoint(parsing: checkpoint.note)]),
                           s.log.verify(trusting: s.trust)] {
                let intact = report.isIntact  // (not inside #expect: its failure would print every entry)
                #expect(!intact, "\(column): undetected")
                #expect(report.problems.contains { $0.contains("ledger entry 2") && $0.contains("re-filed") }, "\(column): \(report.problems)")
            }
            // The hidden entry is still counted in the dossier's chain.
            let counted = s.log.verify(dossierID: "CC-A", trusting: s.trust).entries.count
            #expect(counted == 3, "\(column)")
        }
    }

    @Test("a ledger opened read-only shows and verifies its history, changes nothing and refuses writes; also as an immutable copy")
    func readOnly() throws {
        let s = try Setup()
        let original = s.dir.path("original.sqlite")
        do {
            // Closed when it goes out of scope: the write-ahead log is folded into the file.
            let log = try AccessLog(path: original, createIfMissing: true)
            let digest = String(repeating: "ab", count: 32)
            try log.record(.registered, dossierID: "CC-RO", payloadSHA256: digest, actor: s.anna, purpose: "intake")
            for i in 1..<4 { try log.record(.verified, dossierID: "CC-RO", payloadSHA256: digest, actor: s.anna, purpose: "step \(i)") }
            try log.checkpoint(origin: "bureau.example", signedBy: s.office)
        }
        // A copy as an inspector gets it: the ledger file alone, no -wal/-shm beside it.
        let copy = s.dir.path("copy.sqlite")
        try FileManager.default.copyItem(atPath: original, toPath: copy)
        #expect(!FileManager.default.fileExists(atPath: original + "-wal"))
        let before = try Data(contentsOf: URL(fileURLWithPath: copy))
        for immutable in [false, true] {
            let log = try AccessLog(path: copy, readOnly: true, immutableForTesting: immutable)
            #expect(try log.history(of: "CC-RO").count == 4, "immutable: \(immutable)")
            #expect(log.verify(trusting: s.trust).isValid, "immutable: \(immutable)")
            do {
                try log.record(.loaned, dossierID: "CC-RO", payloadSHA256: String(repeating: "ab", count: 32), actor: s.anna, purpose: "x")
                Issue.record("wrote to a read-only ledger")
            } catch {
                #expect(error.kind == .accessLog, "\(error)")
                #expect(error.reason.contains("read-only"), "\(error)")
            }
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: copy)) == before)
        // A copy taken while the ledger was in use: recent entries are still in its -wal,
        // which SQLite's immutable mode would ignore. Refused rather than shown short.
        let busy = s.dir.path("busy.sqlite")
        try s.history("CC-BUSY", count: 3)
        let wal = s.dir.path("ledger.sqlite-wal")
        #expect(((try? FileManager.default.attributesOfItem(atPath: wal)[.size] as? Int) ?? 0) > 0)
        try FileManager.default.copyItem(atPath: s.dir.path("ledger.sqlite"), toPath: busy)
        try FileManager.default.copyItem(atPath: wal, toPath: busy + "-wal")
        do {
            let log = try AccessLog(path: busy, readOnly: true, immutableForTesting: true)
            Issue.record("read a ledger without its write-ahead log: \(try log.history(of: "CC-BUSY").count) entries")
        } catch {
            #expect(error.reason.contains("-wal"), "\(error)")
        }
    }

    @Test("a log cut or rewritten after a checkpoint is detected; a later checkpoint handed in also counts")
    func checkpoints() throws {
        let s = try Setup()
        try s.history("CC-4", count: 6)
        let checkpoint = try s.log.checkpoint(origin: "bureau.example", signedBy: s.office)
        #expect(checkpoint.size == 6)
        #expect(s.log.verify(trusting: s.trust).checkpointsVerified == 1)
        // The stored checkpoint handed in again counts once; one by a key not trusted as ledger
        // is reported and not counted as verified.
        #expect(s.log.verify(trusting: s.trust, checkpoints: [try Checkpoint(parsing: checkpoint.note)]).checkpointsVerified == 1)
        let stranger = try Checkpoint.sign(origin: "bureau.example", size: checkpoint.size,
                                           root: stride(from: 0, to: checkpoint.root.count, by: 2).map {
                                               UInt8(String(Array(checkpoint.root)[$0..<$0 + 2]), radix: 16)! }, key: try SigningKey.generate())
        let withStranger = s.log.verify(trusting: s.trust, checkpoints: [stranger])
        #expect(withStranger.checkpointsVerified == 1)
        #expect(withStranger.unusedCheckpoints.contains { $0.contains("not in the trust store") })
        try s.history("CC-5", count: 2)
        #expect(s.log.verify(trusting: s.trust).isValid)
        // Cut the last two entries of CC-4 (and everything after): the checkpoint catches it,
        // although the remaining chain is internally consistent.
        try s.tamper("DELETE FROM entries WHERE idx >= 4")
        let cut = s.log.verify(dossierID: "CC-4", trusting: s.trust)
        #expect(cut.problems.contains { $0.contains("the log was cut: checkpoint covers 6 entries, the ledger has 4") })
        // An attacker who also deletes the stored checkpoint is caught by the published copy.
        try s.tamper("DELETE FROM checkpoints")
        let withPublished = s.log.verify(dossierID: "CC-4", trusting: s.trust, checkpoints: [try Checkpoint(parsing: checkpoint.note)])
        #expect(withPublished.problems.contains { $0.contains("cut") })
        // A forged checkpoint (wrong key) is not trusted; a tampered note does not parse or verify.
        var tamperedNote = checkpoint.note
        tamperedNote = tamperedNote.replacingOccurrences(of: "\n6\n", with: "\n4\n")
        let forged = try Checkpoint(parsing: tamperedNote)
        var report = LogReport(dossierID: nil)
        AccessLog.verifyCheckpoint(forged, leaves: [], trust: s.trust, into: &report)
        #expect(report.problems.isEmpty && report.unusedCheckpoints.contains { $0.contains("does not verify") }, "\(report.problems) \(report.unusedCheckpoints)")
    }

    @Test("a checkpoint is not signed over a ledger that does not verify: cut below a stored checkpoint, an entry edited or deleted")
    func checkpointRefusesDamagedLedger() throws {
        let tampers = ["DELETE FROM entries WHERE idx = (SELECT MAX(idx) FROM entries)",
                       "UPDATE entries SET statement = CAST(REPLACE(CAST(statement AS TEXT), 'step 1', 'step X') AS BLOB) WHERE dossier_id = 'CC-K' AND sequence = 2",
                       "DELETE FROM entries WHERE dossier_id = 'CC-K' AND sequence = 2"]
        for sql in tampers {
            let s = try Setup()
            try s.history("CC-K", count: 4)
            try s.log.checkpoint(origin: "bureau.example", signedBy: s.office)
            try s.tamper(sql)
            do {
                try s.log.checkpoint(origin: "bureau.example", signedBy: s.office)
                Issue.record("signed a checkpoint after: \(sql)")
            } catch {
                #expect(error.kind == .accessLog && error.reason.contains("does not verify"), "\(sql): \(error)")
            }
            #expect(try s.log.checkpoints().count == 1, "\(sql)")
        }
    }

    @Test("a note stored in the ledger by another key, claiming a cut, neither fails the ledger's verification nor stops its key from signing")
    func strangerNoteIsNoEvidence() throws {
        let s = try Setup()
        try s.history("CC-N", count: 3)
        let stranger = try Checkpoint.sign(origin: "bureau.example", size: 999, root: [UInt8](repeating: 0, count: 32), key: try SigningKey.generate())
        try s.tamper("INSERT INTO checkpoints (size, note) VALUES (?, ?)", [stranger.size, stranger.note])
        let report = s.log.verify(trusting: s.trust)
        #expect(report.problems.isEmpty, "\(report.problems)")
        #expect(report.unusedCheckpoints.contains { $0.contains("not used") && $0.contains("cut") }, "\(report.unusedCheckpoints)")
        #expect(report.isValid, "a stranger's note changed the verdict: \(report.untrusted)")
        let signed = try s.log.checkpoint(origin: "bureau.example", signedBy: s.office)
        #expect(signed.size == 3)
        #expect(s.log.verify(trusting: s.trust).checkpointsVerified == 1)
    }

    @Test("an export ends with its own exported entry: one another process appends meanwhile is left out (it came after the exported entry, and the export did not verify: review of session 20)")
    func exportWhileOthersAppend() throws {
        let s = try Setup()
        try s.history("CC-R", count: 3)
        let export = try s.log.export(dossierID: "CC-R", actor: s.anna, purpose: "export", afterRecordingForTesting: {
            _ = try s.log.record(.verified, dossierID: "CC-R", payloadSHA256: String(repeating: "ab", count: 32), actor: s.anna, purpose: "meanwhile")
        })
        let verified = AccessLog.verifyExport(export, trusting: s.trust)
        #expect(verified.isValid, "\(verified.problems)")
        #expect(verified.entries.map(\.event).last == .exported)
        #expect(!export.contains("meanwhile"))
        #expect(try s.log.history(of: "CC-R").last?.event == .verified)
    }

    @Test("exports and verification survive notes others stored: a stranger's checkpoint is not exported, a malformed one hides no other, and a failing export records nothing")
    func storedNotesOfOthers() throws {
        let s = try Setup()
        try s.history("CC-E", count: 3)
        let genuine = try s.log.checkpoint(origin: "bureau.example", signedBy: s.office)
        try s.history("CC-F", count: 2)
        // A stranger's note of the right size but another root, stored after the genuine one.
        let size = try s.log.store.records(dossierID: nil).count
        let stranger = try Checkpoint.sign(origin: "bureau.example", size: size, root: [UInt8](repeating: 9, count: 32), key: try SigningKey.generate())
        try s.tamper("INSERT INTO checkpoints (size, note) VALUES (?, ?)", [stranger.size, stranger.note])
        let export = try s.log.export(dossierID: "CC-E", actor: s.anna)
        #expect(export.contains(genuine.note.replacingOccurrences(of: "\n", with: "\\n")) && !export.contains(stranger.signerKeyID), "\(export.prefix(400))")
        let verified = AccessLog.verifyExport(export, trusting: s.trust)
        #expect(verified.isValid && verified.checkpointsVerified == 1, "\(verified.problems) \(verified.untrusted)")
        // A note that does not parse: listed as unused; the genuine checkpoint still counts.
        try s.tamper("INSERT INTO checkpoints (size, note) VALUES (?, ?)", [1, "junk"])
        let report = s.log.verify(trusting: s.trust)
        #expect(report.isValid && report.checkpointsVerified == 1, "\(report.problems) \(report.untrusted)")
        #expect(report.unusedCheckpoints.contains { $0.contains("malformed checkpoint") }, "\(report.unusedCheckpoints)")
        #expect(try s.log.checkpoints().count == 2)
        _ = try s.log.checkpoint(origin: "bureau.example", signedBy: s.office)
        #expect(try s.log.export(dossierID: "CC-F", actor: s.anna).contains("CC-F"))
        // Checkpoints that cannot be read at all: the export fails before its exported entry.
        let before = try s.log.history(of: "CC-F").count
        try s.tamper("DROP TABLE checkpoints")
        #expect(throws: DossierError.self) { try s.log.export(dossierID: "CC-F", actor: s.anna) }
        #expect(try s.log.history(of: "CC-F").count == before)
    }

    @Test("after a ledger-key change, the new key does not sign over a ledger cut below the old key's checkpoint when the old key is trusted")
    func signingBoundByTrustedLedgerKeys() throws {
        let s = try Setup()
        try s.history("CC-R", count: 4)
        try s.log.checkpoint(origin: "bureau.example", signedBy: s.office)
        try s.tamper("DELETE FROM entries WHERE idx = (SELECT MAX(idx) FROM entries)")
        let successor = try SigningKey.generate(name: "Office 2")
        do {
            try s.log.checkpoint(origin: "bureau.example", signedBy: successor, trusting: s.trust)
            Issue.record("signed over a ledger cut below a trusted ledger key's checkpoint")
        } catch {
            #expect(error.kind == .accessLog && error.reason.contains("cut"), "\(error)")
        }
        // Without that trust, the old key's note is no evidence for the new key.
        #expect(try s.log.checkpoint(origin: "bureau.example", signedBy: successor).size == 3)
    }

    @Test("checkpoints of the same size by different keys are all kept; the same note twice is kept once")
    func checkpointsOfOneSize() throws {
        let s = try Setup()
        try s.history("CC-S", count: 3)
        let second = try SigningKey.generate(name: "Archive")
        let first = try s.log.checkpoint(origin: "bureau.example", signedBy: s.office)
        let other = try s.log.checkpoint(origin: "archive.example", signedBy: second)
        try s.log.checkpoint(origin: "bureau.example", signedBy: s.office)  // same size, same key: the same note again
        #expect(first.size == other.size)
        let stored = try s.log.checkpoints().map(\.note)
        #expect(stored.count == 2)
        #expect(Set(stored) == [first.note, other.note])
        // Both count when both keys are trusted as ledger keys.
        let bothTrusted = TrustStore(s.trust.entries + [.init(name: "Archive", roles: [.ledger], publicKey: second.publicKey)])
        #expect(s.log.verify(trusting: bothTrusted).checkpointsVerified == 2)
    }

    @Test("a ledger made before checkpoints were keyed by size and note keeps its checkpoint and then keeps a second of the same size")
    func checkpointSchemaMigrates() throws {
        let s = try Setup()
        try s.history("CC-M", count: 2)
        let old = try s.log.checkpoint(origin: "bureau.example", signedBy: s.office)
        // The old schema: size alone is the key.
        try s.tamper("""
            CREATE TABLE old_checkpoints (size INTEGER PRIMARY KEY, note TEXT NOT NULL);
            INSERT INTO old_checkpoints SELECT size, note FROM checkpoints;
            DROP TABLE checkpoints;
            ALTER TABLE old_checkpoints RENAME TO checkpoints;
            """)
        let reopened = try AccessLog(path: s.dir.path("ledger.sqlite"))
        #expect(try reopened.checkpoints().map(\.note) == [old.note])
        let other = try reopened.checkpoint(origin: "archive.example", signedBy: try SigningKey.generate())
        #expect(other.size == old.size)
        #expect(try reopened.checkpoints().map(\.note) == [old.note, other.note])
    }

    @Test("exports verify offline with inclusion proofs; edits, deletions, reorders, insertions and cuts in an export are named")
    func exports() throws {
        let s = try Setup()
        try s.history("CC-6", count: 4)
        try s.history("CC-7", count: 3)
        let text = try s.log.export(dossierID: "CC-6", actor: s.anna)
        try s.log.checkpoint(origin: "bureau.example", signedBy: s.office)
        let proven = try s.log.export(dossierID: "CC-6")
        let good = AccessLog.verifyExport(proven, trusting: s.trust)
        #expect(good.isValid, "\(good.problems) \(good.untrusted)")
        #expect(good.checkpointsVerified == 1)
        let withoutLedgerKey = AccessLog.verifyExport(proven, trusting: TrustStore(s.trust.entries.filter { !$0.roles.contains(.ledger) }))
        #expect(withoutLedgerKey.checkpointsVerified == 0)
        #expect(withoutLedgerKey.unusedCheckpoints.contains { $0.contains("not used") }, "\(withoutLedgerKey.unusedCheckpoints)")
        #expect(good.entries.last?.event == .exported)
        #expect(AccessLog.verifyExport(text, trusting: s.trust).isIntact)

        var lines = proven.split(separator: "\n").map(String.init)
        func check(_ mutated: [String], _ needle: String) {
            let report = AccessLog.verifyExport(mutated.joined(separator: "\n") + "\n", trusting: s.trust)
            #expect(!report.isIntact, "undetected: \(needle)")
            #expect(report.problems.contains { $0.contains(needle) }, "\(needle) not named in \(report.problems)")
        }
        var edited = lines
        edited[2] = edited[2].replacingOccurrences(of: "step 1", with: "step 9")
        check(edited, "invalid signature")
        var deleted = lines
        deleted.remove(at: 2)
        check(deleted, "missing")
        var reordered = lines
        reordered.swapAt(2, 3)
        check(reordered, "chain is broken")
        var cut = lines
        cut.removeLast()
        check(cut, "cut")
        let foreign = try s.log.export(dossierID: "CC-7", actor: s.otto).split(separator: "\n").map(String.init)
        var inserted = lines
        inserted.insert(foreign[2], at: 3)
        check(inserted, "belongs to dossier CC-7")
        lines[0] = lines[0].replacingOccurrences(of: "CC-6", with: "CC-X")
        check(lines, "belongs to dossier CC-6")
        // An export stripped of every entry does not pass.
        check([lines[0]], "holds no entries")
    }

    @Test("an export without an actor is refused unless the history already ends with an exported entry: whatever export returns verifies")
    func exportWithoutActor() throws {
        let s = try Setup()
        try s.history("CC-N", count: 3)
        let before = try s.log.history(of: "CC-N").count
        do {
            _ = try s.log.export(dossierID: "CC-N")
            Issue.record("exported a history that does not end with an exported entry")
        } catch {
            #expect(error.kind == .invalidArgument && error.reason.contains("exported entry"), "\(error)")
        }
        #expect(try s.log.history(of: "CC-N").count == before, "the refusal recorded something")
        // With an actor: recorded, and it verifies; again without one (a later checkpoint) it still does.
        #expect(AccessLog.verifyExport(try s.log.export(dossierID: "CC-N", actor: s.anna), trusting: s.trust).isValid)
        try s.log.checkpoint(origin: "bureau.example", signedBy: s.office)
        let again = AccessLog.verifyExport(try s.log.export(dossierID: "CC-N"), trusting: s.trust)
        #expect(again.isValid && again.checkpointsVerified == 1, "\(again.problems)")
    }

    @Test("a new ledger in a folder that does not exist is refused naming the folder (it said \"SQLite error 14: unable to open database file\")")
    func ledgerInMissingFolder() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path("no-such-folder/ledger.sqlite")
        do {
            _ = try AccessLog(path: path, createIfMissing: true)
            Issue.record("made a ledger in a missing folder")
        } catch {
            #expect(error.kind == .accessLog && error.reason.contains("the folder \(dir.path("no-such-folder")) does not exist"), "\(error)")
            #expect(error.hint?.contains("create the folder") == true, "\(error)")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.path("no-such-folder")))
    }

    @Test("a closed log says it is closed, for every use")
    func closedLog() throws {
        let s = try Setup()
        try s.history("CC-C", count: 2)
        try s.log.close()
        let uses: [(String, () throws(DossierError) -> Void)] = [
            ("record", { () throws(DossierError) in
                try s.log.record(.opened, dossierID: "CC-C", payloadSHA256: String(repeating: "ab", count: 32), actor: s.anna, purpose: "p") }),
            ("history", { () throws(DossierError) in _ = try s.log.history(of: "CC-C") }),
            ("checkpoint", { () throws(DossierError) in _ = try s.log.checkpoint(origin: "bureau.example", signedBy: s.office) }),
            ("checkpoints", { () throws(DossierError) in _ = try s.log.checkpoints() }),
            ("export", { () throws(DossierError) in _ = try s.log.export(dossierID: "CC-C", actor: s.anna) }),
        ]
        for (name, use) in uses {
            do throws(DossierError) {
                try use()
                Issue.record("\(name) worked on a closed log")
            } catch {
                #expect(error.kind == .accessLog && error.reason.contains("is closed"), "\(name): \(error)")
            }
        }
        let report = s.log.verify(trusting: s.trust)
        #expect(!report.isIntact && report.problems.contains { $0.contains("is closed") }, "\(report.problems)")
        // Closing again is harmless.
        try s.log.close()
    }

    @Test("an export cut back to an earlier exported entry is that earlier export: intact, and no proof of what came after (FORMAT §8.5)")
    func exportCutToEarlierExport() throws {
        let s = try Setup()
        try s.history("CC-E", count: 2)
        let first = try s.log.export(dossierID: "CC-E", actor: s.anna)
        try s.log.record(.opened, dossierID: "CC-E", payloadSHA256: String(repeating: "ab", count: 32), actor: s.anna, purpose: "later reading")
        let second = try s.log.export(dossierID: "CC-E", actor: s.anna)
        let lines = second.split(separator: "\n").map(String.init)
        // Cut anywhere else: detected.
        for keep in 2..<lines.count where keep != 4 {
            let report = AccessLog.verifyExport(lines.prefix(keep).joined(separator: "\n") + "\n", trusting: s.trust)
            #expect(report.problems.contains { $0.contains("cut") }, "kept \(keep) lines")
        }
        // Cut right after the first exported entry (header + 3 entries): the first export's entries.
        let cut = AccessLog.verifyExport(lines.prefix(4).joined(separator: "\n") + "\n", trusting: s.trust)
        #expect(cut.isIntact)
        #expect(cut.entries.map(\.statement) == AccessLog.verifyExport(first, trusting: s.trust).entries.map(\.statement))
    }

    /// Forges what an exporter the inspector trusts could hand in without the checkpoint's
    /// heads: `export`'s header and its first `keep` entries (with their proofs), then an
    /// `exported` entry of its own chained to the last one kept.
    static func forgedExport(_ export: String, keep: Int, by actor: DossierSigner) throws -> String {
        let lines = export.split(separator: "\n").map(String.init)
        let kept = Array(lines[1...keep])
        let last = try JSONValue.parseCanonical(Array(kept[keep - 1].utf8))
        let entry = try LogEntry(statement: Array(last["statement"]!.stringValue!.utf8), signature: last["signature"]!.stringValue!)
        let forged = try LogEntry.make(dossierID: entry.dossierID, sequence: entry.sequence + 1, event: .exported,
                                       at: entry.at, actor: actor, payloadSHA256: entry.payloadSHA256, purpose: "export",
                                       details: ["entries": String(entry.sequence)], previous: entry.hash)
        let line: JSONValue = .object(["index": .integer(1_000_000), "signature": .string(forged.signature),
                                       "statement": .string(String(decoding: forged.statement, as: UTF8.self))])
        return ([lines[0]] + kept + [String(decoding: line.canonicalBytes(), as: UTF8.self)]).joined(separator: "\n") + "\n"
    }

    @Test("an export that leaves out entries its checkpoint covers fails: the checkpoint names each dossier's newest entry (FORMAT §8.4, §8.5)")
    func exportOmittingCoveredEntries() throws {
        let s = try Setup()
        try s.history("CC-H", count: 4)
        try s.history("CC-I", count: 2)
        try s.log.checkpoint(origin: "bureau.example", signedBy: s.office)
        let honest = try s.log.export(dossierID: "CC-H", actor: s.anna)
        let good = AccessLog.verifyExport(honest, trusting: s.trust)
        #expect(good.isValid, "\(good.problems) \(good.untrusted)")
        #expect(good.checkpointsVerified == 1 && good.entriesAfterCheckpoint == 1, "only the exported entry is newer")
        // Entries #3 and #4, covered by the checkpoint, left out by a trusted exporter.
        for keep in 1...3 {
            let forged = AccessLog.verifyExport(try Self.forgedExport(honest, keep: keep, by: s.anna), trusting: s.trust)
            #expect(!forged.problems.isEmpty, "an export without entries #\(keep + 1)…#4 passed")
            #expect(forged.problems.contains { $0.contains("newest entry") }, "\(forged.problems)")
        }
        // The whole history, forged only in its own exported entry, is complete: it passes.
        #expect(AccessLog.verifyExport(try Self.forgedExport(honest, keep: 4, by: s.anna), trusting: s.trust).isValid)
    }

    /// `export` with its header changed by `edit`.
    static func editingHeader(_ export: String, _ edit: (inout [String: JSONValue]) -> Void) throws -> String {
        var lines = export.split(separator: "\n").map(String.init)
        guard case .object(var header) = try JSONValue.parseCanonical(Array(lines[0].utf8)) else { throw DossierError(.accessLog, "no header") }
        edit(&header)
        lines[0] = String(decoding: JSONValue.object(header).canonicalBytes(), as: UTF8.self)
        return lines.joined(separator: "\n") + "\n"
    }

    @Test("an export's head: missing, malformed, out of place or for a dossier the checkpoint does not cover")
    func exportHeadRules() throws {
        let s = try Setup()
        try s.history("CC-J", count: 3)
        try s.history("CC-K", count: 2)
        try s.log.checkpoint(origin: "bureau.example", signedBy: s.office)
        try s.history("CC-L", count: 2)
        let honest = try s.log.export(dossierID: "CC-J", actor: s.anna)
        func problems(_ text: String) -> [String] { AccessLog.verifyExport(text, trusting: s.trust).problems }
        #expect(problems(honest).isEmpty)
        let noHead = try Self.editingHeader(honest) { $0["head"] = nil }
        #expect(problems(noHead).contains { $0.contains("does not show its newest entry") }, "\(problems(noHead))")
        let badProof = try Self.editingHeader(honest) {
            guard case .object(var head)? = $0["head"] else { return }
            head["proof"] = .array([.string("not base64!")])
            $0["head"] = .object(head)
        }
        #expect(problems(badProof).contains { $0.contains("is malformed") }, "\(problems(badProof))")
        let otherIndex = try Self.editingHeader(honest) {
            guard case .object(var head)? = $0["head"] else { return }
            head["index"] = .integer((head["index"]?.integerValue ?? 0) == 0 ? 1 : 0)
            $0["head"] = .object(head)
        }
        #expect(problems(otherIndex).contains { $0.contains("does not name the export's entry #3") }, "\(problems(otherIndex))")
        // An entry the checkpoint covers, moved by its index out of what it covers (so that
        // no inclusion proof is asked of it).
        var lines = honest.split(separator: "\n").map(String.init)
        guard case .object(var second) = try JSONValue.parseCanonical(Array(lines[2].utf8)) else { Issue.record("no entry"); return }
        second["index"] = .integer(1_000_000)
        second["proof"] = nil
        lines[2] = String(decoding: JSONValue.object(second).canonicalBytes(), as: UTF8.self)
        let moved = problems(lines.joined(separator: "\n") + "\n")
        #expect(moved.contains { $0.contains("positions disagree") }, "\(moved)")
        // A dossier with no entry under the checkpoint: no head, nothing proven complete.
        let later = AccessLog.verifyExport(try s.log.export(dossierID: "CC-L", actor: s.anna), trusting: s.trust)
        #expect(later.isValid && later.checkpointsVerified == 0 && later.entriesAfterCheckpoint == 3, "\(later.problems)")
        #expect(later.unusedCheckpoints.contains { $0.contains("proves nothing about this export") }, "\(later.unusedCheckpoints)")
        // The head stripped and every covered entry moved past the checkpoint (review of
        // session 17: no key needed): nothing proven, and the report says so.
        var stripped = try Self.editingHeader(honest) { $0["head"] = nil }.split(separator: "\n").map(String.init)
        for index in 1..<stripped.count {
            guard case .object(var line) = try JSONValue.parseCanonical(Array(stripped[index].utf8)) else { continue }
            line["index"] = .integer(1_000_000 + Int64(index))
            line["proof"] = nil
            stripped[index] = String(decoding: JSONValue.object(line).canonicalBytes(), as: UTF8.self)
        }
        let nothing = AccessLog.verifyExport(stripped.joined(separator: "\n") + "\n", trusting: s.trust)
        #expect(nothing.entriesAfterCheckpoint == nothing.entries.count && nothing.checkpointsVerified == 0, "\(nothing.problems)")
        #expect(nothing.unusedCheckpoints.contains { $0.contains("proves nothing about this export") }, "\(nothing.unusedCheckpoints)")
    }

    @Test("a checkpoint signed before heads existed still verifies a ledger and an export's inclusion proofs, but proves no export complete")
    func checkpointWithoutHeads() throws {
        let s = try Setup()
        try s.history("CC-M", count: 3)
        let records = try s.log.store.records(dossierID: nil)
        let leaves = records.map { MerkleTree.leafHash(SHA256.hash($0.statement)) }
        let old = try Checkpoint.sign(origin: "bureau.example", size: leaves.count, root: MerkleTree.root(leaves[...]), key: s.office)
        #expect(old.heads == nil && old.note.split(separator: "\n").count == 4, "three body lines and a signature line")
        try s.log.store.addCheckpoint(size: old.size, note: old.note)
        let ledger = s.log.verify(trusting: s.trust)
        #expect(ledger.isValid && ledger.checkpointsVerified == 1 && ledger.entriesAfterCheckpoint == 0, "\(ledger.problems)")
        let export = AccessLog.verifyExport(try s.log.export(dossierID: "CC-M", actor: s.anna), trusting: s.trust)
        #expect(export.isValid && export.checkpointsVerified == 1, "\(export.problems)")
        #expect(export.entriesAfterCheckpoint == 4, "every entry, the covered ones too, could have been left out")
        // A new checkpoint has heads, and the export then proves the covered entries complete.
        let new = try s.log.checkpoint(origin: "bureau.example", signedBy: s.office)
        #expect(new.heads?.count == 1)
        let proven = AccessLog.verifyExport(try s.log.export(dossierID: "CC-M", actor: s.anna), trusting: s.trust)
        #expect(proven.isValid && proven.entriesAfterCheckpoint == 1, "\(proven.problems)")
    }

    @Test("two imports of one export at the same moment both succeed (the later one said \"UNIQUE constraint failed\": review of session 20)")
    func racingImports() throws {
        let s = try Setup()
        try s.history("CC-9", count: 3)
        let text = try s.log.export(dossierID: "CC-9", actor: s.anna)
        let path = s.dir.path("other.sqlite")
        let first = try AccessLog(path: path, createIfMissing: true)
        let second = try AccessLog(path: path, createIfMissing: false)
        // The second import lands between the first's reading of the history and its append.
        let imported = try first.importLog(text, trusting: s.trust, anchor: nil, dossierID: nil, beforeAppendingForTesting: {
            _ = try second.importLog(text, trusting: s.trust)
        })
        #expect(imported.entries.count == 4)
        #expect(try first.history(of: "CC-9").count == 4)
        #expect(first.verify(dossierID: "CC-9", trusting: s.trust).isValid)
    }

    @Test("an export imports into another office's ledger and its chain continues there")
    func importing() throws {
        let s = try Setup()
        try s.history("CC-8", count: 3)
        let text = try s.log.export(dossierID: "CC-8", actor: s.anna)
        let other = try AccessLog(path: s.dir.path("other.sqlite"), createIfMissing: true)
        let imported = try other.importLog(text, trusting: s.trust)
        #expect(imported.entries.count == 4)
        try other.record(.opened, dossierID: "CC-8", payloadSHA256: String(repeating: "ab", count: 32), actor: s.otto, purpose: "received")
        #expect(other.verify(dossierID: "CC-8", trusting: s.trust).isValid)
        #expect(try other.importLog(text, trusting: s.trust).entries.count == 4, "re-importing a prefix is harmless")
        var broken = text.split(separator: "\n").map(String.init)
        broken.remove(at: 2)
        #expect(throws: DossierError.self) { try other.importLog(broken.joined(separator: "\n") + "\n", trusting: s.trust) }
        // Entries by actors the importer does not trust are not imported.
        let third = try AccessLog(path: s.dir.path("third.sqlite"), createIfMissing: true)
        #expect(throws: DossierError.self) { try third.importLog(text, trusting: .empty) }
        #expect(try third.history(of: "CC-8").isEmpty)
    }

    @Test("Merkle inclusion proofs verify for every leaf of trees of many sizes and fail when altered")
    func merkle() {
        for size in [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 33] {
            let leaves = (0..<size).map { MerkleTree.leafHash([UInt8($0)]) }
            let root = MerkleTree.root(leaves[...])
            for index in 0..<size {
                let proof = MerkleTree.inclusionProof(index: index, leaves: leaves[...])
                #expect(MerkleTree.verifyInclusion(leafHash: leaves[index], index: index, treeSize: size, proof: proof, root: root))
                #expect(!MerkleTree.verifyInclusion(leafHash: leaves[(index + 1) % size], index: index, treeSize: size, proof: proof, root: root) || size == 1)
                if !proof.isEmpty {
                    var bad = proof
                    bad[0][0] ^= 1
                    #expect(!MerkleTree.verifyInclusion(leafHash: leaves[index], index: index, treeSize: size, proof: bad, root: root))
                }
            }
        }
        // RFC 6962 known answer: the empty tree is SHA-256 of nothing.
        #expect(Hex.encode(MerkleTree.root([][...])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }
}

@Suite("Access log: opening fails closed")
struct OpenLoggingTests {
    @Test("open writes its entry before decrypting; the entry names the document and the purpose")
    func logged() throws {
        let fx = try DossierFixture()
        let receipt = try fx.seal(try fx.folder("logged", ["a.txt": [1], "b.txt": [2]]))
        #expect(receipt.manifest.accessLogGenesisSHA256 == (try fx.log.history(of: "logged").first?.hash))
        let reader = DossierSigner(key: fx.approver, role: "reader", name: "Otto Officer")
        _ = try Dossier.open(receipt.path, with: [fx.recipient.identity], into: fx.dir.path("one"), trusting: fx.trust,
                             recordingTo: AccessRecorder(log: fx.log, actor: reader, purpose: "appeal review"), options: OpenOptions(only: "b.txt"))
        let history = try fx.log.history(of: "logged")
        #expect(history.map(\.event) == [.sealed, .opened])
        #expect(history[1].purpose == "appeal review" && history[1].details["document"] == "b.txt")
        #expect(history[1].actorKeyID == fx.approver.publicKey.keyID)
        let report = fx.log.verify(dossierID: "logged", trusting: fx.trust, anchor: receipt.manifest.accessLogGenesisSHA256)
        #expect(report.isIntact, "\(report.problems)")
    }

    /// FORMAT.md §8.1: a purpose is one line. `record` refused others; the sealed entry did
    /// not (before session 10), and a seal found out only after writing the whole payload.
    @Test("a purpose that is empty or not one line is refused before sealing starts and by every way of writing an entry")
    func purposeOneLine() throws {
        let fx = try DossierFixture()
        let folder = try fx.folder("purpose", ["a.txt": [1]])
        let sealer = DossierSigner(key: fx.sealer, role: .sealer, name: "Anna Archivist")
        // (An empty one was accepted from the library; the CLI refused it — API review.)
        for purpose in ["two\nlines", "carriage\rreturn", "separator\u{2028}here", String(repeating: "x", count: 4097), "", "   "] {
            var options = SealOptions()
            options.log = AccessRecorder(log: fx.log, actor: sealer, purpose: purpose)
            // Refused before any content is read: the progress handler is never called.
            let started = Mutex(false)
            options.progress = { _, _ in started.withLock { $0 = true } }
            defer { #expect(!started.withLock { $0 }, "sealing started before the purpose was checked") }
            do {
                _ = try fx.seal(folder, id: "purpose-x", options: options)
                Issue.record("sealed with the purpose \(purpose.prefix(20).debugDescription)")
            } catch let error as DossierError {
                #expect(error.kind == .invalidArgument && error.reason.contains("purpose must be one non-empty line"), "\(error)")
            }
            #expect(!FileManager.default.fileExists(atPath: fx.dir.path("purpose.dossier")))
            #expect(try fx.log.history(of: "purpose-x").isEmpty)
            #expect(throws: DossierError.self) {
                try LogEntry.make(dossierID: "purpose-y", sequence: 1, event: .registered, at: "2026-11-27T12:00:00Z", actor: sealer,
                                  payloadSHA256: String(repeating: "ab", count: 32), purpose: purpose, details: [:], previous: LogEntry.zeroHash)
            }
        }
        // One line of exactly 4,096 bytes is a purpose.
        var options = SealOptions()
        options.log = AccessRecorder(log: fx.log, actor: sealer, purpose: String(repeating: "x", count: 4096))
        #expect(try fx.seal(folder, id: "purpose-z", options: options).manifest.accessLogGenesisSHA256 != nil)
    }

    @Test("a read-only or missing ledger, or a foreign history, stops opening before anything is decrypted")
    func failClosed() throws {
        let fx = try DossierFixture()
        let receipt = try fx.seal(try fx.folder("closed", ["a.txt": [1]]))
        #expect(throws: DossierError.self) { try AccessLog(path: fx.dir.path("missing.sqlite")) }

        // A ledger that cannot be written.
        let readonlyDir = fx.dir.path("ro")
        try FileManager.default.createDirectory(atPath: readonlyDir, withIntermediateDirectories: true)
        let readonly = try AccessLog(path: readonlyDir + "/ledger.sqlite", createIfMissing: true)
        try readonly.record(.registered, dossierID: "other", payloadSHA256: String(repeating: "0", count: 64),
                            actor: DossierSigner(key: fx.sealer, role: .sealer, name: "Anna"), purpose: "x")
        for name in ["ledger.sqlite", "ledger.sqlite-wal", "ledger.sqlite-shm"] where FileManager.default.fileExists(atPath: readonlyDir + "/" + name) {
            try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: readonlyDir + "/" + name)
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: readonlyDir)
        defer { try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: readonlyDir) }
        let isRoot = getuid() == 0
        if !isRoot {
            do {
                _ = try Dossier.open(receipt.path, with: [fx.recipient.identity], into: fx.dir.path("o1"), trusting: fx.trust,
                                     recordingTo: AccessRecorder(log: readonly, actor: DossierSigner(key: fx.sealer, role: .sealer, name: "Anna"), purpose: "p"))
                Issue.record("opened with a read-only ledger")
            } catch {
                #expect(error.kind == .accessLog)
            }
            #expect(!FileManager.default.fileExists(atPath: fx.dir.path("o1")))
        }

        // A ledger without this dossier's anchored history (root bypasses permissions, so this
        // case also stands for "cannot record").
        let empty = try AccessLog(path: fx.dir.path("empty.sqlite"), createIfMissing: true)
        do {
            _ = try Dossier.open(receipt.path, with: [fx.recipient.identity], into: fx.dir.path("o2"), trusting: fx.trust,
                                 recordingTo: AccessRecorder(log: empty, actor: DossierSigner(key: fx.sealer, role: .sealer, name: "Anna"), purpose: "p"))
            Issue.record("opened without a history")
        } catch {
            #expect(error.kind == .accessLog)
            #expect(error.hint?.contains("import") == true)
        }
        #expect(!FileManager.default.fileExists(atPath: fx.dir.path("o2")))
        #expect(try FileManager.default.contentsOfDirectory(atPath: fx.dir.url.path).allSatisfy { !$0.contains(".opening-") })
    }

    @Test("a history of the dossier that starts with another genesis than the anchored one is refused; the anchored one opens after many entries")
    func foreignGenesis() throws {
        let fx = try DossierFixture()
        let receipt = try fx.seal(try fx.folder("anchored", ["a.txt": [1]]))
        let actor = DossierSigner(key: fx.sealer, role: .sealer, name: "Anna")
        let digest = receipt.manifest.payloadBodySHA256
        // Another ledger with a history of the same id, started by a registration.
        let other = try AccessLog(path: fx.dir.path("other.sqlite"), createIfMissing: true)
        try other.record(.registered, dossierID: "anchored", payloadSHA256: digest, actor: actor, purpose: "intake elsewhere")
        for i in 0..<20 { try other.record(.verified, dossierID: "anchored", payloadSHA256: digest, actor: actor, purpose: "check \(i)") }
        do {
            _ = try Dossier.open(receipt.path, with: [fx.recipient.identity], into: fx.dir.path("o1"), trusting: fx.trust,
                                 recordingTo: AccessRecorder(log: other, actor: actor, purpose: "p"))
            Issue.record("opened with a foreign history")
        } catch {
            #expect(error.kind == .accessLog && error.reason.contains("does not start with the entry anchored in its manifest"), "\(error)")
        }
        #expect(!FileManager.default.fileExists(atPath: fx.dir.path("o1")))
        #expect(try other.history(of: "anchored").count == 21, "the refused opening was recorded")
        // The dossier's own ledger, with many entries after its genesis.
        for i in 0..<20 { try fx.log.record(.verified, dossierID: "anchored", payloadSHA256: digest, actor: actor, purpose: "check \(i)") }
        #expect(try fx.log.genesis(of: "anchored")?.hash == receipt.manifest.accessLogGenesisSHA256)
        #expect(try fx.log.genesis(of: "never-sealed") == nil)
        _ = try Dossier.open(receipt.path, with: [fx.recipient.identity], into: fx.dir.path("o2"), trusting: fx.trust,
                             recordingTo: AccessRecorder(log: fx.log, actor: actor, purpose: "p"))
        #expect(try fx.log.history(of: "anchored").last?.event == .opened)
    }

    @Test("a ledger file made read-only by its permissions refuses writes (checked as a non-root user via SQLite's read-only mode)")
    func readOnlyFile() throws {
        let fx = try DossierFixture()
        let receipt = try fx.seal(try fx.folder("ro", ["a.txt": [1]]))
        // SQLITE_OPEN_READONLY is what a read-only file gives an unprivileged process.
        var config = Configuration()
        config.readonly = true
        let pool = try DatabasePool(path: fx.dir.path("ledger.sqlite"), configuration: config)
        #expect(throws: (any Error).self) {
            try pool.write { try $0.execute(sql: "INSERT INTO checkpoints (size, note) VALUES (1, 'x')") }
        }
        _ = receipt
    }
}
