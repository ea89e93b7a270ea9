import ArgumentParser
import DossierKit
import Foundation

extension DossierCommand {
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List a dossier's documents (paths, sizes, media types) without opening any.",
            discussion: """
                The names are inside the encryption, so listing is an access: it needs an \
                identity, is checked as an opening is, and is first recorded in the access log \
                (an opening with the detail contents=listed, signed by the key given with --as; \
                if the log cannot be written, nothing is listed). The whole payload is decrypted and every file \
                checked; no document is written anywhere. Open one with open --only.

                Example:
                  dossier list case.dossier -i keys/anna.age --as keys/anna.sign \\
                      --trust trust.txt --purpose "find the release certificate"
                """)

        @Argument(help: ArgumentHelp("The .dossier file.", valueName: "file"))
        var file: String

        @Option(name: [.short, .customLong("identity")], help: ArgumentHelp("An identity file (repeatable).", valueName: "file"))
        var identities: [String] = []

        @Option(help: "Why the dossier is listed (recorded in the access log before anything is decrypted).")
        var purpose: String

        @Flag(name: .customLong("allow-untrusted"), help: "List even if signers are not trusted (integrity is still required).")
        var allowUntrusted = false

        @OptionGroup var trust: TrustOptions
        @OptionGroup var passphrase: PassphraseOptions
        @OptionGroup var log: LogOptions

        @Flag(help: "Print the result as JSON (with every document's SHA-256 and time).")
        var json = false

        func validate() throws {
            guard !identities.isEmpty else { throw ValidationError("give an identity file (-i)") }
            guard !purpose.trimmingCharacters(in: .whitespaces).isEmpty else { throw ValidationError("--purpose needs a reason, not an empty one") }
            try log.requireActor()
        }

        func run() throws {
            do {
                // Before anything is logged: a listing nobody can see is not made.
                try Console.requireWritableStandardOutput()
                try requireReadableDossier(file)
                let actor = try log.actor(defaultRole: .reader, passphrase: passphrase)
                let keys = try loadIdentities(identities, passphrase: passphrase)
                let store = try trust.store()
                warnIfUntrusted(actor, by: store, recording: "listing")
                let recorder = AccessRecorder(log: try log.open(create: false), actor: actor, purpose: purpose)
                let (progress, bar) = ProgressBar.handler("listing", quiet: json)
                defer { bar?.finish() }
                let options = OpenOptions(requiredRoles: try trust.roles(), allowUntrusted: allowUntrusted, progress: progress)
                let contents = try Interruption.during {
                    try Dossier.list(file, with: keys, trusting: store, recordingTo: recorder, options: options)
                }
                bar?.finish()
                stopCatchingSignals()   // checked and logged
                if json {
                    Console.json(.object([
                        "dossierId": .string(contents.report.manifest?.dossierID ?? ""),
                        "documents": .array(contents.documents.map {
                            .object(["path": .string($0.path), "size": .integer($0.size), "sha256": .string($0.sha256),
                                     "mediaType": .string($0.mediaType), "mtime": .integer($0.modificationTime),
                                     "executable": .bool($0.isExecutable)])
                        }),
                        "folders": .array(contents.folders.map { .string($0) }),
                        "report": Reports.report(contents.report),
                    ]))
                } else {
                    let sizes = contents.documents.map { Reports.bytes($0.size) }
                    let sizeWidth = sizes.map(\.count).max() ?? 0
                    let types = contents.documents.map { Self.shown(mediaType: $0.mediaType) }
                    let typeWidth = types.map(\.count).max() ?? 0
                    for ((document, size), type) in zip(zip(contents.documents, sizes), types) {
                        let column = type.padding(toLength: typeWidth, withPad: " ", startingAt: 0)
                        Console.line(String(repeating: " ", count: sizeWidth - size.count) + size + "  " + column + "  " + document.path)
                    }
                }
                // The list is the result: one that could not be written out is a failure.
                try Console.flush()
                if !json {
                    let total = contents.documents.reduce(Int64(0)) { $0 + $1.size }
                    Console.note("listed \(contents.report.manifest?.dossierID ?? file): \(contents.documents.count) document(s), \(Reports.bytes(total)), \(contents.folders.count) folder(s); every file checked".terminalSafe, quiet: false)
                }
            } catch let error as ValidationError {
                throw error
            } catch {
                throw fail(error)
            }
        }

        /// A media type as the text listing shows it: a `type/subtype` of RFC 6838's
        /// characters, or "?" — the private manifest's value is the sealer's word, and one with
        /// spaces could pose as a path column (`--json` gives it as it is).
        static func shown(mediaType: String) -> String {
            let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$&^_.+-".utf8)
            let parts = mediaType.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
            guard parts.count == 2, parts.allSatisfy({ (1...127).contains($0.count) && $0.allSatisfy(allowed.contains) }) else { return "?" }
            return mediaType
        }
    }
}
