// Example: verify a shelf of dossiers as an inspector, with public keys only.
//
//   swift run verify-shelf TRUSTFILE DOSSIER...
//
// Prints one line per dossier and a summary; exits 0 only if every dossier is valid.
import DossierKit
import Foundation

let arguments = CommandLine.arguments
guard arguments.count >= 3 else {
    FileHandle.standardError.write(Data("usage: verify-shelf TRUSTFILE DOSSIER...\n".utf8))
    exit(64)
}

do {
    let trust = try TrustStore.load(path: arguments[1])
    var counts: [VerificationReport.Status: Int] = [:]
    for path in arguments.dropFirst(2) {
        let report = Dossier.verify(path, trusting: trust)
        counts[report.status, default: 0] += 1
        let signers = report.signatures.map { "\($0.role):\($0.trustedName ?? $0.signerName)=\($0.outcome)" }.joined(separator: ", ")
        print("\(report.status.rawValue.uppercased()) \(path) \(report.manifest?.dossierID ?? "?") [\(signers)]")
        if report.status != .valid { print("    \(report.failureSummary)") }
    }
    print("\(arguments.count - 2) dossiers: \(counts[.valid] ?? 0) valid, \(counts[.untrusted] ?? 0) untrusted, \(counts[.invalid] ?? 0) invalid")
    exit(counts[.valid] == arguments.count - 2 ? 0 : 2)
} catch {
    FileHandle.standardError.write(Data("verify-shelf: \(error)\n".utf8))
    exit(1)
}
