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
