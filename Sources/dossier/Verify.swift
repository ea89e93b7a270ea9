import ArgumentParser
import DossierKit
import Foundation

extension DossierCommand {
    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Verify dossiers with public keys only (an inspector's command).",
            discussion: """
                Checks the container, the canonical manifest, every signature and whether its \
                key is trusted for its role, the required roles, and the payload digests. With \
                -i, also decrypts and checks every file against the private manifest. Many files \
                at once (a whole shelf) end with a summary line.

                Exit codes: 0 all valid, 2 any invalid, 1 any file missing or unreadable (none invalid), 3 any untrusted (none of the others).

                Example:
                  dossier verify shelf/*.dossier --trust trust.txt \\
                      --require-role sealer --require-role approver
                """)

        @Argument(help: ArgumentHelp("The .dossier files to verify.", valueName: "file"))
        var files: [String]

        @OptionGroup var trust: TrustOptions

        @Option(name: [.short, .customLong("identity")], help: ArgumentHelp("An identity file for a deep check of the content (repeatable).", valueName: "file"))
        var identities: [String] = []

        @OptionGroup var passphrase: PassphraseOptions

        @Flag(help: "Print one JSON report per line.")
        var json = false

        @Flag(name: .shortAndLong, help: "Print only the summary (and errors).")
        var quiet = false

        func validate() throws {
            guard !files.isEmpty else { throw ValidationError("give at least one .dossier file") }
        }

        func run() throws {
            let store: TrustStore
            let roles: Set<DossierRole>
            let keys: [AgeIdentity]
            do {
                store = try trust.store()
                roles = try trust.roles()
                keys = try loadIdentities(identities, passphrase: passphrase)
            } catch let error as ValidationError {
                throw error
            } catch {
                throw fail(error)
            }
            var counts: [VerificationReport.Status: Int] = [:]
            var unreadable = 0
            for file in files {
                if let reason = unreadableReason(file) {
                    unreadable += 1
                    Console.error("\(file): \(reason)")
                    if json { Console.json(.object(["path": .string(file), "status": .string("error"), "error": .string(reason)])) }
                    continue
                }
                let report = Dossier.verify(file, trusting: store, requiringRoles: roles, identities: keys)
                counts[report.status, default: 0] += 1
                if json {
                    Console.json(Reports.report(report))
                } else if !quiet {
                    print(Reports.text(report))
                }
            }
            if !json && (files.count > 1 || quiet) {
                print("\(files.count) dossier(s): \(counts[.valid] ?? 0) valid, \(counts[.untrusted] ?? 0) untrusted, \(counts[.invalid] ?? 0) invalid"
                      + (unreadable > 0 ? ", \(unreadable) unreadable" : ""))
            }
            if counts[.invalid] ?? 0 > 0 { throw ExitCode(Exit.invalid) }
            if unreadable > 0 { throw ExitCode(Exit.failure) }
            if counts[.untrusted] ?? 0 > 0 { throw ExitCode(Exit.untrusted) }
        }
    }
}
