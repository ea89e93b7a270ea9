import Foundation
import GRDB
import GRDBSQLite
import Synchronization

/// One stored row: its position in the ledger (its Merkle leaf index) and the raw
/// columns, parsed only when verified so that a damaged row can be named.
struct LedgerRecord: Sendable {
    let index: Int
    let dossierID: String
    let sequence: Int
    let statement: [UInt8]
    let signature: String
    /// The hash column as stored (compared with the statement's hash on verification).
    let storedHash: String

    /// The parsed entry, or the reason it cannot be parsed.
    var entry: Result<LogEntry, DossierError> {
        do { return .success(try LogEntry(statement: statement, signature: signature)) } catch { return .failure(error) }
    }

    init(index: Int, dossierID: String, sequence: Int, statement: [UInt8], signature: String, storedHash: String) {
        self.index = index
        self.dossierID = dossierID
        self.sequence = sequence
        self.statement = statement
        self.signature = signature
        self.storedHash = storedHash
    }

    init(index: Int, entry: LogEntry) {
        self.init(index: index, dossierID: entry.dossierID, sequence: entry.sequence, statement: entry.statement,
                  signature: entry.signature, storedHash: entry.hash)
    }
}

/// Where a ledger keeps its entries and checkpoints. SQLite (`SQLiteLedger`) is the
/// embedded default; a server database for many offices implements the same protocol.
/// Appends must be atomic and durable across processes.
protocol LedgerStore: AnyObject, Sendable {
    /// Atomically reads the dossier's last entry, lets `make` build the next one, and
    /// stores it durably. `make` throws to abort without writing. While another process
    /// writes the ledger it waits, until a stop is asked for (a signal, `cancellation`):
    /// then it throws `.interrupted` without writing.
    func append(dossierID: String, cancellation: DossierCancellation?, _ make: (LogEntry?) throws -> LogEntry) throws -> LedgerRecord
    /// Stores entries imported from an export, in order, after the dossier's current head;
    /// throws `LedgerConflict` when another writer stored one of them (or another entry at
    /// its place) first.
    func appendImported(_ entries: [LogEntry]) throws
    func records(dossierID: String?) throws -> [LedgerRecord]
    /// The dossier's first or last entry in ledger order (what `records(dossierID:)` would
    /// list first or last), reading one row.
    func edge(dossierID: String, last: Bool) throws -> LedgerRecord?
    func addCheckpoint(size: Int, note: String) throws
    func checkpoints() throws -> [String]
    /// Every row and every stored checkpoint note, read together (one snapshot: a checkpoint
    /// stored after the rows were read would cover rows not among them).
    /// (A checkpoints table that cannot be read fails only `checkpoints`.)
    func snapshot() throws -> (records: [LedgerRecord], checkpoints: Result<[String], any Error>)
    /// Closes the store; anything after fails.
    func close() throws
}

/// The SQLite ledger (through GRDB): WAL mode, synchronous=FULL (every commit reaches the
/// disk before it returns), immediate transactions and a busy timeout so that several
/// processes can append at once.
final class SQLiteLedger: LedgerStore, @unchecked Sendable {
    private let connections: any DatabaseWriter
    let path: String
    /// How long SQLite waits for a ledger another process is writing, and for whom.
    private let busyWait = LedgerBusyWait()
    /// Held while the ledger is open for writing: no other process removes it meanwhile.
    private let folderLock: LedgerFolderLock?
    /// Set by `close`: afterwards every use says so (SQLite itself answered a write with
    /// "SQLite error 21: out of memory").
    private let closed = Atomic<Bool>(false)

    /// The connections, or the error of a closed ledger.
    private var pool: any DatabaseWriter {
        get throws(DossierError) {
            guard !closed.load(ordering: .acquiring) else {
                throw DossierError(.accessLog, "the access log \(path) is closed", hint: "open it again (AccessLog(path:)) to use it")
            }
            return connections
        }
    }

    /// Refuses to open a ledger where the system gives this process no thread besides its
    /// own: GRDB's database queues are libdispatch queues, and libdispatch, freeing one (when
    /// the ledger is closed), waits for a worker thread until it gets one — for ever under
    /// such a limit (`ulimit -u 1`). A thread that starts and ends at once tells. (Until it
    /// has ended it still counts against the limit: a helper asked for right after may be
    /// refused, and does without.)
    private static func requireThread(_ path: String) throws(DossierError) {
        do throws(SystemThread.Refused) { try SystemThread.start(name: "dossier.ledger") {} } catch {
            throw DossierError(.accessLog, "cannot open the access log \(path): \(error)",
                               hint: "the access log needs a thread besides the main one; raise the limit, or end other processes of this user")
        }
    }

    /// Opens the ledger only for reading: no schema, no pragmas that write, and writes fail.
    /// Where SQLite cannot keep its shared-memory file beside the ledger (a read-only copy
    /// or medium), the file is read as immutable (`immutable`: straight away, for tests).
    init(readOnlyPath path: String, immutable: Bool = false) throws(DossierError) {
        self.path = path
        guard FileManager.default.fileExists(atPath: path) else {
            throw DossierError(.accessLog, "the access log \(path) does not exist", hint: "give the right path")
        }
        try Self.requireThread(path)
        // Readers take no folder lock: a reader cannot lose an entry, and the CLI reads a
        // ledger it made (to see that it is empty) while it holds the exclusive lock itself.
        folderLock = nil
        var config = Configuration()
        config.readonly = true
        config.busyMode = .callback { [busyWait] tries in busyWait.shouldTryAgain(tries) }
        func open(_ location: String) throws -> DatabaseQueue {
            let queue = try DatabaseQueue(path: location, configuration: config)
            _ = try queue.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM entries") }
            return queue
        }
        let uri = "file:" + (path.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? path) + "?immutable=1"
        // Immutable mode ignores the write-ahead log: only for a ledger whose entries are
        // all in the file itself (a copy taken while it was in use has some in -wal).
        func openImmutable() throws(DossierError) -> DatabaseQueue {
            let walSize = (try? FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int) ?? 0
            guard walSize == 0 else {
                throw DossierError(.accessLog, "cannot read the access log \(path) here: some of its entries are still in \(path)-wal, which SQLite can only read with write access beside it",
                                   hint: "copy the ledger together with its -wal file into a folder you can write, and read that copy")
            }
            do { return try open(uri) } catch {
                throw DossierError(.accessLog, "cannot read the access log \(path): \(error)", hint: "is it an access log (a dossier ledger)?")
            }
        }
        if immutable {
            connections = try openImmutable()
        } else {
            do { connections = try open(path) } catch { connections = try openImmutable() }
        }
    }

    init(path: String, create: Bool) throws(DossierError) {
        self.path = path
        // First, before the ledger is looked at or SQLite opens (or makes) it: a command
        // that made it and failed removes it only while nobody holds this (and a ledger
        // found here stays until it is closed).
        folderLock = LedgerFolderLock.shared(for: path)
        var isFolder: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isFolder)
        if !create && !exists {
            throw DossierError(.accessLog, "the access log \(path) does not exist",
                               hint: "give the right path; a new ledger is made by sealing with a log, by log --record registered or by log --import")
        }
        if exists && isFolder.boolValue {
            throw DossierError(.accessLog, "the access log \(path) is a folder", hint: "give the ledger file (e.g. \(path)/access-log.sqlite)")
        }
        if !exists {
            // A new ledger: its folder must be there (SQLite said only "unable to open database file").
            let folder = FileSystem.parent(of: path)
            var folderIsFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder, isDirectory: &folderIsFolder), folderIsFolder.boolValue else {
                throw DossierError(.accessLog, "cannot create the access log \(path): the folder \(folder) does not exist",
                                   hint: "create the folder first, or give another path")
            }
        }
        try Self.requireThread(path)
        var config = Configuration()
        config.busyMode = .callback { [busyWait] tries in busyWait.shouldTryAgain(tries) }
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        do {
            // Another application's database given by mistake is not made into a ledger (nor
            // switched to WAL, which the pool would do): looked at read-only first.
            if exists, ((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0) > 0 {
                let tables = try Self.tableNames(path)
                guard tables.isEmpty || tables.contains("entries") else {
                    throw DossierError(.accessLog, "\(path) is not an access log: it is an SQLite database with other tables (\(tables.prefix(5).joined(separator: ", ")))",
                                       hint: "give the ledger file")
                }
            }
            connections = try Self.pool(path, config)
            try connections.write { db in
                try db.execute(sql: """
                    CREATE TABLE IF NOT EXISTS entries (
                        idx INTEGER PRIMARY KEY,
                        dossier_id TEXT NOT NULL,
                        sequence INTEGER NOT NULL,
                        hash TEXT NOT NULL,
                        statement BLOB NOT NULL,
                        signature TEXT NOT NULL,
                        UNIQUE (dossier_id, sequence));
                    CREATE INDEX IF NOT EXISTS entries_dossier ON entries (dossier_id, sequence);
                    CREATE TABLE IF NOT EXISTS checkpoints (size INTEGER NOT NULL, note TEXT NOT NULL, PRIMARY KEY (size, note));
                    """)
                try Self.migrateCheckpoints(db)
            }
        } catch let error as DossierError {
            throw error
        } catch let error as DatabaseError where error.resultCode == .SQLITE_NOTADB {
            throw DossierError(.accessLog, "\(path) is not an access log (not an SQLite database)", hint: "give the ledger file")
        } catch {
            throw DossierError(.accessLog, "cannot open the access log \(path): \(error)", hint: "the log must be writable")
        }
    }

    /// The connections to the ledger at `path`. Two processes making a new ledger at the
    /// same moment (the first seal of the day from two shells) both switch it to WAL; SQLite
    /// answers one of them "database is locked" at once, without its busy wait (5 in 50
    /// racing pairs): tried again, for up to ~2 s, unless a stop is asked for.
    private static func pool(_ path: String, _ config: Configuration) throws -> DatabasePool {
        var attempts = 0
        while true {
            do {
                return try DatabasePool(path: path, configuration: config)
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY && attempts < 200 && Interruption.pending == nil {
                attempts += 1
                usleep(10_000)
            }
        }
    }

    /// The tables of the SQLite database at `path`, read through SQLite's C API on this
    /// thread: a GRDB queue would be a libdispatch queue, whose release asks for a worker
    /// thread — one an opening under a tight thread limit needs for its extraction.
    ///
    /// A read-only connection to a WAL database can fail with SQLITE_CANTOPEN while another
    /// process closes its last connection (and removes the -wal and -shm files): seen in
    /// parallel seals sharing one ledger (2 in 300). That is tried again, for up to ~1 s.
    static func tableNames(_ path: String, attempt: (String) -> TableNamesAttempt = tableNamesOnce) throws(DossierError) -> [String] {
        var outcome = attempt(path)
        for _ in 0..<100 {
            guard case .failed(SQLITE_CANTOPEN, _) = outcome else { break }
            usleep(10_000)
            outcome = attempt(path)
        }
        switch outcome {
        case .names(let names): return names
        case .failed(SQLITE_NOTADB, _):
            throw DossierError(.accessLog, "\(path) is not an access log (not an SQLite database)", hint: "give the ledger file")
        case .failed(SQLITE_READONLY, let message):
            // Only a writable ledger is probed (this is the way to one that is written to):
            // a WAL ledger cannot even be read without writing beside it.
            throw DossierError(.accessLog, "the access log \(path) cannot be written here (\(message)): it, its -wal/-shm files or its folder are read-only to you",
                               hint: "what is logged (an opening, a seal, a record) is written first: give a ledger you can write")
        case .failed(_, let message):
            throw DossierError(.accessLog, "cannot read the access log \(path): \(message)", hint: "the log must be readable")
        }
    }

    enum TableNamesAttempt {
        case names([String])
        /// SQLite's primary result code and message.
        case failed(Int32, String)
    }

    static func tableNamesOnce(_ path: String) -> TableNamesAttempt {
        var connection: OpaquePointer?
        defer { sqlite3_close(connection) }
        var status = sqlite3_open_v2(path, &connection, SQLITE_OPEN_READONLY, nil)
        guard status == SQLITE_OK, let connection else { return .failed(status & 0xff, String(cString: sqlite3_errstr(status))) }
        sqlite3_busy_timeout(connection, 120_000)  // another process may be closing it (merging its WAL)
        var statement: OpaquePointer?
        defer { sqlite3_finalize(statement) }
        status = sqlite3_prepare_v2(connection, "SELECT name FROM sqlite_master WHERE type = 'table'", -1, &statement, nil)
        var names: [String] = []
        while status == SQLITE_OK || status == SQLITE_ROW {
            status = sqlite3_step(statement)
            if status == SQLITE_ROW, let text = sqlite3_column_text(statement, 0) { names.append(String(cString: text)) }
        }
        guard status == SQLITE_DONE else { return .failed(status & 0xff, String(cString: sqlite3_errmsg(connection))) }
        return .names(names)
    }

    /// Ledgers made before 2026-11-27 keyed checkpoints by size alone, so a second
    /// checkpoint of the same size (another ledger key, another origin) replaced the first.
    /// Their table is rebuilt with the same rows, keyed by size and note.
    private static func migrateCheckpoints(_ db: Database) throws {
        let primaryKey = try Row.fetchAll(db, sql: "PRAGMA table_info(checkpoints)").filter { ($0["pk"] as Int? ?? 0) > 0 }.map { $0["name"] as String }
        guard primaryKey == ["size"] else { return }
        try db.execute(sql: """
            CREATE TABLE checkpoints_by_note (size INTEGER NOT NULL, note TEXT NOT NULL, PRIMARY KEY (size, note));
            INSERT INTO checkpoints_by_note (size, note) SELECT size, note FROM checkpoints;
            DROP TABLE checkpoints;
            ALTER TABLE checkpoints_by_note RENAME TO checkpoints;
            """)
    }

    private static func row(_ row: Row) -> LedgerRecord {
        let statement: Data = row["statement"]
        return LedgerRecord(index: row["idx"], dossierID: row["dossier_id"], sequence: row["sequence"],
                            statement: Array(statement), signature: row["signature"], storedHash: row["hash"])
    }

    func append(dossierID: String, cancellation: DossierCancellation?, _ make: (LogEntry?) throws -> LogEntry) throws -> LedgerRecord {
        try pool.writeWithoutTransaction { db in
            var record: LedgerRecord?
            // The wait for the lock (BEGIN IMMEDIATE) is this append's: a stop it asks for ends it.
            do {
                try busyWait.waiting(for: cancellation) {
                    try db.inTransaction(.immediate) {
                        let head = try Row.fetchOne(db, sql: "SELECT * FROM entries WHERE dossier_id = ? ORDER BY sequence DESC LIMIT 1",
                                                    arguments: [dossierID])
                        let entry = try make(try head.map { try Self.row($0).entry.get() })
                        let next = (try Int.fetchOne(db, sql: "SELECT MAX(idx) FROM entries") ?? -1) + 1
                        try db.execute(sql: "INSERT INTO entries (idx, dossier_id, sequence, hash, statement, signature) VALUES (?, ?, ?, ?, ?, ?)",
                                       arguments: [next, entry.dossierID, entry.sequence, entry.hash, Data(entry.statement), entry.signature])
                        record = LedgerRecord(index: next, entry: entry)
                        return .commit
                    }
                }
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {
                try Interruption.check(cancellation)
                throw error
            }
            return record!
        }
    }

    func appendImported(_ entries: [LogEntry]) throws {
        do { try appendImportedOnce(entries) } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
            throw LedgerConflict()
        }
    }

    private func appendImportedOnce(_ entries: [LogEntry]) throws {
        try pool.writeWithoutTransaction { db in
            try db.inTransaction(.immediate) {
                var next = (try Int.fetchOne(db, sql: "SELECT MAX(idx) FROM entries") ?? -1) + 1
                for entry in entries {
                    try db.execute(sql: "INSERT INTO entries (idx, dossier_id, sequence, hash, statement, signature) VALUES (?, ?, ?, ?, ?, ?)",
                                   arguments: [next, entry.dossierID, entry.sequence, entry.hash, Data(entry.statement), entry.signature])
                    next += 1
                }
                return .commit
            }
        }
    }

    func records(dossierID: String?) throws -> [LedgerRecord] {
        try pool.read { db in
            let rows = if let dossierID {
                try Row.fetchAll(db, sql: "SELECT * FROM entries WHERE dossier_id = ? ORDER BY idx", arguments: [dossierID])
            } else {
                try Row.fetchAll(db, sql: "SELECT * FROM entries ORDER BY idx")
            }
            return rows.map(Self.row)
        }
    }

    func edge(dossierID: String, last: Bool) throws -> LedgerRecord? {
        try pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM entries WHERE dossier_id = ? ORDER BY idx \(last ? "DESC" : "ASC") LIMIT 1",
                             arguments: [dossierID]).map(Self.row)
        }
    }

    func addCheckpoint(size: Int, note: String) throws {
        try pool.write { db in
            // The same note again is kept once; another note of the same size is kept beside it.
            try db.execute(sql: "INSERT OR IGNORE INTO checkpoints (size, note) VALUES (?, ?)", arguments: [size, note])
        }
    }

    func checkpoints() throws -> [String] {
        try pool.read { db in try String.fetchAll(db, sql: "SELECT note FROM checkpoints ORDER BY size, rowid") }
    }

    func snapshot() throws -> (records: [LedgerRecord], checkpoints: Result<[String], any Error>) {
        try pool.read { db in
            (try Row.fetchAll(db, sql: "SELECT * FROM entries ORDER BY idx").map(Self.row),
             Result { try String.fetchAll(db, sql: "SELECT note FROM checkpoints ORDER BY size, rowid") })
        }
    }

    func close() throws {
        guard !closed.load(ordering: .acquiring) else { return }
        try connections.close()
        closed.store(true, ordering: .releasing)
        folderLock?.release()
    }
}

/// An entry to be stored collides with one another writer stored first (same dossier and
/// sequence): the caller reads the history again.
struct LedgerConflict: Error {}

/// SQLite's wait for a ledger that another process is writing (its busy handler): up to
/// 120 s, as before, but a stop asked for — a signal the CLI caught, or the cancellation of
/// the operation whose entry waits — ends it at once (a cancelled seal waited out the
/// whole lock, then recorded its entry and finished). SQLite then answers SQLITE_BUSY and
/// the append, seeing the stop, throws `.interrupted`. Only one write runs at a time on a
/// ledger's connections, so the cancellation in force is that write's. The ledger's reading
/// connections share the handler (a read is rarely busy in WAL mode: while another
/// process's last connection closes); such a wait also ends on that write's cancellation.
final class LedgerBusyWait: Sendable {
    static let limit: Duration = .seconds(120)

    private struct State {
        var cancellation: DossierCancellation?
        var since: ContinuousClock.Instant?
    }
    private let state = Mutex(State())

    /// Runs `body` (one write) with `cancellation` in force for its waits.
    func waiting<T>(for cancellation: DossierCancellation?, _ body: () throws -> T) rethrows -> T {
        state.withLock { $0 = State(cancellation: cancellation) }
        defer { state.withLock { $0 = State() } }
        return try body()
    }

    /// Whether SQLite should try again (after a pause of 1–20 ms): the `tries`th call of one wait.
    func shouldTryAgain(_ tries: Int) -> Bool {
        let now = ContinuousClock.now
        let (cancellation, since) = state.withLock { state in
            if tries == 0 || state.since == nil { state.since = now }
            return (state.cancellation, state.since ?? now)
        }
        if Interruption.pending != nil || cancellation?.isCancelled == true { return false }
        guard now - since < Self.limit else { return false }
        usleep(UInt32(min(tries + 1, 20)) * 1_000)
        return true
    }
}
