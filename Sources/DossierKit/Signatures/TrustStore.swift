/// The keys an inspector trusts, with names and the roles each may sign in.
///
/// Trust file format, one key per line; `#` starts a comment line; blank lines are ignored:
/// ```
/// # role[,role…]   minisign public key                                        name
/// sealer,approver  RWQf6LRCGA9i53mlYecO4IzT51TGPpvWucNSCh1CBM0QTaLn73Y7GFO3  Anna Archivist
/// ```
public struct TrustStore: Sendable {
    /// One trusted key: whose it is, and the roles it may sign in.
    public struct Entry: Sendable, Equatable {
        /// The key holder's name, as the inspector knows it; reports show it instead of the
        /// name a signature claims.
        public let name: String
        /// The roles the key is trusted to sign in; a valid signature in another role is
        /// reported as "role not allowed".
        public let roles: Set<DossierRole>
        /// The trusted key; a signature with its key id but another key is invalid.
        public let publicKey: SignerPublicKey

        /// An entry trusting `publicKey`, held by `name`, in `roles`.
        public init(name: String, roles: Set<DossierRole>, publicKey: SignerPublicKey) {
            self.name = name
            self.roles = roles
            self.publicKey = publicKey
        }
    }

    /// The trusted keys, in file (or given) order.
    public let entries: [Entry]

    /// A trust store of `entries`. Unlike a parsed trust file, a key id may appear twice
    /// here; then only its first entry counts.
    public init(_ entries: [Entry]) { self.entries = entries }

    /// No trusted keys: every signature is reported untrusted.
    public static let empty = TrustStore([])

    /// The entry for a key id, if trusted.
    public func entry(forKeyID keyID: String) -> Entry? {
        entries.first { $0.publicKey.keyID == keyID }
    }

    /// Parses trust file text. Errors name the line.
    public init(parsing text: String) throws(DossierError) {
        var entries: [Entry] = []
        var number = 0
        // One byte-order mark at the start (editors on Windows write one) is not part of the text.
        let text = text.unicodeScalars.first == "\u{FEFF}" ? String(text.unicodeScalars.dropFirst()) : text
        for raw in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            number += 1
            // A control character could make an active line look like a comment on a terminal
            // ("…Anna\r# revoked"): refused on every line, comments too.
            if let hidden = raw.unicodeScalars.first(where: Self.hidesText) {
                throw DossierError(.key, "trust file line \(number) holds the control character U+\(String(hidden.value, radix: 16, uppercase: true)), which can hide what the line says",
                                   hint: "remove it (a trust file is plain text, one key per line)")
            }
            let line = raw.trimmingWhitespace()
            if line.isEmpty || line.hasPrefix("#") { continue }
            let fields = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
            guard fields.count == 3 else {
                throw DossierError(.key, "trust file line \(number): expected \"ROLES PUBLIC-KEY NAME\"")
            }
            var roles = Set<DossierRole>()
            for roleText in fields[0].split(separator: ",", omittingEmptySubsequences: false) {
                guard let role = DossierRole(rawValue: String(roleText)) else {
                    throw DossierError(.key, "trust file line \(number): \"\(roleText)\" is not a role (lower-case word such as sealer, approver, countersigner, transferrer)")
                }
                roles.insert(role)
            }
            let key: SignerPublicKey
            do { key = try SignerPublicKey(String(fields[1])) } catch {
                throw DossierError(.key, "trust file line \(number): \(error.reason)")
            }
            guard !entries.contains(where: { $0.publicKey.keyID == key.keyID }) else {
                throw DossierError(.key, "trust file line \(number): key \(key.keyID) is listed twice")
            }
            entries.append(Entry(name: String(fields[2].trimmingWhitespace()), roles: roles, publicKey: key))
        }
        self.entries = entries
    }

    /// C0 controls but the tab, DEL, C1 controls, the line and paragraph separators and the
    /// bidirectional controls. (Not every invisible character: joiners belong in some names.)
    static func hidesText(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        return (v < 0x20 && v != 0x09) || (0x7F...0x9F).contains(v) || v == 0x2028 || v == 0x2029
            || (0x202A...0x202E).contains(v) || (0x2066...0x2069).contains(v) || v == 0x200E || v == 0x200F || v == 0x061C
    }

    /// Loads a trust file.
    public static func load(path: String) throws(DossierError) -> TrustStore {
        let bytes: [UInt8]
        do { bytes = try FileSource(path: path).readAll(limit: 4 << 20) } catch {
            throw DossierError(.key, "cannot read trust file: \(error)")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw DossierError(.key, "trust file \(path) is not UTF-8 text") }
        return try TrustStore(parsing: text)
    }

    /// The trust file text for these entries.
    public var fileText: String {
        entries.map { "\($0.roles.sorted().map(\.rawValue).joined(separator: ",")) \($0.publicKey.base64) \($0.name)\n" }.joined()
    }
}
