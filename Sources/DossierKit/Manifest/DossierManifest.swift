#if canImport(Glibc)
import Glibc
#endif

/// The public manifest, `META-INF/manifest.json`: what signers sign and inspectors read.
///
/// It commits to everything without revealing file names or contents: the format
/// version, the dossier id, the metadata the sealer chose to publish, the sealing time,
/// the signers named at sealing, the SHA-256 of the age header at sealing and of the
/// payload body, and the SHA-256 of the private manifest. Its bytes are RFC 8785
/// canonical JSON, so they are reproducible and a reader can check canonicity.
public struct DossierManifest: Sendable, Equatable {
    /// The `format` field of the manifest: the only version this library reads and writes.
    public static let format = "dossier/1"
    static let maxBytes = 1 << 20

    /// The bounds of format v1 (docs/FORMAT.md §7, Limits). They are format rules: a manifest
    /// outside them is invalid, sealing refuses to write one, and opening checks them
    /// before decrypting, so a decompression bomb or an entry flood is refused up front.
    package enum Limits {
        /// Files plus folders in one dossier.
        package static let maxEntries = 65_536
        /// The content may be at most this many times the encrypted payload body, plus `expansionSlack`.
        package static let maxExpansionRatio: Int64 = 1_000
        package static let expansionSlack: Int64 = 16 << 20
        /// Content bytes in one dossier (256 GiB).
        package static let maxContentBytes: Int64 = 256 << 30

        /// Public metadata fields, key and value sizes (FORMAT.md §4).
        package static let maxPublicFields = 256
        package static let maxPublicValueBytes = 4_096

        /// What breaks the rules of the public metadata first, or nil: at most 256
        /// fields, keys of 1…64 of `A-Z a-z 0-9 . _ -`, values of at most 4,096 bytes.
        static func publicMetadataViolation(_ metadata: [String: String]) -> String? {
            guard metadata.count <= maxPublicFields else { return "more than \(maxPublicFields) fields" }
            for key in metadata.keys.sorted() {
                let keyBytes = Array(key.utf8)
                guard (1...64).contains(keyBytes.count),
                      keyBytes.allSatisfy({ (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) || $0 == 95 || $0 == 45 || $0 == 46 }) else {
                    let shown = keyBytes.count <= 64 ? "the key \"\(key)\"" : "a key of \(keyBytes.count) bytes"
                    return "\(shown) (keys are 1…64 of A-Z a-z 0-9 . _ -)"
                }
                guard metadata[key]!.utf8.count <= maxPublicValueBytes else {
                    return "a value for \"\(key)\" longer than \(maxPublicValueBytes) bytes"
                }
            }
            return nil
        }

        /// The first limit the counts break, or nil.
        static func violation(files: Int64, directories: Int64, contentBytes: Int64, bodySize: Int64) -> String? {
            if files > Int64(maxEntries) || directories > Int64(maxEntries) || files + directories > Int64(maxEntries) {
                return "declares \(files) files and \(directories) folders; format v1 allows at most \(maxEntries) in all"
            }
            if contentBytes > maxContentBytes {
                return "declares \(contentBytes) content bytes; format v1 allows at most \(maxContentBytes) (256 GiB)"
            }
            let (product, overflow) = bodySize.multipliedReportingOverflow(by: maxExpansionRatio)
            if !overflow, contentBytes > product + expansionSlack {
                return "declares \(contentBytes) content bytes from a \(bodySize)-byte payload, an expansion beyond \(maxExpansionRatio):1 (possible decompression bomb)"
            }
            return nil
        }
    }

    /// Which profile the dossier was checked against, and the outcome.
    public struct ProfileRecord: Sendable, Equatable {
        /// The profile's id (by the `DossierID` rules, e.g. "community-corrections").
        public let id: String
        /// The profile's version as its file gives it (e.g. "1.0").
        public let version: String
        /// SHA-256 (hex) of the profile file.
        public let sha256: String
        /// "passed", or "overridden" when the archivist sealed a failing dossier with a reason.
        public let result: String
        /// How many rules the folder failed: 0 when "passed", at least 1 when "overridden".
        public let failedRules: Int
        /// The archivist's reason for sealing anyway (one line), present exactly when the
        /// result is "overridden".
        public let overrideReason: String?
    }

    /// A signer named in the manifest at sealing.
    public struct Signer: Sendable, Equatable {
        /// Minisign key id, 16 upper-case hex digits.
        public let keyID: String
        /// The role it signed in at sealing.
        public let role: DossierRole
        /// The signer's name as the sealer gave it (claimed; the trust store names the key).
        public let name: String
    }

    /// The dossier's id (see `DossierID`), also named in every signature statement,
    /// transfer record and access-log entry of the dossier.
    public let dossierID: String
    /// RFC 3339 UTC time of sealing, seconds precision ("2026-11-26T22:00:00Z").
    public let sealedAt: String
    /// Metadata the sealer chose to make public (string values only).
    public let publicMetadata: [String: String]
    /// SHA-256 (hex) of the age header as sealed.
    public let payloadHeaderSHA256: String
    /// SHA-256 (hex) of the payload body: everything after the age header.
    public let payloadBodySHA256: String
    /// Size of the payload body in bytes (the payload nonce and STREAM chunks after the age header).
    public let payloadBodySize: Int64
    /// Counts and total size of the sealed content (no names).
    public let fileCount: Int64
    /// Folders in the content: the case folder's subfolders at any depth (not itself).
    public let directoryCount: Int64
    /// Total size in bytes of the content's files.
    public let contentBytes: Int64
    /// SHA-256 (hex) of the private manifest inside the payload.
    public let privateManifestSHA256: String
    /// The signers at sealing, in signature order; each must have a valid signature in the
    /// container. Later countersigners and transferrers are not listed (the manifest never
    /// changes).
    public let signers: [Signer]
    /// The profile the content was checked against at sealing, if any.
    public let profile: ProfileRecord?
    /// SHA-256 (hex) of the access log's genesis ("sealed") entry, when sealed with a ledger.
    public let accessLogGenesisSHA256: String?
    /// The software that sealed it, informational.
    public let generator: String

    init(dossierID: String, sealedAt: String, publicMetadata: [String: String], payloadHeaderSHA256: String,
         payloadBodySHA256: String, payloadBodySize: Int64, fileCount: Int64, directoryCount: Int64, contentBytes: Int64,
         privateManifestSHA256: String, signers: [Signer], accessLogGenesisSHA256: String?, generator: String,
         profile: ProfileRecord? = nil) {
        self.profile = profile
        self.dossierID = dossierID
        self.sealedAt = sealedAt
        self.publicMetadata = publicMetadata
        self.payloadHeaderSHA256 = payloadHeaderSHA256
        self.payloadBodySHA256 = payloadBodySHA256
        self.payloadBodySize = payloadBodySize
        self.fileCount = fileCount
        self.directoryCount = directoryCount
        self.contentBytes = contentBytes
        self.privateManifestSHA256 = privateManifestSHA256
        self.signers = signers
        self.accessLogGenesisSHA256 = accessLogGenesisSHA256
        self.generator = generator
    }

    func json() -> JSONValue {
        var object: [String: JSONValue] = [
            "format": .string(Self.format),
            "dossierId": .string(dossierID),
            "sealedAt": .string(sealedAt),
            "public": .object(publicMetadata.mapValues { .string($0) }),
            "payload": .object([
                "entry": "payload.age",
                "encryption": "age-v1",
                "archive": "pax+zstd",
                "headerSHA256": .string(payloadHeaderSHA256),
                "bodySHA256": .string(payloadBodySHA256),
                "bodySize": .integer(payloadBodySize),
            ]),
            "contents": .object([
                "files": .integer(fileCount),
                "directories": .integer(directoryCount),
                "bytes": .integer(contentBytes),
                "privateManifestSHA256": .string(privateManifestSHA256),
            ]),
            "signers": .array(signers.map { .object(["keyId": .string($0.keyID), "role": .string($0.role.rawValue), "name": .string($0.name)]) }),
            "generator": .string(generator),
        ]
        if let accessLogGenesisSHA256 {
            object["accessLog"] = .object(["genesisSHA256": .string(accessLogGenesisSHA256)])
        }
        if let profile {
            var p: [String: JSONValue] = ["id": .string(profile.id), "version": .string(profile.version), "sha256": .string(profile.sha256),
                                          "result": .string(profile.result), "failedRules": .integer(Int64(profile.failedRules))]
            if let reason = profile.overrideReason { p["overrideReason"] = .string(reason) }
            object["profile"] = .object(p)
        }
        return .object(object)
    }

    /// The exact bytes stored in `META-INF/manifest.json` and signed.
    func canonicalBytes() -> [UInt8] { json().canonicalBytes() }

    /// Parses the stored bytes: canonical JSON, known format, every field well-typed.
    init(canonical bytes: [UInt8]) throws(DossierError) {
        let value: JSONValue
        do {
            value = try JSONValue.parseCanonical(bytes, maxDepth: 8, maxBytes: Self.maxBytes)
        } catch {
            throw DossierError(.manifest, "META-INF/manifest.json is not valid canonical JSON: \(error)")
        }
        func fail(_ what: String) -> DossierError { DossierError(.manifest, "META-INF/manifest.json \(what)") }
        guard let format = value["format"]?.stringValue else { throw fail("has no format field") }
        guard format == Self.format else {
            throw fail("has the unknown format \"\(format)\"; this version reads \(Self.format)")
        }
        guard let object = value.objectValue else { throw fail("is not an object") }
        let allowed: Set = ["format", "dossierId", "sealedAt", "public", "payload", "contents", "signers", "generator", "accessLog", "profile"]
        if let unknown = Set(object.keys).subtracting(allowed).sorted().first {
            throw fail("has the unknown field \"\(unknown.abbreviated)\"")
        }
        guard let id = value["dossierId"]?.stringValue, DossierID.isValid(id) else { throw fail("has a missing or invalid dossierId") }
        guard let sealedAt = value["sealedAt"]?.stringValue, Timestamp.isValid(sealedAt) else { throw fail("has a missing or invalid sealedAt") }
        guard let publicObject = value["public"]?.objectValue else { throw fail("has no public metadata object") }
        var metadata: [String: String] = [:]
        for (key, item) in publicObject {
            guard let string = item.stringValue else { throw fail("has a non-string public metadata value for \"\(key)\"") }
            metadata[key] = string
        }
        if let violation = Limits.publicMetadataViolation(metadata) { throw fail("has public metadata with \(violation)") }
        guard let payload = value["payload"]?.objectValue,
              Set(payload.keys) == ["entry", "encryption", "archive", "headerSHA256", "bodySHA256", "bodySize"],
              payload["entry"]?.stringValue == "payload.age", payload["encryption"]?.stringValue == "age-v1",
              payload["archive"]?.stringValue == "pax+zstd",
              let header = payload["headerSHA256"]?.stringValue, Hex.isSHA256(header),
              let body = payload["bodySHA256"]?.stringValue, Hex.isSHA256(body),
              let bodySize = payload["bodySize"]?.integerValue, bodySize >= 0
        else { throw fail("has a malformed payload object") }
        guard let contents = value["contents"]?.objectValue,
              Set(contents.keys) == ["files", "directories", "bytes", "privateManifestSHA256"],
              let files = contents["files"]?.integerValue, files >= 0,
              let directories = contents["directories"]?.integerValue, directories >= 0,
              let bytesCount = contents["bytes"]?.integerValue, bytesCount >= 0,
              let privateSHA = contents["privateManifestSHA256"]?.stringValue, Hex.isSHA256(privateSHA)
        else { throw fail("has a malformed contents object") }
        if let violation = Limits.violation(files: files, directories: directories, contentBytes: bytesCount, bodySize: bodySize) {
            throw fail(violation)
        }
        guard let signerList = value["signers"]?.arrayValue else { throw fail("has no signers list") }
        // A seal has 1…99 signers (signatures are numbered with two digits): a manifest
        // naming none would verify with no signature at all.
        guard (1...ContainerFormat.maxSequence).contains(signerList.count) else {
            throw fail("names \(signerList.count) signers (a sealed dossier has 1 to \(ContainerFormat.maxSequence))")
        }
        var signers: [Signer] = []
        for item in signerList {
            guard let o = item.objectValue, Set(o.keys) == ["keyId", "role", "name"],
                  let keyID = o["keyId"]?.stringValue, Hex.isKeyID(keyID),
                  let roleText = o["role"]?.stringValue, let role = DossierRole(rawValue: roleText),
                  let name = o["name"]?.stringValue
            else { throw fail("has a malformed signer") }
            signers.append(Signer(keyID: keyID, role: role, name: name))
        }
        var genesis: String?
        if let log = value["accessLog"] {
            guard let o = log.objectValue, Set(o.keys) == ["genesisSHA256"], let g = o["genesisSHA256"]?.stringValue, Hex.isSHA256(g) else {
                throw fail("has a malformed accessLog object")
            }
            genesis = g
        }
        guard let generator = value["generator"]?.stringValue else { throw fail("has no generator") }
        var profile: ProfileRecord?
        if let p = value["profile"] {
            guard let o = p.objectValue, Set(o.keys).isSubset(of: ["id", "version", "sha256", "result", "failedRules", "overrideReason"]),
                  let pid = o["id"]?.stringValue, DossierID.isValid(pid), let pversion = o["version"]?.stringValue, !pversion.isEmpty,
                  let psha = o["sha256"]?.stringValue, Hex.isSHA256(psha),
                  let result = o["result"]?.stringValue, result == "passed" || result == "overridden",
                  let failed = o["failedRules"]?.integerValue, failed >= 0,
                  // What a seal writes: "passed" with no failed rule, or "overridden" with failed rules and
                  // a reason on one line (SealOptions.profileOverride).
                  (result == "passed") == (failed == 0),
                  (result == "overridden") == (o["overrideReason"] != nil),
                  o["overrideReason"].map({ $0.stringValue.map { !$0.isEmpty && !$0.contains(where: \.isNewline) } ?? false }) ?? true
            else { throw fail("has a malformed profile object") }
            profile = ProfileRecord(id: pid, version: pversion, sha256: psha, result: result, failedRules: Int(failed),
                                    overrideReason: o["overrideReason"]?.stringValue)
        }
        self.init(dossierID: id, sealedAt: sealedAt, publicMetadata: metadata, payloadHeaderSHA256: header,
                  payloadBodySHA256: body, payloadBodySize: bodySize, fileCount: files, directoryCount: directories,
                  contentBytes: bytesCount, privateManifestSHA256: privateSHA, signers: signers,
                  accessLogGenesisSHA256: genesis, generator: generator, profile: profile)
    }
}

/// Dossier identifiers: 1…128 characters from `A-Z a-z 0-9 . _ -`, not starting with "." or "-".
public enum DossierID {
    /// Whether `id` follows those rules (by bytes: only ASCII letters, digits, ".", "_", "-").
    public static func isValid(_ id: String) -> Bool {
        let bytes = Array(id.utf8)
        guard (1...128).contains(bytes.count), bytes.first != UInt8(ascii: "."), bytes.first != UInt8(ascii: "-") else { return false }
        return bytes.allSatisfy { (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) || $0 == 46 || $0 == 95 || $0 == 45 }
    }
}

/// Lower-case hex helpers for digests and key ids.
enum Hex {
    static func encode(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in bytes { out.append(digits[Int(byte >> 4)]); out.append(digits[Int(byte & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether `hex` is the lower-case hex encoding of `bytes` (`encode(bytes) == hex`, without building the string).
    static func matches(_ bytes: [UInt8], _ hex: String) -> Bool {
        bytes.withUnsafeBytes { matches($0, hex) }
    }

    /// Whether `hex` is the lower-case hex encoding of `bytes`.
    static func matches(_ bytes: UnsafeRawBufferPointer, _ hex: String) -> Bool {
        var hex = hex
        return hex.withUTF8 { matches(bytes, UnsafeRawBufferPointer($0)) }
    }

    /// Whether `text` (UTF-8 bytes) is the lower-case hex encoding of `bytes`.
    static func matches(_ bytes: UnsafeRawBufferPointer, _ text: UnsafeRawBufferPointer) -> Bool {
        let digits: StaticString = "0123456789abcdef"
        guard text.count == 2 * bytes.count else { return false }
        let table = digits.utf8Start
        for (index, byte) in bytes.enumerated()
        where text[2 * index] != table[Int(byte >> 4)] || text[2 * index + 1] != table[Int(byte & 15)] {
            return false
        }
        return true
    }

    static func isSHA256(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    static func isKeyID(_ text: String) -> Bool {
        text.utf8.count == 16 && text.utf8.allSatisfy { (48...57).contains($0) || (65...70).contains($0) }
    }
}

/// RFC 3339 timestamps in UTC with seconds precision: "2026-11-26T22:00:00Z".
enum Timestamp {
    static func format(_ seconds: Int64) -> String {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let s = String(value)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))Z"
    }

    static func parse(_ text: String) -> Int64? {
        let b = Array(text.utf8)
        guard b.count == 20, b[4] == 45, b[7] == 45, b[10] == 84, b[13] == 58, b[16] == 58, b[19] == 90 else { return nil }
        func number(_ range: Range<Int>) -> Int32? {
            guard b[range].allSatisfy({ (48...57).contains($0) }) else { return nil }
            return Int32(String(decoding: b[range], as: UTF8.self))
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
              let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 60 else { return nil }
        var parts = tm()
        parts.tm_year = year - 1900
        parts.tm_mon = month - 1
        parts.tm_mday = day
        parts.tm_hour = hour
        parts.tm_min = minute
        parts.tm_sec = second
        let seconds = Int64(timegm(&parts))
        return format(seconds) == text ? seconds : nil
    }

    static func isValid(_ text: String) -> Bool { parse(text) != nil }
}
