/// Who records an event in which access log, and why: the actor signs the entry.
public struct AccessRecorder: Sendable {
    /// The ledger the entries are written to; it must be open for writing.
    public let log: AccessLog
    /// Who signs the entries: the key, the role the entry names (e.g. `.reader` when opening)
    /// and the name recorded with it.
    public let actor: DossierSigner
    /// The purpose or reason, one line (e.g. "appeal review, case 2024-117").
    public let purpose: String

    /// A recorder writing to `log`, signed by `actor`, giving `purpose`. Nothing is checked
    /// here: a purpose that is not one line of at most 4096 bytes is refused
    /// (`.invalidArgument`) when an entry is recorded (by `Dossier.seal` before it starts).
    public init(log: AccessLog, actor: DossierSigner, purpose: String) {
        self.log = log
        self.actor = actor
        self.purpose = purpose
    }

    /// Records `event` (e.g. `.loaned`, `.returned`, `.verified`, or `.registered` for a
    /// dossier sealed without a log) for the dossier whose manifest is given, after checking
    /// that this ledger's history of it starts with the genesis entry anchored in that
    /// manifest (when it has one): an entry appended to another history, or starting a second
    /// one, would make the dossier's log fail verification for good. Prefer this to
    /// `AccessLog.record`, which checks no anchor. Take the manifest from a
    /// `VerificationReport` whose status is not `.invalid`.
    /// - Throws: `.accessLog` (no or another history, the ledger cannot be written, `.sealed`
    ///   or `.registered` for a dossier that has a history), `.invalidArgument` (purpose or details).
    @discardableResult
    public func record(_ event: LogEvent, for manifest: DossierManifest, details: [String: String] = [:]) throws(DossierError) -> LogEntry {
        try record(event, for: manifest, details: details, cancellation: nil)
    }

    /// `record`, for an operation that `cancellation` can stop while the entry waits for a
    /// ledger another process is writing (`.interrupted`, nothing recorded).
    @discardableResult
    func record(_ event: LogEvent, for manifest: DossierManifest, details: [String: String] = [:],
                cancellation: DossierCancellation?) throws(DossierError) -> LogEntry {
        if let anchor = manifest.accessLogGenesisSHA256 { try log.requireHistory(of: manifest.dossierID, anchoredAt: anchor) }
        return try log.record(event, dossierID: manifest.dossierID, payloadSHA256: manifest.payloadBodySHA256, actor: actor,
                              purpose: purpose, details: details, moreDetails: nil, cancellation: cancellation)
    }
}

extension AccessLog {
    /// Throws unless this ledger's history of `dossierID` starts with the genesis entry whose
    /// hash is `anchor` (the manifest's `accessLog.genesisSHA256`). Anything recorded for a
    /// dossier checks this first: an entry appended to a history that is not the dossier's
    /// own (or that starts a new one) would make its log fail verification for good.
    public func requireHistory(of dossierID: String, anchoredAt anchor: String) throws(DossierError) {
        // One row, not the whole history: an opening's cost does not grow with the number of
        // earlier openings.
        guard let genesis = try genesis(of: dossierID) else {
            throw DossierError(.accessLog, "the access log \(path) has no history of dossier \(dossierID)",
                               hint: "import the dossier's exported log into this ledger first")
        }
        guard genesis.hash == anchor else {
            throw DossierError(.accessLog, "the access log's history of \(dossierID) does not start with the entry anchored in its manifest")
        }
    }
}
