/// Names, order and constants of the `.dossier` container (docs/FORMAT.md §3).
enum ContainerFormat {
    static let mimetypeEntry = "mimetype"
    static let mimetype = "application/vnd.dossier+zip"
    static let payloadEntry = "payload.age"
    static let manifestEntry = "META-INF/manifest.json"
    static let signaturePrefix = "META-INF/signatures/"
    static let transferPrefix = "META-INF/transfers/"
    static let maxSignatureBytes = 8 * 1024
    static let maxTransferBytes = 64 * 1024
    /// Format v1 containers stay below 4 GiB (no zip64 end records).
    static let maxContainerBytes: Int64 = 0xFFFF_FFFF - (64 << 20)

    /// `META-INF/signatures/NN-ROLE-KEYID.minisig`
    struct SignatureName: Equatable {
        let sequence: Int
        let role: DossierRole
        let keyID: String

        var entryName: String { "\(ContainerFormat.signaturePrefix)\(twoDigits(sequence))-\(role.rawValue)-\(keyID).minisig" }

        init(sequence: Int, role: DossierRole, keyID: String) {
            self.sequence = sequence
            self.role = role
            self.keyID = keyID
        }

        init?(entryName: String) {
            guard entryName.hasPrefix(ContainerFormat.signaturePrefix), entryName.hasSuffix(".minisig") else { return nil }
            let core = entryName.dropFirst(ContainerFormat.signaturePrefix.count).dropLast(".minisig".count)
            let parts = core.split(separator: "-", omittingEmptySubsequences: false)
            guard parts.count >= 3, parts[0].count == 2, let sequence = Int(parts[0]), sequence >= 1,
                  let keyID = parts.last.map(String.init), Hex.isKeyID(keyID),
                  let role = DossierRole(rawValue: parts[1..<(parts.count - 1)].joined(separator: "-"))
            else { return nil }
            self.init(sequence: sequence, role: role, keyID: keyID)
            guard self.entryName == entryName else { return nil }
        }
    }

    /// `META-INF/transfers/NN.json` and `NN.json.minisig`
    static func transferName(_ sequence: Int) -> String { "\(transferPrefix)\(twoDigits(sequence)).json" }

    static func twoDigits(_ n: Int) -> String { n < 10 ? "0\(n)" : String(n) }

    /// Signatures and transfers are numbered with two digits: at most 99 of each.
    static let maxSequence = 99
}

/// The trusted comment of a dossier signature, which minisign shows and signs:
/// `dossier-signature/1 dossier=ID role=ROLE keyid=KEYID time=RFC3339 name=FREE TEXT`.
struct SignatureStatement: Equatable {
    static let prefix = "dossier-signature/1"
    let dossierID: String
    let role: DossierRole
    let keyID: String
    let time: String
    let name: String

    var trustedComment: String {
        "\(Self.prefix) dossier=\(dossierID) role=\(role.rawValue) keyid=\(keyID) time=\(time) name=\(name)"
    }

    init(dossierID: String, role: DossierRole, keyID: String, time: String, name: String) {
        self.dossierID = dossierID
        self.role = role
        self.keyID = keyID
        self.time = time
        self.name = name
    }

    init?(trustedComment: String) {
        guard trustedComment.hasPrefix(Self.prefix + " ") else { return nil }
        // The fields start after "dossier-signature/1 "; " name=" is searched from there, so
        // that a name= right after the prefix cannot make the range run backwards (fuzz finding).
        let fieldsStart = trustedComment.index(trustedComment.startIndex, offsetBy: Self.prefix.count + 1)
        guard let nameRange = trustedComment[fieldsStart...].range(of: " name=") else { return nil }
        let fields = trustedComment[fieldsStart..<nameRange.lowerBound].split(separator: " ")
        var values: [String: String] = [:]
        for field in fields {
            guard let eq = field.firstIndex(of: "=") else { return nil }
            values[String(field[..<eq])] = String(field[field.index(after: eq)...])
        }
        guard values.count == 4, let id = values["dossier"], let roleText = values["role"], let role = DossierRole(rawValue: roleText),
              let keyID = values["keyid"], Hex.isKeyID(keyID), let time = values["time"], Timestamp.isValid(time) else { return nil }
        self.init(dossierID: id, role: role, keyID: keyID, time: time, name: String(trustedComment[nameRange.upperBound...]))
        guard self.trustedComment == trustedComment else { return nil }
    }
}
