import Foundation
import Testing
@testable import DossierKit

/// Several processes append to one ledger at once: nothing is lost and every chain stays valid.
@Suite("Access log: concurrent appends from many processes")
struct LedgerConcurrencyTests {
    static let workerEnvironment = "DOSSIER_LEDGER_WORKER"
    static let processes = 8
    static let eventsPerProcess = 500
    static let reopenings = 150

    /// The body of one worker process (this test binary, re-launched by `eightProcesses`).
    /// Enabled only in those child processes.
    @Test("worker process: append events", .enabled(if: ProcessInfo.processInfo.environment[workerEnvironment] != nil))
    func worker() throws {
        let environment = ProcessInfo.processInfo.environment
        let path = try #require(environment[Self.workerEnvironment])
        let number = try #require(environment["DOSSIER_WORKER_NUMBER"])
        let key = try SigningKey(secretFileText: try #require(environment["DOSSIER_WORKER_KEY"]))
        let actor = DossierSigner(key: key, role: "reader", name: "worker \(number)")
        if environment["DOSSIER_WORKER_REOPEN"] != nil {
            // As separate commands do: open the ledger, append, close — by turns with the others.
            for i in 0..<Self.reopenings {
                let log = try AccessLog(path: path, createIfMissing: true)
                if i == 0, try log.history(of: "own-\(number)").isEmpty {
                    try log.record(.registered, dossierID: "own-\(number)", payloadSHA256: String(repeating: "cd", count: 32), actor: actor, purpose: "setup")
                }
                try log.record(.returned, dossierID: "own-\(number)", payloadSHA256: String(repeating: "cd", count: 32), actor: actor,
                               purpose: "worker \(number) opening \(i)")
                try log.close()
            }
            return
        }
        let log = try AccessLog(path: path)
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
        let children = try Self.startWorkers(path: path, key: key)
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

    /// Re-launches this test binary as `processes` workers (the `worker` test).
    static func startWorkers(path: String, key: SigningKey, reopen: Bool = false, errors: String? = nil) throws -> [Process] {
        var children: [Process] = []
        for n in 0..<processes {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
            process.arguments = ["--testing-library", "swift-testing", "--filter", "LedgerConcurrencyTests/worker"]
            var environment = [workerEnvironment: path, "DOSSIER_WORKER_NUMBER": String(n), "DOSSIER_WORKER_KEY": key.secretFileText]
            if reopen { environment["DOSSIER_WORKER_REOPEN"] = "1" }
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
            process.standardOutput = errors.map { FileHandle(forWritingAtPath: $0) ?? .nullDevice } ?? .nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            children.append(process)
        }
        return children
    }

    /// Each seal, opening or `log` command opens the ledger and closes it again; the last to
    /// close removes its -wal and -shm files, and a read-only look at it in that moment failed
    /// ("unable to open database file": 2 of 300 parallel seals, review of session 16).
    @Test("8 processes creating, opening, appending to and closing one new ledger by turns: none is refused")
    func processesByTurns() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path("ledger.sqlite")
        let key = try SigningKey.generate(name: "workers")
        let output = dir.path("workers.txt")
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        let children = try Self.startWorkers(path: path, key: key, reopen: true, errors: output)
        for child in children { child.waitUntilExit() }
        let failures = (try? String(contentsOfFile: output, encoding: .utf8))?.split(separator: "\n").filter { $0.contains("access log") }.prefix(3) ?? []
        #expect(children.allSatisfy { $0.terminationStatus == 0 }, "a worker failed: \(children.map(\.terminationStatus)) \(failures)")
        let log = try AccessLog(path: path)
        for n in 0..<Self.processes {
            #expect(try log.history(of: "own-\(n)").count == 1 + Self.reopenings)
        }
    }
}
