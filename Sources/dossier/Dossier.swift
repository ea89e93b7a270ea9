import ArgumentParser
import DossierKit
import Foundation

/// The `dossier` command: seal, verify and open case dossiers.
/// The entry point: secrets stay out of core dumps and crash reports before any command runs.
@main
struct DossierMain {
    static func main() {
        // DOSSIER_PASSPHRASE leaves the environment for wiping memory before anything can copy it.
        _ = PassphraseReader.environmentPassphrase
        // DOSSIER_CRASH_REPORTS=1 keeps Swift's crash reports (which may print key bytes) for debugging.
        ProcessHardening.protectSecrets(keepCrashReports: environment("DOSSIER_CRASH_REPORTS") == "1")
        DossierCommand.main()
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
        subcommands: [Keygen.self, Check.self, Seal.self, Verify.self, Open.self, Inspect.self, Log.self, CheckpointCommand.self, Countersign.self, Rewrap.self, Version.self]
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
