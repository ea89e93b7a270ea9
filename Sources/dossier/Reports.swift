import DossierKit

/// JSON shapes printed with --json. Field names are stable (documented in README).
enum Reports {
    static func manifest(_ m: DossierManifest) -> JSONValue {
        var object: [String: JSONValue] = [
            "format": .string(DossierManifest.format),
            "dossierId": .string(m.dossierID),
            "sealedAt": .string(m.sealedAt),
            "public": .object(m.publicMetadata.mapValues { .string($0) }),
            "files": .integer(m.fileCount),
            "directories": .integer(m.directoryCount),
            "contentBytes": .integer(m.contentBytes),
            "payloadBodySHA256": .string(m.payloadBodySHA256),
            "payloadBodySize": .integer(m.payloadBodySize),
            "signers": .array(m.signers.map { .object(["keyId": .string($0.keyID), "role": .string($0.role.rawValue), "name": .string($0.name)]) }),
            "generator": .string(m.generator),
        ]
        if let genesis = m.accessLogGenesisSHA256 { object["accessLogGenesisSHA256"] = .string(genesis) }
        if let p = m.profile {
            var profile: [String: JSONValue] = ["id": .string(p.id), "version": .string(p.version), "sha256": .string(p.sha256),
                                                "result": .string(p.result), "failedRules": .integer(Int64(p.failedRules))]
            if let reason = p.overrideReason { profile["overrideReason"] = .string(reason) }
            object["profile"] = .object(profile)
        }
        return .object(object)
    }

    /// One signature; without `trustEvaluated` (inspect: no trust store) `trusted` and
    /// `roleAllowed` are null and `outcome` says only "valid" or "invalid".
    static func signature(_ s: VerificationReport.Signature, trustEvaluated: Bool) -> JSONValue {
        var object: [String: JSONValue] = [
            "entry": .string(s.entry), "keyId": .string(s.keyID), "role": .string(s.role.rawValue),
            "signerName": .string(s.signerName), "signedAt": .string(s.signedAt),
            "outcome": .string(trustEvaluated ? s.outcome : (s.isBroken ? "invalid" : "valid")),
            "valid": .bool(s.isValid), "trusted": trustEvaluated ? .bool(s.isTrusted) : .null,
            "roleAllowed": trustEvaluated ? .bool(s.isRoleAllowed) : .null,
        ]
        if let name = s.trustedName { object["trustedName"] = .string(name) }
        if let problem = s.problem, trustEvaluated || s.isBroken { object["problem"] = .string(problem) }
        return .object(object)
    }

    static func report(_ r: VerificationReport) -> JSONValue {
        var object: [String: JSONValue] = [
            "path": .string(r.path),
            "status": .string(r.status.rawValue),
            "checks": .array(r.checks.map { .object(["name": .string($0.name), "passed": .bool($0.passed), "detail": .string($0.detail)]) }),
            "signatures": .array(r.signatures.map { signature($0, trustEvaluated: true) }),
            "transfers": .array(r.transfers.map {
                .object(["sequence": .integer(Int64($0.sequence)), "at": .string($0.at), "byKeyId": .string($0.byKeyID),
                         "byName": .string($0.byName), "reason": .string($0.reason), "recipients": .integer(Int64($0.recipientCount)),
                         "signature": signature($0.signature, trustEvaluated: true)])
            }),
            "requiredRoles": .array(r.requiredRoles.map { .string($0.rawValue) }),
            "missingRoles": .array(r.missingRoles.map { .string($0.rawValue) }),
            "recipientTypes": .array(r.recipientTypes.map { .string($0) }),
            "containerBytes": .integer(r.containerBytes),
        ]
        if let m = r.manifest { object["manifest"] = manifest(m) }
        if let c = r.content {
            object["content"] = .object(["filesChecked": .integer(Int64(c.filesChecked)), "bytesChecked": .integer(c.bytesChecked),
                                         "problems": .array(c.problems.map { .string($0) })])
        }
        return .object(object)
    }

    /// The human report of `dossier verify`.
    static func text(_ r: VerificationReport) -> String {
        var lines: [String] = []
        let mark = ["valid": "VALID", "untrusted": "UNTRUSTED", "invalid": "INVALID"][r.status.rawValue] ?? r.status.rawValue
        lines.append("\(r.path): \(mark)")
        if let m = r.manifest {
            lines.append("  dossier   \(m.dossierID), sealed \(m.sealedAt), \(m.fileCount) files, \(bytes(m.contentBytes))")
            for (key, value) in m.publicMetadata.sorted(by: { $0.key < $1.key }) { lines.append("  public    \(key): \(value)") }
            if let p = m.profile {
                lines.append("  profile   \(p.id) \(p.version): \(p.result)\(p.overrideReason.map { " (\(p.failedRules) rules failed; reason: \($0))" } ?? "")")
            }
        }
        for s in r.signatures {
            let who = s.trustedName ?? (s.signerName.isEmpty ? "?" : "\"\(s.signerName)\" (claimed)")
            lines.append("  signature \(s.role) \(who) \(s.keyID) \(s.signedAt): \(s.outcome)\(s.problem.map { " — \($0)" } ?? "")")
        }
        for t in r.transfers {
            lines.append("  transfer  #\(t.sequence) \(t.at) by \(t.signature.trustedName ?? t.byName): \(t.reason) [\(t.signature.outcome)]")
        }
        for c in r.checks where !c.passed { lines.append("  FAILED    \(c.name): \(c.detail)") }
        if let c = r.content, c.problems.isEmpty { lines.append("  content   \(c.filesChecked) files checked against the private manifest") }
        return lines.map(\.terminalSafe).joined(separator: "\n")
    }

    static func bytes(_ n: Int64) -> String {
        let units = ["bytes", "KB", "MB", "GB", "TB"]
        var value = Double(n)
        var unit = 0
        while value >= 1000 && unit < units.count - 1 { value /= 1000; unit += 1 }
        return unit == 0 ? "\(n) bytes" : "\(String(format: "%.1f", value)) \(units[unit])"
    }
}
