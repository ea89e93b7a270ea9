import ArgumentParser
import DossierKit

/// The `dossier` command: seal, verify and open case dossiers.
@main
struct Dossier: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dossier",
        abstract: "Seal closed case dossiers into signed, encrypted archives; verify and open them.",
        discussion: """
            A sealed dossier (.dossier) is a zip container holding an age-encrypted payload, \
            a public manifest and minisign-compatible signatures. See README.md and docs/FORMAT.md.
            """,
        version: DossierKit.version,
        subcommands: [Version.self]
    )
}

extension Dossier {
    /// Prints the versions of dossier and the libraries it runs on.
    struct Version: ParsableCommand {
        static let configuration = CommandConfiguration(
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
