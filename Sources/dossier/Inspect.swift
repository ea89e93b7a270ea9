import ArgumentParser
import DossierKit
import Foundation

extension DossierCommand {
    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "inspect",
            abstract: "Show a dossier's public manifest, signers, recipients and sizes, without keys.",
            discussion: "Example:\n  dossier inspect case.dossier --json")

        @Argument(help: ArgumentHelp("The .dossier file.", valueName: "file"))
        var file: String

        @Flag(help: "Print as JSON.")
        var json = false

        func run() throws {
            if let reason = unreadableReason(file) {
                if json { Console.json(.object(["path": .string(file), "status": .string("error"), "error": .string(reason)])) }
                Console.error("\(file): \(reason)")
                throw ExitCode(Exit.failure)
            }
            let report = Dossier.verify(file, trusting: .empty, requiringRoles: [])
            let intact = report.status != .invalid
            if json {
                // The same fields for every file; `manifest` only when it could be read (as verify).
                var object: [String: JSONValue] = [
                    "path": .string(file),
                    "signatures": .array(report.signatures.map { Reports.signature($0, trustEvaluated: false) }),
                    "trustEvaluated": false,
                    "recipientTypes": .array(report.recipientTypes.map { .string($0) }),
                    "containerBytes": .integer(report.containerBytes), "intact": .bool(intact),
                    "problems": .array(intact ? [] : [.string(integrityFailures(report))])]
                if let m = report.manifest { object["manifest"] = Reports.manifest(m) }
                Console.json(.object(object))
            }
            guard let m = report.manifest else {
                Console.error("\(file): integrity FAILED: \(integrityFailures(report))")
                throw ExitCode(Exit.invalid)
            }
            if json {
                if !intact { throw ExitCode(Exit.invalid) }
                return
            }
            Console.line("dossier      \(m.dossierID)")
            Console.line("sealed at    \(m.sealedAt) by \(m.generator)")
            Console.line("content      \(m.fileCount) files in \(m.directoryCount) folders, \(Reports.bytes(m.contentBytes))")
            Console.line("container    \(Reports.bytes(report.containerBytes)), payload body SHA-256 \(m.payloadBodySHA256)")
            Console.line("recipients   \(report.recipientTypes.count) (\(Dictionary(grouping: report.recipientTypes, by: { $0 }).map { "\($0.value.count) \($0.key)" }.sorted().joined(separator: ", ")))")
            if let p = m.profile {
                Console.line("profile      \(p.id) \(p.version): \(p.result)\(p.overrideReason.map { " (\(p.failedRules) rules failed; reason: \($0))" } ?? "")")
            }
            for (key, value) in m.publicMetadata.sorted(by: { $0.key < $1.key }) { Console.line("public       \(key): \(value)") }
            for s in report.signatures {
                Console.line("signature    \(s.role) \"\(s.signerName)\" \(s.keyID) at \(s.signedAt)\(s.isBroken ? " (INVALID)" : "")")
            }
            for t in report.transfers { Console.line("transfer     #\(t.sequence) \(t.at) by \"\(t.byName)\": \(t.reason)") }
            Console.line("integrity    \(intact ? "intact (trust not evaluated: use dossier verify --trust)" : "FAILED: \(integrityFailures(report))")")
            if !intact { throw ExitCode(Exit.invalid) }
        }
    }
}
