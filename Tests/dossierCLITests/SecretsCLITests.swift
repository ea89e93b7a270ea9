import Foundation
import Testing

/// Secrets stay secret (docs/SECURITY.md): no key or passphrase in any output, error, log
/// entry or sealed file; no core dump of a process that holds them.
@Suite("dossier CLI: secrets")
struct SecretsCLITests {
    /// Every place a secret could leak to after a full round of commands.
    @Test("no secret key or passphrase appears in output, errors, the ledger or the dossier")
    func nothingLeaks() throws {
        let ws = try CLIDossierTests.Workspace()
        var outputs: [CLI.Result] = []
        func run(_ arguments: [String], _ environment: [String: String] = [:]) throws -> CLI.Result {
            let result = try ws.run(arguments, environment: environment)
            outputs.append(result)
            return result
        }
        #expect(try run(["keygen", "--name", "Anna Archivist", ws.path("anna")]).status == 0)
        let passphrase = "correct horse battery staple 7f3a"
        #expect(try run(["keygen", "--name", "Otto Officer", "--protect", ws.path("otto")], ["DOSSIER_PASSPHRASE": passphrase]).status == 0)
        let recipient = try String(contentsOfFile: ws.path("anna.recipient"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let pubs = try ["anna", "otto"].map { try String(contentsOfFile: ws.path("\($0).pub"), encoding: .utf8).split(separator: "\n")[1] }
        try "sealer,reader,archivist \(pubs[0]) Anna Archivist\napprover,reader \(pubs[1]) Otto Officer\n".write(toFile: ws.path("trust.txt"), atomically: true, encoding: .utf8)
        let dossier = ws.path("case.dossier")
        #expect(try run(["seal", ws.path("case"), "-r", recipient, "-s", ws.path("anna.sign"), "-s", "approver=" + ws.path("otto.sign"), "-o", dossier],
                        ["DOSSIER_PASSPHRASE": passphrase]).status == 0)
        #expect(try run(["open", dossier, "-i", ws.path("anna.age"), "--as", ws.path("anna.sign"), "-o", ws.path("out"),
                         "--purpose", "review", "--trust", ws.path("trust.txt")]).status == 0)
        // Failures: a wrong passphrase, a secret key given where a recipient belongs, a wrong identity.
        let wrong = try run(["seal", ws.path("case"), "-r", recipient, "-s", ws.path("otto.sign"), "-o", ws.path("x.dossier"), "--id", "x"],
                            ["DOSSIER_PASSPHRASE": passphrase + "!"])
        #expect(wrong.status != 0)
        let secretLine = try String(contentsOfFile: ws.path("anna.age"), encoding: .utf8).split(separator: "\n").first { $0.hasPrefix("AGE-SECRET-KEY-") }.map(String.init)
        let secret = try #require(secretLine)
        #expect(try run(["seal", ws.path("case"), "-r", secret, "-s", ws.path("anna.sign"), "-o", ws.path("y.dossier"), "--id", "y"]).status != 0)
        #expect(try run(["open", dossier, "-i", ws.path("otto.sign"), "--as", ws.path("anna.sign"), "-o", ws.path("out2"),
                         "--purpose", "review", "--trust", ws.path("trust.txt")]).status != 0)
        #expect(try run(["log", dossier, "--export", ws.path("log.jsonl"), "--as", ws.path("anna.sign")]).status == 0)

        let signingSecret = try String(contentsOfFile: ws.path("anna.sign"), encoding: .utf8).split(separator: "\n").first { !$0.hasPrefix("#") && !$0.isEmpty }.map(String.init)
        let secrets = [secret, try #require(signingSecret), passphrase]
        var places: [(String, Data)] = outputs.enumerated().flatMap { [("stdout \($0.offset)", Data($0.element.stdout.utf8)), ("stderr \($0.offset)", Data($0.element.stderr.utf8))] }
        for file in ["ledger.sqlite", "ledger.sqlite-wal", "case.dossier", "log.jsonl"] where FileManager.default.fileExists(atPath: ws.path(file)) {
            places.append((file, try Data(contentsOf: URL(fileURLWithPath: ws.path(file)))))
        }
        for (place, data) in places {
            for secret in secrets {
                #expect(data.range(of: Data(secret.utf8)) == nil, "a secret appears in \(place)")
                #expect(data.range(of: Data(secret.lowercased().utf8)) == nil, "a secret appears in \(place) (lower case)")
            }
        }
        #expect(wrong.stderr.contains("passphrase"), "the error says what is wrong: \(wrong.stderr)")
    }

    /// Foundation's `ProcessInfo.environment` makes strings of every variable; the CLI takes
    /// `DOSSIER_PASSPHRASE` into wiping memory first and zeroes it in its environment.
    /// Run on a pseudo-terminal by Python's pty module: Ctrl-C at the passphrase prompt
    /// (echo off) left the terminal without echo — what the user typed next was invisible.
    @Test("Ctrl-C at the passphrase prompt gives the terminal its echo back; where SIGINT is ignored it still is", arguments: [false, true])
    func interruptRestoresEcho(ignored: Bool) throws {
        let ws = try CLIDossierTests.Workspace()
        let script = """
            import os, pty, sys, termios, time, select, signal
            binary, prefix = sys.argv[1], sys.argv[2]
            pid, fd = pty.fork()
            if pid == 0:
                os.environ.pop("DOSSIER_PASSPHRASE", None)
                # The test runner may hand SIGINT down ignored or blocked: set as the case wants.
                signal.signal(signal.SIGINT, signal.SIG_IGN if sys.argv[3] == "ignored" else signal.SIG_DFL)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT, signal.SIGTERM])
                os.execv(binary, [binary, "keygen", "--protect", prefix])
            out = b""
            deadline = time.time() + 30
            while b"assphrase" not in out and time.time() < deadline:
                r, _, _ = select.select([fd], [], [], 0.5)
                if r:
                    try: out += os.read(fd, 1024)
                    except OSError: break
            silent = not (termios.tcgetattr(fd)[3] & termios.ECHO)
            os.write(fd, b"\\x03")
            time.sleep(0.5)
            done, status = os.waitpid(pid, os.WNOHANG)
            alive = done == 0
            if alive and sys.argv[3] == "ignored":
                os.kill(pid, signal.SIGTERM)
            for _ in range(200 if alive else 0):
                done, status = os.waitpid(pid, os.WNOHANG)
                if done: break
                time.sleep(0.1)
            else:
                if alive:
                    os.kill(pid, signal.SIGKILL)
                    _, status = os.waitpid(pid, 0)
            echo = bool(termios.tcgetattr(fd)[3] & termios.ECHO)
            ended = {2: "interrupted", 15: "terminated"}.get(os.WTERMSIG(status), "signal") if os.WIFSIGNALED(status) else "status %d" % status
            print("prompt" if b"assphrase" in out else "no-prompt", "silent" if silent else "echoing",
                  "alive" if alive else "gone", "echo-after" if echo else "silent-after", ended)
            """
        let python = try #require(["/usr/bin/python3", "/usr/local/bin/python3"].first { FileManager.default.isExecutableFile(atPath: $0) }
                                  ?? ProcessInfo.processInfo.environment["PATH"]?.split(separator: ":").map { $0 + "/python3" }
                                      .first { FileManager.default.isExecutableFile(atPath: $0) }, "python3 is needed (scripts/setup installs it)")
        let result = try CLI.run(["-c", script, CLI.binary.path, ws.path("k"), ignored ? "ignored" : "default"], executable: python)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                == (ignored ? "prompt silent alive echo-after terminated" : "prompt silent gone echo-after interrupted"), "\(result.stdout) \(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: ws.path("k.age")) && !FileManager.default.fileExists(atPath: ws.path("k.sign")))
    }

    @Test("DOSSIER_PASSPHRASE is wiped from the process's environment when it starts")
    func environmentPassphraseWiped() throws {
        let ws = try CLIDossierTests.Workspace()
        let value = "env-secret-" + UUID().uuidString
        // keygen --protect with --passphrase-fd waits on the pipe, so the process stays alive.
        let process = Process()
        process.executableURL = CLI.binary
        process.arguments = ["keygen", "--protect", "--passphrase-fd", "0", ws.path("k")]
        process.environment = ProcessInfo.processInfo.environment.merging(["DOSSIER_PASSPHRASE": value]) { $1 }
        let input = Pipe()
        process.standardInput = input
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer {
            try? input.fileHandleForWriting.close()
            process.waitUntilExit()
        }
        // Poll until main() has run (the variable is then empty; up to 60 s: a loaded machine
        // starts processes slowly); the tests run as root, which may read /proc/PID/environ
        // of the non-dumpable process.
        var environ = Data()
        for _ in 0..<1_200 where process.isRunning {
            usleep(50_000)
            environ = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(process.processIdentifier)/environ"))) ?? Data()
            if environ.range(of: Data("DOSSIER_PASSPHRASE=".utf8)) != nil && environ.range(of: Data(value.utf8)) == nil { break }
        }
        #expect(environ.range(of: Data("DOSSIER_PASSPHRASE=".utf8)) != nil, "the environment could not be read")
        #expect(environ.range(of: Data(value.utf8)) == nil, "the passphrase is still in the environment")
    }

    @Test("the CLI runs with core dumps disabled and crashes without a core or a memory-printing crash report")
    func noCoreDumps() throws {
        let ws = try CLIDossierTests.Workspace()
        // Allow cores in this process (up to the hard limit), so that only the CLI's own hardening can stop one.
        var saved = rlimit()
        getrlimit(Int32(RLIMIT_CORE.rawValue), &saved)
        var raised = rlimit(rlim_cur: saved.rlim_max, rlim_max: saved.rlim_max)
        setrlimit(Int32(RLIMIT_CORE.rawValue), &raised)
        defer { setrlimit(Int32(RLIMIT_CORE.rawValue), &saved) }
        // keygen --protect waits for a passphrase on the pipe, so the process stays alive.
        let process = Process()
        process.executableURL = CLI.binary
        process.arguments = ["keygen", "--protect", "--passphrase-fd", "0", ws.path("k")]
        process.currentDirectoryURL = URL(fileURLWithPath: ws.root)
        let input = Pipe()
        process.standardInput = input
        process.standardOutput = FileHandle.nullDevice
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        // Poll: the limits change when main() starts, a moment after the process exists.
        var line = ""
        for _ in 0..<100 {
            usleep(100_000)
            let limits = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/limits", encoding: .utf8)) ?? ""
            line = limits.split(separator: "\n").first { $0.hasPrefix("Max core file size") }.map(String.init) ?? ""
            if line.split(separator: " ", omittingEmptySubsequences: true).dropFirst(4).prefix(2) == ["0", "0"] { break }
        }
        #expect(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst(4).prefix(2) == ["0", "0"], "\(line)")
        kill(process.processIdentifier, SIGSEGV)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal)
        #expect(process.terminationStatus == SIGSEGV)
        let report = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(!report.contains("Backtracing") && !report.contains("Registers"), "a crash report that may show memory: \(report.prefix(200))")
        let cores = try FileManager.default.contentsOfDirectory(atPath: ws.root).filter { $0.hasPrefix("core") }
        #expect(cores.isEmpty, "core files: \(cores)")
        try input.fileHandleForWriting.close()
    }
}
