import ArgumentParser
import DossierKit
import Foundation

extension DossierCommand {
    struct Countersign: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "countersign",
            abstract: "Add a signature (e.g. the receiving archive's) to a sealed dossier.",
            discussion: """
                The dossier must verify and its signers be trusted (--trust, --require-role; \
                --allow-untrusted to countersign anyway). The manifest, payload and earlier \
                signatures keep their bytes; the container is rewritten under a temporary name, \
                verified and atomically replaced.

                Example:
                  dossier countersign case.dossier --signer countersigner=keys/archive.sign \\
                      --trust trust.txt
                """)

        @Argument(help: ArgumentHelp("The .dossier file.", valueName: "file"))
        var file: String

        @Option(name: .customLong("signer"), help: ArgumentHelp("ROLE=KEYFILE (default role countersigner).", valueName: "role=keyfile"))
        var signer: String

        @OptionGroup var trust: TrustOptions

        @Flag(name: .customLong("allow-untrusted"), help: "Go ahead even if the signers are not trusted (integrity is still required).")
        var allowUntrusted = false

        @OptionGroup var passphrase: PassphraseOptions
        @OptionGroup var log: LogOptions

        @Flag(name: .shortAndLong, help: "Print nothing but errors.")
        var quiet = false

        @Flag(help: "Print the verification of the result as JSON.")
        var json = false

        func run() throws {
            do {
                try requireReadableDossier(file)
                let signer = try loadSigner(self.signer, defaultRole: .countersigner, passphrase: passphrase)
                let recorder = AccessRecorder(log: try log.open(create: false), actor: try log.actor(defaultRole: .countersigner, passphrase: passphrase, fallback: signer),
                                              purpose: "countersigned")
                let (store, roles) = (try trust.store(), try trust.roles())
                let report = try Interruption.during {
                    try Dossier.countersign(file, as: signer, trusting: store, requiringRoles: roles,
                                            allowUntrusted: allowUntrusted, recordingTo: recorder)
                }
                if json { Console.json(Reports.report(report)) } else if !quiet { Console.line("countersigned \(file) as \(signer.role) (\(signer.key.publicKey.keyID))") }
                endIfInterrupted()
            } catch {
                throw fail(error)
            }
        }
    }

    struct Rewrap: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rewrap",
            abstract: "Transfer a dossier: re-encrypt its key for new recipients, keeping all signatures valid.",
            discussion: """
                The dossier must verify and its signers be trusted (--trust, --require-role; \
                --allow-untrusted to transfer anyway). Only the age header changes; the payload \
                body and manifest keep their bytes. The transfer is recorded in a transfer record \
                signed by you (role transferrer).

                Example:
                  dossier rewrap case.dossier -i keys/anna.age -r age1... \\
                      --signer transferrer=keys/anna.sign --trust trust.txt \\
                      --reason "moved to the provincial archive"
                """,
            aliases: ["transfer"])

        @Argument(help: ArgumentHelp("The .dossier file.", valueName: "file"))
        var file: String

        @Option(name: [.short, .customLong("identity")], help: ArgumentHelp("An identity that can open the dossier now (repeatable).", valueName: "file"))
        var identities: [String] = []

        @Option(name: [.short, .customLong("recipient")], help: ArgumentHelp("A new recipient (repeatable).", valueName: "recipient"))
        var recipients: [String] = []

        @Option(name: [.customShort("R"), .customLong("recipients-file")], help: ArgumentHelp("A file of new recipients.", valueName: "file"))
        var recipientFiles: [String] = []

        @Option(name: .customLong("signer"), help: ArgumentHelp("transferrer=KEYFILE: who signs the transfer record.", valueName: "role=keyfile"))
        var signer: String

        @Option(help: "Why the dossier is transferred (recorded and signed).")
        var reason: String

        @OptionGroup var trust: TrustOptions

        @Flag(name: .customLong("allow-untrusted"), help: "Go ahead even if the signers are not trusted (integrity is still required).")
        var allowUntrusted = false

        @OptionGroup var passphrase: PassphraseOptions
        @OptionGroup var log: LogOptions

        @Flag(name: .shortAndLong, help: "Print nothing but errors.")
        var quiet = false

        @Flag(help: "Print the verification of the result as JSON.")
        var json = false

        func validate() throws {
            guard !identities.isEmpty else { throw ValidationError("give an identity that can open the dossier (-i)") }
            guard !recipients.isEmpty || !recipientFiles.isEmpty else { throw ValidationError("give the new recipients (-r or -R)") }
        }

        func run() throws {
            do {
                try requireReadableDossier(file)
                let signer = try loadSigner(self.signer, defaultRole: .transferrer, passphrase: passphrase)
                let newRecipients = try loadRecipients(recipients, files: recipientFiles)
                let recorder = AccessRecorder(log: try log.open(create: false), actor: try log.actor(defaultRole: .transferrer, passphrase: passphrase, fallback: signer),
                                              purpose: reason)
                // Keys first (they may prompt for a passphrase): signals stop the rewrite cleanly only.
                let (keys, store, roles) = (try loadIdentities(identities, passphrase: passphrase), try trust.store(), try trust.roles())
                let report = try Interruption.during {
                    try Dossier.rewrap(file, with: keys, to: newRecipients, by: signer, reason: reason, trusting: store,
                                       requiringRoles: roles, allowUntrusted: allowUntrusted, recordingTo: recorder)
                }
                if json { Console.json(Reports.report(report)) } else if !quiet { Console.line("re-wrapped \(file) for \(newRecipients.count) recipient(s); transfer recorded and signed by \(signer.key.publicKey.keyID)") }
                endIfInterrupted()
            } catch {
                throw fail(error)
            }
        }
    }
}

extension DossierCommand.Countersign: QuietCapable {
    var writesStandardOutput: Bool { !quiet || json }
}

extension DossierCommand.Rewrap: QuietCapable {
    var writesStandardOutput: Bool { !quiet || json }
}
