import Foundation
import Testing

/// Runs the built `dossier` binary and captures its output.
struct CLI {
    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// The `dossier` executable next to the test bundle in the build folder.
    static var binary: URL {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        // The test runner may be inside a bundle folder (….xctest/…); walk up to the products folder.
        for _ in 0..<4 where !FileManager.default.isExecutableFile(atPath: dir.appendingPathComponent("dossier").path) {
            dir.deleteLastPathComponent()
        }
        return dir.appendingPathComponent("dossier")
    }

    /// `input`, when given, is the process's standard input (otherwise it inherits this one's).
    /// `executable`, when given, runs instead of dossier (e.g. a shell that sets limits first).
    static func run(_ arguments: [String], environment: [String: String] = [:], directory: String? = nil, input: Data? = nil,
                    executable: String? = nil) throws -> Result {
        let process = Process()
        process.executableURL = executable.map { URL(fileURLWithPath: $0) } ?? binary
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let feed = input.map { _ in Pipe() }
        if let feed { process.standardInput = feed }
        try process.run()
        if let feed, let input {
            // From another thread: a child that does not read (or exits) must not block the test,
            // nor kill it with SIGPIPE.
            signal(SIGPIPE, SIG_IGN)
            let writer = feed.fileHandleForWriting
            Thread.detachNewThread {
                try? writer.write(contentsOf: input)
                try? writer.close()
            }
        }
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus,
                      stdout: String(decoding: stdout, as: UTF8.self),
                      stderr: String(decoding: stderr, as: UTF8.self))
    }
}

@Suite("dossier CLI")
struct CLITests {
    @Test("the binary exists")
    func binaryExists() {
        #expect(FileManager.default.isExecutableFile(atPath: CLI.binary.path), "\(CLI.binary.path)")
    }

    @Test("--help lists the commands and exits 0")
    func help() throws {
        let result = try CLI.run(["--help"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("USAGE: dossier"))
        #expect(result.stdout.contains("version"))
    }

    /// The subcommand names are spelled out in each command's configuration (ArgumentParser
    /// would otherwise derive them from the type names at every start, through reflection),
    /// so the documented names are pinned here: each one must answer its own --help.
    @Test("every documented subcommand answers by its name", arguments: [
        "keygen", "check", "seal", "verify", "open", "list", "inspect", "log", "checkpoint", "countersign", "rewrap", "transfer", "version",
    ])
    func subcommandNames(_ name: String) throws {
        let result = try CLI.run([name, "--help"])
        #expect(result.status == 0, "\(name): \(result.stderr)")
        #expect(result.stdout.contains("USAGE: dossier \(name)") || (name == "transfer" && result.stdout.contains("USAGE: dossier rewrap")),
                "\(name): \(result.stdout.prefix(200))")
    }

    /// ArgumentParser wraps help text at 80 columns (without a terminal): an example line
    /// longer than that was split mid-command ("--purpose \"court" / "hearing\""), and the
    /// pasted command failed. Every example line stays indented and whole.
    @Test("help examples are whole lines at 80 columns, pasteable", arguments: [
        "", "keygen", "check", "seal", "verify", "open", "list", "inspect", "log", "checkpoint", "countersign", "rewrap",
    ])
    func examplesNotWrapped(_ name: String) throws {
        let result = try CLI.run(name.isEmpty ? ["--help"] : [name, "--help"], environment: ["COLUMNS": "80"])
        #expect(result.status == 0)
        var inExample = false, examples = 0
        for line in result.stdout.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("Example") { inExample = true; continue }
            if line.isEmpty { inExample = false; continue }
            guard inExample else { continue }
            examples += 1
            #expect(line.hasPrefix("  ") && line.count < 80, "\(name): \(line)")
        }
        #expect(examples > 0, "\(name) has no example")
    }

    @Test("version prints the backends")
    func version() throws {
        let result = try CLI.run(["version"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("openssl: OpenSSL 3"))
        #expect(result.stdout.contains("libarchive: libarchive 3"))
    }

    @Test("an unknown command is a usage error (exit 64)")
    func usageError() throws {
        let result = try CLI.run(["no-such-command"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("Error"))
    }
}
