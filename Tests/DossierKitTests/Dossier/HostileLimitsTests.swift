import CDossierZstd
import Foundation
import Testing
@testable import DossierKit

/// Hostile archives beyond the path rules of HostileInputTests: names Windows reserves,
/// ".." in other encodings, deep nesting, entry floods, bombs, oversized manifests, and
/// the same rules when sealing (docs/FORMAT.md §2, §7).
@Suite("Dossier: hostile names and limits")
struct HostileLimitsTests {
    static let names: [String] = [
        "CON", "con.txt", "Aux.pdf", "nul.tar.gz", "COM1", "lpt9.log", "COM\u{B9}.txt", "PRN ", "CONOUT$",
        "a:b.txt", "what?.txt", "star*.txt", "pipe|x", "quote\".txt", "less<than", "more>than",
        "trailing.", "trailing ", "folder./x.txt",
        "\u{FF0E}\u{FF0E}/escape.txt", "\u{2025}/escape.txt", "\u{FF0E}", "a\u{FF0F}b.txt", "a\u{FF3C}b.txt", "a\u{2215}b.txt", "c\u{2105}o.txt",
        // Every separator-like character and device name of the rules (test review of session 17).
        "a\u{FE68}b", "a\u{2216}b", "a\u{2044}b", "a\u{29F5}b", "a\u{29F8}b", "a\u{29F9}b", "a\u{2100}b", "a\u{2101}b", "a\u{2106}b",
        "\u{2024}\u{2024}/escape.txt", "conin$.txt", "COM0", "lpt0.txt", "LPT\u{B9}", "COM\u{B2}.log", "com\u{B3}",
        "%2e%2e/escape.txt", "%2E%2E%2Fescape.txt", "%2e", "x/%2e%2e/%2e%2e/escape.txt",
        // A separator followed by a combining mark is one Character in Swift (review of session 15).
        "x%2F%CC%81y.txt", "x%5C%CC%81y.txt",
        String(repeating: "d/", count: 64) + "deep.txt",
    ]

    /// Opens `dossier` and expects a refusal of `kind` whose reason contains `message`,
    /// with nothing left behind.
    static func expectRefusedWhenOpening(_ fx: DossierFixture, _ dossier: String, kind: DossierError.Kind, message: String? = nil,
                                         _ label: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let before = HostileInputTests.snapshot(fx.dir.url.path)
        do {
            _ = try Dossier.open(dossier, with: [fx.recipient.identity], into: fx.dir.path("out"), trusting: fx.trust, recordingTo: fx.recorder)
            Issue.record("\(label) was opened", sourceLocation: sourceLocation)
        } catch {
            #expect(error.kind == kind && (message.map { error.reason.contains($0) } ?? true), "\(label): \(error.kind) \(error.reason.prefix(300))", sourceLocation: sourceLocation)
        }
        #expect(HostileInputTests.snapshot(fx.dir.url.path) == before, "files were left behind", sourceLocation: sourceLocation)
    }

    @Test("each name a hostile sealer could use is refused when opening", arguments: names)
    func refusedWhenOpening(_ name: String) throws {
        let fx = try DossierFixture()
        let path = try HostileDossier.build(fx, name: "hostile", entries: [.file("content/" + name)])
        try Self.expectRefusedWhenOpening(fx, path, kind: .unsafePath, name)
    }

    /// FORMAT.md §2 path rules not covered by the names above, each broken alone, with the
    /// message that names the rule (refused before anything is written).
    static let brokenPaths: [(path: String, message: String)] = [
        ("a/./b.txt", "contains a '.' or '..' component"),
        ("a//b.txt", "has an empty component"),
        ("del\u{7F}.txt", "contains the control character 0x7f"),
        ("tab\t.txt", "contains the control character 0x9"),
        (String(repeating: "n", count: 256) + ".txt", "has a component longer than 255 bytes"),
        ((0..<17).map { _ in String(repeating: "p", count: 250) }.joined(separator: "/"), "is longer than 4096 bytes"),
    ]

    @Test("each path rule broken alone is refused when opening, with a message naming the rule", arguments: 0..<brokenPaths.count)
    func pathRuleBroken(_ index: Int) throws {
        let (path, message) = Self.brokenPaths[index]
        let fx = try DossierFixture()
        let dossier = try HostileDossier.build(fx, name: "hostile", entries: [.file("content/" + path)])
        try Self.expectRefusedWhenOpening(fx, dossier, kind: .unsafePath, message: message, String(path.prefix(40)))
    }

    /// libarchive writes tar names in NFC, so a name in another form takes a tar made by
    /// hand: written with an ASCII stand-in of the same length, then patched (and its header
    /// checksum with it).
    @Test("a name that is not in NFC (only a hand-made tar can hold one) is refused when opening", arguments: ["cafe\u{301}.txt", "sma\u{30A}/x.txt"])
    func nonNFCNameRefused(_ name: String) throws {
        let fx = try DossierFixture()
        let nameBytes = Array(name.utf8)
        let standIn = nameBytes.map { $0 >= 0x80 || $0 == UInt8(ascii: "/") ? $0 == UInt8(ascii: "/") ? $0 : UInt8(ascii: "Q") : $0 }
        let data = Array("x".utf8)
        let privateBytes = PrivateManifest(dossierID: "nfd", files: [.init(path: name, size: 1, sha256: Hex.encode(SHA256.hash(data)),
                                                                          mediaType: "text/plain", mode: 0o644, mtime: 0)],
                                           directories: []).json().canonicalBytes()
        let tarSink = MemorySink()
        let tar = try ArchiveWriter(format: .paxTar, sink: tarSink)
        try tar.writeRawHeader(path: "content/" + String(decoding: standIn, as: UTF8.self), fileType: 0o100000, mode: 0o644, size: 1)
        try data.withUnsafeBytes { try tar.writeData($0) }
        try tar.finishEntry()
        try tar.writeHeader(path: "manifest.json", isDirectory: false, size: Int64(privateBytes.count), permissions: 0o644, mtime: 0)
        try privateBytes.withUnsafeBytes { try tar.writeData($0) }
        try tar.finishEntry()
        try tar.close()
        var bytes = tarSink.bytes
        let field = Array("content/".utf8) + standIn
        try #require(Array(bytes[0..<field.count]) == field, "the first header holds the name in its name field")
        bytes.replaceSubrange(8..<field.count, with: nameBytes)
        // Header checksum: the sum of the header's bytes with the checksum field as spaces.
        bytes.replaceSubrange(148..<156, with: Array(repeating: UInt8(ascii: " "), count: 8))
        let sum = bytes[0..<512].reduce(0) { $0 + Int($1) }
        bytes.replaceSubrange(148..<156, with: Array(String(format: "%06o", sum).utf8) + [0, UInt8(ascii: " ")])
        var compressed = [UInt8](repeating: 0, count: ZSTD_compressBound(bytes.count))
        let size = compressed.withUnsafeMutableBytes { out in bytes.withUnsafeBytes { ZSTD_compress(out.baseAddress, out.count, $0.baseAddress, $0.count, 3) } }
        try #require(ZSTD_isError(size) == 0)
        let dossier = try HostileDossier.build(fx, name: "nfd", entries: [], privateManifest: privateBytes, declaredFiles: 1, declaredBytes: 1,
                                               declaredDirectories: 0, innerArchive: Array(compressed[0..<size]))
        try Self.expectRefusedWhenOpening(fx, dossier, kind: .unsafePath, message: "is not in Unicode NFC", name)
    }

    @Test("more folders than the manifest declares stop opening at the first extra one")
    func moreFoldersThanDeclared() throws {
        let fx = try DossierFixture()
        let dossier = try HostileDossier.build(fx, name: "folders", entries: [.directory("content/a"), .directory("content/b"), .file("content/a/x.txt")],
                                               declaredDirectories: 1)
        try Self.expectRefusedWhenOpening(fx, dossier, kind: .content, message: "more folders than the manifest declares", "two folders, one declared")
    }

    @Test("the same names are refused when sealing, with nothing written", arguments: names.filter { !$0.contains("/") })
    func refusedWhenSealing(_ name: String) throws {
        let fx = try DossierFixture()
        let folder = try fx.folder("source", ["fine.txt": [1]])
        try Data([2]).write(to: URL(fileURLWithPath: folder + "/" + name))
        let output = fx.dir.path("out.dossier")
        do {
            _ = try fx.seal(folder, to: output)
            Issue.record("\(name) was sealed")
        } catch let error as DossierError {
            #expect(error.kind == .unsafePath, "\(name): \(error.kind) \(error.reason)")
            #expect(error.reason.contains(AgeHeader.printable(Array(name.utf8))), "the error names the file: \(error.reason)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: fx.dir.url.path).allSatisfy { !$0.contains("out") && !$0.contains("sealing") })
    }

    @Test("names in messages: every byte that is not printable ASCII, and the backslash, as two hex digits (\\xa then b read as 0xAB)")
    func printableNames() {
        #expect(AgeHeader.printable(Array("a\nb".utf8)) == "\"a\\x0ab\"")
        #expect(AgeHeader.printable([0x61, 0xAB]) == "\"a\\xab\"")
        #expect(AgeHeader.printable(Array("a\\x0ab".utf8)) == "\"a\\x5cx0ab\"")
        #expect(AgeHeader.printable([0x00, 0x7F, 0x20]) == "\"\\x00\\x7f \"")
    }

    @Test("overlong UTF-8 and other invalid encodings of '..' are refused")
    func encodings() {
        let hostile: [[UInt8]] = [
            [0xC0, 0xAE, 0xC0, 0xAE, 0x2F, 0x78],              // overlong "..", then "/x"
            [0xE0, 0x80, 0xAE, 0xE0, 0x80, 0xAE],              // three-byte overlong ".."
            [0x61, 0xC0, 0xAF, 0x62],                          // overlong "/"
            [0x2E, 0x2E, 0x00, 0x2F, 0x78],                    // NUL
            [0xED, 0xA0, 0x80],                                // a UTF-16 surrogate
        ]
        for bytes in hostile {
            #expect(throws: DossierPath.Violation.self, "\(bytes)") { try DossierPath.validate(bytes) }
        }
        // Ordinary names from real case folders stay valid.
        for name in ["调查评估意见书_扫描件_0001.pdf", "Report (final).docx", "2024-01-17 minutes.txt", "auxiliary.txt",
                     "COM10.txt", "console.txt", "Notes\u{2026} final.txt", "a\u{FF0E}b.txt", ".hidden", "a..b.txt", "100%.txt", "%41.txt"] {
            #expect(throws: Never.self, "\(name)") { try DossierPath.validate(Array(name.utf8)) }
        }
    }

    @Test("100,000 entries: a manifest declaring them is invalid, one hiding them is stopped at the first extra entry")
    func entryFlood() throws {
        let fx = try DossierFixture()
        let many = (0..<100_000).map { HostileDossier.Entry.file("content/f\($0)", []) }
        // Declared: the signed manifest itself breaks the limit, so nothing is decrypted.
        let declared = try HostileDossier.build(fx, name: "declared", entries: Array(many.prefix(10)), privateManifest: Array("{}".utf8),
                                                declaredFiles: 100_000, declaredBytes: 0)
        let report = Dossier.verify(declared, trusting: fx.trust)
        #expect(report.status == .invalid)
        #expect(report.failureSummary.contains("at most 65536"), "\(report.failureSummary)")
        let before = HostileInputTests.snapshot(fx.dir.url.path)
        #expect(throws: DossierError.self) {
            try Dossier.open(declared, with: [fx.recipient.identity], into: fx.dir.path("out"), trusting: fx.trust, recordingTo: fx.recorder)
        }
        // Hidden: 100,000 entries behind a manifest that declares 10.
        let hidden = try HostileDossier.build(fx, name: "hidden", entries: many, declaredFiles: 10, declaredBytes: 0)
        do {
            _ = try Dossier.open(hidden, with: [fx.recipient.identity], into: fx.dir.path("out"), trusting: fx.trust, recordingTo: fx.recorder)
            Issue.record("the flood was opened")
        } catch {
            #expect(error.kind == .content)
            #expect(error.reason.contains("more files or bytes than the manifest declares"))
        }
        #expect(HostileInputTests.snapshot(fx.dir.url.path).subtracting(["hidden.dossier"]) == before)
    }

    @Test("a zstd bomb beyond 1000:1 is invalid before anything is decrypted")
    func expansionBomb() throws {
        let fx = try DossierFixture()
        let zeros = [UInt8](repeating: 0, count: 64 << 20)
        let path = try HostileDossier.build(fx, name: "bomb", entries: [.file("content/zeros.bin", zeros)])
        let report = Dossier.verify(path, trusting: fx.trust)
        #expect(report.status == .invalid)
        #expect(report.failureSummary.contains("decompression bomb"), "\(report.failureSummary)")
        let before = HostileInputTests.snapshot(fx.dir.url.path)
        do {
            _ = try Dossier.open(path, with: [fx.recipient.identity], into: fx.dir.path("out"), trusting: fx.trust, recordingTo: fx.recorder)
            Issue.record("the bomb was opened")
        } catch {
            #expect(error.reason.contains("decompression bomb"), "\(error.reason)")
        }
        #expect(HostileInputTests.snapshot(fx.dir.url.path) == before)
        #expect(try fx.log.history(of: "bomb").map(\.event) == [.registered], "nothing was logged as opened")
    }

    @Test("sealing content that expands beyond 1000:1 is refused with a hint, nothing written")
    func sealingBomb() throws {
        let fx = try DossierFixture()
        let folder = try fx.folder("zeros", ["zeros.bin": [UInt8](repeating: 0, count: 64 << 20)])
        let output = fx.dir.path("zeros.dossier")
        do {
            _ = try fx.seal(folder, to: output)
            Issue.record("sealed")
        } catch let error as DossierError {
            #expect(error.reason.contains("1000:1"), "\(error.reason)")
            #expect(error.hint?.contains("split") == true)
        }
        #expect(!FileManager.default.fileExists(atPath: output))
        #expect(try FileManager.default.contentsOfDirectory(atPath: fx.dir.url.path).allSatisfy { !$0.contains("dossier") })
    }

    @Test("a total size beyond the free space is refused before the opening is logged")
    func freeSpace() throws {
        let fx = try DossierFixture()
        let receipt = try fx.seal(try fx.folder("room", ["a.txt": [UInt8](repeating: 7, count: 10_000)]), id: "room")
        var options = OpenOptions()
        options.availableBytesForTesting = OpenOptions.freeSpaceReserve + 9_999
        do {
            _ = try Dossier.open(receipt.path, with: [fx.recipient.identity], into: fx.dir.path("out"), trusting: fx.trust,
                                 recordingTo: fx.recorder, options: options)
            Issue.record("opened without room")
        } catch {
            #expect(error.kind == .output)
            #expect(error.reason.contains("needs 10000 bytes and keeps 64 MiB free"), "\(error.reason)")
        }
        #expect(!FileManager.default.fileExists(atPath: fx.dir.path("out")))
        #expect(try fx.log.history(of: "room").map(\.event) == [.sealed])
        options.availableBytesForTesting = OpenOptions.freeSpaceReserve + 10_000
        _ = try Dossier.open(receipt.path, with: [fx.recipient.identity], into: fx.dir.path("out"), trusting: fx.trust,
                             recordingTo: fx.recorder, options: options)
    }

    @Test("an oversized private manifest is refused")
    func oversizedPrivateManifest() throws {
        let fx = try DossierFixture()
        let huge = Array("{\"pad\":\"".utf8) + [UInt8](repeating: 0x61, count: PrivateManifest.maxBytes) + Array("\"}".utf8)
        let path = try HostileDossier.build(fx, name: "fat", entries: [.file("content/a.txt")], privateManifest: huge)
        do {
            _ = try Dossier.open(path, with: [fx.recipient.identity], into: fx.dir.path("out"), trusting: fx.trust, recordingTo: fx.recorder)
            Issue.record("opened")
        } catch {
            #expect(error.kind == .content)
            #expect(error.reason.contains("private manifest"), "\(error.reason)")
        }
        #expect(!FileManager.default.fileExists(atPath: fx.dir.path("out")))
    }

    @Test("a source with more than 65,536 files and folders is refused when sealing")
    func sealingFlood() throws {
        let fx = try DossierFixture()
        let folder = fx.dir.path("flood")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for i in 0...DossierManifest.Limits.maxEntries {
            let fd = open(folder + "/f\(i)", O_CREAT | O_WRONLY, 0o644)
            #expect(fd >= 0)
            close(fd)
        }
        let output = fx.dir.path("flood.dossier")
        do {
            _ = try fx.seal(folder, to: output)
            Issue.record("sealed")
        } catch let error as DossierError {
            #expect(error.reason.contains("more than 65536 files and folders"), "\(error.reason)")
        }
        #expect(!FileManager.default.fileExists(atPath: output))
    }
}

@Suite("Dossier: hostile input archives")
struct HostileInputArchiveTests {
    @Test("a 7z bomb handed in for sealing is refused by its declared sizes, nothing written")
    func sevenZipBomb() throws {
        let fx = try DossierFixture()
        let bomb = fx.dir.path("bomb.7z")
        let sink = try FileSink(creating: bomb)
        let seven = try ArchiveWriter(format: .sevenZip, sink: sink)
        let zeros = [UInt8](repeating: 0, count: 1 << 20)
        for index in 0..<2 {
            try seven.writeHeader(path: "zeros-\(index).bin", isDirectory: false, size: 100 << 20, permissions: 0o644, mtime: 0)
            for _ in 0..<100 { try zeros.withUnsafeBytes { try seven.writeData($0) } }
            try seven.finishEntry()
        }
        try seven.close()
        try sink.close()
        let size = try FileManager.default.attributesOfItem(atPath: bomb)[.size] as? Int ?? 0
        #expect(size < 200_000, "the bomb compresses: \(size) bytes")
        let output = fx.dir.path("bomb.dossier")
        do {
            _ = try fx.seal(bomb, id: "bomb", to: output)
            Issue.record("the bomb was sealed")
        } catch let error as DossierError {
            #expect(error.kind == .source)
            #expect(error.reason.contains("possible zip bomb"), "\(error.reason)")
        }
        #expect(!FileManager.default.fileExists(atPath: output))
        #expect(try FileManager.default.contentsOfDirectory(atPath: fx.dir.url.path).allSatisfy { !$0.contains("sealing") })
    }
}
