import Foundation
import Testing
@testable import DossierKit

/// Every rule of the public manifest (FORMAT.md §4, limits of §7) broken one at a time on
/// an otherwise valid manifest: each is refused, with a message that names that rule.
/// (A tampered manifest also breaks its signatures; these tests reach the parser directly,
/// so that the refusal is proven to come from the rule itself.)
@Suite("Public manifest rules (FORMAT.md §4)")
struct PublicManifestRulesTests {
    static let digest = String(repeating: "ab", count: 32)

    static func valid() -> DossierManifest {
        DossierManifest(dossierID: "CC-2024-0117", sealedAt: "2026-11-26T22:00:00Z", publicMetadata: ["court": "Example District Court"],
                        payloadHeaderSHA256: digest, payloadBodySHA256: digest, payloadBodySize: 1_000,
                        fileCount: 3, directoryCount: 1, contentBytes: 2_000, privateManifestSHA256: digest,
                        signers: [.init(keyID: "14421BA8BF569FB1", role: .sealer, name: "Anna Archivist")],
                        accessLogGenesisSHA256: digest, generator: "test")
    }

    /// The valid manifest's fields with `change` applied, encoded canonically.
    static func bytes(_ change: (inout [String: JSONValue]) -> Void) -> [UInt8] {
        guard case .object(var object) = valid().json() else { fatalError("a manifest is an object") }
        change(&object)
        return JSONValue.object(object).canonicalBytes()
    }

    static func set(_ key: String, in field: String, to value: JSONValue) -> @Sendable (inout [String: JSONValue]) -> Void {
        { object in
            guard case .object(var inner)? = object[field] else { return }
            inner[key] = value
            object[field] = .object(inner)
        }
    }

    @Test("the valid manifest parses and round-trips to the same bytes")
    func validParses() throws {
        let bytes = Self.bytes { _ in }
        #expect(try DossierManifest(canonical: bytes).canonicalBytes() == bytes)
    }

    static let broken: [(rule: String, change: @Sendable (inout [String: JSONValue]) -> Void, message: String)] = [
        ("format", { $0["format"] = "dossier/2" }, "unknown format \"dossier/2\""),
        ("no unknown fields", { $0["extra"] = "x" }, "unknown field \"extra\""),
        ("dossierId", { $0["dossierId"] = "-x" }, "invalid dossierId"),
        ("dossierId: not empty", { $0["dossierId"] = "" }, "invalid dossierId"),
        ("dossierId: at most 128", { $0["dossierId"] = .string(String(repeating: "d", count: 129)) }, "invalid dossierId"),
        ("dossierId: not starting with a dot", { $0["dossierId"] = ".x" }, "invalid dossierId"),
        ("dossierId: allowed characters", { $0["dossierId"] = "case 1" }, "invalid dossierId"),
        ("dossierId: ASCII only", { $0["dossierId"] = "caf\u{E9}" }, "invalid dossierId"),
        ("signers: at least one", { $0["signers"] = .array([]) }, "names 0 signers"),
        ("signers: at most 99", { o in
            o["signers"] = .array((0..<100).map { i in
                .object(["keyId": .string(String(format: "%016X", i)), "role": "sealer", "name": "S"])
            })
        }, "names 100 signers"),
        ("sealedAt", { $0["sealedAt"] = "2026-11-26 22:00:00" }, "invalid sealedAt"),
        ("public is an object", { $0["public"] = .array([]) }, "no public metadata object"),
        ("public values are strings", { $0["public"] = .object(["court": .integer(1)]) }, "non-string public metadata value"),
        ("at most 256 public fields", { o in
            o["public"] = .object(Dictionary(uniqueKeysWithValues: (0...256).map { ("k\($0)", JSONValue.string("v")) }))
        }, "public metadata with more than 256 fields"),
        ("public keys: allowed characters", { $0["public"] = .object(["court name": "x"]) }, "public metadata with the key \"court name\""),
        ("public keys: not empty", { $0["public"] = .object(["": "x"]) }, "public metadata with the key \"\""),
        ("public keys: at most 64 bytes", { $0["public"] = .object([String(repeating: "k", count: 65): "x"]) }, "keys are 1…64"),
        ("public values: at most 4,096 bytes", { $0["public"] = .object(["court": .string(String(repeating: "é", count: 2_049))]) },
         "a value for \"court\" longer than 4096 bytes"),
        ("payload entry", set("entry", in: "payload", to: "other.age"), "malformed payload object"),
        ("payload encryption", set("encryption", in: "payload", to: "age-v2"), "malformed payload object"),
        ("payload archive", set("archive", in: "payload", to: "tar+gzip"), "malformed payload object"),
        ("payload digest", set("bodySHA256", in: "payload", to: "AB"), "malformed payload object"),
        ("payload size", set("bodySize", in: "payload", to: .integer(-1)), "malformed payload object"),
        ("contents counts", set("files", in: "contents", to: .integer(-1)), "malformed contents object"),
        ("contents fields", set("names", in: "contents", to: .array([])), "malformed contents object"),
        ("at most 65,536 files", set("files", in: "contents", to: .integer(65_537)), "at most 65536"),
        ("at most 65,536 folders", set("directories", in: "contents", to: .integer(65_537)), "at most 65536"),
        ("at most 65,536 files and folders together", { o in
            Self.set("files", in: "contents", to: .integer(40_000))(&o)
            Self.set("directories", in: "contents", to: .integer(30_000))(&o)
        }, "at most 65536"),
        ("at most 256 GiB of content", { o in
            Self.set("bytes", in: "contents", to: .integer((256 << 30) + 1))(&o)
            Self.set("bodySize", in: "payload", to: .integer(1 << 40))(&o)
        }, "256 GiB"),
        ("signers: key id", { $0["signers"] = .array([.object(["keyId": "nothex", "role": "sealer", "name": "A"])]) }, "malformed signer"),
        ("signers: role", { $0["signers"] = .array([.object(["keyId": "14421BA8BF569FB1", "role": "Sealer!", "name": "A"])]) }, "malformed signer"),
        ("signers: fields", { $0["signers"] = .array([.object(["keyId": "14421BA8BF569FB1", "role": "sealer"])]) }, "malformed signer"),
        ("accessLog", { $0["accessLog"] = .object(["genesisSHA256": "00"]) }, "malformed accessLog object"),
        ("generator", { $0["generator"] = nil }, "has no generator"),
        ("profile: result", { $0["profile"] = .object(["id": "p", "version": "1", "sha256": .string(Self.digest), "result": "failed", "failedRules": 1]) },
         "malformed profile object"),
        ("profile: override reason only when overridden", {
            $0["profile"] = .object(["id": "p", "version": "1", "sha256": .string(Self.digest), "result": "passed", "failedRules": 0, "overrideReason": "x"])
        }, "malformed profile object"),
        ("profile: id follows the dossier id rules", {
            $0["profile"] = .object(["id": "-p", "version": "1", "sha256": .string(Self.digest), "result": "passed", "failedRules": 0])
        }, "malformed profile object"),
        ("profile: version not empty", {
            $0["profile"] = .object(["id": "p", "version": "", "sha256": .string(Self.digest), "result": "passed", "failedRules": 0])
        }, "malformed profile object"),
        ("profile: passed means no failed rule", {
            $0["profile"] = .object(["id": "p", "version": "1", "sha256": .string(Self.digest), "result": "passed", "failedRules": 2])
        }, "malformed profile object"),
        ("profile: overridden means failed rules", {
            $0["profile"] = .object(["id": "p", "version": "1", "sha256": .string(Self.digest), "result": "overridden", "failedRules": 0,
                                     "overrideReason": "x"])
        }, "malformed profile object"),
        ("profile: override reason not empty", {
            $0["profile"] = .object(["id": "p", "version": "1", "sha256": .string(Self.digest), "result": "overridden", "failedRules": 1,
                                     "overrideReason": ""])
        }, "malformed profile object"),
        ("profile: override reason on one line", {
            $0["profile"] = .object(["id": "p", "version": "1", "sha256": .string(Self.digest), "result": "overridden", "failedRules": 1,
                                     "overrideReason": "a\nb"])
        }, "malformed profile object"),
        ("profile: override reason is a string", {
            $0["profile"] = .object(["id": "p", "version": "1", "sha256": .string(Self.digest), "result": "overridden", "failedRules": 1,
                                     "overrideReason": .integer(1)])
        }, "malformed profile object"),
    ]

    @Test("the profile records a seal writes parse: passed with no failed rule, overridden with failed rules and a reason")
    func validProfileRecords() throws {
        for record: JSONValue in [
            .object(["id": "community-corrections", "version": "1.0", "sha256": .string(Self.digest), "result": "passed", "failedRules": 0]),
            .object(["id": "p", "version": "2", "sha256": .string(Self.digest), "result": "overridden", "failedRules": 3,
                     "overrideReason": "court order 12/2024"]),
        ] {
            let bytes = Self.bytes { $0["profile"] = record }
            let manifest = try DossierManifest(canonical: bytes)
            #expect(manifest.profile != nil)
            #expect(manifest.canonicalBytes() == bytes)
        }
    }

    @Test("each rule broken alone is refused with a message naming it", arguments: 0..<broken.count)
    func ruleBroken(_ index: Int) throws {
        let (rule, change, message) = Self.broken[index]
        do {
            _ = try DossierManifest(canonical: Self.bytes(change))
            Issue.record("a manifest breaking \"\(rule)\" was accepted")
        } catch {
            #expect(error.kind == .manifest, "\(rule): \(error)")
            #expect(error.reason.contains(message), "\(rule): \(error.reason)")
        }
    }
}
