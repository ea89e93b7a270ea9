import ArgumentParser
import DossierKit
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The `dossier` command: seal, verify and open case dossiers.
/// The entry point: secrets stay out of core dumps and crash reports before any command runs.
@main
struct DossierMain {
    static func main() {
        // First of all: no file the command opens may take the number of a closed standard
        // descriptor (its messages would be written into that file).
        Console.occupyClosedStandardDescriptors()
        // DOSSIER_PASSPHRASE leaves the environment for wiping memory before anything can copy it.
        _ = PassphraseReader.environmentPassphrase
        // DOSSIER_CRASH_REPORTS=1 keeps Swift's crash reports (which may print key bytes) for debugging.
        ProcessHardening.protectSecrets(keepCrashReports: environment("DOSSIER_CRASH_REPORTS") == "1")
        refuseArgumentsNotUTF8()
        var command: any ParsableCommand
        do { command = try DossierCommand.parseAsRoot() } catch { finish(error) }
        // A result nobody can see is not worth the work: a seal with its stdout closed was
        // sealed and logged, then failed on its receipt — and a retry with the same id was refused.
        if let unwritable = Console.standardOutputUnwritable, (command as? QuietCapable)?.writesStandardOutput ?? true {
            Console.error("standard output is \(unwritable): there is nowhere to write the result, so nothing was done",
                          hint: "redirect it to a file or to /dev/null (seal, open, countersign and rewrap also run with --quiet, which prints nothing there)")
            exit(Exit.failure)
        }
        do { try command.run() } catch { finish(error) }
        // A command that succeeded but whose output could not be written out did not succeed
        // (`verify --json > /dev/full` said nothing and exited 0). Failed commands exit in `finish`.
        endIfOutputFailed()
        exit(Exit.success)
    }

    /// Ends the process for an error thrown by parsing or by a command, as ArgumentParser's
    /// own `main` would — except that help and the version, printed on request (exit 0),
    /// go through the checked standard output: `dossier --help > /dev/full` exited 0.
    static func finish(_ error: any Error) -> Never {
        guard DossierCommand.exitCode(for: error) == .success else { DossierCommand.exit(withError: error) }
        let message = DossierCommand.fullMessage(for: error)
        if !message.isEmpty { print(message) }
        endIfOutputFailed()
        exit(Exit.success)
    }

    /// Exits with 1, saying why, when what was printed could not be written out.
    static func endIfOutputFailed() {
        do throws(DossierError) { try Console.flush() } catch {
            if !Console.brokenPipe { Console.error(error.reason, hint: error.hint) }
            exit(Exit.failure)
        }
    }

    /// Swift decodes arguments as UTF-8 and replaces what is not with U+FFFD, so a path
    /// argument holding other bytes would silently name another file (`out\xff.dossier`
    /// became `out\u{FFFD}.dossier`, with --force replacing that one): refused instead.
    static func refuseArgumentsNotUTF8() {
        for index in 1..<Int(CommandLine.argc) {
            guard let argument = CommandLine.unsafeArgv[index] else { continue }
            let bytes = UnsafeRawBufferPointer(start: argument, count: strlen(argument))
            guard String(validating: bytes, as: UTF8.self) == nil else { continue }
            let shown = bytes.map { (32..<127).contains($0) && $0 != UInt8(ascii: "\\") ? String(UnicodeScalar($0)) : String(format: "\\x%02x", $0) }.joined()
            Console.error("argument \(index) (\(shown)) is not UTF-8 text: dossier takes file names and values in UTF-8",
                          hint: "rename the file, or give its name in UTF-8")
            exit(Exit.usage)
        }
    }
}

struct DossierCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dossier",
        abstract: "Seal closed case dossiers into signed, encrypted archives; verify and open them.",
        discussion: """
            A sealed dossier (.dossier) is a zip container holding an age-encrypted payload, \
            a public manifest and minisign-compatible signatures. Inspectors verify it with \
            public keys only; recipients open it with their age identity.

            Exit codes: 0 success, 1 failure, 2 verification failed (modified, malformed or \
            invalid signature), 3 intact but untrusted (unknown key or missing role), \
            4 no matching identity, 5 the folder does not meet its profile, 64 usage error.

            Example, end to end:
              dossier keygen --name "Anna Archivist" keys/anna
              echo "sealer,reader $(tail -n 1 keys/anna.pub) Anna" > trust.txt
              dossier seal case-folder -r "$(cat keys/anna.recipient)" \\
                -s keys/anna.sign -o case.dossier
              dossier verify case.dossier --trust trust.txt
              dossier open case.dossier -i keys/anna.age --as keys/anna.sign \\
                --trust trust.txt -o opened --purpose "appeal review"
              dossier log case.dossier --verify --trust trust.txt
            """,
        version: DossierKit.version,
        subcommands: [Keygen.self, Check.self, Seal.self, Verify.self, Open.self, List.self, Inspect.self, Log.self, CheckpointCommand.self, Countersign.self, Rewrap.self, Version.self]
    )
}

extension DossierCommand {
    /// Prints the versions of dossier and the libraries it runs on.
    struct Version: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "version",
            abstract: "Print the versions of dossier, OpenSSL and libarchive."
        )

        func run() throws {
            print("dossier \(DossierKit.version)")
            for (name, version) in DossierKit.backendVersions.sorted(by: { $0.key < $1.key }) {
                print("\(name): \(version)")
            }
        }
    }
}
