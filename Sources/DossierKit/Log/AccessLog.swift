import Foundation

/// The access log: signed, hash-chained entries per dossier in a ledger, with signed
/// checkpoints over the whole ledger and self-verifying exports.
///
/// "Every transfer registered, every loan on record": sealing anchors the genesis entry in
/// the dossier's manifest; opening writes its entry (durably) before it decrypts anything.
public final class AccessLog: Sendable {
    let store: any LedgerStore
    /// The ledger file.
    public let path: String
    /// Opened with `readOnly`: every write is refused before it reaches SQLite.
    public let isReadOnly: Bool

    /// Opens the SQLite ledger at `path`. With `createIfMissing: false` a missing ledger
    /// is an error (opening a dossier must not start a fresh, empty history by accident).
    public init(path: String, createIfMissing: Bool = false) throws(DossierError) {
        self.path = path
        isReadOnly = false
        store = try SQLiteLedger(path: path, create: createIfMissing)
    }

    private func requireWritable() throws(DossierError) {
        guard !isReadOnly else {
            throw DossierError(.accessLog, "the access log \(path) is open read-only", hint: "open it for writing to record entries")
        }
    }

    /// Opens the existing ledger at `path`; a missing ledger is an error either way.
    ///
    /// With `readOnly: true` it is opened for reading only: the history can be shown and
    /// verified, nothing is written (also not SQLite's own files where it cannot: a
    /// read-only copy or medium is read as it is), and recording (also an export's
    /// `exported` entry), checkpointing and importing throw `.accessLog`. With
    /// `readOnly: false` it is opened for writing, as `init(path:)` (with
    /// `createIfMissing: false`) does.
    public convenience init(path: String, readOnly: Bool) throws(DossierError) {
        try self.init(path: path, readOnly: readOnly, immutableForTesting: false)
    }

    init(path: String, readOnly: Bool, immutableForTesting: Bool) throws(DossierError) {
        self.path = path
        isReadOnly = readOnly
        store = readOnly ? try SQLiteLedger(readOnlyPath: path, immutable: immutableForTesting) : try SQLiteLedger(path: path, create: false)
    }

    /// Closes the ledger's connections. Anything afterwards throws. Closing happens anyway
    /// when the log is released; call this before removing or moving the ledger's files,
    /// so that no connection of ours writes to them (or to files made at that path) later.
    public func close() throws(DossierError) {
        do { try store.close() } catch { throw DossierError(.accessLog, "cannot close the access log \(path): \(error)") }
    }

    // MARK: - Writing

    /// Appends an entry for `dossierID`, chained to its last entry, signed by `actor`.
    /// The entry is committed to disk before this returns. This checks no anchor: for a
    /// dossier at hand use `AccessRecorder.record(_:for:)`, which first checks that this
    /// ledger's history is the one the dossier's manifest anchors.
    @discardableResult
    public func record(_ event: LogEvent, dossierID: String, payloadSHA256: String, actor: DossierSigner,
                       purpose: String, details: [String: String] = [:], at date: Date = Date()) throws(DossierError) -> LogEntry {
        try record(event, dossierID: dossierID, payloadSHA256: payloadSHA256, actor: actor, purpose: purpose, details: details, at: date,
                   moreDetails: nil)
    }

    /// `record`, with `moreDetails` computed from the head inside the append's transaction
    /// (what the entry says about the chain before it stays true under concurrent appends).
    func record(_ event: LogEvent, dossierID: String, payloadSHA256: String, actor: DossierSigner,
                purpose: String, details: [String: String], at date: Date = Date(),
                moreDetails: ((LogEntry) -> [String: String])?, cancellation: DossierCancellation? = nil) throws(DossierError) -> LogEntry {
        try LogEntry.checkPurpose(purpose)
        // A statement must stay under 64 KiB (LogEntry); the details get 32 KiB of it.
        guard details.reduce(0, { $0 + $1.key.utf8.count + $1.value.utf8.count }) <= 32 * 1024 else {
            throw DossierError(.invalidArgument, "the details of a log entry may hold at most 32 KiB")
        }
        try requireWritable()
        let time = Timestamp.format(Int64(date.timeIntervalSince1970))
        do {
            return try store.append(dossierID: dossierID, cancellation: cancellation) { head in
                if let head {
                    guard event != .sealed && event != .registered else {
                        throw DossierError(.accessLog, "dossier \(dossierID) already has a log; \(event.rawValue) can only start one")
                    }
                    let all = details.merging(moreDetails?(head) ?? [:]) { $1 }
                    return try LogEntry.make(dossierID: dossierID, sequence: head.sequence + 1, event: event, at: time, actor: actor,
                                             payloadSHA256: payloadSHA256, purpose: purpose, details: all, previous: head.hash)
                }
                guard event == .sealed || event == .registered else {
                    throw DossierError(.accessLog, "the log has no history for dossier \(dossierID)",
                                       hint: "import the dossier's exported log first, or register the dossier")
                }
                return try LogEntry.make(dossierID: dossierID, sequence: 1, event: event, at: time, actor: actor,
                                         payloadSHA256: payloadSHA256, purpose: purpose, details: details, previous: LogEntry.zeroHash)
            }.entry.get()
        } catch let error as DossierError {
            throw error
        } catch {
            throw DossierError(.accessLog, "cannot write to the access log \(path): \(error)", hint: "the log must exist and be writable")
        }
    }

    /// Stores a genesis entry prepared before sealing (its hash is in the manifest).
    func appendGenesis(_ entry: LogEntry, cancellation: DossierCancellation? = nil) throws(DossierError) {
        try requireWritable()
        do {
            _ = try store.append(dossierID: entry.dossierID, cancellation: cancellation) { head in
                guard head == nil else {
                    throw DossierError(.accessLog, "dossier \(entry.dossierID) already has a log in \(self.path)", hint: "choose another dossier id")
                }
                return entry
            }
        } catch let error as DossierError {
            throw error
        } catch {
            throw DossierError(.accessLog, "cannot write to the access log \(path): \(error)", hint: "the log must be writable")
        }
    }

    // MARK: - Reading

    /// The entries of one dossier, oldest first.
    public func history(of dossierID: String) throws(DossierError) -> [LogEntry] {
        do { return try store.records(dossierID: dossierID).map { try $0.entry.get() } } catch let error as DossierError {
            throw error
        } catch {
            throw DossierError(.accessLog, "cannot read the access log: \(error)")
        }
    }

    /// The first entry of a dossier's history (its genesis, in a ledger that verifies), if
    /// any: one row read, however long the history.
    func genesis(of dossierID: String) throws(DossierError) -> LogEntry? { try edge(of: dossierID, last: false) }

    /// The last entry of a dossier's history, if any: one row read.
    func head(of dossierID: String) throws(DossierError) -> LogEntry? { try edge(of: dossierID, last: true) }

    private func edge(of dossierID: String, last: Bool) throws(DossierError) -> LogEntry? {
        do { return try store.edge(dossierID: dossierID, last: last).map { try $0.entry.get() } } catch let error as DossierError {
            throw error
        } catch {
            throw DossierError(.accessLog, "cannot read the access log: \(error)")
        }
    }

    // MARK: - Checkpoints

    /// Signs a checkpoint of the whole ledger as it is now and stores it — only if the ledger
    /// verifies (every row, chain and signature, and every stored checkpoint: a ledger cut
    /// or rewritten below one is not vouched for). Who signs vouches for what the ledger
    /// holds, so this reads and checks all of it.
    /// The stored checkpoints that bind it are those of `key` itself and of any key `trust`
    /// holds in the role ledger (e.g. a ledger key that was replaced); notes by other keys
    /// are no evidence (anyone can store one) and do not stop it.
    @discardableResult
    public func checkpoint(origin: String, signedBy key: SigningKey, trusting trust: TrustStore = .empty) throws(DossierError) -> Checkpoint {
        try requireWritable()
        let records: [LedgerRecord], notes: Result<[String], DossierError>
        do { (records, notes) = Self.split(try store.snapshot()) } catch { throw DossierError(.accessLog, "cannot read the access log: \(error)") }
        // The very entries signed for (an entry appended meanwhile waits for the next one).
        // The signer's own earlier checkpoints and those of trusted ledger keys bind it (a
        // ledger cut below one is refused); notes by other keys are no evidence here.
        let binding = TrustStore([.init(name: key.name ?? "", roles: [.ledger], publicKey: key.publicKey)]
                                 + trust.entries.filter { $0.roles.contains(.ledger) && $0.publicKey.keyID != key.publicKey.keyID })
        let check = verify(records, storedNotes: notes, dossierID: nil, trusting: binding, anchor: nil, checkpoints: [])
        guard check.isIntact else {
            throw DossierError(.accessLog, "the access log \(path) does not verify, so no checkpoint is signed: \(check.problems.prefix(3).joined(separator: "; "))",
                               hint: "find out what happened to the ledger (dossier log --verify) before signing for it")
        }
        let rows = Self.headRows(records)
        let leaves = rows.map { MerkleTree.leafHash($0.hash) }
        let checkpoint = try Checkpoint.sign(origin: origin, size: leaves.count, root: MerkleTree.root(leaves[...]),
                                             heads: LedgerHeads(rows).commitment, key: key)
        do { try store.addCheckpoint(size: checkpoint.size, note: checkpoint.note) } catch {
            throw DossierError(.accessLog, "cannot store the checkpoint: \(error)")
        }
        return checkpoint
    }

    /// Each ledger row as the heads see it: its dossier id and sequence (the index columns,
    /// which verification holds to the signed statement) and its entry hash.
    static func headRows(_ records: [LedgerRecord]) -> [LedgerHeads.Head] {
        records.map { .init(dossierID: $0.dossierID, sequence: $0.sequence, hash: SHA256.hash($0.statement)) }
    }

    /// The checkpoints stored in this ledger, oldest first (a stored note that does not parse
    /// is left out; `verify` lists it among the unused checkpoints).
    public func checkpoints() throws(DossierError) -> [Checkpoint] {
        try storedCheckpoints().checkpoints
    }

    // MARK: - Verification

    /// Verifies the whole ledger (or one dossier's chain within it): every row's hash,
    /// every chain, every signature, and every checkpoint (the stored ones plus `extra`,
    /// e.g. a later checkpoint handed to the inspector) against the entries.
    public func verify(dossierID: String? = nil, trusting trust: TrustStore, anchor: String? = nil,
                       checkpoints extra: [Checkpoint] = []) -> LogReport {
        // Rows and checkpoints from one snapshot: read apart, a checkpoint another process
        // signed in between covered more rows than were read — "the log was cut" on an
        // intact ledger (review of session 20).
        let all: [LedgerRecord], notes: Result<[String], DossierError>
        do {
            (all, notes) = Self.split(try store.snapshot())
        } catch {
            var report = LogReport(dossierID: dossierID)
            report.problems.append("cannot read the ledger: \(error)")
            return report
        }
        return verify(all, storedNotes: notes, dossierID: dossierID, trusting: trust, anchor: anchor, checkpoints: extra)
    }

    /// `verify` over the ledger's rows as read (`all`, in position order) and the checkpoint
    /// notes stored with them (`storedNotes`, read in the same snapshot).
    private func verify(_ all: [LedgerRecord], storedNotes: Result<[String], DossierError>, dossierID: String?, trusting trust: TrustStore,
                        anchor: String?, checkpoints extra: [Checkpoint]) -> LogReport {
        var report = LogReport(dossierID: dossierID)
        // Positions: leaf indexes must be 0, 1, 2, … (a deleted row leaves a gap).
        for (position, record) in all.enumerated() where record.index != position {
            report.problems.append("ledger position \(position) holds index \(record.index): an entry was deleted or inserted")
            break
        }
        // Chains are formed by what the signed statements say; the dossier_id and sequence
        // columns are only an index, and a row re-filed there (to hide it from a query by
        // dossier) is a problem of its own.
        // Each statement is parsed once, here, and the chains are checked on the parsed entries.
        var byDossier: [String: [ChainRow]] = [:]
        // Each statement is hashed once: for its stored hash here, and for the checkpoints below.
        let rows = Self.headRows(all)
        for (record, row) in zip(all, rows) {
            if record.storedHash != Hex.encode(row.hash) {
                report.problems.append("ledger entry \(record.index) (\(record.dossierID) #\(record.sequence)) was edited: its stored hash does not match its content")
            }
            var owner = record.dossierID
            let parsed = record.entry
            if case .success(let signed) = parsed {
                owner = signed.dossierID
                if !FileSystem.same(signed.dossierID, record.dossierID) || signed.sequence != record.sequence {
                    report.problems.append("ledger entry \(record.index) is filed as \(record.dossierID) #\(record.sequence) but its signed statement is \(signed.dossierID) #\(signed.sequence): the ledger's rows were re-filed")
                }
            }
            byDossier[owner, default: []].append(ChainRow(index: record.index, entry: parsed))
        }
        let dossiers = dossierID.map { [$0] } ?? byDossier.keys.sorted()
        for id in dossiers {
            let rows = byDossier[id] ?? []
            if rows.isEmpty { report.problems.append("the ledger has no entries for dossier \(id)") }
            Self.verifyChain(rows, dossierID: id, trust: trust, anchor: dossierID == nil ? nil : anchor, into: &report)
        }
        // Checkpoints: the entries they cover must still hash to their roots.
        let leaves = rows.map { MerkleTree.leafHash($0.hash) }
        var notes: [Checkpoint] = []
        do {
            let stored = Self.parsedCheckpoints(try storedNotes.get())
            notes = stored.checkpoints
            report.unusedCheckpoints += stored.unparsed
        } catch { report.problems.append("\(error.reason)") }
        // The same note stored and handed in again is checked (and counted) once.
        var seenNotes = Set<String>()
        var covered = 0
        for checkpoint in notes + extra where seenNotes.insert(checkpoint.note).inserted {
            if Self.verifyCheckpoint(checkpoint, leaves: leaves, rows: rows, trust: trust, into: &report) { covered = max(covered, checkpoint.size) }
        }
        report.entriesAfterCheckpoint = all.count - covered
        return report
    }

    /// Why `checkpoint` is no evidence under `trust` — its signer unknown or not trusted in
    /// the role ledger, or its signature not verifying with the trusted key of that id — or
    /// nil when it is evidence.
    static func notEvidence(_ checkpoint: Checkpoint, trust: TrustStore) -> String? {
        guard let key = trust.entry(forKeyID: checkpoint.signerKeyID) else { return "that key is not in the trust store" }
        if !checkpoint.isSigned(by: key.publicKey) { return "its signature does not verify with the trusted key of that id" }
        if !key.roles.contains(.ledger) { return "that key is not trusted in the role ledger" }
        return nil
    }

    /// Checks one checkpoint against the ledger's leaves. Only a checkpoint signed by a key
    /// trusted in the role ledger is evidence: it counts as verified, and a log cut or
    /// rewritten below it is a problem. Any other is unauthenticated (anyone can write one,
    /// and one handed in or stored must not make a genuine log fail): it is listed in
    /// `unusedCheckpoints`, with what it would say about the log, and changes no verdict.
    /// Returns whether it counted as verified.
    /// `rows` (the ledger's rows as `headRows` gives them) check the checkpoint's heads line.
    @discardableResult
    static func verifyCheckpoint(_ checkpoint: Checkpoint, leaves: [[UInt8]], rows: [LedgerHeads.Head] = [],
                                 trust: TrustStore, into report: inout LogReport) -> Bool {
        let finding: String?
        if checkpoint.size > leaves.count {
            finding = "the log was cut: checkpoint covers \(checkpoint.size) entries, the ledger has \(leaves.count)"
        } else if Hex.encode(MerkleTree.root(leaves[0..<checkpoint.size])) != checkpoint.root {
            finding = "entries covered by the checkpoint of size \(checkpoint.size) were rewritten, removed or reordered"
        } else if let heads = checkpoint.heads, rows.count >= checkpoint.size,
                  case let mine = LedgerHeads(rows[0..<checkpoint.size]).commitment, mine.count != heads.count || Hex.encode(mine.root) != heads.root {
            finding = "the checkpoint of size \(checkpoint.size) names other newest entries per dossier than the ledger's first \(checkpoint.size) entries are"
        } else {
            finding = nil
        }
        if let unused = notEvidence(checkpoint, trust: trust) {
            report.unusedCheckpoints.append("checkpoint of size \(checkpoint.size) by \(checkpoint.signerKeyID) was not used: \(unused)"
                                            + (finding.map { "; it would say: \($0)" } ?? ""))
            return false
        }
        if let finding {
            report.problems.append(finding)
            return false
        }
        report.checkpointsVerified += 1
        return true
    }

    /// The checkpoints stored in this ledger that parse, oldest first; a stored note that
    /// does not parse is listed in `unparsed` (it is no evidence and must not hide the others).
    func storedCheckpoints() throws(DossierError) -> (checkpoints: [Checkpoint], unparsed: [String]) {
        let notes: [String]
        do { notes = try store.checkpoints() } catch { throw Self.unreadableCheckpoints(error) }
        return Self.parsedCheckpoints(notes)
    }

    /// A snapshot's rows, and its notes or why they could not be read.
    private static func split(_ snapshot: (records: [LedgerRecord], checkpoints: Result<[String], any Error>))
        -> ([LedgerRecord], Result<[String], DossierError>) {
        (snapshot.records, snapshot.checkpoints.mapError(unreadableCheckpoints))
    }

    private static func unreadableCheckpoints(_ error: any Error) -> DossierError {
        DossierError(.accessLog, "cannot read checkpoints: \(error)")
    }

    /// `notes` parsed; those that do not parse are listed in `unparsed`.
    static func parsedCheckpoints(_ notes: [String]) -> (checkpoints: [Checkpoint], unparsed: [String]) {
        var parsed: [Checkpoint] = [], unparsed: [String] = []
        for note in notes {
            do { parsed.append(try Checkpoint(parsing: note)) } catch { unparsed.append("a stored checkpoint was not used: \(error.reason)") }
        }
        return (parsed, unparsed)
    }

    /// One entry of a chain as read: its position and its parsed statement (or why it does not parse).
    struct ChainRow {
        let index: Int
        let entry: Result<LogEntry, DossierError>

        init(index: Int, entry: Result<LogEntry, DossierError>) {
            self.index = index
            self.entry = entry
        }

        init(index: Int, statement: [UInt8], signature: String) {
            self.index = index
            do throws(DossierError) { entry = .success(try LogEntry(statement: statement, signature: signature)) } catch { entry = .failure(error) }
        }
    }

    /// Checks one dossier's chain: canonical entries, sequence 1…n, previous hashes,
    /// signatures, genesis, anchor, and actor trust. Problems name the entry.
    static func verifyChain(_ rows: [ChainRow], dossierID: String, trust: TrustStore,
                            anchor: String?, into report: inout LogReport) {
        var previousHash = LogEntry.zeroHash
        var expected = 1
        for row in rows {
            let entry: LogEntry
            switch row.entry {
            case .success(let parsed): entry = parsed
            case .failure(let error):
                report.problems.append("entry at position \(row.index) of dossier \(dossierID) is damaged: \(error.reason)")
                expected += 1
                continue
            }
            report.entries.append(entry)
            let label = "entry #\(entry.sequence) (\(entry.event.rawValue), \(entry.at))"
            if !FileSystem.same(entry.dossierID, dossierID) { report.problems.append("\(label) belongs to dossier \(entry.dossierID)") }
            if entry.sequence > expected {
                report.problems.append(expected == entry.sequence - 1 ? "entry #\(expected) is missing (deleted)" : "entries #\(expected)…#\(entry.sequence - 1) are missing (deleted)")
            } else if entry.sequence < expected {
                report.problems.append("\(label) is out of place: entries were reordered or an entry was inserted")
            }
            if entry.previous != previousHash {
                report.problems.append("\(label) does not follow the entry before it: the chain is broken (edited, removed, inserted or reordered entries)")
            }
            if !entry.isSignatureValid { report.problems.append("\(label) has an invalid signature (edited after signing)") }
            if entry.sequence == 1 {
                if entry.event != .sealed && entry.event != .registered { report.problems.append("\(label) starts the log but is not a sealed or registered entry") }
                if entry.previous != LogEntry.zeroHash { report.problems.append("\(label) starts the log but names a previous entry") }
                if let anchor, entry.hash != anchor { report.problems.append("\(label) is not the genesis entry anchored in the dossier's manifest") }
            } else if entry.event == .sealed || entry.event == .registered {
                report.problems.append("\(label) restarts the log in the middle")
            }
            if let trusted = trust.entry(forKeyID: entry.actorKeyID) {
                if trusted.publicKey != entry.actorPublicKey { report.problems.append("\(label) names key \(entry.actorKeyID) with a different public key than the trusted one") }
                if !trusted.roles.contains(entry.actorRole) {
                    report.untrusted.append("\(label): key \(entry.actorKeyID) (\(trusted.name)) is not trusted in the role \(entry.actorRole)")
                }
            } else if !report.untrusted.contains(where: { $0.contains(entry.actorKeyID) }) {
                report.untrusted.append("actor \(entry.actorKeyID) (\"\(entry.actorName)\") is not in the trust store")
            }
            previousHash = entry.hash
            expected = max(expected, entry.sequence) + 1
        }
        if anchor != nil && rows.isEmpty { report.problems.append("the log has no entries for the dossier") }
    }

    // MARK: - Export and import

    /// Exports one dossier's log as JSON Lines that verify on their own (docs/FORMAT.md §8.5):
    /// a header, then every entry with its inclusion proof in the latest checkpoint that
    /// covers it. An export ends with a signed `exported` entry (that is how a verifier
    /// knows nothing was cut from its end): with `actor`, one is recorded first; without,
    /// the dossier's newest entry must already be one — e.g. to export again once a later
    /// checkpoint covers it — else `.invalidArgument`, and nothing is recorded.
    public func export(dossierID: String, actor: DossierSigner? = nil, purpose: String = "export") throws(DossierError) -> String {
        try export(dossierID: dossierID, actor: actor, purpose: purpose, afterRecordingForTesting: nil)
    }

    /// `export`; `afterRecordingForTesting` runs between the exported entry and reading the rows.
    func export(dossierID: String, actor: DossierSigner?, purpose: String,
                afterRecordingForTesting: (() throws -> Void)?) throws(DossierError) -> String {
        // Read before the exported entry is recorded: a failure here records nothing.
        let stored = try storedCheckpoints().checkpoints
        // The export ends with the exported entry (or the head it found): entries other
        // processes append meanwhile come after it and are left out (an export that took one
        // in after its exported entry did not verify: "entries may have been cut" — review
        // of session 20).
        var last: Int?
        if actor == nil, let head = try head(of: dossierID) {
            guard head.event == .exported else {
                throw DossierError(.invalidArgument, "the history of dossier \(dossierID) does not end with an exported entry, and an export must (else nobody could tell it was not cut short)",
                                   hint: "export with an actor, who is recorded as exporting it")
            }
            last = head.sequence
        }
        if let actor {
            guard let head = try head(of: dossierID) else { throw DossierError(.accessLog, "the log has no history for dossier \(dossierID)") }
            // The number of entries before it is the head's sequence at the moment of appending.
            last = try record(.exported, dossierID: dossierID, payloadSHA256: head.payloadSHA256, actor: actor, purpose: purpose,
                              details: [:], moreDetails: { ["entries": String($0.sequence)] }).sequence
        }
        do { try afterRecordingForTesting?() } catch { throw DossierError(.accessLog, "\(error)") }
        let all: [LedgerRecord]
        do { all = try store.records(dossierID: nil) } catch { throw DossierError(.accessLog, "cannot read the access log: \(error)") }
        let rows = Self.headRows(all)
        let leaves = rows.map { MerkleTree.leafHash($0.hash) }
        let mine = all.filter { record in FileSystem.same(record.dossierID, dossierID) && record.sequence <= (last ?? .max) }
        guard !mine.isEmpty else { throw DossierError(.accessLog, "the log has no history for dossier \(dossierID)") }
        // The newest stored checkpoint that matches this ledger (a note someone else stored
        // that does not would only make the export's proofs fail); whether its signer is
        // trusted is for the verifier to decide.
        let checkpoint = stored.last { $0.size <= leaves.count && Hex.encode(MerkleTree.root(leaves[0..<$0.size])) == $0.root }
        var header: [String: JSONValue] = ["format": "dossier-log-export/1", "dossierId": .string(dossierID)]
        if let checkpoint { header["checkpoint"] = .string(checkpoint.note) }
        // The dossier's newest entry among those the checkpoint covers, proven in its heads:
        // what shows that the export leaves none of them out.
        if let checkpoint, checkpoint.heads != nil, let head = LedgerHeads(rows[0..<checkpoint.size]).proof(for: dossierID) {
            header["head"] = .object(["index": .integer(Int64(head.index)), "sequence": .integer(Int64(head.head.sequence)),
                                      "proof": .array(head.proof.map { .string(Data($0).base64EncodedString()) })])
        }
        var lines = [String(decoding: JSONValue.object(header).canonicalBytes(), as: UTF8.self)]
        for record in mine {
            var line: [String: JSONValue] = ["index": .integer(Int64(record.index)),
                                             "statement": .string(String(decoding: record.statement, as: UTF8.self)),
                                             "signature": .string(record.signature)]
            if let checkpoint, record.index < checkpoint.size {
                line["proof"] = .array(MerkleTree.inclusionProof(index: record.index, leaves: leaves[0..<checkpoint.size]).map { .string(Data($0).base64EncodedString()) })
            }
            lines.append(String(decoding: JSONValue.object(line).canonicalBytes(), as: UTF8.self))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Verifies an exported log offline, with public keys only. With `dossierID`, the export
    /// must be that dossier's log; with `anchor`, its chain must start with that genesis entry.
    public static func verifyExport(_ text: String, trusting trust: TrustStore, anchor: String? = nil, dossierID expected: String? = nil) -> LogReport {
        var report = LogReport(dossierID: nil)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.isEmpty }
        guard let first = lines.first, let header = try? JSONValue.parseCanonical(Array(first.utf8)),
              header["format"]?.stringValue == "dossier-log-export/1", let id = header["dossierId"]?.stringValue, DossierID.isValid(id) else {
            report.problems.append("not a dossier log export (the first line must be its header)")
            return report
        }
        report = LogReport(dossierID: id)
        if let expected, !FileSystem.same(expected, id) { report.problems.append("the export is the log of \(id), not of \(expected)") }
        // The header's checkpoint is evidence only when a trusted ledger key signed it; any
        // other is not used (its proofs are not checked), as in the ledger's verification.
        var checkpoint: Checkpoint?
        if let note = header["checkpoint"]?.stringValue {
            do {
                let parsed = try Checkpoint(parsing: note)
                if let unused = notEvidence(parsed, trust: trust) {
                    report.unusedCheckpoints.append("the export's checkpoint of size \(parsed.size) by \(parsed.signerKeyID) was not used: \(unused)")
                } else {
                    checkpoint = parsed
                }
            } catch {
                report.unusedCheckpoints.append("the export's checkpoint was not used: \(error.reason)")
            }
        }
        var rows: [ChainRow] = []
        for (number, line) in lines.dropFirst().enumerated() {
            guard let value = try? JSONValue.parseCanonical(Array(line.utf8)), let index = value["index"]?.integerValue,
                  let statement = value["statement"]?.stringValue, let signature = value["signature"]?.stringValue else {
                report.problems.append("export line \(number + 2) is malformed")
                continue
            }
            rows.append(ChainRow(index: Int(index), statement: Array(statement.utf8), signature: signature))
            if let checkpoint, Int(index) < checkpoint.size {
                let proof = value["proof"]?.arrayValue?.compactMap { $0.stringValue.flatMap { Data(base64Encoded: $0) }.map(Array.init) } ?? []
                let leaf = MerkleTree.leafHash(SHA256.hash(Array(statement.utf8)))
                if let root = hexBytes(checkpoint.root),
                   MerkleTree.verifyInclusion(leafHash: leaf, index: Int(index), treeSize: checkpoint.size, proof: proof, root: root) {
                    report.checkpointsVerified = 1
                } else {
                    report.problems.append("export line \(number + 2) is not included in the export's checkpoint (edited, or the proof is wrong)")
                }
            }
        }
        verifyChain(rows, dossierID: id, trust: trust, anchor: anchor, into: &report)
        // Entries the checkpoint proves complete: those up to the dossier's newest entry it
        // names (a checkpoint without heads, signed before they existed, proves none complete).
        var complete = 0
        if let checkpoint, let heads = checkpoint.heads {
            complete = verifyHead(header["head"], checkpoint: checkpoint, heads: heads, rows: rows, dossierID: id, into: &report)
            if complete > 0 { report.checkpointsVerified = 1 }
        }
        report.entriesAfterCheckpoint = rows.count - complete
        if rows.isEmpty { report.problems.append("the export holds no entries") }
        if let last = report.entries.last {
            if last.event != .exported || last.details["entries"] != String(report.entries.count - 1) {
                report.problems.append("the export does not end with its signed exported entry: entries may have been cut from its end")
            }
        }
        return report
    }

    /// Checks an export's `head` (its dossier's newest entry among those the checkpoint
    /// covers, with its inclusion proof in the checkpoint's heads) against the export's rows:
    /// the rows up to that entry are then every entry of the dossier the checkpoint covers,
    /// fixed by the chain that ends at its hash. Returns how many rows that proves complete.
    static func verifyHead(_ head: JSONValue?, checkpoint: Checkpoint, heads: (count: Int, root: String), rows: [ChainRow],
                           dossierID: String, into report: inout LogReport) -> Int {
        let covered = rows.filter { $0.index < checkpoint.size }
        guard let head else {
            if !covered.isEmpty {
                report.problems.append("the export's checkpoint covers entries of this dossier but the export does not show its newest entry among them: entries may have been left out")
            } else {
                // Its rows say they all came after the checkpoint: nothing is proven by it —
                // as for an export without one (anyone can strip a head or a checkpoint).
                report.unusedCheckpoints.append("the export's checkpoint of size \(checkpoint.size) proves nothing about this export: it shows no newest entry of the dossier, and every entry says it came after the checkpoint")
            }
            return 0
        }
        guard let index = head["index"]?.integerValue, let sequence = head["sequence"]?.integerValue,
              let proof = head["proof"]?.arrayValue?.map({ $0.stringValue.flatMap { Data(base64Encoded: $0) }.map(Array.init) }),
              !proof.contains(where: { $0 == nil }) else {
            report.problems.append("the export's head (its newest entry under the checkpoint) is malformed")
            return 0
        }
        let parsed = rows.compactMap { row -> (index: Int, entry: LogEntry)? in
            guard case .success(let entry) = row.entry else { return nil }
            return (row.index, entry)
        }
        guard let newest = parsed.first(where: { $0.entry.sequence == Int(sequence) }) else {
            report.problems.append("the export does not hold entry #\(sequence), which the checkpoint names as the dossier's newest entry among the \(checkpoint.size) it covers: entries were left out")
            return 0
        }
        let leaf = MerkleTree.leafHash(LedgerHeads.leaf(.init(dossierID: dossierID, sequence: Int(sequence), hash: SHA256.hash(newest.entry.statement))))
        guard let root = hexBytes(heads.root),
              MerkleTree.verifyInclusion(leafHash: leaf, index: Int(index), treeSize: heads.count, proof: proof.compactMap { $0 }, root: root) else {
            report.problems.append("the checkpoint does not name the export's entry #\(sequence) as the dossier's newest entry among the \(checkpoint.size) it covers: entries were left out, or the proof is wrong")
            return 0
        }
        // Positions agree with the sequence: what the checkpoint covers comes first.
        if parsed.contains(where: { ($0.entry.sequence <= Int(sequence)) != ($0.index < checkpoint.size) }) {
            report.problems.append("the export's positions disagree with its checkpoint: entries up to #\(sequence), the newest entry it covers, must lie within its first \(checkpoint.size) positions and later ones after them")
            return 0
        }
        return parsed.filter { $0.entry.sequence <= Int(sequence) }.count
    }

    /// Imports an exported log (after verifying it, as `verifyExport` does) into this ledger:
    /// the entries this ledger does not have yet are stored after the dossier's existing ones.
    /// The two histories must agree where they overlap.
    public func importLog(_ text: String, trusting trust: TrustStore, anchor: String? = nil, dossierID expected: String? = nil) throws(DossierError) -> LogReport {
        try importLog(text, trusting: trust, anchor: anchor, dossierID: expected, beforeAppendingForTesting: nil)
    }

    /// `importLog`; `beforeAppendingForTesting` runs between reading the history and appending.
    func importLog(_ text: String, trusting trust: TrustStore, anchor: String?, dossierID expected: String?,
                   beforeAppendingForTesting: (() throws -> Void)?) throws(DossierError) -> LogReport {
        try requireWritable()
        let report = Self.verifyExport(text, trusting: trust, anchor: anchor, dossierID: expected)
        guard report.problems.isEmpty, let id = report.dossierID else {
            throw DossierError(.signature, "the export does not verify: \(report.problems.prefix(3).joined(separator: "; "))")
        }
        guard report.untrusted.isEmpty else {
            throw DossierError(.untrusted, "the export is intact but not trusted: \(report.untrusted.prefix(3).joined(separator: "; "))",
                               hint: "add the actors' keys (with their roles) to the trust file")
        }
        // Another process may import (or append) the same entries at the same moment: its
        // rows then collide with these (a UNIQUE constraint, which was the message), and the
        // history is read again — usually nothing is left to add (review of session 20).
        var attempt = 0
        while true {
            let existing = try history(of: id)
            guard zip(existing, report.entries).allSatisfy({ $0.statement == $1.statement }) else {
                throw DossierError(.accessLog, "the ledger's history of \(id) and the export diverge")
            }
            // Already known (the export is a prefix of this ledger's history): nothing to add.
            if existing.count >= report.entries.count { return report }
            do {
                if attempt == 0 { try beforeAppendingForTesting?() }
                try store.appendImported(Array(report.entries.dropFirst(existing.count)))
                return report
            } catch is LedgerConflict {
                attempt += 1
                guard attempt <= 3 else {
                    throw DossierError(.accessLog, "cannot import the log of \(id): other writers kept storing entries of it at the same time",
                                       hint: "import again once they are done")
                }
            } catch {
                throw DossierError(.accessLog, "cannot write to the access log: \(error)")
            }
        }
    }
}

/// What a log verification found.
public struct LogReport: Sendable {
    /// The dossier whose log was verified: the one asked for, or for an export the one its
    /// header names; nil for a whole ledger (and for text that is not an export at all).
    public let dossierID: String?
    /// The entries read, in order (only those that could be parsed).
    public internal(set) var entries: [LogEntry] = []
    /// Integrity problems, each naming the entry: edited, deleted, inserted, reordered, cut.
    public internal(set) var problems: [String] = []
    /// Actors not in the trust store, or not trusted in the role their entry names
    /// (integrity may still be fine).
    public internal(set) var untrusted: [String] = []
    /// Checkpoints that were not used as evidence, each with why (signer unknown or not
    /// trusted in the role `ledger`, a signature that does not verify, a stored note that
    /// does not parse) and what it would have said. Anyone can write such a note, so they
    /// change neither `isIntact` nor `isValid`.
    public internal(set) var unusedCheckpoints: [String] = []
    /// Checkpoints that matched the entries and are signed by a key trusted in the role
    /// `ledger` (the only ones used as evidence); for an export, 1 when its checkpoint is.
    public internal(set) var checkpointsVerified = 0
    /// Entries no verified checkpoint covers yet: in a ledger, those after its newest verified
    /// checkpoint; in an export, those after the export's checkpoint. A hash chain cannot
    /// show that its own newest entries were removed (nor can a ledger whose positions are
    /// renumbered after a removal): an entry removed from among these, at the end of a
    /// dossier's history, is noticed only by a checkpoint signed before the removal.
    public internal(set) var entriesAfterCheckpoint = 0

    init(dossierID: String?) { self.dossierID = dossierID }

    /// No integrity problems.
    public var isIntact: Bool { problems.isEmpty }
    /// Intact and every actor trusted.
    public var isValid: Bool { problems.isEmpty && untrusted.isEmpty }
}

extension DossierRole {
    /// The office key that signs ledger checkpoints.
    public static let ledger: DossierRole = "ledger"
}
