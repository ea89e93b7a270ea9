import Foundation
import Testing
@testable import DossierKit

@Suite("Dossier profiles: the community-corrections template")
struct ProfileTests {
    /// The repository root (the tests read the shipped profile and example dossier).
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.path
    }()
    static var profilePath: String { root + "/Examples/profiles/community-corrections.json" }
    static var examplePath: String { root + "/Examples/case-2024-0117" }

    /// A copy of the example dossier changed by `edit`.
    static func variant(_ dir: TemporaryDirectory, _ name: String, edit: (String) throws -> Void) throws -> String {
        let copy = dir.path(name)
        try FileManager.default.copyItem(atPath: examplePath, toPath: copy)
        try edit(copy)
        return copy
    }

    static func setMetadata(_ folder: String, _ key: String, _ value: Any?) throws {
        let url = URL(fileURLWithPath: folder + "/dossier.json")
        var object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        object[key] = value
        try JSONSerialization.data(withJSONObject: object).write(to: url)
    }

    @Test("the bundled example dossier meets the shipped profile")
    func examplePasses() throws {
        let profile = try DossierProfile.load(Self.profilePath)
        #expect(profile.id == "community-corrections" && profile.sections.count == 14)
        let report = try profile.check(folder: Self.examplePath)
        #expect(report.passed, "\(report.failures.map(\.message))")
        #expect(report.rules.count > 40)
        // Loading by name from a folder of profiles gives the same profile.
        #expect(try DossierProfile.load("community-corrections", folder: Self.root + "/Examples/profiles").sha256 == profile.sha256)
    }

    struct Case: Sendable, CustomStringConvertible {
        let description: String
        let rule: String
        let messageContains: String
        let edit: @Sendable (String) throws -> Void
    }

    static let cases: [Case] = [
        Case(description: "missing section", rule: "section.required", messageContains: "05_correction-plan (Correction plan) is missing") {
            try FileManager.default.removeItem(atPath: $0 + "/05_correction-plan")
        },
        Case(description: "missing required document", rule: "document.count", messageContains: "needs exactly 1 release certificate; found 0") {
            try FileManager.default.removeItem(atPath: $0 + "/13_release/release-certificate.txt")
        },
        Case(description: "too many documents", rule: "document.count", messageContains: "needs exactly 1 sentencing notice") {
            try FileManager.default.copyItem(atPath: $0 + "/02_reporting-intake/sentencing-notice.pdf", toPath: $0 + "/02_reporting-intake/sentencing-notice.2.pdf")
        },
        Case(description: "wrong media type for a document", rule: "document.mediaType", messageContains: "sentencing notice (scan) must be") {
            try FileManager.default.removeItem(atPath: $0 + "/02_reporting-intake/sentencing-notice.pdf")
            try Data("typed, not scanned".utf8).write(to: URL(fileURLWithPath: $0 + "/02_reporting-intake/sentencing-notice.txt"))
        },
        Case(description: "media type not accepted at all", rule: "mediaType.allowed", messageContains: "which this profile does not accept") {
            try Data([0, 1, 2]).write(to: URL(fileURLWithPath: $0 + "/08_education-study/recording.mp3"))
        },
        Case(description: "unknown section", rule: "section.unknown", messageContains: "folder misc is not a section") {
            try FileManager.default.createDirectory(atPath: $0 + "/misc", withIntermediateDirectories: true)
        },
        Case(description: "file outside the sections", rule: "file.placement", messageContains: "lies outside every section") {
            try Data("x".utf8).write(to: URL(fileURLWithPath: $0 + "/loose.txt"))
        },
        Case(description: "missing metadata file", rule: "metadata.file", messageContains: "dossier.json is missing") {
            try FileManager.default.removeItem(atPath: $0 + "/dossier.json")
        },
        Case(description: "invalid metadata JSON", rule: "metadata.file", messageContains: "is not valid JSON") {
            try Data("{\"case_id\": ".utf8).write(to: URL(fileURLWithPath: $0 + "/dossier.json"))
        },
        Case(description: "missing required field", rule: "metadata.required", messageContains: "\"officer\" is required but missing") {
            try setMetadata($0, "officer", nil)
        },
        Case(description: "wrong type (date)", rule: "metadata.type", messageContains: "must be a date written YYYY-MM-DD") {
            try setMetadata($0, "supervision_end", "14 January 2025")
        },
        Case(description: "a date that does not exist", rule: "metadata.type", messageContains: "(2024-02-30) is not a date of the calendar") {
            try setMetadata($0, "supervision_end", "2024-02-30")
        },
        Case(description: "value not allowed", rule: "metadata.allowed", messageContains: "allowed: strict, ordinary, lenient") {
            try setMetadata($0, "classification", "special")
        },
        Case(description: "pattern mismatch", rule: "metadata.pattern", messageContains: "does not have the expected form") {
            try setMetadata($0, "case_id", "2024/117")
        },
        Case(description: "conditional section present without its condition", rule: "section.condition", messageContains: "belongs only in case files whose outcome is \"revoked\"") {
            try FileManager.default.createDirectory(atPath: $0 + "/14_revocation", withIntermediateDirectories: true)
            try Data("decision".utf8).write(to: URL(fileURLWithPath: $0 + "/14_revocation/revocation-decision.txt"))
        },
        Case(description: "conditional section missing when its condition holds", rule: "section.required", messageContains: "14_revocation (Revocation) is missing") {
            try setMetadata($0, "outcome", "revoked")
        },
    ]

    @Test("every rule type fails with a message a clerk understands", arguments: cases)
    func failures(_ c: Case) throws {
        let dir = try TemporaryDirectory()
        let folder = try Self.variant(dir, "case", edit: c.edit)
        let report = try DossierProfile.load(Self.profilePath).check(folder: folder)
        #expect(!report.passed)
        #expect(report.failures.contains { $0.rule == c.rule && $0.message.contains(c.messageContains) },
                "\(c): \(report.failures.map { "\($0.rule): \($0.message)" })")
    }

    @Test("a revoked case with its revocation section passes")
    func revokedPasses() throws {
        let dir = try TemporaryDirectory()
        let folder = try Self.variant(dir, "revoked") { folder in
            try Self.setMetadata(folder, "outcome", "revoked")
            try FileManager.default.createDirectory(atPath: folder + "/14_revocation", withIntermediateDirectories: true)
            try Data("decision".utf8).write(to: URL(fileURLWithPath: folder + "/14_revocation/revocation-decision.txt"))
        }
        #expect(try DossierProfile.load(Self.profilePath).check(folder: folder).passed)
    }

    @Test("a malformed profile is a clear error naming the line")
    func malformed() throws {
        let dir = try TemporaryDirectory()
        let broken = "{\n  \"profile\": \"p\",\n  \"version\": \"1\",\n  \"sections\": [\n    {\"folder\": \"a\",}\n  ]\n}\n"
        try broken.write(toFile: dir.path("broken.json"), atomically: true, encoding: .utf8)
        do {
            _ = try DossierProfile.load(dir.path("broken.json"))
            Issue.record("a malformed profile loaded")
        } catch {
            #expect(error.kind == .profile)
            #expect(error.reason.contains("line 5"), "\(error.reason)")
        }
        let badType = "{\n  \"profile\": \"p\",\n  \"version\": \"1\",\n  \"metadata\": [\n    {\"field\": \"x\", \"type\": \"decimal\"}\n  ],\n  \"sections\": [{\"folder\": \"a\"}]\n}\n"
        do {
            _ = try DossierProfile(json: Array(badType.utf8), source: "bad.json")
            Issue.record("an unknown type loaded")
        } catch {
            #expect(error.reason.contains("bad.json line 5"), "\(error.reason)")
            #expect(error.reason.contains("decimal"))
        }
    }

    @Test("a profile error names the line of the value at fault, not the first line where its key appears")
    func errorLines() throws {
        func reason(_ text: String) -> String {
            do {
                _ = try DossierProfile(json: Array(text.utf8), source: "p.json")
                return "loaded"
            } catch {
                return error.reason
            }
        }
        let wrongType = """
            {
              "profile": "p",
              "version": "1",
              "sections": [
                {"folder": "a", "required": true,
                 "documents": [{"name": "x.*", "max": 2}]},
                {"folder": "b",
                 "required": "yes"}
              ]
            }
            """
        #expect(reason(wrongType).hasPrefix("p.json line 8:"), "\(reason(wrongType))")
        let maxBelowMin = """
            {
              "profile": "p",
              "version": "1",
              "sections": [
                {"folder": "a", "documents": [{"name": "x.*", "min": 1, "max": 2}]},
                {"folder": "b",
                 "documents": [
                   {"name": "x.*",
                    "min": 3, "max": 2}]}
              ]
            }
            """
        #expect(reason(maxBelowMin).hasPrefix("p.json line 9:"), "\(reason(maxBelowMin))")
        let unknownKey = """
            {
              "profile": "p",
              "version": "1",
              "metadata": [
                {"field": "a", "type": "string", "description": "kind"},
                {"field": "b",
                 "kind": "string"}
              ],
              "sections": [{"folder": "a"}]
            }
            """
        #expect(reason(unknownKey).hasPrefix("p.json line 7:") && reason(unknownKey).contains("\"kind\""), "\(reason(unknownKey))")
        let badPattern = """
            {"profile": "p", "version": "1",
             "metadata": [{"field": "a", "pattern": "[0-9]+"},
                          {"field": "b",
                           "pattern": "\\\\d+"}],
             "sections": [{"folder": "a"}]}
            """
        #expect(reason(badPattern).hasPrefix("p.json line 4:"), "\(reason(badPattern))")
    }

    @Test("seal refuses a failing folder, seals with an override reason recorded in the manifest and the log; verify reports the profile")
    func sealing() throws {
        let fx = try DossierFixture()
        let profile = try DossierProfile.load(Self.profilePath)
        let failing = try Self.variant(fx.dir, "CC-2024-0118") { try FileManager.default.removeItem(atPath: $0 + "/05_correction-plan") }
        do {
            _ = try fx.seal(failing, options: SealOptions(profile: profile))
            Issue.record("sealed a folder that fails its profile")
        } catch let error as DossierError {
            // Its own kind: the folder is at fault, not the profile (the CLI exits 5 for it alone).
            #expect(error.kind == .profileNotMet)
            #expect(error.reason.contains("Correction plan"))
        }
        #expect(!FileManager.default.fileExists(atPath: fx.dir.path("CC-2024-0118.dossier")))

        var options = SealOptions(profile: profile)
        options.profileOverride = "plan lost in the 2024 flood; see incident report 17"
        let receipt = try fx.seal(failing, options: options)
        #expect(receipt.manifest.profile?.result == "overridden")
        #expect(receipt.manifest.profile?.overrideReason == "plan lost in the 2024 flood; see incident report 17")
        #expect(receipt.manifest.profile?.sha256 == profile.sha256)
        #expect(try fx.log.history(of: "CC-2024-0118").first?.details["profileOverride"] == "plan lost in the 2024 flood; see incident report 17")

        let passing = try Self.variant(fx.dir, "CC-2024-0117") { _ in }
        let good = try fx.seal(passing, options: SealOptions(publicMetadata: ["court": "Example District Court"], profile: profile))
        let report = Dossier.verify(good.path, trusting: fx.trust)
        #expect(report.isValid)
        #expect(report.manifest?.profile?.result == "passed" && report.manifest?.profile?.id == "community-corrections")

        // The profile decides what may be disclosed: the subject's name may not.
        do {
            _ = try fx.seal(passing, id: "CC-2024-0119", options: SealOptions(publicMetadata: ["subject": "Example Person"], profile: profile))
            Issue.record("disclosed a field the profile does not allow")
        } catch let error as DossierError {
            #expect(error.kind == .profile)
            #expect(error.reason.contains("subject"))
        }
    }
}
