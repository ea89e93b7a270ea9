import Benchmark
import DossierKit
import Foundation

// Seal, open and verify on the corpora of ../shared/bench/make-corpus (generated on first
// use into $DOSSIER_BENCH_DIR or /tmp/dossier-bench), with throughput, peak memory and
// malloc counts. Side-by-side comparisons with the peer pipelines are in compare.sh.

let benchDir = ProcessInfo.processInfo.environment["DOSSIER_BENCH_DIR"] ?? NSTemporaryDirectory() + "dossier-bench"

/// The corpus folder for `profile`, generated once.
func corpus(_ profile: String) throws -> String {
    let path = benchDir + "/corpus-" + profile
    if !FileManager.default.fileExists(atPath: path) {
        let tool = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/bench/make-corpus").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", ProcessInfo.processInfo.environment["CORPUS_TOOL"] ?? tool, profile, path]
        try process.run()
        process.waitUntilExit()
    }
    return path
}

func folderBytes(_ path: String) -> Int {
    var total = 0
    let enumerator = FileManager.default.enumerator(atPath: path)
    while let item = enumerator?.nextObject() as? String {
        total += ((try? FileManager.default.attributesOfItem(atPath: path + "/" + item)[.size]) as? Int) ?? 0
    }
    return total
}

final class Keys: @unchecked Sendable {
    let recipient: AgeX25519.GeneratedKey
    let signer: DossierSigner
    let trust: TrustStore
    init() throws {
        recipient = try AgeX25519.generate()
        let key = try SigningKey.generate(name: "Bench")
        signer = DossierSigner(key: key, role: .sealer, name: "Bench")
        trust = TrustStore([.init(name: "Bench", roles: [.sealer], publicKey: key.publicKey)])
    }
}

let keys = try! Keys()

func sealOnce(_ profile: String, to output: String, ledger: String) throws -> SealReceipt {
    let log = try AccessLog(path: ledger, createIfMissing: true)
    return try Dossier.seal(try corpus(profile), to: [AgeRecipient(keys.recipient.recipient)], signedBy: [keys.signer], writingTo: output,
                            options: SealOptions(dossierID: "bench-\(UUID().uuidString.prefix(8))",
                                                 log: AccessRecorder(log: log, actor: keys.signer, purpose: "bench")))
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .peakMemoryResident, .mallocCountTotal, .throughput],
        timeUnits: .milliseconds, warmupIterations: 1, maxDuration: .seconds(60), maxIterations: 5)

    for profile in ["typical", "small-files"] {
        Benchmark("seal \(profile)") { benchmark in
            let out = benchDir + "/seal-\(profile).dossier"
            unlink(out)
            unlink(benchDir + "/seal-ledger.sqlite")
            benchmark.startMeasurement()
            let receipt = try sealOnce(profile, to: out, ledger: benchDir + "/seal-ledger.sqlite")
            benchmark.stopMeasurement()
            blackHole(receipt)
        }

        // Opened folders are moved aside, not deleted, until the benchmark ends: creating
        // files right after 20,000 were deleted is an order of magnitude slower on ext4 (its
        // allocator skips recently deleted inodes), which would measure the disk, not us.
        // And nothing dirty is left in the page cache when a measurement starts (sync).
        Benchmark("open \(profile)", configuration: .init(setup: {
            try FileManager.default.createDirectory(atPath: benchDir + "/aside", withIntermediateDirectories: true)
            unlink(benchDir + "/open-\(profile).dossier")
            _ = try sealOnce(profile, to: benchDir + "/open-\(profile).dossier", ledger: benchDir + "/open-ledger.sqlite")
        }, teardown: {
            try? FileManager.default.removeItem(atPath: benchDir + "/aside")
        })) { benchmark in
            let out = benchDir + "/opened-\(profile)"
            if FileManager.default.fileExists(atPath: out) { rename(out, benchDir + "/aside/" + UUID().uuidString) }
            sync()
            let log = try AccessLog(path: benchDir + "/open-ledger.sqlite")
            benchmark.startMeasurement()
            let receipt = try Dossier.open(benchDir + "/open-\(profile).dossier", with: [keys.recipient.identity], into: out, trusting: keys.trust,
                                           recordingTo: AccessRecorder(log: log, actor: keys.signer, purpose: "bench"))
            benchmark.stopMeasurement()
            blackHole(receipt)
        }

        Benchmark("verify \(profile)", configuration: .init(setup: {
            try FileManager.default.createDirectory(atPath: benchDir, withIntermediateDirectories: true)
            unlink(benchDir + "/verify-\(profile).dossier")
            _ = try sealOnce(profile, to: benchDir + "/verify-\(profile).dossier", ledger: benchDir + "/verify-ledger-\(UUID().uuidString).sqlite")
        })) { benchmark in
            let report = Dossier.verify(benchDir + "/verify-\(profile).dossier", trusting: keys.trust)
            precondition(report.isValid)
            blackHole(report)
        }
    }
}
