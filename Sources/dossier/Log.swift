import ArgumentParser
import DossierKit
import Foundation

extension DossierCommand {
    struct Log: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "log",
            abstract: "Show, verify, export or import a dossier's access log.",
            discussion: """
                TARGET is a .dossier file (its id and the anchor in its manifest are used) or a \
                dossier id. Without options the history is printed. --verify checks the chain \
                (without TARGET: every chain in the ledger), \
                every signature, the anchor and the ledger's checkpoints (plus any given with \
                --checkpoint); --export writes JSON Lines that verify offline (it needs --as: an \
                exported entry signed by that key is recorded first and ends the export); \
                --verify-export checks such a file without any ledger; --import adds an exported \
                log to this ledger. One of these at a time.

                Examples:
                  dossier log case.dossier
                  dossier log case.dossier --verify --trust trust.txt \\
                      --checkpoint published.txt
                  dossier log --verify --trust trust.txt
                  dossier log case.dossier --export case.log.jsonl --as keys/anna.sign
                  dossier log --verify-export case.log.jsonl --trust trust.txt
                  dossier log case.dossier --record loaned --as keys/anna.sign \\
                      --purpose "court hearing" --detail approver="Otto Officer" \\
                      --detail borrower="District Court"
                """)

        @Argument(help: ArgumentHelp("A .dossier file or a dossier id.", valueName: "target"))
        var target: String?

        @Flag(help: "Verify the chain, signatures, anchor and checkpoints.")
        var verify = false

        @Option(help: ArgumentHelp("Write the log as JSON Lines to this file (- for standard output).", valueName: "file"))
        var export: String?

        @Option(name: .customLong("verify-export"), help: ArgumentHelp("Verify an exported log offline.", valueName: "file"))
        var verifyExport: String?

        @Option(name: .customLong("import"), help: ArgumentHelp("Import an exported log into this ledger.", valueName: "file"))
        var importFile: String?

        @Option(name: .customLong("checkpoint"), help: ArgumentHelp("A checkpoint (signed note) to check the ledger against (repeatable).", valueName: "file"))
        var checkpointFiles: [String] = []

        @Option(name: .customLong("record"), help: ArgumentHelp(
            "Record an event: loaned, returned, verified, destroyed, registered (needs --as and --purpose).", valueName: "event"))
        var recordEvent: String?

        @Option(help: "Why (with --record).")
        var purpose: String?

        @Option(name: .customLong("detail"), help: ArgumentHelp("A detail KEY=VALUE for --record, e.g. approver=\"Otto Officer\" (repeatable).", valueName: "key=value"))
        var details: [String] = []

        @OptionGroup var trust: TrustFileOptions
        @OptionGroup var log: LogOptions
        @OptionGroup var passphrase: PassphraseOptions

        @Flag(help: "Print as JSON.")
        var json = false

        /// A target that is a file is a dossier; anything else (a folder named like the id,
        /// which is the usual case: the id defaults to the folder's name) is an id.
        func isDossierFile(_ target: String) -> Bool {
            var isFolder: ObjCBool = false
            return FileManager.default.fileExists(atPath: target, isDirectory: &isFolder) && !isFolder.boolValue
        }

        func isFolder(_ target: String) -> Bool {
            var isFolder: ObjCBool = false
            return FileManager.default.fileExists(atPath: target, isDirectory: &isFolder) && isFolder.boolValue
        }

        /// The dossier id; for a .dossier file also its anchor and payload digest, from a manifest that verified.
        func resolve() throws -> (id: String, anchor: String?, payload: String?) {
            guard let target else { throw ValidationError("give a .dossier file or a dossier id") }
            // A case folder, as a path ("./case", "case/", what tab completion gives): its name
            // is the id (the id defaults to the folder's name when sealing).
            if target.utf8.contains(UInt8(ascii: "/")), isFolder(target) { return (lastPart(of: target), nil, nil) }
            // A path or a .dossier name that is not there is a mistyped file, not an id.
            if !isDossierFile(target) && (target.utf8.contains(UInt8(ascii: "/")) || target.hasSuffix(".dossier")) {
                try requireReadableDossier(target)
            }
            if isDossierFile(target) {
                let report = Dossier.verify(target, trusting: .empty, requiringRoles: [])
                guard let manifest = report.manifest, report.status != .invalid else {
                    throw DossierError(.container, "\(target) does not verify, so its anchor cannot be used: \(report.failureSummary)")
                }
                return (manifest.dossierID, manifest.accessLogGenesisSHA256, manifest.payloadBodySHA256)
            }
            return (target, nil, nil)
        }

        /// `export`: the report is of an exported log (its checkpoint), not of the ledger.
        func show(_ report: LogReport, export: Bool = false) throws {
            if json {
                Console.json(.object([
                    "dossierId": report.dossierID.map { .string($0) } ?? .null,
                    "intact": .bool(report.isIntact), "valid": .bool(report.isValid),
                    "problems": .array(report.problems.map { .string($0) }), "untrusted": .array(report.untrusted.map { .string($0) }),
                    "unusedCheckpoints": .array(report.unusedCheckpoints.map { .string($0) }),
                    "checkpointsVerified": .integer(Int64(report.checkpointsVerified)),
                    "entriesAfterCheckpoint": .integer(Int64(report.entriesAfterCheckpoint)),
                    "entries": .array(report.entries.map(Self.entryJSON)),
                ]))
            } else {
                let verdict = report.isValid ? "VALID" : report.isIntact ? "INTACT BUT UNTRUSTED" : "INVALID"
                Console.line("log of \(report.dossierID ?? "the whole ledger"): \(verdict), \(report.entries.count) entries, \(report.checkpointsVerified) checkpoint(s) verified")
                for problem in report.problems { Console.line("  PROBLEM   \(problem)") }
                for note in report.untrusted { Console.line("  untrusted \(note)") }
                for note in report.unusedCheckpoints { Console.line("  unused    \(note)") }
                if report.entriesAfterCheckpoint > 0 {
                    let count = report.entriesAfterCheckpoint
                    let entries = count == 1 ? "1 entry" : "\(count) entries"
                    Console.line(export
                        ? "  note      \(entries) of the export \(count == 1 ? "is" : "are") not proven complete by a verified checkpoint (newer than the dossier's newest entry it names, or it names none): one left out there is noticed only against a later checkpoint"
                        : "  note      the ledger holds \(entries) newer than its newest verified checkpoint: one removed from among them is noticed only by a later checkpoint (dossier checkpoint)")
                }
            }
            if !report.isIntact { throw ExitCode(Exit.invalid) }
            if !report.isValid { throw ExitCode(Exit.untrusted) }
        }

        static func entryJSON(_ e: LogEntry) -> JSONValue {
            .object(["sequence": .integer(Int64(e.sequence)), "event": .string(e.event.rawValue), "at": .string(e.at),
                     "actorKeyId": .string(e.actorKeyID), "actorName": .string(e.actorName), "actorRole": .string(e.actorRole.rawValue),
                     "purpose": .string(e.purpose), "details": .object(e.details.mapValues { .string($0) }), "hash": .string(e.hash)])
        }

        func validate() throws {
            // One thing at a time: an option that would be ignored is refused instead.
            let modes = [("--verify", verify), ("--export", export != nil), ("--verify-export", verifyExport != nil),
                         ("--import", importFile != nil), ("--record", recordEvent != nil)].filter(\.1).map(\.0)
            guard modes.count <= 1 else { throw ValidationError("\(modes.joined(separator: " and ")) do not go together: give one of them") }
            if recordEvent == nil {
                guard details.isEmpty else { throw ValidationError("--detail goes with --record") }
                guard purpose == nil else { throw ValidationError("--purpose goes with --record") }
            } else {
                if let purpose, purpose.trimmingCharacters(in: .whitespaces).isEmpty {
                    throw ValidationError("--record needs a purpose (--purpose), not an empty one")
                }
                try log.requireActor()
            }
            if export != nil, !log.namesActor {
                throw ValidationError("--export needs --as KEYFILE (or DOSSIER_ACTOR): the export ends with an exported entry signed by that key, which shows that nothing was cut from it")
            }
            guard log.actor == nil || recordEvent != nil || export != nil else { throw ValidationError("--as goes with --record or --export") }
            guard checkpointFiles.isEmpty || verify else { throw ValidationError("--checkpoint goes with --verify") }
            guard trust.trust == nil || verify || verifyExport != nil || importFile != nil else {
                throw ValidationError("--trust goes with --verify, --verify-export or --import")
            }
            guard target != nil || verify || verifyExport != nil || importFile != nil else {
                throw ValidationError("give a .dossier file or a dossier id")
            }
        }

        func run() throws {
            do {
                let store = try trust.store()
                // An export checked or imported for a target must be that dossier's log; a
                // dossier file that does not verify cannot vouch for its anchor (an error).
                let expected = (verifyExport != nil || importFile != nil) ? try target.map { _ in try resolve() } : nil
                if let file = verifyExport {
                    let text = try String(contentsOfFile: file, encoding: .utf8)
                    try show(AccessLog.verifyExport(text, trusting: store, anchor: expected?.anchor, dossierID: expected?.id), export: true)
                    return
                }
                if let file = importFile {
                    // A ledger made just for this import does not stay behind if it fails.
                    let (ledger, made) = try log.ledger.openCreating()
                    let report: LogReport
                    do {
                        report = try ledger.importLog(try String(contentsOfFile: file, encoding: .utf8), trusting: store,
                                                      anchor: expected?.anchor, dossierID: expected?.id)
                    } catch {
                        made?.removeIfUnused(ledger)
                        throw error
                    }
                    Console.line("imported the log of \(report.dossierID ?? "?") (\(report.entries.count) entries) into \(log.path)")
                    return
                }
                let writes = recordEvent != nil || export != nil
                // `registered` starts a history (a dossier sealed without a log, handed to an
                // office that may have no ledger yet): its ledger is made when missing, and
                // removed again when nothing gets recorded in it.
                let opened = recordEvent == LogEvent.registered.rawValue ? try log.ledger.openCreating()
                    : (ledger: writes ? try log.open(create: false) : try log.openForReading(), made: nil)
                let ledger = opened.ledger
                var recorded = false
                defer { if !recorded { opened.made?.removeIfUnused(ledger) } }
                if verify, target == nil {
                    // The whole ledger: every chain, every row, every checkpoint.
                    var extra: [Checkpoint] = []
                    for file in checkpointFiles { extra.append(try Checkpoint(parsing: try String(contentsOfFile: file, encoding: .utf8))) }
                    try show(ledger.verify(dossierID: nil, trusting: store, checkpoints: extra))
                    return
                }
                let (id, anchor, payload) = try resolve()
                if let recordEvent {
                    guard let event = LogEvent(rawValue: recordEvent), ![.sealed, .opened, .transferred, .countersigned, .exported].contains(event) else {
                        throw ValidationError("--record takes loaned, returned, verified, destroyed or registered (the others are recorded by their commands)")
                    }
                    guard let purpose else { throw ValidationError("--record needs --purpose") }
                    var map: [String: String] = [:]
                    for item in details {
                        guard let eq = item.firstIndex(of: "=") else { throw ValidationError("--detail takes KEY=VALUE") }
                        map[String(item[..<eq])] = String(item[item.index(after: eq)...])
                    }
                    let actor = try log.actor(defaultRole: .archivist, passphrase: passphrase)
                    // Never on a history that is not this dossier's own, nor a second one ("registered").
                    if let anchor { try ledger.requireHistory(of: id, anchoredAt: anchor) }
                    // The verified dossier's digest (read once: not a second time, when the file may have changed).
                    var digest = payload
                    if digest == nil { digest = try ledger.history(of: id).last?.payloadSHA256 }
                    guard let digest else { throw ValidationError("give the .dossier file: the log has no history of \(id) yet") }
                    let entry = try ledger.record(event, dossierID: id, payloadSHA256: digest, actor: actor, purpose: purpose, details: map)
                    recorded = true
                    if json { Console.json(Self.entryJSON(entry)) } else { Console.line("recorded #\(entry.sequence) \(entry.event.rawValue) for \(id)") }
                    return
                }
                if let export {
                    // An actor named but unusable (a key readable by others, a wrong passphrase)
                    // is an error: the export would miss its signed exported entry. The file is
                    // made (never overwritten) before the exported entry is recorded.
                    let actor = try log.actor(defaultRole: .reader, passphrase: passphrase)
                    if let anchor { try ledger.requireHistory(of: id, anchoredAt: anchor) }
                    let file = export == "-" ? nil : try OutputFile(creating: export)
                    let text: String
                    do { text = try ledger.export(dossierID: id, actor: actor) } catch {
                        file?.discard()
                        throw error
                    }
                    if let file {
                        try file.write(Array(text.utf8))
                        if !json { print("exported \(text.split(separator: "\n").count - 1) entries of \(id) to \(export)") }
                    } else {
                        print(text, terminator: "")
                    }
                    return
                }
                if verify {
                    var extra: [Checkpoint] = []
                    for file in checkpointFiles { extra.append(try Checkpoint(parsing: try String(contentsOfFile: file, encoding: .utf8))) }
                    try show(ledger.verify(dossierID: id, trusting: store, anchor: anchor, checkpoints: extra))
                    return
                }
                let history: [LogEntry]
                do { history = try ledger.history(of: id) } catch {
                    // A damaged entry: show what can be read, and say which one is damaged.
                    let report = ledger.verify(dossierID: id, trusting: .empty)
                    guard !report.problems.isEmpty else { throw error }
                    show(history: report.entries, of: id, problems: report.problems)
                    throw ExitCode(Exit.invalid)
                }
                guard !history.isEmpty else {
                    throw DossierError(.accessLog, "the access log \(log.path) has no history of dossier \(id)",
                                       hint: "check the id, or give the .dossier file")
                }
                show(history: history, of: id)
            } catch let error as ValidationError {
                throw error
            } catch let error as ExitCode {
                throw error
            } catch {
                throw fail(error)
            }
        }

        /// The history as read; `problems` (a damaged entry) are printed after it.
        func show(history: [LogEntry], of id: String, problems: [String] = []) {
            if json {
                var object: [String: JSONValue] = ["dossierId": .string(id), "entries": .array(history.map(Self.entryJSON))]
                if !problems.isEmpty { object["problems"] = .array(problems.map { .string($0) }) }
                Console.json(.object(object))
                return
            }
            Console.line("access log of \(id) (\(history.count) entries) in \(log.path)")
            for e in history {
                let details = e.details.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
                Console.line("  #\(e.sequence) \(e.at) \(e.event.rawValue) by \(e.actorName) (\(e.actorRole), \(e.actorKeyID)): \(e.purpose)\(details.isEmpty ? "" : " [\(details)]")")
            }
            for problem in problems { Console.line("  PROBLEM   \(problem)") }
        }
    }

    struct CheckpointCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "checkpoint",
            abstract: "Sign a checkpoint of the whole access log (size and Merkle root) to hand to inspectors or publish.",
            discussion: """
                A later verification against this checkpoint detects entries that were removed, \
                rewritten or cut off. The signing key should be the office's ledger key (trust role: ledger). \
                No checkpoint is signed over a ledger cut or rewritten below an earlier checkpoint of the \
                same key or of a ledger key in the trust file (--trust, $DOSSIER_TRUST).

                Example:
                  dossier checkpoint --origin justice-bureau.example \\
                      --signer keys/office.sign -o checkpoint-2026-11.txt
                """)

        @Option(help: "The ledger's name: one word, e.g. justice-bureau.example.")
        var origin: String

        @Option(name: .customLong("signer"), help: ArgumentHelp("The key that signs the checkpoint.", valueName: "keyfile"))
        var signer: String

        @Option(name: .shortAndLong, help: ArgumentHelp("Also write the checkpoint to this file.", valueName: "file"))
        var output: String?

        @OptionGroup var log: LedgerOptions
        @OptionGroup var passphrase: PassphraseOptions
        /// Earlier checkpoints of the ledger keys it trusts (role ledger) bind the signing too.
        @OptionGroup var trust: TrustFileOptions

        @Flag(help: "Print as JSON.")
        var json = false

        func run() throws {
            do {
                let store = try trust.store()
                let key = try SigningKey.load(path: signer, passphrase: passphrase.provider("passphrase for \(signer): "))
                // Made (never overwritten) before the checkpoint is signed and stored.
                let file = try output.map { try OutputFile(creating: $0) }
                let checkpoint: Checkpoint
                do { checkpoint = try log.open(create: false).checkpoint(origin: origin, signedBy: key, trusting: store) } catch {
                    file?.discard()
                    throw error
                }
                if json {
                    Console.json(.object(["origin": .string(checkpoint.origin), "size": .integer(Int64(checkpoint.size)), "root": .string(checkpoint.root),
                                          "signerKeyId": .string(checkpoint.signerKeyID), "note": .string(checkpoint.note)]))
                } else {
                    print(checkpoint.note, terminator: "")
                }
                try file?.write(Array(checkpoint.note.utf8))
            } catch {
                throw fail(error)
            }
        }
    }
}
