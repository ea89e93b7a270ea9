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

                With --only PATH and -o -, that one document (256 MiB at most) is written to \
                standard output instead, once the whole dossier authenticated (nothing is \
                written to disk; not to a terminal).

                Examples:
                  dossier open case.dossier -i keys/anna.age --as keys/anna.sign \\
                      -o opened --purpose "appeal review" --trust trust.txt
                  dossier open case.dossier -i keys/anna.age --as keys/anna.sign \\
                      --only 13_release/release-certificate.txt -o - \\
                      --purpose "appeal review" --trust trust.txt | lp
                """)

        @Argument(help: ArgumentHelp("The .dossier file.", valueName: "file"))
        var file: String

        @Option(name: [.short, .customLong("identity")], help: ArgumentHelp("An identity file (repeatable).", valueName: "file"))
        var identities: [String] = []

        @Option(name: .shortAndLong, help: ArgumentHelp("The folder to create (- with --only: standard output).", valueName: "folder"))
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
            if output == "-" {
                guard only != nil else { throw ValidationError("-o - writes one document to standard output: name it with --only (a folder named - is -o ./-)") }
                guard !json else { throw ValidationError("--json and -o - would share standard output: leave out one of them") }
                guard isatty(STDOUT_FILENO) != 1 else {
                    throw ValidationError("refusing to write a document to the terminal (-o -): pipe it into a program or redirect it to a file")
                }
            }
        }

        func run() throws {
            do {
                // Before anything is logged (main refuses this too, before any command runs).
                if output == "-" { try Console.requireWritableStandardOutput() }
                try requireReadableDossier(file)
                let actor = try log.actor(defaultRole: .reader, passphrase: passphrase)
                let keys = try loadIdentities(identities, passphrase: passphrase)
                let store = try trust.store()
                if !quiet { warnIfUntrusted(actor, by: store, recording: "opening") }
                let recorder = AccessRecorder(log: try log.open(create: false), actor: actor, purpose: purpose)
                let (progress, bar) = ProgressBar.handler("opening", quiet: quiet || json)
                defer { bar?.finish() }
                let options = OpenOptions(requiredRoles: try trust.roles(), allowUntrusted: allowUntrusted, only: only, progress: progress)
                if output == "-", let only {
                    // Held in memory until everything authenticated, then written out whole.
                    let document = try Interruption.during {
                        try Dossier.read(only, from: file, with: keys, trusting: store, recordingTo: recorder, options: options)
                    }
                    bar?.finish()
                    stopCatchingSignals()   // the document is whole and checked
                    try Console.standardOutput(document.bytes)
                    Console.note("opened \(document.report.manifest?.dossierID ?? file): \(only) (\(Reports.bytes(Int64(document.bytes.count)))) written to standard output, every file checked".terminalSafe, quiet: quiet)
                    return
                }
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

extension DossierCommand.Open: QuietCapable {
    var writesStandardOutput: Bool { !quiet || json || output == "-" }
}
