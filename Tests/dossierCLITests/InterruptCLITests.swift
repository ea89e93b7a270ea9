import Foundation
import Testing

/// Ctrl-C, SIGTERM and SIGHUP in the middle of a seal or an opening stop it cleanly: the
/// temporary dossier, the staging folder with what was decrypted so far and a ledger made
/// for the seal are removed, and the process then ends by the signal (review of session 17:
/// an interrupted opening left hundreds of MB of decrypted documents beside the destination).
@Suite("dossier CLI: interrupted seal and open")
struct InterruptCLITests {
    /// Starts `arguments` with the signals at their defaults (or SIGINT ignored), waits until
    /// a name starting with `prefix` appears in `folder`, stops the process (SIGSTOP), sends
    /// `signal`, lets it go on (SIGCONT) and — with `count` 2 — sends it again 10 ms later
    /// (the handler has run by then: one signal sent while the process is stopped would be
    /// merged with the first). Prints how it ended: "signal N", "status N", or "early N"
    /// when it ended before the name appeared.
    static let driver = """
        import os, signal, subprocess, sys, time
        binary, folder, prefix, sig, count, mode = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
        def child():
            for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(s, signal.SIG_DFL)
            if mode == "ignored":
                signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
        p = subprocess.Popen([binary] + sys.argv[7:], preexec_fn=child, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.time() + 120
        seen = False
        while time.time() < deadline and p.poll() is None:
            if any(n.startswith(prefix) for n in os.listdir(folder)):
                seen = True
                break
            time.sleep(0.0005)
        if seen:
            p.send_signal(signal.SIGSTOP)
            p.send_signal(sig)
            p.send_signal(signal.SIGCONT)
            if count > 1:
                time.sleep(0.01)
                try: p.send_signal(sig)
                except ProcessLookupError: pass
        out, err = p.communicate(timeout=120)
        code = p.returncode
        print(("early %d" % code) if not seen else ("signal %d" % -code) if code < 0 else ("status %d" % code))
        sys.stdout.write(err.decode("utf-8", "replace"))
        """

    struct Ending {
        let how: String
        let stderr: String
    }

    static func python() throws -> String {
        try #require(["/usr/bin/python3", "/usr/local/bin/python3"].first { FileManager.default.isExecutableFile(atPath: $0) },
                     "python3 is needed (scripts/setup installs it)")
    }

    /// Runs the driver; when the command ended before the name appeared (a fast machine),
    /// `grow` makes the job bigger and it runs again.
    static func interrupt(_ ws: CLIDossierTests.Workspace, _ arguments: [String], watching folder: String, prefix: String,
                          signal: Int32, count: Int = 1, ignored: Bool = false, grow: () throws -> Void) throws -> Ending {
        for _ in 0..<4 {
            let result = try CLI.run(["-c", driver, CLI.binary.path, folder, prefix, String(signal), String(count), ignored ? "ignored" : "default"] + arguments,
                                     environment: ["DOSSIER_LOG": ws.path("ledger.sqlite")], executable: try python())
            let lines = result.stdout.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
            let how = String(lines.first ?? "")
            if how.hasPrefix("early") {
                try grow()
                continue
            }
            return Ending(how: how, stderr: lines.count > 1 ? String(lines[1]) : "")
        }
        throw CLIError("the command always ended before it could be interrupted")
    }

    struct CLIError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// A case folder of `megabytes` of random scans (incompressible: every byte is encrypted and written).
    static func fill(_ ws: CLIDossierTests.Workspace, megabytes: Int) throws {
        let chunk = 8 << 20
        for index in 0..<(megabytes / 8) {
            let path = ws.path("case/scan-\(index).bin")
            if FileManager.default.fileExists(atPath: path) { continue }
            var bytes = [UInt8](repeating: 0, count: chunk)
            for i in stride(from: 0, to: chunk, by: 8) {
                var value = UInt64.random(in: .min ... .max)
                withUnsafeBytes(of: &value) { raw in for j in 0..<8 { bytes[i + j] = raw[j] } }
            }
            try Data(bytes).write(to: URL(fileURLWithPath: path))
        }
    }

    func names(_ folder: String) throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: folder).sorted() }

    @Test("a seal interrupted by SIGINT, SIGTERM (again 10 ms later, as timeout sends it to the process and its group) or SIGHUP leaves no temporary and no ledger made for it",
          arguments: [(SIGINT, 1), (SIGTERM, 2), (SIGHUP, 1)])
    func interruptedSeal(signal: Int32, count: Int) throws {
        let ws = try CLIDossierTests.Workspace()
        let (recipient, _) = try CLIDossierTests().keys(ws)
        var size = 64
        try Self.fill(ws, megabytes: size)
        try FileManager.default.createDirectory(atPath: ws.path("out"), withIntermediateDirectories: false)
        let ended = try Self.interrupt(ws, ["seal", ws.path("case"), "-r", recipient, "-s", ws.path("anna.sign"), "-o", ws.path("out/c.dossier"),
                                            "--log", ws.path("out/new/ledger.sqlite")],
                                       watching: ws.path("out"), prefix: ".c.dossier.sealing-", signal: signal, count: count) {
            size *= 2
            try Self.fill(ws, megabytes: size)
            for name in try names(ws.path("out")) { try FileManager.default.removeItem(atPath: ws.path("out/" + name)) }
        }
        #expect(ended.how == "signal \(signal)", "\(ended.how) \(ended.stderr)")
        #expect(ended.stderr.contains("interrupted by SIG"), "\(ended.stderr)")
        let left = try names(ws.path("out"))
        #expect(left.isEmpty, "left behind: \(left)")
    }

    @Test("an opening interrupted by SIGINT leaves no staging folder (no decrypted document) and no destination; the log stays intact (the opening is in it when the signal came after its entry)")
    func interruptedOpen() throws {
        let ws = try CLIDossierTests.Workspace()
        let (recipient, trust) = try CLIDossierTests().keys(ws)
        var size = 64
        func seal() throws {
            try? FileManager.default.removeItem(atPath: ws.path("ledger.sqlite"))
            try? FileManager.default.removeItem(atPath: ws.path("c.dossier"))
            let sealed = try ws.run(["seal", ws.path("case"), "-r", recipient, "-s", ws.path("anna.sign"), "-o", ws.path("c.dossier"), "--id", "CASE-1"])
            #expect(sealed.status == 0, "\(sealed.stderr)")
        }
        try Self.fill(ws, megabytes: size)
        try seal()
        try FileManager.default.createDirectory(atPath: ws.path("out"), withIntermediateDirectories: false)
        let ended = try Self.interrupt(ws, ["open", ws.path("c.dossier"), "-i", ws.path("anna.age"), "--as", ws.path("anna.sign"), "--trust", trust,
                                            "-o", ws.path("out/opened"), "--purpose", "review"],
                                       watching: ws.path("out"), prefix: ".opened.opening-", signal: SIGINT) {
            size *= 2
            try Self.fill(ws, megabytes: size)
            try seal()
            for name in try names(ws.path("out")) { try FileManager.default.removeItem(atPath: ws.path("out/" + name)) }
        }
        #expect(ended.how == "signal \(SIGINT)", "\(ended.how) \(ended.stderr)")
        let left = try names(ws.path("out"))
        #expect(left.isEmpty, "left behind: \(left)")
        // The staging folder appears just before the entry is written: the signal may come
        // before it (not logged) or after (logged); either way the history verifies.
        let log = try ws.run(["log", "CASE-1", "--verify", "--trust", trust])
        #expect(log.status == 0 && log.stdout.contains("VALID"), "\(log.status) \(log.stdout) \(log.stderr)")
    }

    @Test("a countersignature interrupted by SIGINT leaves the dossier as it was and no temporary (its copy loop stops)")
    func interruptedCountersign() throws {
        let ws = try CLIDossierTests.Workspace()
        let (recipient, trust) = try CLIDossierTests().keys(ws)
        #expect(try ws.run(["keygen", "--name", "Archive", ws.path("archive")]).status == 0)
        var size = 64
        try FileManager.default.createDirectory(atPath: ws.path("out"), withIntermediateDirectories: false)
        func seal() throws {
            for name in try names(ws.path("out")) { try FileManager.default.removeItem(atPath: ws.path("out/" + name)) }
            try? FileManager.default.removeItem(atPath: ws.path("ledger.sqlite"))
            let sealed = try ws.run(["seal", ws.path("case"), "-r", recipient, "-s", ws.path("anna.sign"), "-o", ws.path("out/c.dossier"), "--id", "CASE-1"])
            #expect(sealed.status == 0, "\(sealed.stderr)")
        }
        try Self.fill(ws, megabytes: size)
        try seal()
        var expected = try Data(contentsOf: URL(fileURLWithPath: ws.path("out/c.dossier")))
        let ended = try Self.interrupt(ws, ["countersign", ws.path("out/c.dossier"), "--signer", "countersigner=" + ws.path("archive.sign"), "--trust", trust],
                                       watching: ws.path("out"), prefix: ".c.dossier.amending-", signal: SIGINT) {
            size *= 2
            try Self.fill(ws, megabytes: size)
            try seal()
            expected = try Data(contentsOf: URL(fileURLWithPath: ws.path("out/c.dossier")))
        }
        #expect(ended.how == "signal \(SIGINT)", "\(ended.how) \(ended.stderr)")
        let left = try names(ws.path("out"))
        #expect(left == ["c.dossier"], "\(left)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: ws.path("out/c.dossier"))) == expected, "the dossier changed")
    }

    @Test("with SIGINT ignored (nohup, a background job) the seal goes on and completes")
    func ignoredSignal() throws {
        let ws = try CLIDossierTests.Workspace()
        let (recipient, _) = try CLIDossierTests().keys(ws)
        var size = 64
        try Self.fill(ws, megabytes: size)
        try FileManager.default.createDirectory(atPath: ws.path("out"), withIntermediateDirectories: false)
        let ended = try Self.interrupt(ws, ["seal", ws.path("case"), "-r", recipient, "-s", ws.path("anna.sign"), "-o", ws.path("out/c.dossier")],
                                       watching: ws.path("out"), prefix: ".c.dossier.sealing-", signal: SIGINT, ignored: true) {
            size *= 2
            try Self.fill(ws, megabytes: size)
            for name in try names(ws.path("out")) { try FileManager.default.removeItem(atPath: ws.path("out/" + name)) }
        }
        #expect(ended.how == "status 0", "\(ended.how) \(ended.stderr)")
        let made = try names(ws.path("out"))
        #expect(made == ["c.dossier"], "\(made)")
    }

    @Test("a seal waiting for a ledger another process is writing stops on SIGINT at once (it waited up to 120 s, then sealed)")
    func interruptedWhileTheLedgerIsBusy() throws {
        let ws = try CLIDossierTests.Workspace()
        let (recipient, _) = try CLIDossierTests().keys(ws)
        #expect(try ws.run(["seal", ws.path("case"), "--id", "first", "-r", recipient, "-s", ws.path("anna.sign"), "-o", ws.path("first.dossier")]).status == 0)
        try Self.fill(ws, megabytes: 64)
        // Python starts the seal; once its temporary file is there (the ledger is open), it
        // takes the ledger's write lock, interrupts the seal a second later (waiting for the
        // lock to write its sealed entry by then) and waits up to 3 s for it to end before
        // letting the lock go.
        let script = """
            import os, signal, sqlite3, subprocess, sys, time
            def child():
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT])
            p = subprocess.Popen(sys.argv[3:], preexec_fn=child, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            deadline = time.time() + 60
            while time.time() < deadline and p.poll() is None and not any(n.startswith(".second.dossier.sealing-") for n in os.listdir(sys.argv[2])):
                time.sleep(0.0005)
            lock = sqlite3.connect(sys.argv[1], isolation_level=None)
            lock.execute("BEGIN IMMEDIATE")
            time.sleep(1.0)
            p.send_signal(signal.SIGINT)
            try:
                p.wait(timeout=3)
                ended = ("signal %d" % -p.returncode) if p.returncode < 0 else ("status %d" % p.returncode)
            except subprocess.TimeoutExpired:
                ended = "still waiting"
            lock.execute("ROLLBACK")
            lock.close()
            out, err = p.communicate(timeout=120)
            print(ended)
            sys.stdout.write(err.decode("utf-8", "replace"))
            """
        let result = try CLI.run(["-c", script, ws.path("ledger.sqlite"), ws.root, CLI.binary.path, "seal", ws.path("case"), "--id", "second",
                                  "-r", recipient, "-s", ws.path("anna.sign"), "-o", ws.path("second.dossier")],
                                 environment: ["DOSSIER_LOG": ws.path("ledger.sqlite")], executable: try Self.python())
        #expect(result.stdout.hasPrefix("signal \(SIGINT)\n"), "\(result.stdout) \(result.stderr)")
        #expect(result.stdout.contains("interrupted by SIGINT"), "\(result.stdout)")
        #expect(!FileManager.default.fileExists(atPath: ws.path("second.dossier")))
        #expect(try ws.run(["log", "second"]).stderr.contains("no history of dossier second"))
    }
}
