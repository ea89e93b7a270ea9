// Example: the README's "Using DossierKit from Swift" — seal, verify, open, read the history.
//
//   swift run seal-and-open CASE-FOLDER WORK-FOLDER
//
// Copies CASE-FOLDER to WORK-FOLDER/cases/CC-2024-0117 and runs, in WORK-FOLDER, exactly the
// code the README shows (between the README markers below; a test keeps the two the same).
import DossierKit
import Foundation

let arguments = CommandLine.arguments
guard arguments.count == 3 else {
    FileHandle.standardError.write(Data("usage: seal-and-open CASE-FOLDER WORK-FOLDER\n".utf8))
    exit(64)
}

do {
    let work = URL(fileURLWithPath: arguments[2])
    try FileManager.default.createDirectory(at: work.appendingPathComponent("cases"), withIntermediateDirectories: true)
    try FileManager.default.copyItem(atPath: arguments[1], toPath: work.appendingPathComponent("cases/CC-2024-0117").path)
    guard FileManager.default.changeCurrentDirectoryPath(work.path) else { throw CocoaError(.fileNoSuchFile) }

    // README begin
    let recipientKey = try AgeX25519.generate()
    let anna = try SigningKey.generate(name: "Anna Archivist")
    let log = try AccessLog(path: "ledger.sqlite", createIfMissing: true)

    // Seal a folder to recipients, signed by signers; the ledger gets the dossier's first
    // ("sealed") entry, which the manifest anchors.
    let sealer = DossierSigner(key: anna, role: .sealer, name: "Anna Archivist")
    let receipt = try Dossier.seal("cases/CC-2024-0117", to: [AgeRecipient(recipientKey.recipient)],
                                   signedBy: [sealer], writingTo: "CC-2024-0117.dossier",
                                   options: SealOptions(log: AccessRecorder(log: log, actor: sealer, purpose: "case closed")))

    // Verify a dossier trusting keys: a report, not a Bool.
    let trust = TrustStore([.init(name: "Anna Archivist", roles: [.sealer, .reader], publicKey: anna.publicKey)])
    let report = Dossier.verify("CC-2024-0117.dossier", trusting: trust)
    print(report.status, report.signatures.map(\.outcome))

    // Open it with an identity into a new folder; the opening is logged (signed) first.
    let reader = DossierSigner(key: anna, role: .reader, name: "Anna Archivist")
    let opened = try Dossier.open("CC-2024-0117.dossier", with: [recipientKey.identity], into: "opened", trusting: trust,
                                  recordingTo: AccessRecorder(log: log, actor: reader, purpose: "appeal review"))
    let history = try log.history(of: "CC-2024-0117")   // sealed, opened
    // README end

    print("sealed \(receipt.manifest.fileCount) files, opened into \(opened.destination); history: \(history.map(\.event.rawValue).joined(separator: ", "))")
    guard report.status == .valid, history.map(\.event) == [.sealed, .opened] else { exit(2) }
} catch {
    FileHandle.standardError.write(Data("seal-and-open: \(error)\n".utf8))
    exit(1)
}
