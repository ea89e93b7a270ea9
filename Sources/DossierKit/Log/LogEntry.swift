import Foundation

/// What happened to a dossier. The raw values are the `event` field of log entries.
public enum LogEvent: String, Sendable, CaseIterable {
    /// The genesis entry of a dossier sealed with this log (anchored in its manifest).
    case sealed
    /// The genesis entry of a dossier sealed elsewhere without a log.
    case registered
    /// Verified by someone who recorded it (`dossier log --record verified`); `Dossier.verify`
    /// records nothing.
    case verified
    /// Opened whole, or one document (`details["document"]`), or only its documents' names
    /// listed (`details["contents"] == "listed"`: `Dossier.list`; no document released).
    case opened
    /// Re-wrapped for new recipients (`details["recipients"]`, `details["transfer"]` — the
    /// transfer record's number —, `details["from"]` — the header digest it replaced — and
    /// `details["reason"]`).
    case transferred
    /// Countersigned (`details["keyId"]` and `details["role"]` name the new signature).
    case countersigned
    /// Lent out (`details["approver"]` names the approving officer, `details["borrower"]`).
    case loaned
    /// Back from a loan.
    case returned
    /// The log was exported; the entry ends the export, and `details["entries"]` is the
    /// number of entries before it.
    case exported
    /// Destroyed at the end of retention.
    case destroyed
}

/// One signed entry of a dossier's access log.
///
/// The statement is canonical JSON (docs/FORMAT.md §8); its SHA-256 is the entry hash,
/// which the next entry of the same dossier names as `previous` (a hash chain). The actor
/// signs `"dossier-log-entry/1\n" ‖ statement` with Ed25519; the statement carries the
/// actor's public key, so an exported log verifies offline.
public struct LogEntry: Sendable, Equatable {
    /// The `format` field of every entry statement.
    public static let format = "dossier-log/1"
    static let signingContext = Array("dossier-log-entry/1\n".utf8)
    static let zeroHash = String(repeating: "0", count: 64)

    /// The exact signed bytes.
    public let statement: [UInt8]
    /// Base64 Ed25519 signature.
    public let signature: String

    // Parsed fields.
    /// The dossier the entry is about.
    public let dossierID: String
    /// The entry's place in this dossier's history (not the ledger's): 1 for the genesis
    /// (`sealed` or `registered`) entry, one more for each later entry of the same dossier.
    public let sequence: Int
    /// What happened.
    public let event: LogEvent
    /// When it was recorded (the time the recorder gave, by default its clock's): RFC 3339
    /// UTC, seconds precision ("2026-11-26T22:00:00Z"). A `sealed` entry has the sealing time.
    public let at: String
    /// The key id of the actor who signed the entry (16 upper-case hex digits); it matches
    /// the public key carried in the statement.
    public let actorKeyID: String
    /// The actor's name as the actor gave it (claimed; the trust store names the key).
    public let actorName: String
    /// The role the actor acted in (e.g. `.reader` for an opening); verification checks that
    /// the trust store allows the key this role.
    public let actorRole: DossierRole
    let actorPublicKey: SignerPublicKey
    /// SHA-256 (hex) of the dossier's payload body, as in its manifest's `payloadBodySHA256`:
    /// which sealed bytes the entry is about (a re-wrap keeps it).
    public let payloadSHA256: String
    /// Why, one line as the actor gave it (e.g. "appeal review, case 2024-117"): at most
    /// 4096 bytes when written, though entries read back are not held to that.
    public let purpose: String
    /// Facts particular to the event (see `LogEvent`), e.g. `document` for an opening of one
    /// document, `files` and `profile` for a sealing; at most 32 KiB of keys and values
    /// through `AccessLog.record`.
    public let details: [String: String]
    /// SHA-256 (hex) of the previous entry of this dossier (its `hash`); 64 zeros for the
    /// genesis entry.
    public let previous: String

    /// SHA-256 (hex) of the statement.
    public var hash: String { Hex.encode(SHA256.hash(statement)) }

    /// Builds and signs a new entry.
    static func make(dossierID: String, sequence: Int, event: LogEvent, at: String, actor: DossierSigner,
                     payloadSHA256: String, purpose: String, details: [String: String], previous: String) throws(DossierError) -> LogEntry {
        // Every entry written passes here (a sealed entry's purpose was not checked before session 10).
        try checkPurpose(purpose)
        let statement: JSONValue = .object([
            "format": .string(format), "dossierId": .string(dossierID), "sequence": .integer(Int64(sequence)),
            "event": .string(event.rawValue), "at": .string(at),
            "actor": .object(["keyId": .string(actor.key.publicKey.keyID), "name": .string(actor.name),
                              "role": .string(actor.role.rawValue), "publicKey": .string(actor.key.publicKey.base64)]),
            "payloadSHA256": .string(payloadSHA256), "purpose": .string(purpose),
            "details": .object(details.mapValues { .string($0) }), "previous": .string(previous),
        ])
        let bytes = statement.canonicalBytes()
        let signature: [UInt8]
        do { signature = try actor.key.privateKey.signature(for: signingContext + bytes) } catch {
            throw DossierError(.accessLog, "signing the log entry failed: \(error)")
        }
        return try LogEntry(statement: bytes, signature: Data(signature).base64EncodedString())
    }

    /// A purpose is written as one line of at most this many bytes (FORMAT.md §8.1).
    static let maxPurposeBytes = 4096

    /// Refuses a purpose that is not one line of at most `maxPurposeBytes` bytes.
    static func checkPurpose(_ purpose: String) throws(DossierError) {
        guard purpose.utf8.count <= maxPurposeBytes, !purpose.contains(where: \.isNewline),
              purpose.contains(where: { !$0.isWhitespace }) else {
            throw DossierError(.invalidArgument, "the purpose must be one non-empty line of at most \(maxPurposeBytes) bytes",
                               hint: "say why (e.g. \"appeal review, case 2024-117\")")
        }
    }

    /// Parses a stored entry (statement must be canonical and well-formed). Does not verify the signature.
    /// The purpose is not held to the writing rule here: entries written before every
    /// path checked it must still verify (reports escape what they show).
    public init(statement: [UInt8], signature: String) throws(DossierError) {
        func fail(_ what: String) -> DossierError { DossierError(.accessLog, "a log entry \(what)") }
        let value: JSONValue
        do { value = try JSONValue.parseCanonical(statement, maxDepth: 4, maxBytes: 64 * 1024) } catch {
            throw fail("is not canonical JSON: \(error)")
        }
        guard let o = value.objectValue,
              Set(o.keys) == ["format", "dossierId", "sequence", "event", "at", "actor", "payloadSHA256", "purpose", "details", "previous"],
              o["format"]?.stringValue == Self.format,
              let id = o["dossierId"]?.stringValue, DossierID.isValid(id),
              let sequence = o["sequence"]?.integerValue, sequence >= 1,
              let eventText = o["event"]?.stringValue, let event = LogEvent(rawValue: eventText),
              let at = o["at"]?.stringValue, Timestamp.isValid(at),
              let actor = o["actor"]?.objectValue, Set(actor.keys) == ["keyId", "name", "role", "publicKey"],
              let keyID = actor["keyId"]?.stringValue, let name = actor["name"]?.stringValue,
              let roleText = actor["role"]?.stringValue, let role = DossierRole(rawValue: roleText),
              let publicText = actor["publicKey"]?.stringValue, let publicKey = try? SignerPublicKey(publicText), publicKey.keyID == keyID,
              let payload = o["payloadSHA256"]?.stringValue, Hex.isSHA256(payload),
              let purpose = o["purpose"]?.stringValue,
              let detailObject = o["details"]?.objectValue,
              let previous = o["previous"]?.stringValue, Hex.isSHA256(previous)
        else { throw fail("is malformed") }
        var details: [String: String] = [:]
        for (key, item) in detailObject {
            guard let text = item.stringValue else { throw fail("has a non-string detail \(key)") }
            details[key] = text
        }
        self.statement = statement
        self.signature = signature
        self.dossierID = id
        self.sequence = Int(sequence)
        self.event = event
        self.at = at
        self.actorKeyID = keyID
        self.actorName = name
        self.actorRole = role
        self.actorPublicKey = publicKey
        self.payloadSHA256 = payload
        self.purpose = purpose
        self.details = details
        self.previous = previous
    }

    /// Whether the signature verifies under the public key in the statement.
    public var isSignatureValid: Bool {
        guard let bytes = Data(base64Encoded: signature), bytes.count == 64,
              Data(bytes).base64EncodedString() == signature else { return false }
        return actorPublicKey.minisign.key.isValidSignature(Array(bytes), for: Self.signingContext + statement)
    }
}
