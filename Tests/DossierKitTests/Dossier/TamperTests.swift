import Foundation
import Testing
@testable import DossierKit

@Suite("Dossier: every byte is covered")
struct TamperTests {
    /// A sealed dossier of a few kilobytes: every region (local headers, mimetype, age
    /// header, payload body, data descriptors, manifest, signatures, central directory,
    /// end record) is small enough to flip every single byte.
    @Test("flipping any single byte of a sealed dossier makes verify report it invalid")
    func everyByte() throws {
        let fx = try DossierFixture()
        let receipt = try fx.seal(try fx.folder("tamper", ["a.txt": Array("alpha".utf8), "b/c.txt": Array("gamma".utf8)]))
        let original = Array(try Data(contentsOf: URL(fileURLWithPath: receipt.path)))
        let mutated = fx.dir.path("mutated.dossier")
        var undetected: [Int] = []
        var notInvalid: [Int] = []
        for position in 0..<original.count {
            var bytes = original
            bytes[position] ^= 0x01
            try Data(bytes).write(to: URL(fileURLWithPath: mutated))
            let report = Dossier.verify(mutated, trusting: fx.trust, requiringRoles: [.sealer, .approver])
            if report.status == .valid { undetected.append(position) }
            if report.status != .invalid { notInvalid.append(position) }
        }
        #expect(undetected.isEmpty, "undetected single-byte changes at offsets \(undetected.prefix(20))")
        #expect(notInvalid.isEmpty, "changes reported as merely untrusted at \(notInvalid.prefix(20))")
        #expect(original.count > 1000)
    }

    @Test("truncation at any point and appended bytes are detected")
    func truncation() throws {
        let fx = try DossierFixture()
        let receipt = try fx.seal(try fx.folder("trunc", ["a.txt": Array(repeating: 7, count: 70_000)]))
        let original = Array(try Data(contentsOf: URL(fileURLWithPath: receipt.path)))
        let mutated = fx.dir.path("cut.dossier")
        var undetected: [Int] = []
        for length in stride(from: 0, to: original.count, by: 97) + [original.count - 1, original.count - 22] {
            try Data(original[0..<length]).write(to: URL(fileURLWithPath: mutated))
            if Dossier.verify(mutated, trusting: fx.trust).status != .invalid { undetected.append(length) }
        }
        try Data(original + [0]).write(to: URL(fileURLWithPath: mutated))
        if Dossier.verify(mutated, trusting: fx.trust).status != .invalid { undetected.append(original.count + 1) }
        #expect(undetected.isEmpty, "undetected truncations to \(undetected.prefix(20))")
    }

    @Test("stripping, duplicating or reordering entries is detected")
    func entries() throws {
        let fx = try DossierFixture()
        let receipt = try fx.seal(try fx.folder("entries", ["a.txt": [1]]))
        let container = try ContainerReader(path: receipt.path)
        let mtime = Int64(container.payload.mtime)
        func rebuild(_ name: String, _ entries: [(String, [UInt8])]) throws -> VerificationReport {
            let path = fx.dir.path(name)
            let file = try FileSink(creating: path)
            let writer = try ContainerWriter(sink: file, mtime: mtime)
            for (entryName, bytes) in entries { try writer.add(entryName, bytes) }
            try writer.close()
            try file.close()
            return Dossier.verify(path, trusting: fx.trust, requiringRoles: [.sealer, .approver])
        }
        let payload = try container.file.read(at: container.payload.dataOffset, count: Int(container.payload.size))
        let base: [(String, [UInt8])] = [("mimetype", Array(ContainerFormat.mimetype.utf8)), ("payload.age", payload),
                                          ("META-INF/manifest.json", container.manifestBytes)]
        let signatures = container.signatures.map { ($0.name.entryName, $0.text) }
        #expect(try rebuild("same.dossier", base + signatures).status == .valid, "the rebuilt control must verify")
        let stripped = try rebuild("stripped.dossier", base + [signatures[0]])
        #expect(stripped.status == .invalid, "a stripped approval is a removed signature the manifest names")
        #expect(stripped.checks.contains { $0.name == "signers" && !$0.passed })
        let defaultRoles = Dossier.verify(fx.dir.path("stripped.dossier"), trusting: fx.trust)
        #expect(defaultRoles.status == .invalid, "detected even when only the sealer role is required")
        #expect(try rebuild("none.dossier", base).status == .invalid)
        #expect(try rebuild("dup.dossier", base + signatures + [signatures[0]]).status == .invalid)
        #expect(try rebuild("swapped.dossier", [base[1], base[0], base[2]] + signatures).status == .invalid)
        #expect(try rebuild("reordered-sigs.dossier", base + [signatures[1], signatures[0]]).status == .invalid)
        #expect(try rebuild("extra.dossier", base + signatures + [("notes.txt", [1])]).status == .invalid)
        // A signature replayed from another dossier does not verify over this manifest.
        let other = try fx.seal(try fx.folder("other", ["b.txt": [2]]))
        let foreign = try ContainerReader(path: other.path).signatures.map { ($0.name.entryName, $0.text) }
        #expect(try rebuild("replayed.dossier", base + foreign).status == .invalid)
        // A payload from another dossier for the same recipient does not match the signed digests.
        let otherPayload = try ContainerReader(path: other.path)
        let foreignPayload = try otherPayload.file.read(at: otherPayload.payload.dataOffset, count: Int(otherPayload.payload.size))
        #expect(try rebuild("replaced.dossier", [base[0], ("payload.age", foreignPayload), base[2]] + signatures).status == .invalid)
    }

    @Test("an oversized or non-canonical manifest is refused")
    func manifests() throws {
        let fx = try DossierFixture()
        let receipt = try fx.seal(try fx.folder("man", ["a.txt": [1]]))
        let container = try ContainerReader(path: receipt.path)
        let payload = try container.file.read(at: container.payload.dataOffset, count: Int(container.payload.size))
        func check(_ manifest: [UInt8]) throws -> VerificationReport {
            let path = fx.dir.path("m-\(UUID().uuidString).dossier")
            let file = try FileSink(creating: path)
            let writer = try ContainerWriter(sink: file, mtime: Int64(container.payload.mtime))
            try writer.add("mimetype", Array(ContainerFormat.mimetype.utf8))
            try writer.add("payload.age", payload)
            try writer.add("META-INF/manifest.json", manifest)
            for s in container.signatures { try writer.add(s.name.entryName, s.text) }
            try writer.close()
            try file.close()
            return Dossier.verify(path, trusting: fx.trust)
        }
        let oversized = try check(Array("{\"format\":\"dossier/1\",\"pad\":\"".utf8) + [UInt8](repeating: 0x61, count: 2 << 20) + Array("\"}".utf8))
        #expect(oversized.status == .invalid)
        #expect(oversized.failureSummary.contains("larger than"))
        var pretty = container.manifestBytes
        pretty.insert(0x20, at: 1)
        let nonCanonical = try check(pretty)
        #expect(nonCanonical.status == .invalid)
        #expect(nonCanonical.failureSummary.contains("canonical"))
    }
}
