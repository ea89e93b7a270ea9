import Foundation
import Testing
@testable import DossierKit

/// Several processes append to one ledger at once: nothing is lost and every chain stays valid.
@Suite("Access log: concurrent appends from many processes")
struct LedgerConcurrencyTests {
    static let workerEnvironment = "DOSSIER_LEDGER_WORKER"
    static let processes = 8
    static let eventsPerProcess = 500

    /// The body of one worker process (this test binary, re-launched by `eightProcesses`).
    /// Enabled only in those child processes.
    @Test("worker process: append events", .enabled(if: ProcessInfo.processInfo.environment[workerEnvironment] != nil))
    func worker() throws {
        let environment = ProcessInfo.processInfo.environment
        let path = try #require(environment[Self.workerEnvironment])
        let number = try #require(environment["DOSSIER_WORKER_NUMBER"])
        let key = try SigningKey(secretFileText: try #require(environment["DOSSIER_WORKER_KEY"]))
        let log = try AccessLog(path: path)
        let actor = DossierSigner(key: key, role: "reader", name: "worker \(number)")
        for i in 0..<Self.eventsPerProcess {
            // Half the events go to a dossier every worker writes to, half to the worker's own.
            try log.record(i % 2 == 0 ? .opened : .returned, dossierID: i % 2 == 0 ? "shared" : "own-\(number)",
                           payloadSHA256: String(repeating: "cd", count: 32), actor: actor, purpose: "worker \(number) event \(i)")
        }
    }

    @Test("8 processes × 500 events: all kept, every chain valid")
    func eightProcesses() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path("ledger.sqlite")
        let log = try AccessLog(path: path, createIfMissing: true)
        let key = try SigningKey.generate(name: "workers")
        let admin = DossierSigner(key: key, role: .sealer, name: "admin")
        let digest = String(repeating: "cd", count: 32)
        try log.record(.registered, dossierID: "shared", payloadSHA256: digest, actor: admin, purpose: "setup")
        for n in 0..<Self.processes {
            try log.record(.registered, dossierID: "own-\(n)", payloadSHA256: digest, actor: admin, purpose: "setup")
        }
        var children: [Process] = []
        for n in 0..<Self.processes {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
            process.arguments = ["--testing-library", "swift-testing", "--filter", "LedgerConcurrencyTests/worker"]
            process.environment = ProcessInfo.processInfo.environment.merging([
                Self.workerEnvironment: path, "DOSSIER_WORKER_NUMBER": String(n), "DOSSIER_WORKER_KEY": key.secretFileText,
            ]) { $1 }
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            children.append(process)
        }
        for child in children { child.waitUntilExit() }
        #expect(children.allSatisfy { $0.terminationStatus == 0 }, "a worker failed: \(children.map(\.terminationStatus))")

        let all = try log.store.records(dossierID: nil)
        #expect(all.count == 1 + Self.processes + Self.processes * Self.eventsPerProcess)
        #expect(try log.history(of: "shared").count == 1 + Self.processes * Self.eventsPerProcess / 2)
        for n in 0..<Self.processes {
            #expect(try log.history(of: "own-\(n)").count == 1 + Self.eventsPerProcess / 2)
        }
        let trust = TrustStore([.init(name: "workers", roles: [.sealer, "reader"], publicKey: key.publicKey)])
        let report = log.verify(trusting: trust)
        #expect(report.isValid, "\(report.problems.prefix(5))")
    }
}
