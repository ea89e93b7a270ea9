import Foundation
import Testing
@testable import DossierKit

/// The end-of-opening comparison with the private manifest: the pairwise fast path (same
/// paths, same order) and the by-path path give the verdicts of the plain set definition.
@Suite("opening: content against the private manifest")
struct ContentComparisonTests {
    /// The definition: by path, files in manifest order then extras in tar order, folders sorted.
    static func reference(files: [String], _ facts: [(size: Int64, sha256: [UInt8])], directories: [String],
                          with manifest: PrivateManifest) -> [String] {
        var problems: [String] = []
        var seen: [String: (Int64, String)] = [:]
        for (path, fact) in zip(files, facts) { seen[path] = (fact.size, Hex.encode(fact.sha256)) }
        for file in manifest.files {
            guard let fact = seen[file.path] else { problems.append("missing: \(file.path)"); continue }
            if fact.0 != file.size || fact.1 != file.sha256 { problems.append("changed: \(file.path)") }
        }
        let declared = Set(manifest.files.map(\.path))
        for path in files where !declared.contains(path) { problems.append("extra: \(path)") }
        let declaredDirectories = Set(manifest.directories.map(\.path))
        for path in declaredDirectories.subtracting(directories).sorted() { problems.append("missing folder: \(path)") }
        for path in Set(directories).subtracting(declaredDirectories).sorted() { problems.append("extra folder: \(path)") }
        return problems
    }

    static func inline(_ facts: [(size: Int64, sha256: [UInt8])]) -> [(size: Int64, sha256: Digest32)] {
        facts.map { ($0.size, Digest32($0.sha256)) }
    }

    @Test("random differences: the same problems as the definition, in the same order")
    func agreesWithDefinition() {
        var random = SplitMix64(seed: 0xC0_4E_A5)
        var pairwise = 0
        for _ in 0..<3_000 {
            let count = Int(random.next() % 6)
            var files = (0..<count).map { "f\($0)-\(random.next() % 3)" }
            files = Array(Set(files)).sorted()
            var facts = files.map { _ in (size: Int64(random.next() % 3), sha256: (0..<32).map { _ in UInt8(random.next() % 2) }) }
            var directories = Array(Set((0..<Int(random.next() % 4)).map { "d\($0)" })).sorted()
            var declared = zip(files, facts).map {
                PrivateManifest.File(path: $0, size: $1.size, sha256: Hex.encode($1.sha256), mediaType: "t", mode: 0o644, mtime: 0)
            }
            var declaredDirectories = directories.map { PrivateManifest.Directory(path: $0, mode: 0o755, mtime: 0) }
            // Up to three changes on either side.
            for _ in 0..<Int(random.next() % 4) {
                switch random.next() % 8 {
                case 0 where !files.isEmpty: let i = Int(random.next() % UInt64(files.count)); files.remove(at: i); facts.remove(at: i)
                case 1: files.append("extra\(random.next() % 5)"); facts.append((1, [UInt8](repeating: 0, count: 32)))
                case 2 where !declared.isEmpty: declared[Int(random.next() % UInt64(declared.count))].size += 1
                case 3 where !declared.isEmpty: declared[Int(random.next() % UInt64(declared.count))].sha256 = String(repeating: "0", count: 64)
                case 4 where declared.count > 1: declared.swapAt(0, declared.count - 1)
                case 5 where !directories.isEmpty: directories.removeLast()
                case 6: declaredDirectories.append(.init(path: "extra-dir", mode: 0o755, mtime: 0))
                case 7 where directories.count > 1: directories.swapAt(0, 1)
                default: break
                }
            }
            // Paths stay unique on both sides (the collision rules guarantee it for the tar).
            guard Set(files).count == files.count, Set(declared.map(\.path)).count == declared.count,
                  Set(declaredDirectories.map(\.path)).count == declaredDirectories.count else { continue }
            let manifest = PrivateManifest(dossierID: "x", files: declared, directories: declaredDirectories)
            if declared.map(\.path) == files { pairwise += 1 }
            #expect(ContentReader.compare(files: files, Self.inline(facts), directories: directories, with: manifest)
                == Self.reference(files: files, facts, directories: directories, with: manifest))
        }
        #expect(pairwise > 500)
    }

    @Test("a private manifest listing a path twice, or a name in another Unicode form than the tar's, disagrees with the content")
    func duplicatesAndForms() {
        let digest = SHA256.hash([1])
        let fact = (size: Int64(1), sha256: Digest32(digest))
        let a = PrivateManifest.File(path: "a.txt", size: 1, sha256: Hex.encode(digest), mediaType: "t", mode: 0o644, mtime: 0)
        // One file in the tar, listed twice (the public counts would say 2 files, 2 bytes).
        let twice = PrivateManifest(dossierID: "x", files: [a, a], directories: [])
        #expect(ContentReader.compare(files: ["a.txt"], [fact], directories: [], with: twice).contains("listed twice: a.txt"))
        let folderTwice = PrivateManifest(dossierID: "x", files: [a], directories: [.init(path: "d", mode: 0o755, mtime: 0), .init(path: "d", mode: 0o755, mtime: 0)])
        #expect(ContentReader.compare(files: ["a.txt"], [fact], directories: ["d"], with: folderTwice).contains("listed twice: d"))
        // NFC in the manifest, NFD in the tar (and an extra file, so the comparison goes by path):
        // the names are different bytes, so different files.
        let nfc = PrivateManifest.File(path: "caf\u{E9}.txt", size: 1, sha256: Hex.encode(digest), mediaType: "t", mode: 0o644, mtime: 0)
        let problems = ContentReader.compare(files: ["cafe\u{301}.txt", "z.txt"], [fact, fact], directories: [],
                                             with: PrivateManifest(dossierID: "x", files: [nfc], directories: []))
        // The name not in NFC says so and is spelled out (the two lines would look alike).
        #expect(problems.contains("missing: caf\u{E9}.txt") && problems.contains("extra: cafe\u{301}.txt (not in Unicode NFC: cafe<U+0301>.txt)"),
                "\(problems)")
    }

    /// The check as it was before the walked comparison: decode, then `compare`, id and counts.
    static func decodedVerdict(_ bytes: [UInt8], files: [String], _ facts: [(size: Int64, sha256: Digest32)], directories: [String],
                               against manifest: DossierManifest) -> String? {
        do {
            let privateManifest = try PrivateManifest(canonical: bytes)
            guard privateManifest.dossierID == manifest.dossierID else {
                return "the private manifest names a different dossier (\(privateManifest.dossierID))"
            }
            var problems = ContentReader.compare(files: files, facts, directories: directories, with: privateManifest)
            if Int64(privateManifest.files.count) != manifest.fileCount || Int64(privateManifest.directories.count) != manifest.directoryCount
                || privateManifest.totalBytes != manifest.contentBytes {
                problems.append("the counts in the public manifest disagree with the private manifest")
            }
            guard problems.isEmpty else {
                return "the content disagrees with the private manifest: \(problems.prefix(10).joined(separator: ", "))\(problems.count > 10 ? " and \(problems.count - 10) more" : "")"
            }
            return nil
        } catch {
            return error.reason
        }
    }

    @Test("the private manifest compared while it is walked gives the verdict of decoding it and comparing, for every difference")
    func walkedComparison() {
        var random = SplitMix64(seed: 0x3A1C)
        var passed = 0
        var failed = 0
        let names = ["a.txt", "Akte/Seite 1.pdf", "名前/文書.txt", "caf\u{E9}.txt", "cafe\u{301}.txt", "quote\"d", "b/c"]
        for _ in 0..<4_000 {
            let files = Array(Set((0..<Int(random.next() % 6)).map { _ in names[Int(random.next() % UInt64(names.count))] + "\(random.next() % 4)" })).sorted()
            var facts = files.map { _ in (size: Int64(random.next() % 3), sha256: Digest32((0..<32).map { _ in UInt8(random.next() % 2) })) }
            let directories = Array(Set((0..<Int(random.next() % 4)).map { "d\($0)" })).sorted()
            var declared = zip(files, facts).map {
                PrivateManifest.File(path: $0, size: $1.size, sha256: Hex.encode($1.sha256.bytes), mediaType: "t", mode: 0o644, mtime: 0)
            }
            var declaredDirectories = directories.map { PrivateManifest.Directory(path: $0, mode: 0o755, mtime: 0) }
            var id = "x"
            var tarFiles = files
            var tarDirectories = directories
            for _ in 0..<Int(random.next() % 3) {
                switch random.next() % 10 {
                case 0 where !tarFiles.isEmpty: let i = Int(random.next() % UInt64(tarFiles.count)); tarFiles.remove(at: i); facts.remove(at: i)
                case 1: tarFiles.append("extra\(random.next() % 5)"); facts.append((1, Digest32([UInt8](repeating: 0, count: 32))))
                case 2 where !declared.isEmpty: declared[Int(random.next() % UInt64(declared.count))].size += 1
                case 3 where !declared.isEmpty: declared[Int(random.next() % UInt64(declared.count))].sha256 = String(repeating: "0", count: 64)
                case 4 where declared.count > 1: declared.swapAt(0, declared.count - 1)
                case 5 where !tarDirectories.isEmpty: tarDirectories.removeLast()
                case 6: declaredDirectories.append(.init(path: "extra-dir", mode: 0o755, mtime: 0))
                case 7 where !declared.isEmpty: declared.append(declared[0])
                case 8: id = "y"
                case 9 where !declared.isEmpty: declared[0].sha256 = declared[0].sha256.uppercased()
                default: break
                }
            }
            guard Set(tarFiles).count == tarFiles.count else { continue }
            var bytes = PrivateManifest(dossierID: id, files: declared, directories: declaredDirectories).json().canonicalBytes()
            if random.next() % 8 == 0 {
                // A byte changed: mostly no manifest at all any more, sometimes another one.
                let at = Int(random.next() % UInt64(bytes.count))
                bytes[at] ^= UInt8(1 << (random.next() % 8))
            }
            // The public counts: usually those of the tar, sometimes off by one.
            let offset = random.next() % 6 == 0 ? Int64(1) : 0
            let manifest = DossierManifest(
                dossierID: "x", sealedAt: "2026-11-27T00:00:00Z", publicMetadata: [:], payloadHeaderSHA256: "", payloadBodySHA256: "",
                payloadBodySize: 0, fileCount: Int64(files.count) + offset, directoryCount: Int64(directories.count),
                contentBytes: facts.prefix(files.count).reduce(0) { $0 + $1.size }, privateManifestSHA256: "", signers: [],
                accessLogGenesisSHA256: nil, generator: "test")
            let expected = Self.decodedVerdict(bytes, files: tarFiles, facts, directories: tarDirectories, against: manifest)
            var actual: String?
            do {
                try ContentReader.checkPrivateManifest(bytes, files: tarFiles, facts, directories: tarDirectories, against: manifest)
            } catch {
                actual = error.reason
            }
            #expect(actual == expected, "\(String(decoding: bytes, as: UTF8.self)) against \(tarFiles), \(tarDirectories)")
            if expected == nil { passed += 1 } else { failed += 1 }
        }
        // Both verdicts came up often (the walked comparison decides the passes by itself).
        #expect(passed > 500 && failed > 500, "passed \(passed), failed \(failed)")
    }

    @Test("Digest32 keeps its 32 bytes, compares them all, and matches their hex and nothing else")
    func inlineDigest() {
        var random = SplitMix64(seed: 32)
        for _ in 0..<200 {
            let bytes = (0..<32).map { _ in UInt8(random.next() % 256) }
            let digest = Digest32(bytes)
            #expect(digest.bytes == bytes)
            #expect(digest == Digest32(bytes))
            #expect(digest.matches(hex: Hex.encode(bytes)))
            let position = Int(random.next() % 32)
            var other = bytes
            other[position] ^= 1 << (random.next() % 8)
            #expect(digest != Digest32(other), "byte \(position)")
            #expect(!digest.matches(hex: Hex.encode(other)), "byte \(position)")
            #expect(!digest.matches(hex: Hex.encode(bytes).uppercased()) || Hex.encode(bytes) == Hex.encode(bytes).uppercased())
        }
    }

    @Test("Hex.matches is encode-then-compare")
    func hexMatches() {
        var random = SplitMix64(seed: 7)
        for _ in 0..<500 {
            let bytes = (0..<Int(random.next() % 5)).map { _ in UInt8(random.next() % 256) }
            let hex = Hex.encode(bytes)
            #expect(Hex.matches(bytes, hex))
            #expect(!Hex.matches(bytes, hex.uppercased()) || hex == hex.uppercased())
            #expect(!Hex.matches(bytes, hex + "0"))
            if !bytes.isEmpty {
                var other = bytes
                other[0] ^= 1 << (random.next() % 8)
                #expect(!Hex.matches(other, hex))
            }
        }
    }
}
