import Foundation
import Testing
@testable import DossierKit

/// A deterministic random number generator (SplitMix64), so that a failing mutation can be
/// reproduced from the seed the test prints.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("Dossier: tamper campaign (docs/SECURITY.md)")
struct TamperCampaignTests {
    /// One region of a sealed container, named for the report.
    struct Region: CustomStringConvertible {
        let description: String
        let range: Range<Int>
    }

    enum Mutation: CustomStringConvertible {
        case flip(Int, UInt8), set(Int, UInt8), insert(Int, [UInt8]), delete(Int, Int), truncate(Int)
        var description: String {
            switch self {
            case .flip(let at, let mask): "flip 0x\(String(mask, radix: 16)) at \(at)"
            case .set(let at, let value): "set \(at) to 0x\(String(value, radix: 16))"
            case .insert(let at, let bytes): "insert \(bytes.count) bytes at \(at)"
            case .delete(let at, let count): "delete \(count) bytes at \(at)"
            case .truncate(let length): "truncate to \(length)"
            }
        }
        func apply(_ bytes: [UInt8]) -> [UInt8] {
            var out = bytes
            switch self {
            case .flip(let at, let mask): out[at] ^= mask
            case .set(let at, let value): out[at] = value
            case .insert(let at, let extra): out.insert(contentsOf: extra, at: at)
            case .delete(let at, let count): out.removeSubrange(at..<min(at + count, out.count))
            case .truncate(let length): out.removeSubrange(length...)
            }
            return out
        }
    }

    /// The regions of a container: each entry's local framing and data (the payload split
    /// into age header, first, middle and last STREAM chunks), the central directory and end record.
    static func regions(of path: String) throws -> [Region] {
        let container = try ContainerReader(path: path)
        var regions: [Region] = []
        var previousEnd = 0
        for entry in container.layout.entries {
            let start = Int(entry.dataOffset), end = Int(entry.dataOffset + entry.size)
            regions.append(Region(description: "framing before \(entry.name)", range: previousEnd..<start))
            if entry.name == ContainerFormat.payloadEntry {
                let payload = try container.file.read(at: entry.dataOffset, count: Int(entry.size))
                let header = try AgeHeader.parse(from: BufferedReader(MemorySource(payload))).encoded.count
                let body = start + header
                regions.append(Region(description: "age header", range: start..<body))
                regions.append(Region(description: "payload nonce and first chunk", range: body..<min(body + 16 + 65_552, end)))
                regions.append(Region(description: "payload middle chunks", range: min(body + 16 + 65_552, end)..<max(end - 1000, body)))
                regions.append(Region(description: "payload last chunk and tag", range: max(end - 1000, body)..<end))
            } else {
                regions.append(Region(description: entry.name, range: start..<end))
            }
            previousEnd = end
        }
        regions.append(Region(description: "descriptor, central directory and end record", range: previousEnd..<Int(container.file.size)))
        return regions.filter { !$0.range.isEmpty }
    }

    @Test("5,000+ mutations over every region: verify fails and open releases nothing")
    func campaign() throws {
        let seed = UInt64(ProcessInfo.processInfo.environment["DOSSIER_TAMPER_SEED"] ?? "") ?? 0x5EED_D055
        var rng = SplitMix64(seed: seed)
        let fx = try DossierFixture()
        let transferrer = try SigningKey.generate(name: "Tess Transfer")
        let successor = try AgeX25519.generate()
        let trust = TrustStore(fx.trust.entries + [.init(name: "Tess Transfer", roles: [.transferrer], publicKey: transferrer.publicKey)])
        // Several STREAM chunks of incompressible content plus text, sealed, approved and transferred once.
        var random = [UInt8](repeating: 0, count: 150_000)
        for i in random.indices { random[i] = UInt8.random(in: 0...255, using: &rng) }
        let folder = try fx.folder("campaign", ["scan.bin": random, "notes/minutes.txt": Array(String(repeating: "the hearing was adjourned\n", count: 400).utf8)])
        let sealed = try fx.seal(folder, id: "campaign")
        try Dossier.rewrap(sealed.path, with: [fx.recipient.identity], to: [AgeRecipient(successor.recipient)],
                           by: DossierSigner(key: transferrer, role: .transferrer, name: "Tess Transfer"), reason: "moved to the state archive",
                           trusting: trust, recordingTo: fx.recorder)
        #expect(Dossier.verify(sealed.path, trusting: trust, requiringRoles: [.sealer, .approver]).status == .valid)
        let original = Array(try Data(contentsOf: URL(fileURLWithPath: sealed.path)))
        let regions = try Self.regions(of: sealed.path)
        #expect(regions.count >= 10, "regions: \(regions)")

        let mutated = fx.dir.path("mutated.dossier")
        let opens = fx.dir.path("opens")
        try FileManager.default.createDirectory(atPath: opens, withIntermediateDirectories: true)
        let identities = [successor.identity, fx.recipient.identity]
        var tried = 0
        var undetected: [String] = []
        var released: [String] = []
        var perRegion: [String: Int] = [:]

        func attempt(_ bytes: [UInt8], _ what: String) throws {
            tried += 1
            try Data(bytes).write(to: URL(fileURLWithPath: mutated))
            let report = Dossier.verify(mutated, trusting: trust, requiringRoles: [.sealer, .approver])
            if report.status == .valid { undetected.append(what) }
            let out = opens + "/out"
            do {
                _ = try Dossier.open(mutated, with: identities, into: out, trusting: trust, recordingTo: fx.recorder,
                                     options: OpenOptions(requiredRoles: [.sealer, .approver]))
                released.append(what)
            } catch {}
            let left = try FileManager.default.contentsOfDirectory(atPath: opens)
            if !left.isEmpty {
                released.append("\(what) left \(left)")
                for name in left { try FileManager.default.removeItem(atPath: opens + "/" + name) }
            }
        }

        // Byte-level mutations, spread evenly over the regions.
        let perKind = 5_000 / (regions.count * 5) + 1
        for region in regions {
            for kind in 0..<5 {
                for _ in 0..<perKind {
                    let at = Int.random(in: region.range, using: &rng)
                    let mutation: Mutation
                    switch kind {
                    case 0: mutation = .flip(at, 1 << UInt8.random(in: 0...7, using: &rng))
                    case 1: mutation = .set(at, original[at] &+ UInt8.random(in: 1...255, using: &rng))
                    case 2: mutation = .insert(at, (0..<Int.random(in: 1...16, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) })
                    case 3: mutation = .delete(at, Int.random(in: 1...16, using: &rng))
                    default: mutation = .truncate(at)
                    }
                    try attempt(mutation.apply(original), "\(region): \(mutation)")
                    perRegion[region.description, default: 0] += 1
                }
            }
        }

        // Structural mutations: entries swapped, duplicated, dropped; payloads and signatures
        // from another dossier for the same recipient; signatures stripped or replayed.
        let container = try ContainerReader(path: sealed.path)
        var entries: [(String, [UInt8])] = []
        for entry in container.layout.entries {
            entries.append((entry.name, try container.file.read(at: entry.dataOffset, count: Int(entry.size))))
        }
        let other = try fx.seal(try fx.folder("other", ["scan.bin": Array(random.reversed())]), id: "other")
        let otherContainer = try ContainerReader(path: other.path)
        var otherEntries: [String: [UInt8]] = [:]
        for entry in otherContainer.layout.entries {
            otherEntries[entry.name] = try otherContainer.file.read(at: entry.dataOffset, count: Int(entry.size))
        }
        func rebuild(_ list: [(String, [UInt8])]) throws -> [UInt8] {
            let sink = MemorySink()
            let writer = try ContainerWriter(sink: sink, mtime: Int64(container.payload.mtime))
            for (name, bytes) in list { try writer.add(name, bytes) }
            try writer.close()
            return sink.bytes
        }
        // The control: the same entries rebuilt verify, so a structural mutation's failure is its own.
        try Data(try rebuild(entries)).write(to: URL(fileURLWithPath: mutated))
        #expect(Dossier.verify(mutated, trusting: trust, requiringRoles: [.sealer, .approver]).status == .valid, "the rebuilt control must verify")
        var structural: [(String, [(String, [UInt8])])] = []
        for i in entries.indices {
            var dropped = entries; dropped.remove(at: i)
            structural.append(("drop \(entries[i].0)", dropped))
            var duplicated = entries; duplicated.insert(entries[i], at: i)
            structural.append(("duplicate \(entries[i].0)", duplicated))
            structural.append(("append a copy of \(entries[i].0)", entries + [entries[i]]))
            for j in entries.indices where j > i {
                var swapped = entries; swapped.swapAt(i, j)
                structural.append(("swap \(entries[i].0) and \(entries[j].0)", swapped))
            }
            if let foreign = otherEntries[entries[i].0], foreign != entries[i].1 {
                var replaced = entries; replaced[i].1 = foreign
                structural.append(("\(entries[i].0) from another dossier", replaced))
            }
            var renamed = entries; renamed[i].0 += ".bak"
            structural.append(("rename \(entries[i].0)", renamed))
        }
        let signatureIndices = entries.indices.filter { entries[$0].0.hasPrefix("META-INF/signatures/") }
        structural.append(("strip every signature", entries.enumerated().filter { !signatureIndices.contains($0.offset) }.map(\.element)))
        for name in otherEntries.keys where name.hasPrefix("META-INF/signatures/") {
            structural.append(("replay \(name) from another dossier", entries + [(name, otherEntries[name]!)]))
        }
        structural.append(("the other dossier's manifest and signatures over this payload",
                           entries.map { ($0.0, otherEntries[$0.0] ?? ($0.0 == "payload.age" ? $0.1 : [])) }.filter { !$0.1.isEmpty }))
        for (what, list) in structural {
            try attempt(try rebuild(list), "structural: \(what)")
            perRegion["structural", default: 0] += 1
        }

        print("tamper campaign (seed \(seed)): \(tried) mutations, \(undetected.count) undetected, \(released.count) released; per region: \(perRegion.sorted { $0.key < $1.key })")
        #expect(tried >= 5_000)
        #expect(undetected.isEmpty, "undetected (seed \(seed)): \(undetected.prefix(20))")
        #expect(released.isEmpty, "open released content (seed \(seed)): \(released.prefix(20))")
        // The untouched dossier still opens: the campaign did not break the fixture.
        _ = try Dossier.open(sealed.path, with: [successor.identity], into: opens + "/control", trusting: trust, recordingTo: fx.recorder,
                             options: OpenOptions(requiredRoles: [.sealer, .approver]))
        #expect(try DossierFixture.contents(of: opens + "/control")["scan.bin"] == random)
    }
}
