/// Who records an event in which access log, and why: the actor signs the entry.
public struct AccessRecorder: Sendable {
    public let log: AccessLog
    public let actor: DossierSigner
    /// The purpose or reason, one line (e.g. "appeal review, case 2024-117").
    public let purpose: String

    public init(log: AccessLog, actor: DossierSigner, purpose: String) {
        self.log = log
        self.actor = actor
        self.purpose = purpose
    }

    /// Records `event` for a dossier after checking that the ledger's history of it starts
    /// with the genesis entry anchored in its manifest (when it has one).
    @discardableResult
    func record(_ event: LogEvent, manifest: DossierManifest, details: [String: String] = [:]) throws(DossierError) -> LogEntry {
        if let anchor = manifest.accessLogGenesisSHA256 {
            // One row, not the whole history: an opening's cost does not grow with the
            // number of earlier openings.
            guard let genesis = try log.genesis(of: manifest.dossierID) else {
                throw DossierError(.accessLog, "the access log \(log.path) has no history of dossier \(manifest.dossierID)",
                                   hint: "import the dossier's exported log into this ledger first")
            }
            guard genesis.hash == anchor else {
                throw DossierError(.accessLog, "the access log's history of \(manifest.dossierID) does not start with the entry anchored in its manifest")
            }
        }
        return try log.record(event, dossierID: manifest.dossierID, payloadSHA256: manifest.payloadBodySHA256, actor: actor,
                              purpose: purpose, details: details)
    }
}
