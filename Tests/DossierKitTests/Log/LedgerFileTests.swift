import Foundation
import GRDB
import GRDBSQLite
import Testing
@testable import DossierKit

/// A path given as the ledger that is not one (review of session 15): another
/// application's SQLite database got our tables added, a folder gave "disk I/O error".
@Suite("access log: a path that is not a ledger")
struct LedgerFileTests {
    @Test("another application's SQLite database is refused and left as it was, for reading and for writing")
    func otherDatabase() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path("other.sqlite")
        do {
            let queue = try DatabaseQueue(path: path)
            try queue.write { try $0.execute(sql: "CREATE TABLE x (a INTEGER); INSERT INTO x VALUES (1)") }
        }
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        for create in [false, true] {
            do {
                _ = try AccessLog(path: path, createIfMissing: create)
                Issue.record("opened as a ledger (create: \(create))")
            } catch {
                #expect(error.reason.contains("is not an access log") && error.reason.contains("other tables (x)"), "\(error.reason)")
            }
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        let tables = try DatabaseQueue(path: path).read { try String.fetchAll($0, sql: "SELECT name FROM sqlite_master WHERE type = 'table'") }
        #expect(tables == ["x"])
    }

    @Test("a file that is no database, and a folder, are named as what they are")
    func notADatabase() throws {
        let dir = try TemporaryDirectory()
        try Data(String(repeating: "not a database\n", count: 100).utf8).write(to: URL(fileURLWithPath: dir.path("garbage.sqlite")))
        do {
            _ = try AccessLog(path: dir.path("garbage.sqlite"))
            Issue.record("garbage was opened as a ledger")
        } catch {
            #expect(error.reason.contains("is not an access log (not an SQLite database)"), "\(error.reason)")
        }
        try FileManager.default.createDirectory(atPath: dir.path("folder"), withIntermediateDirectories: false)
        do {
            _ = try AccessLog(path: dir.path("folder"), createIfMissing: true)
            Issue.record("a folder was opened as a ledger")
        } catch {
            #expect(error.reason.contains("is a folder"), "\(error.reason)")
        }
        // An empty file (made by someone for the ledger) still becomes one.
        #expect(FileManager.default.createFile(atPath: dir.path("empty.sqlite"), contents: Data()))
        #expect(try AccessLog(path: dir.path("empty.sqlite")).verify(trusting: .empty).isIntact)
    }

    @Test("a checkpoint's origin is one word: a space is refused wherever it stands in its Character; an origin starting with a combining mark reads back as signed")
    func originIsOneWord() throws {
        let dir = try TemporaryDirectory()
        let log = try AccessLog(path: dir.path("l.sqlite"), createIfMissing: true)
        let key = try SigningKey.generate(name: "Office")
        // "a\u{600} b": the space is not the first scalar of its Character (U+0600 prepends).
        for origin in ["", "a b", "a \u{301}b", "a\u{A0}b", "a\u{600} b"] {
            #expect(throws: DossierError.self, "\(origin.unicodeScalars.map(\.value))") { try log.checkpoint(origin: origin, signedBy: key) }
        }
        #expect(try log.checkpoint(origin: "bureau.example", signedBy: key).origin == "bureau.example")
        // An origin that starts with a combining mark is one word and reads back as it was signed.
        let marked = try log.checkpoint(origin: "\u{301}bureau", signedBy: key)
        #expect(try Checkpoint(parsing: marked.note).origin.utf8.elementsEqual("\u{301}bureau".utf8))
    }

    @Test("the read-only look at an existing ledger tries again while SQLite cannot open it (another process closing it), and only then fails")
    func tableNamesRetry() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path("ledger.sqlite")
        try AccessLog(path: path, createIfMissing: true).close()
        // Two failed attempts, then the real one: the tables.
        let attempts = Counter()
        let names = try SQLiteLedger.tableNames(path) { path in
            attempts.increment()
            return attempts.value <= 2 ? .failed(SQLITE_CANTOPEN, "unable to open database file") : SQLiteLedger.tableNamesOnce(path)
        }
        #expect(names.contains("entries") && attempts.value == 3)
        // Never able to: the error, after the retries.
        let always = Counter()
        #expect(throws: DossierError.self) {
            _ = try SQLiteLedger.tableNames(path) { _ in always.increment(); return .failed(SQLITE_CANTOPEN, "unable to open database file") }
        }
        #expect(always.value > 50)
        // Not a database: no retry, its own message.
        let once = Counter()
        do {
            _ = try SQLiteLedger.tableNames(path) { _ in once.increment(); return .failed(SQLITE_NOTADB, "file is not a database") }
            Issue.record("no error")
        } catch {
            #expect(error.reason.contains("is not an access log") && once.value == 1, "\(error)")
        }
    }

    final class Counter: @unchecked Sendable {
        private(set) var value = 0
        func increment() { value += 1 }
    }
}
