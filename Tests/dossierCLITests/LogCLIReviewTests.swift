import DossierKit
import Foundation
import Testing

/// What a review of the access log and the CLI found in session 15, each case failing first.
@Suite("dossier CLI: access log and messages (review of session 15)")
struct LogCLIReviewTests {
    typealias Workspace = CLIDossierTests.Workspace

    func sealed(_ ws: Workspace) throws -> (recipient: String, trust: String) {
        let (recipient, trust) = try CLIDossierTests().keys(ws)
        let seal = try ws.run(["seal", ws.path("case"), "-r", recipient, "-s", ws.path("anna.sign"), "-o", ws.path("case.dossier")])
        #expect(seal.status == 0, "\(seal.stderr)")
        return (recipient, trust)
    }

    /// The ledger's history of `target` as the JSON `log` prints (to compare before and after).
    func history(_ ws: Workspace, _ target: String = "case", log: String? = nil) throws -> String {
        try ws.run(["log", target, "--json"] + (log.map { ["--log", $0] } ?? []), directory: ws.root).stdout
    }

    @Test("log --record and --export check the dossier's anchor first: no registered entry that starts a second history, no entry on a foreign one")
    func recordAndExportCheckTheAnchor() throws {
        let ws = try Workspace()
        _ = try sealed(ws)
        // Another ledger that exists but has no history of this dossier.
        try FileManager.default.copyItem(atPath: ws.path("case"), toPath: ws.path("other"))
        let recipient = try String(contentsOfFile: ws.path("anna.recipient"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try ws.run(["seal", ws.path("other"), "-r", recipient, "-s", ws.path("anna.sign"), "-o", ws.path("other.dossier"),
                            "--log", ws.path("second.sqlite")]).status == 0)
        let before = try ws.run(["log", "--verify", "--json", "--log", ws.path("second.sqlite")]).stdout
        for record in [["--record", "registered"], ["--record", "loaned"]] {
            let result = try ws.run(["log", ws.path("case.dossier")] + record + ["--as", ws.path("anna.sign"), "--purpose", "took over",
                                                                               "--log", ws.path("second.sqlite")])
            #expect(result.status == 1 && result.stderr.contains("has no history of dossier case"), "\(record): \(result.stderr)")
        }
        let export = try ws.run(["log", ws.path("case.dossier"), "--export", ws.path("x.jsonl"), "--as", ws.path("anna.sign"),
                                 "--log", ws.path("second.sqlite")])
        #expect(export.status == 1 && export.stderr.contains("has no history of dossier case"), "\(export.stderr)")
        #expect(!FileManager.default.fileExists(atPath: ws.path("x.jsonl")))
        #expect(try ws.run(["log", "case", "--log", ws.path("second.sqlite")]).status == 1)
        // Nothing was written: the whole ledger reads as before.
        #expect(try ws.run(["log", "--verify", "--json", "--log", ws.path("second.sqlite")]).stdout == before)
    }

    @Test("log --record registered starts the history of a dossier sealed without a log in a ledger that does not exist yet (it said: create it by sealing); a failed registration leaves no ledger")
    func registeredMakesTheLedger() throws {
        let ws = try Workspace()
        let (recipient, trust) = try CLIDossierTests().keys(ws)
        // The registration is signed as archivist (--record's default role).
        let entries = try String(contentsOfFile: trust, encoding: .utf8)
        try entries.replacingOccurrences(of: "sealer,reader ", with: "sealer,reader,archivist ").write(toFile: trust, atomically: true, encoding: .utf8)
        // Sealed by an application without an access log (the CLI always logs).
        let key = try SigningKey.load(path: ws.path("anna.sign"))
        _ = try Dossier.seal(ws.path("case"), to: [try AgeRecipient(recipient)], signedBy: [DossierSigner(key: key, role: .sealer, name: "Anna")],
                             writingTo: ws.path("unlogged.dossier"))
        let office = ws.path("office-b/ledger.sqlite")
        // Without an actor the registration fails: no ledger (nor its folder) is left behind.
        let refused = try ws.run(["log", ws.path("unlogged.dossier"), "--record", "registered", "--as", ws.path("missing.sign"),
                                  "--purpose", "received", "--log", office])
        #expect(refused.status == 1, "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: ws.path("office-b")))
        let registered = try ws.run(["log", ws.path("unlogged.dossier"), "--record", "registered", "--as", ws.path("anna.sign"),
                                     "--purpose", "received", "--log", office])
        #expect(registered.status == 0 && registered.stdout.contains("recorded #1 registered"), "\(registered.stderr)")
        // Its history now starts there, and an opening is logged after it.
        let open = try ws.run(["open", ws.path("unlogged.dossier"), "-i", ws.path("anna.age"), "--as", ws.path("anna.sign"), "--trust", trust,
                               "-o", ws.path("opened"), "--purpose", "check", "--log", office])
        #expect(open.status == 0, "\(open.stderr)")
        let verified = try ws.run(["log", ws.path("unlogged.dossier"), "--verify", "--trust", trust, "--log", office])
        #expect(verified.status == 0, "\(verified.stdout) \(verified.stderr)")
        // Other events still need an existing ledger.
        let loaned = try ws.run(["log", ws.path("unlogged.dossier"), "--record", "loaned", "--as", ws.path("anna.sign"),
                                 "--purpose", "court", "--log", ws.path("office-c/ledger.sqlite")])
        #expect(loaned.status == 1 && loaned.stderr.contains("does not exist"), "\(loaned.stderr)")
    }

    @Test("a failed first seal removes the ledger it made only when no other process has it open (another seal's entry went with it: review of session 20)")
    func madeLedgerKeptWhileInUse() throws {
        let ws = try Workspace()
        let (recipient, _) = try CLIDossierTests().keys(ws)
        try FileManager.default.createDirectory(atPath: ws.path("office"), withIntermediateDirectories: false)
        let failing = ["seal", ws.path("missing"), "-r", recipient, "-s", ws.path("anna.sign"), "-o", ws.path("x.dossier"),
                       "--log", ws.path("office/ledger.sqlite")]
        // Alone, the failed seal leaves no ledger behind.
        #expect(try ws.run(failing).status == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: ws.path("office")) == [])
        // With the ledger's folder held as every process holding a ledger open holds it
        // (here by Python, as another seal would), the ledger it made stays.
        let script = """
            import fcntl, os, subprocess, sys
            fd = os.open(sys.argv[1], os.O_RDONLY)
            fcntl.flock(fd, fcntl.LOCK_SH)
            sys.exit(subprocess.run(sys.argv[2:]).returncode)
            """
        let held = try CLI.run(["-c", script, ws.path("office"), CLI.binary.path] + failing, executable: try InterruptCLITests.python())
        #expect(held.status == 1, "\(held.stderr)")
        #expect(FileManager.default.fileExists(atPath: ws.path("office/ledger.sqlite")))
        // The library holds it while a ledger is open for writing, and gives it up on close.
        let log = try AccessLog(path: ws.path("office/ledger.sqlite"), createIfMissing: false)
        #expect(LedgerFolderLock.exclusive(for: ws.path("office/ledger.sqlite")) == nil)
        try log.close()
        let lock = try #require(LedgerFolderLock.exclusive(for: ws.path("office/ledger.sqlite")))
        lock.release()
    }

    @Test("log --verify reads the rows and the checkpoints in one snapshot: a checkpoint signed meanwhile does not make an intact ledger look cut (review of session 20)")
    func verifyWhileCheckpointed() throws {
        let ws = try Workspace()
        let log = try AccessLog(path: ws.path("ledger.sqlite"), createIfMissing: true)
        let key = try SigningKey.generate(name: "Office")
        let actor = DossierSigner(key: key, role: .archivist, name: "Office")
        let digest = String(repeating: "ab", count: 32)
        try log.record(.registered, dossierID: "busy", payloadSHA256: digest, actor: actor, purpose: "intake")
        for index in 1..<600 { try log.record(.verified, dossierID: "busy", payloadSHA256: digest, actor: actor, purpose: "check \(index)") }
        _ = try log.checkpoint(origin: "bureau.example", signedBy: key)
        try "archivist,ledger \(key.publicKey.base64) Office\n".write(toFile: ws.path("office.txt"), atomically: true, encoding: .utf8)
        // The verifier is stopped at different moments of its work; meanwhile an entry is
        // recorded and a checkpoint covering it signed; then it goes on.
        for delay: UInt32 in [20_000, 60_000, 120_000, 200_000, 300_000, 450_000] {
            let process = Process()
            process.executableURL = CLI.binary
            process.arguments = ["log", "--verify", "--trust", ws.path("office.txt"), "--log", ws.path("ledger.sqlite")]
            let out = Pipe()
            process.standardOutput = out
            process.standardError = FileHandle.nullDevice
            try process.run()
            usleep(delay)
            kill(process.processIdentifier, SIGSTOP)
            try log.record(.verified, dossierID: "busy", payloadSHA256: digest, actor: actor, purpose: "meanwhile")
            _ = try log.checkpoint(origin: "bureau.example", signedBy: key)
            kill(process.processIdentifier, SIGCONT)
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus == 0 && !text.contains("cut"), "stopped after \(delay / 1000) ms: \(process.terminationStatus) \(text.prefix(300))")
        }
    }

    /// Not under ThreadSanitizer (scripts/sanitize thread sets TSAN_OPTIONS): its runtime
    /// dies of SIGBUS in its own shadow memory once a file-size limit (ulimit -f) is set,
    /// before our code runs (measured 2026-11-28: `MemoryAccessRange` in the demangler's
    /// memcpy). Plain and AddressSanitizer runs (CI) run it.
    @Test("an export that cannot be written completely leaves no file behind (its exported entry stays: it is logged first)",
          .disabled(if: ProcessInfo.processInfo.environment["TSAN_OPTIONS"] != nil, "ThreadSanitizer's runtime cannot run under ulimit -f"))
    func failedExportLeavesNoFile() throws {
        let ws = try Workspace()
        _ = try sealed(ws)
        let detail = String(repeating: "d", count: 4000)
        for index in 0..<15 {
            let record = try ws.run(["log", ws.path("case.dossier"), "--record", "loaned", "--as", ws.path("anna.sign"),
                                     "--purpose", "loan \(index)", "--detail", "note=\(detail)"])
            #expect(record.status == 0, "\(record.stderr)")
        }
        // bash: ulimit -f counts KiB; SIGXFSZ ignored, so the write fails with EFBIG.
        let script = "trap '' XFSZ; ulimit -f 48; exec \"$0\" \"$@\""
        let result = try CLI.run(["-c", script, CLI.binary.path, "log", ws.path("case.dossier"), "--export", ws.path("big.jsonl"),
                                  "--as", ws.path("anna.sign")], environment: ["DOSSIER_LOG": ws.path("ledger.sqlite")], executable: "/bin/bash")
        #expect(result.status == 1 && result.stderr.lowercased().contains("file too large"), "\(result.status) \(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: ws.path("big.jsonl")))
    }

    @Test("log options that do not go together are usage errors, with nothing written", arguments: [
        ["--verify", "--export", "f.jsonl", "--as", "anna.sign"],
        ["--record", "loaned", "--as", "anna.sign", "--purpose", "p", "--export", "f.jsonl"],
        ["--verify-export", "f.jsonl", "--import", "f.jsonl"],
        ["--checkpoint", "cp.txt"],
        ["--as", "anna.sign"],
        ["--trust", "trust.txt"],
        ["--export", "f.jsonl"],
    ])
    func conflictingOptions(_ options: [String]) throws {
        let ws = try Workspace()
        _ = try sealed(ws)
        try Data("{}".utf8).write(to: URL(fileURLWithPath: ws.path("f.jsonl")))
        try Data().write(to: URL(fileURLWithPath: ws.path("cp.txt")))
        let before = try history(ws)
        let result = try ws.run(["log", "case.dossier"] + options, environment: ["DOSSIER_ACTOR": ""], directory: ws.root)
        #expect(result.status == 64, "\(options): \(result.status) \(result.stdout) \(result.stderr)")
        #expect(result.stderr.contains("Usage: dossier log"), "\(result.stderr)")
        #expect(try history(ws) == before)
        #expect(try Data(contentsOf: URL(fileURLWithPath: ws.path("f.jsonl"))) == Data("{}".utf8))
    }

    @Test("log without a target (and without --verify, --verify-export or --import) is a usage error of log")
    func logWithoutTarget() throws {
        let ws = try Workspace()
        let result = try ws.run(["log"])
        #expect(result.status == 64 && result.stderr.contains("Usage: dossier log"), "\(result.stderr)")
    }

    @Test("error messages keep the case of file names")
    func fileNamesKeepTheirCase() throws {
        let ws = try Workspace()
        let (recipient, _) = try sealed(ws)
        try Data("x".utf8).write(to: URL(fileURLWithPath: ws.path("Case.dossier")))
        let result = try ws.run(["seal", ws.path("case"), "-r", recipient, "-s", ws.path("anna.sign"), "-o", "Case.dossier", "--id", "c2"],
                                directory: ws.root)
        #expect(result.status == 1 && result.stderr.contains("dossier: Case.dossier already exists"), "\(result.stderr)")
    }

    @Test("a seal or an import that fails leaves no new ledger (nor its folder) behind")
    func failedCommandsLeaveNoLedger() throws {
        let ws = try Workspace()
        let (recipient, trust) = try sealed(ws)
        let missingSource = try ws.run(["seal", ws.path("nosuch"), "-r", recipient, "-s", ws.path("anna.sign"), "-o", ws.path("n.dossier"),
                                        "--log", ws.path("newdir/sub/led.sqlite")])
        #expect(missingSource.status == 1, "\(missingSource.stderr)")
        #expect(!FileManager.default.fileExists(atPath: ws.path("newdir")))
        let existingOutput = try ws.run(["seal", ws.path("case"), "-r", recipient, "-s", ws.path("anna.sign"), "-o", ws.path("case.dossier"),
                                         "--log", ws.path("fresh.sqlite")])
        #expect(existingOutput.status == 1, "\(existingOutput.stderr)")
        #expect(!FileManager.default.fileExists(atPath: ws.path("fresh.sqlite")))
        try Data("not an export\n".utf8).write(to: URL(fileURLWithPath: ws.path("bad.jsonl")))
        let badImport = try ws.run(["log", "--import", ws.path("bad.jsonl"), "--trust", trust, "--log", ws.path("importdir/x.sqlite")])
        #expect(badImport.status != 0)
        #expect(!FileManager.default.fileExists(atPath: ws.path("importdir")))
        // A ledger that existed stays, of course.
        #expect(FileManager.default.fileExists(atPath: ws.path("ledger.sqlite")))
    }

    @Test("log takes a folder path as the id (its last name), refuses an id it has no history of, and shows the entries around a damaged one")
    func logTargets() throws {
        let ws = try Workspace()
        _ = try sealed(ws)
        for target in ["./case", "case/", ws.path("case")] {
            let result = try ws.run(["log", target], directory: ws.root)
            #expect(result.status == 0 && result.stdout.contains("sealed by Anna Archivist"), "\(target): \(result.stderr)")
        }
        let unknown = try ws.run(["log", "Nope"], directory: ws.root)
        #expect(unknown.status == 1 && unknown.stderr.contains("no history of dossier Nope"), "\(unknown.status) \(unknown.stdout) \(unknown.stderr)")
        // Damage one entry's statement in the ledger file (the JSON no longer parses).
        let loan = try ws.run(["log", ws.path("case.dossier"), "--record", "loaned", "--as", ws.path("anna.sign"), "--purpose", "hearing"])
        #expect(loan.status == 0, "\(loan.stderr)")
        var bytes = try Data(contentsOf: URL(fileURLWithPath: ws.path("ledger.sqlite")))
        let marker = Data("\"purpose\":\"hearing\"".utf8)
        let range = try #require(bytes.range(of: marker))
        bytes[range.lowerBound + 1] = UInt8(ascii: "P")
        try bytes.write(to: URL(fileURLWithPath: ws.path("ledger.sqlite")))
        let shown = try ws.run(["log", "case"], directory: ws.root)
        #expect(shown.status == 2, "\(shown.status) \(shown.stderr)")
        #expect(shown.stdout.contains("sealed by Anna Archivist"), "\(shown.stdout)")
        #expect(shown.stdout.contains("damaged"), "\(shown.stdout)")
    }

    @Test("an empty purpose is a usage error for open and seal, as for log --record")
    func emptyPurpose() throws {
        let ws = try Workspace()
        let (recipient, trust) = try sealed(ws)
        let open = try ws.run(["open", ws.path("case.dossier"), "-i", ws.path("anna.age"), "--as", ws.path("anna.sign"), "-o", ws.path("o"),
                               "--trust", trust, "--purpose", " "])
        #expect(open.status == 64, "\(open.stderr)")
        let seal = try ws.run(["seal", ws.path("case"), "-r", recipient, "-s", ws.path("anna.sign"), "-o", ws.path("e.dossier"), "--purpose", ""])
        #expect(seal.status == 64, "\(seal.stderr)")
        #expect(!FileManager.default.fileExists(atPath: ws.path("o")) && !FileManager.default.fileExists(atPath: ws.path("e.dossier")))
    }

    @Test("opening or listing as a key the trust file does not trust as reader warns that the log will show it as untrusted")
    func untrustedActorWarned() throws {
        let ws = try Workspace()
        _ = try sealed(ws)
        #expect(try ws.run(["keygen", "--name", "Otto", ws.path("otto")]).status == 0)
        let open = try ws.run(["open", ws.path("case.dossier"), "-i", ws.path("anna.age"), "--as", ws.path("otto.sign"), "-o", ws.path("o"),
                               "--trust", ws.path("trust.txt"), "--purpose", "p"])
        #expect(open.status == 0, "\(open.stderr)")
        #expect(open.stderr.contains("warning") && open.stderr.contains("not trusted in the role reader"), "\(open.stderr)")
        let trusted = try ws.run(["open", ws.path("case.dossier"), "-i", ws.path("anna.age"), "--as", ws.path("anna.sign"), "-o", ws.path("o2"),
                                  "--trust", ws.path("trust.txt"), "--purpose", "p"])
        #expect(trusted.status == 0 && !trusted.stderr.contains("warning"), "\(trusted.stderr)")
        // A listing is recorded and verified the same way.
        let list = try ws.run(["list", ws.path("case.dossier"), "-i", ws.path("anna.age"), "--as", ws.path("otto.sign"),
                               "--trust", ws.path("trust.txt"), "--purpose", "p"])
        #expect(list.status == 0 && list.stderr.contains("not trusted in the role reader") && list.stderr.contains("this listing"), "\(list.stderr)")
    }

    @Test("log --verify says how many entries no verified checkpoint covers yet (removing one of them is noticed only by a later checkpoint)")
    func uncheckpointedEntries() throws {
        let ws = try Workspace()
        _ = try sealed(ws)
        #expect(try ws.run(["keygen", "--name", "City Archive", ws.path("office")]).status == 0)
        let officeKey = String(try String(contentsOfFile: ws.path("office.pub"), encoding: .utf8).split(separator: "\n")[1])
        try (try String(contentsOfFile: ws.path("trust.txt"), encoding: .utf8) + "ledger \(officeKey) City Archive\n")
            .write(toFile: ws.path("trust2.txt"), atomically: true, encoding: .utf8)
        let none = try ws.run(["log", "--verify", "--trust", ws.path("trust2.txt")])
        #expect(none.status == 0 && none.stdout.contains("the ledger holds 1 entry newer than its newest verified checkpoint"), "\(none.stdout)")
        #expect(try ws.run(["checkpoint", "--origin", "bureau.example", "--signer", ws.path("office.sign")]).status == 0)
        let covered = try ws.run(["log", "--verify", "--trust", ws.path("trust2.txt")])
        #expect(covered.status == 0 && !covered.stdout.contains("newer than"), "\(covered.stdout)")
        #expect(try ws.run(["log", ws.path("case.dossier"), "--record", "loaned", "--as", ws.path("anna.sign"), "--purpose", "p"]).status == 0)
        let after = try ws.run(["log", ws.path("case.dossier"), "--verify", "--trust", ws.path("trust2.txt")])
        #expect(after.stdout.contains("the ledger holds 1 entry newer than its newest verified checkpoint"), "\(after.stdout)")
        let json = try ws.run(["log", ws.path("case.dossier"), "--verify", "--trust", ws.path("trust2.txt"), "--json"])
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect(object?["entriesAfterCheckpoint"] as? Int == 1, "\(json.stdout)")
    }
}
