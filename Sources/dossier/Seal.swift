import ArgumentParser
import DossierKit
import Foundation

extension DossierCommand {
    struct Seal: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "seal",
            abstract: "Seal a case folder (or a zip / tar / 7z archive) into a signed, encrypted .dossier file.",
            discussion: """
                The output is written under a temporary name, fsynced, re-read and verified, \
                and only then renamed into place; an existing file is never replaced unless \
                --force. Symlinks, special files, unsafe or colliding names and files that \
                change while being read stop the seal with nothing written.

                Example:
                  dossier seal Examples/case-2024-0117 -r age1... -s keys/anna.sign \\
                      --signer approver=keys/otto.sign \\
                      --public court="Example District Court" \\
                      -o case-2024-0117.dossier
                """)

        @Argument(help: ArgumentHelp("The case folder or archive to seal.", valueName: "source"))
        var source: String

        @Option(name: [.short, .customLong("recipient")], help: ArgumentHelp("An age recipient (age1...) who may open the dossier (repeatable).", valueName: "recipient"))
        var recipients: [String] = []

        @Option(name: [.customShort("R"), .customLong("recipients-file")], help: ArgumentHelp("A file of age recipients, one per line (repeatable).", valueName: "file"))
        var recipientFiles: [String] = []

        @Option(name: [.short, .customLong("sign")], help: ArgumentHelp("A signing key that signs as sealer (repeatable).", valueName: "keyfile"))
        var sealerKeys: [String] = []

        @Option(name: .customLong("signer"), help: ArgumentHelp("A further signer as ROLE=KEYFILE, e.g. approver=keys/otto.sign; a bare KEYFILE signs as approver (repeatable).", valueName: "role=keyfile"))
        var signers: [String] = []

        @Option(name: .customLong("id"), help: "The dossier id, sealed once (default: the source folder's name, or the archive's name without its extension).")
        var id: String?

        @Option(name: .customLong("public"), help: ArgumentHelp("Metadata to publish in the manifest as KEY=VALUE (repeatable; visible without a key).", valueName: "key=value"))
        var publicMetadata: [String] = []

        @Option(name: .customLong("level"), help: "zstd compression level, 1-19.")
        var level: Int = 3

        @Option(name: .shortAndLong, help: ArgumentHelp("The .dossier file to write.", valueName: "file"))
        var output: String

        @Flag(help: "Replace an existing output file.")
        var force = false

        @OptionGroup var passphrase: PassphraseOptions
        @OptionGroup var log: LogOptions
        @OptionGroup var profileOptions: ProfileOptions

        @Option(name: .customLong("override-profile"), help: ArgumentHelp(
            "Seal although the folder fails its profile; the reason goes into the manifest and the access log.", valueName: "reason"))
        var overrideProfile: String?

        @Option(help: "Why the dossier is sealed (recorded in the access log).")
        var purpose: String = "sealed at case closure"

        @Flag(help: "Print the result as JSON.")
        var json = false

        @Flag(name: .shortAndLong, help: "Print nothing but errors.")
        var quiet = false

        func validate() throws {
            guard !recipients.isEmpty || !recipientFiles.isEmpty else { throw ValidationError("give at least one recipient (-r age1… or -R file)") }
            guard !sealerKeys.isEmpty || !signers.isEmpty else { throw ValidationError("give at least one signing key (-s keyfile or --signer role=keyfile)") }
            for item in publicMetadata where !item.contains("=") { throw ValidationError("--public takes KEY=VALUE, got \"\(item)\"") }
            var keys = Set<Substring>()
            for item in publicMetadata {
                let key = item.prefix { $0 != "=" }
                guard keys.insert(key).inserted else { throw ValidationError("--public \(key) is given twice") }
            }
            guard (1...19).contains(level) else { throw ValidationError("--level must be 1…19, got \(level)") }
            guard !purpose.trimmingCharacters(in: .whitespaces).isEmpty else { throw ValidationError("--purpose needs a reason, not an empty one") }
            if let id, !DossierID.isValid(id) {
                throw ValidationError("--id must be 1…128 characters of A-Z a-z 0-9 . _ - (not starting with . or -), got \"\(id)\"")
            }
            if let overrideProfile {
                guard profileOptions.profile != nil else { throw ValidationError("--override-profile needs --profile (the profile it overrides)") }
                guard !overrideProfile.trimmingCharacters(in: .whitespaces).isEmpty, !overrideProfile.contains(where: \.isNewline) else {
                    throw ValidationError("--override-profile needs a reason on one line")
                }
            }
        }

        func run() throws {
            do {
                try runSeal()
                endIfInterrupted()
            } catch let error as ValidationError {
                throw error
            } catch {
                throw fail(error, sealing: true)
            }
        }

        func runSeal() throws {
            do {
                let recipients = try loadRecipients(self.recipients, files: recipientFiles)
                var signers = try sealerKeys.map { try loadSigner($0, defaultRole: .sealer, passphrase: passphrase) }
                signers += try self.signers.map { try loadSigner($0, defaultRole: .approver, passphrase: passphrase) }
                var metadata: [String: String] = [:]
                for item in publicMetadata {
                    let eq = item.firstIndex(of: "=")!
                    metadata[String(item[..<eq])] = String(item[item.index(after: eq)...])
                }
                let profile = try profileOptions.load()
                let actor = try log.actor(defaultRole: .sealer, passphrase: passphrase, fallback: signers.first)
                // A ledger made for this seal does not stay behind if the seal fails.
                let (ledger, made) = try log.ledger.openCreating()
                let recorder = AccessRecorder(log: ledger, actor: actor, purpose: purpose)
                let (progress, bar) = ProgressBar.handler("sealing", quiet: quiet || json)
                defer { bar?.finish() }
                let receipt: SealReceipt
                do {
                    var options = SealOptions(dossierID: id, publicMetadata: metadata, compressionLevel: level,
                                              replaceExisting: force, log: recorder, progress: progress)
                    options.profile = profile
                    options.profileOverride = overrideProfile
                    // Ctrl-C stops the seal cleanly: its temporary (and a ledger made for it) goes.
                    receipt = try Interruption.during {
                        try Dossier.seal(source, to: recipients, signedBy: signers, writingTo: output, options: options)
                    }
                } catch {
                    made?.removeIfUnused(ledger)
                    throw error
                }
                bar?.finish()
                if json {
                    Console.json(.object(["path": .string(receipt.path), "containerBytes": .integer(receipt.containerBytes),
                                          "manifest": Reports.manifest(receipt.manifest), "status": .string(receipt.report.status.rawValue)]))
                } else if !quiet {
                    let m = receipt.manifest
                    Console.line("sealed \(m.dossierID) into \(receipt.path): \(m.fileCount) files, \(Reports.bytes(m.contentBytes)) → \(Reports.bytes(receipt.containerBytes)), \(signers.count) signature(s), verified; logged in \(log.path)")
                }
            }
        }
    }
}

extension DossierCommand.Seal: QuietCapable {
    var writesStandardOutput: Bool { !quiet || json }
}
