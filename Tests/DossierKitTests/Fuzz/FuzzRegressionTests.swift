import Foundation
import Testing
@testable import DossierKit

/// Replays the kept fuzz inputs (Vectors/fuzz-regressions/TARGET/*: every input that ever
/// crashed a target, plus a sample of the corpus each run reached) through the same
/// entry points as the fuzzer (docs/FUZZING.md). A crash fails the whole test run.
@Suite("Fuzz regressions")
struct FuzzRegressionTests {
    static var inputs: [(target: String, file: String)] {
        let root = Vectors.url("fuzz-regressions").path
        return FuzzEntryPoints.targets.flatMap { target in
            ((try? FileManager.default.contentsOfDirectory(atPath: root + "/" + target)) ?? []).sorted().map { (target, root + "/" + target + "/" + $0) }
        }
    }

    @Test("every kept input runs through its target without a crash or a broken property")
    func replay() throws {
        let scratch = try TemporaryDirectory()
        var counts: [String: Int] = [:]
        for (target, file) in Self.inputs {
            let data = Array(try Data(contentsOf: URL(fileURLWithPath: file)))
            #expect(throws: Never.self, "\(target) \(file)") {
                try FuzzEntryPoints.run(target, data, scratchPath: scratch.path("input.dossier"), isKnownDossier: { _ in false })
            }
            counts[target, default: 0] += 1
        }
        // Every target has kept inputs, so a renamed target cannot silently drop its regressions.
        for target in FuzzEntryPoints.targets { #expect(counts[target, default: 0] > 0, "no kept inputs for \(target)") }
    }

    @Test("the fuzz keys reach past the key checks: the seed dossier of each kind verifies")
    func seedsReachDeep() throws {
        let dir = try TemporaryDirectory()
        let folder = dir.path("case")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Data("alpha".utf8).write(to: URL(fileURLWithPath: folder + "/a.txt"))
        let signer = DossierSigner(key: FuzzEntryPoints.Keys.signer, role: .sealer, name: "Fuzz Signer")
        let path = dir.path("seed.dossier")
        _ = try Dossier.seal(folder, to: [FuzzEntryPoints.Keys.identity.recipient!], signedBy: [signer], writingTo: path)
        #expect(FuzzEntryPoints.container(atPath: path) == .valid)
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        // The forgery check fires for a valid container that is not a known seed ...
        #expect(throws: FuzzEntryPoints.PropertyViolation.self) {
            try FuzzEntryPoints.run("container", bytes, scratchPath: dir.path("copy.dossier"), isKnownDossier: { _ in false })
        }
        // ... and not for a known one.
        try FuzzEntryPoints.run("container", bytes, scratchPath: dir.path("copy.dossier"), isKnownDossier: { $0 == bytes })
    }
}

@Suite("Fuzz findings")
struct FuzzFindingTests {
    /// Found by the `signature` target: " name=" right after the prefix made the field range
    /// run backwards (a trap). An attacker's own key can sign such a trusted comment, so one
    /// signature file could crash every inspector's `dossier verify`.
    @Test("a trusted comment whose name= follows the prefix at once is refused, not a crash")
    func nameRightAfterPrefix() throws {
        #expect(SignatureStatement(trustedComment: "dossier-signature/1 name=F") == nil)
        #expect(SignatureStatement(trustedComment: "dossier-signature/1  name=F") == nil)
        #expect(SignatureStatement(trustedComment: "dossier-signature/1 name=") == nil)
        let valid = SignatureStatement(dossierID: "d", role: .sealer, keyID: "0102030405060708", time: "2026-01-01T00:00:00Z", name: "A name=B")
        #expect(SignatureStatement(trustedComment: valid.trustedComment) == valid)

        // End to end: a dossier whose signature, made with the attacker's own key, carries it.
        let fx = try DossierFixture()
        let receipt = try fx.seal(try fx.folder("case", ["a.txt": [1]]))
        let container = try ContainerReader(path: receipt.path)
        let payload = try container.file.read(at: container.payload.dataOffset, count: Int(container.payload.size))
        let attacker = try SigningKey.generate(name: "Mallory")
        let signature = try attacker.sign(container.manifestBytes, trustedComment: "dossier-signature/1 name=Mallory")
        let path = fx.dir.path("hostile.dossier")
        let file = try FileSink(creating: path)
        let writer = try ContainerWriter(sink: file, mtime: Int64(container.payload.mtime))
        try writer.add("mimetype", Array(ContainerFormat.mimetype.utf8))
        try writer.add("payload.age", payload)
        try writer.add("META-INF/manifest.json", container.manifestBytes)
        try writer.add(ContainerFormat.SignatureName(sequence: 1, role: .sealer, keyID: attacker.publicKey.keyID).entryName, Array(signature.fileText.utf8))
        try writer.close()
        try file.close()
        let report = Dossier.verify(path, trusting: fx.trust)
        #expect(report.status == .invalid)
    }
}
