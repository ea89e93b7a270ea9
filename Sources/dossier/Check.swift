import ArgumentParser
import DossierKit
import Foundation

/// Loads `--profile` (a file, or a name in `--profiles DIR` / $DOSSIER_PROFILES).
struct ProfileOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The profile: a JSON file, or a name in the profiles folder.", valueName: "profile"))
    var profile: String?

    @Option(help: ArgumentHelp("A folder of named profiles (NAME.json). Default: $DOSSIER_PROFILES.", valueName: "folder"))
    var profiles: String?

    func load() throws -> DossierProfile? {
        guard let profile else { return nil }
        return try DossierProfile.load(profile, folder: profiles ?? environment("DOSSIER_PROFILES"))
    }
}

extension DossierCommand {
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            abstract: "Check a case folder against its profile (the standard template) before sealing.",
            discussion: """
                Reports every rule (sections, documents, media types, metadata, files sealing \
                would refuse) and what to do; --json adds each rule's id and the path (or file \
                name pattern) concerned. Exit 0 when the folder meets the profile, 5 when not.

                Example:
                  dossier check Examples/case-2024-0117 \\
                      --profile Examples/profiles/community-corrections.json
                """)

        @Argument(help: ArgumentHelp("The case folder.", valueName: "folder"))
        var folder: String

        @OptionGroup var profileOptions: ProfileOptions

        @Flag(help: "Print every rule, not only the failed ones.")
        var all = false

        @Flag(help: "Print the report as JSON.")
        var json = false

        func validate() throws {
            guard profileOptions.profile != nil else { throw ValidationError("give the profile (--profile)") }
        }

        func run() throws {
            do {
                let profile = try profileOptions.load()!
                let report = try profile.check(folder: folder)
                if json {
                    Console.json(.object([
                        "profile": .string(report.profileID), "version": .string(report.profileVersion), "sha256": .string(report.profileSHA256),
                        "passed": .bool(report.passed),
                        "rules": .array(report.rules.map { .object(["rule": .string($0.rule), "path": .string($0.path), "passed": .bool($0.passed), "message": .string($0.message)]) }),
                    ]))
                } else {
                    Console.line("\(folder) against \(profile.title) (\(profile.id) \(profile.version)): \(report.passed ? "PASSED" : "FAILED"), \(report.rules.count - report.failures.count) of \(report.rules.count) rules met")
                    for rule in report.rules where all || !rule.passed {
                        Console.line("  \(rule.passed ? "ok  " : "FAIL") \(rule.message)")
                    }
                }
                if !report.passed { throw ExitCode(Exit.profile) }
            } catch let error as ExitCode {
                throw error
            } catch {
                throw fail(error)
            }
        }
    }
}
