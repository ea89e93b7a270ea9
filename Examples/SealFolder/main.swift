// Example: seal a case folder with DossierKit's public API only.
//
//   swift run seal-folder Examples/case-2024-0117 out/examples
//
// Creates keys in OUTDIR, seals FOLDER into OUTDIR/<id>.dossier with an access log,
// and prints the public manifest's main facts.
import DossierKit
import Foundation

let arguments = CommandLine.arguments
guard arguments.count == 3 else {
    FileHandle.standardError.write(Data("usage: seal-folder FOLDER OUTDIR\n".utf8))
    exit(64)
}
let (folder, outDir) = (arguments[1], arguments[2])

do {
    try FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: true)
    let recipientKey = try AgeX25519.generate()
    try recipientKey.writeIdentityFile(toPath: outDir + "/recipient.age")
    let archivist = try SigningKey.generate(name: "Example Archivist")
    try archivist.write(toPath: outDir + "/archivist.sign")
    try archivist.publicKey.fileText.write(toFile: outDir + "/archivist.pub", atomically: true, encoding: .utf8)

    let signer = DossierSigner(key: archivist, role: .sealer, name: "Example Archivist")
    let log = try AccessLog(path: outDir + "/access-log.sqlite", createIfMissing: true)
    let receipt = try Dossier.seal(
        folder, to: [AgeRecipient(recipientKey.recipient)], signedBy: [signer],
        writingTo: outDir + "/" + (folder as NSString).lastPathComponent + ".dossier",
        options: SealOptions(publicMetadata: ["court": "Example District Court"],
                             log: AccessRecorder(log: log, actor: signer, purpose: "sealed by the SealFolder example")))
    let m = receipt.manifest
    print("sealed \(m.dossierID): \(m.fileCount) files, \(m.contentBytes) bytes → \(receipt.path) (\(receipt.containerBytes) bytes)")
    print("status after re-reading the written file: \(receipt.report.status)")
} catch {
    FileHandle.standardError.write(Data("seal-folder: \(error)\n".utf8))
    exit(1)
}
