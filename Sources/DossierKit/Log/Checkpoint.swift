import Foundation

/// A signed checkpoint of the whole ledger: its size and Merkle root, in the C2SP
/// signed-note format (docs/FORMAT.md §8.4), so it can be handed to inspectors or published.
///
/// ```
/// dossier-ledger/1 ORIGIN
/// SIZE
/// BASE64(ROOT)
/// heads COUNT BASE64(HEADS ROOT)
///
/// — dossier-ledger-KEYID BASE64(KEYHASH(4) ‖ ED25519 SIGNATURE(64))
/// ```
///
/// The `heads` line (from 2026-11-28; notes signed before have none) commits to each
/// dossier's newest entry among the SIZE covered, so that an export can prove it left none
/// of them out (`LedgerHeads`).
public struct Checkpoint: Sendable, Equatable {
    /// The ledger's name as given when signing (where it must be one word without spaces,
    /// e.g. "justice-bureau.example").
    public let origin: String
    /// How many ledger entries it covers (of all dossiers): the first `size` in ledger order.
    public let size: Int
    /// Merkle root (RFC 9162) over the entry hashes, hex.
    public let root: String
    /// The key id of the signing key (16 upper-case hex digits), from the signature line's
    /// key name `dossier-ledger-KEYID`. Verifiers count the checkpoint only when the trust
    /// store holds that key in the role `ledger`.
    public let signerKeyID: String
    /// The whole signed note.
    public let note: String
    /// How many dossiers have entries among the `size` covered, and the Merkle root (hex)
    /// over their newest entries (`LedgerHeads`); nil in a note signed before heads existed,
    /// which proves entries included but not an export complete.
    public let heads: (count: Int, root: String)?

    public static func == (a: Checkpoint, b: Checkpoint) -> Bool { a.note == b.note }

    static func keyName(_ keyID: String) -> String { "dossier-ledger-\(keyID)" }

    /// A ledger's origin: one word — no white space (by scalars: Character.isWhitespace looks
    /// at a Character's first scalar only) — and no control, separator or bidirectional
    /// character (C2SP signed notes allow no control character but the newline; the others
    /// could make a note read otherwise on a terminal).
    static func isOrigin(_ origin: String) -> Bool {
        !origin.isEmpty && !origin.unicodeScalars.contains { $0.properties.isWhitespace || TrustStore.hidesText($0) }
    }

    static func keyHash(name: String, publicKey: [UInt8]) -> [UInt8] {
        Array(SHA256.hash(Array(name.utf8) + [0x0a, 0x01] + publicKey).prefix(4))
    }

    static func body(origin: String, size: Int, root: [UInt8], heads: (count: Int, root: [UInt8])?) -> String {
        "dossier-ledger/1 \(origin)\n\(size)\n\(Data(root).base64EncodedString())\n"
            + (heads.map { "heads \($0.count) \(Data($0.root).base64EncodedString())\n" } ?? "")
    }

    /// Signs a checkpoint; `heads` is nil only for tests of notes signed before heads existed.
    static func sign(origin: String, size: Int, root: [UInt8], heads: (count: Int, root: [UInt8])? = nil, key: SigningKey) throws(DossierError) -> Checkpoint {
        guard isOrigin(origin) else {
            throw DossierError(.invalidArgument, "a ledger origin is one word without spaces or control characters, e.g. justice-bureau.example")
        }
        let text = body(origin: origin, size: size, root: root, heads: heads)
        let name = keyName(key.publicKey.keyID)
        let signature: [UInt8]
        do { signature = try key.privateKey.signature(for: Array(text.utf8)) } catch {
            throw DossierError(.accessLog, "signing the checkpoint failed: \(error)")
        }
        let hash = keyHash(name: name, publicKey: key.publicKey.minisign.key.rawRepresentation)
        let note = text + "\n\u{2014} \(name) \(Data(hash + signature).base64EncodedString())\n"
        return try Checkpoint(parsing: note)
    }

    /// Parses a signed note (does not verify the signature).
    public init(parsing note: String) throws(DossierError) {
        func fail(_ what: String) -> DossierError { DossierError(.accessLog, "malformed checkpoint: \(what)") }
        let parts = note.components(separatedBy: "\n\n")
        guard parts.count == 2 else { throw fail("expected a body, an empty line and a signature line") }
        let lines = parts[0].split(separator: "\n", omittingEmptySubsequences: false)
        // The prefix by bytes: an origin starting with a combining mark makes the space before
        // it part of one Character with it.
        let prefix = "dossier-ledger/1 ".utf8
        guard lines.count == 3 || lines.count == 4, lines[0].utf8.starts(with: prefix), let size = Int(lines[1]), size >= 0,
              String(size) == lines[1], let root = Data(base64Encoded: String(lines[2])), root.count == 32 else {
            throw fail("the body is not \"dossier-ledger/1 ORIGIN\", a size, a base64 root and a heads line")
        }
        var heads: (count: Int, root: [UInt8])?
        if lines.count == 4 {
            let fields = lines[3].split(separator: " ", omittingEmptySubsequences: false)
            guard fields.count == 3, fields[0] == "heads", let count = Int(fields[1]), String(count) == fields[1],
                  (size == 0 ? count == 0 : (1...size).contains(count)),
                  let headsRoot = Data(base64Encoded: String(fields[2])), headsRoot.count == 32 else {
                throw fail("the fourth line is not \"heads COUNT BASE64-ROOT\" (at least one dossier and at most one per entry covered)")
            }
            heads = (count, Array(headsRoot))
        }
        let signatureLines = parts[1].split(separator: "\n")
        guard signatureLines.count == 1, parts[1].hasSuffix("\n") else { throw fail("expected exactly one signature line") }
        let fields = signatureLines[0].split(separator: " ")
        guard fields.count == 3, fields[0] == "\u{2014}", fields[1].hasPrefix("dossier-ledger-"),
              let blob = Data(base64Encoded: String(fields[2])), blob.count == 68 else { throw fail("bad signature line") }
        let keyID = String(fields[1].dropFirst("dossier-ledger-".count))
        guard Hex.isKeyID(keyID) else { throw fail("bad key name") }
        self.origin = String(decoding: lines[0].utf8.dropFirst(prefix.count), as: UTF8.self)
        // As signing requires: one word (else one checkpoint could be written several ways),
        // and no control character (a C2SP note holds none but the newline).
        guard Checkpoint.isOrigin(origin) else {
            throw fail("the origin is not one word without control characters")
        }
        self.size = size
        self.root = Hex.encode(root)
        self.heads = heads.map { ($0.count, Hex.encode($0.root)) }
        self.signerKeyID = keyID
        self.note = note
        // The whole note rebuilt, the signature line too (spaces, base64 padding bits): one
        // checkpoint has one spelling, stored and counted once.
        let line = "\u{2014} \(Checkpoint.keyName(keyID)) \(blob.base64EncodedString())\n"
        guard Checkpoint.body(origin: origin, size: size, root: Array(root), heads: heads) + "\n" + line == note else {
            throw fail("not in canonical form")
        }
    }

    /// Whether the note is signed by `key` (and names it).
    func isSigned(by key: SignerPublicKey) -> Bool {
        guard key.keyID == signerKeyID else { return false }
        let parts = note.components(separatedBy: "\n\n")
        let fields = parts[1].split(separator: "\n")[0].split(separator: " ")
        guard let blob = Data(base64Encoded: String(fields[2])) else { return false }
        let raw = key.minisign.key.rawRepresentation
        guard Array(blob.prefix(4)) == Checkpoint.keyHash(name: Checkpoint.keyName(keyID: signerKeyID), publicKey: raw) else { return false }
        // The body as signed is the note up to its empty line (canonical: checked when parsed).
        let body = parts[0] + "\n"
        return key.minisign.key.isValidSignature(Array(blob.dropFirst(4)), for: Array(body.utf8))
    }

    static func keyName(keyID: String) -> String { keyName(keyID) }
}

func hexBytes(_ hex: String) -> [UInt8]? {
    let chars = Array(hex.utf8)
    guard chars.count % 2 == 0 else { return nil }
    var out: [UInt8] = []
    out.reserveCapacity(chars.count / 2)
    for i in stride(from: 0, to: chars.count, by: 2) {
        guard let byte = UInt8(String(decoding: chars[i..<(i + 2)], as: UTF8.self), radix: 16) else { return nil }
        out.append(byte)
    }
    return out
}
