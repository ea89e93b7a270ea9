// Example: read and check a dossier's access history.
//
//   swift run read-history LEDGER DOSSIER-FILE [TRUSTFILE]
//
// Prints every entry (who, what, when, why) and whether the chain is intact and anchored
// in the dossier's manifest.
import DossierKit
import Foundation

let arguments = CommandLine.arguments
guard (3...4).contains(arguments.count) else {
    FileHandle.standardError.write(Data("usage: read-history LEDGER DOSSIER-FILE [TRUSTFILE]\n".utf8))
    exit(64)
}

do {
    // Only read: an inspector's copy of the ledger may be read-only.
    let log = try AccessLog(path: arguments[1], readOnly: true)
    let trust = arguments.count == 4 ? try TrustStore.load(path: arguments[3]) : .empty
    guard let manifest = Dossier.verify(arguments[2], trusting: trust, requiringRoles: []).manifest else {
        FileHandle.standardError.write(Data("read-history: \(arguments[2]) is not a readable dossier\n".utf8))
        exit(2)
    }
    for entry in try log.history(of: manifest.dossierID) {
        print("#\(entry.sequence) \(entry.at) \(entry.event.rawValue) by \(entry.actorName) (\(entry.actorRole)): \(entry.purpose)")
    }
    let report = log.verify(dossierID: manifest.dossierID, trusting: trust, anchor: manifest.accessLogGenesisSHA256)
    print(report.isIntact ? "history intact and anchored in the manifest" : "history DAMAGED: \(report.problems.joined(separator: "; "))")
    for note in report.untrusted { print("untrusted: \(note)") }
    if report.entriesAfterCheckpoint > 0 {
        let count = report.entriesAfterCheckpoint
        print("\(count) ledger \(count == 1 ? "entry is" : "entries are") newer than the newest verified checkpoint")
    }
    exit(report.isIntact ? 0 : 2)
} catch {
    FileHandle.standardError.write(Data("read-history: \(error)\n".utf8))
    exit(1)
}
