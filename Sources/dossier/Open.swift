import ArgumentParser
import DossierKit
import Foundation

extension DossierCommand {
    struct Open: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "open",
            abstract: "Open a dossier with an identity into a new folder.",
            discussion: """
                Signatures are authenticated first (untrusted signers are refused unless \
                --allow-untrusted); the content is extracted into a staging folder, checked file \
                by file against the private manifest, and moved into place only when everything \
                authenticated. The new folder is private to you (mode 0700).

                The opening is first recorded in the access log (--log), signed by the key given \
                with --as; if the log cannot be written, nothing is opened.

                Example:
                  dossier open case.dossier -i keys/anna.age --as keys/anna.sign \\
                      -o opened --purpose "appeal review" --trust trust.txt
                """)

        @Argument(help: ArgumentHelp("The .dossier file.", valueName: "file"))
        var file: String

        @Option(name: [.short, .customLong("identity")], help: ArgumentHelp("An identity file (repeatable).", valueName: "file"))
        var identities: [String] = []

        @Option(name: .shortAndLong, help: ArgumentHelp("The folder to create.", valueName: "folder"))
        var output: String

        @Option(help: "Why the dossier is opened (recorded in the access log before anything is decrypted).")
        var purpose: String

        @Option(help: ArgumentHelp("Open only this document (its path inside the dossier).", valueName: "path"))
        var only: String?

        @Flag(name: .customLong("allow-untrusted"), help: "Open even if signers are not trusted (integrity is still required).")
        var allowUntrusted = false

        @OptionGroup var trust: TrustOptions
        @OptionGroup var passphrase: PassphraseOptions
        @OptionGroup var log: LogOptions

        @Flag(help: "Print the result as JSON.")
        var json = false

        @Flag(name: .shortAndLong, help: "Print nothing but errors.")
        var quiet = false

        func validate() throws {
            guard !identities.isEmpty else { throw ValidationError("give an identity file (-i)") }
            guard !purpose.trimmingCharacters(in: .whitespaces).isEmpty else { throw ValidationError("--purpose needs a reason, not an empty one") }
            try log.requireActor()
        }

        func run() throws {
            do {
                try requireReadableDossier(file)
                let actor = try log.actor(defaultRole: .reader, passphrase: passphrase)
                let keys = try loadIdentities(identities, passphrase: passphrase)
                let store = try trust.store()
                // The opening is recorded anyway (the identity decides who can decrypt), but an
                // inspector's log --verify will call it untrusted: say so now, while it can be fixed.
                if !quiet, !store.entries.isEmpty, store.entry(forKeyID: actor.key.publicKey.keyID)?.roles.contains(actor.role) != true {
                    Console.error("warning: your key \(actor.key.publicKey.keyID) is not trusted in the role \(actor.role) by the trust file; log --verify will report this opening as untrusted",
                                  hint: "add the key with the role \(actor.role) to the trust file, or act as another role with --as ROLE=KEYFILE")
                }
                let recorder = AccessRecorder(log: try log.open(create: false), actor: actor, purpose: purpose)
                let (progress, bar) = ProgressBar.handler("opening", quiet: quiet || json)
                defer { bar?.finish() }
                let options = OpenOptions(requiredRoles: try trust.roles(), allowUntrusted: allowUntrusted, only: only, progress: progress)
                // Ctrl-C stops the opening cleanly: the staging folder with what was decrypted so far goes.
                let receipt = try Interruption.during {
                    try Dossier.open(file, with: keys, into: output, trusting: store, recordingTo: recorder, options: options)
                }
                bar?.finish()
                if json {
                    Console.json(.object(["destination": .string(receipt.destination), "files": .integer(Int64(receipt.filesWritten)),
                                          "bytes": .integer(receipt.bytesWritten), "report": Reports.report(receipt.report)]))
                } else if !quiet {
                    Console.line("opened \(receipt.report.manifest?.dossierID ?? file) into \(receipt.destination): \(receipt.filesWritten) file(s), \(Reports.bytes(receipt.bytesWritten)), every file checked")
                }
                endIfInterrupted()
            } catch let error as ValidationError {
                throw error
            } catch {
                throw fail(error)
            }
        }
    }
}
