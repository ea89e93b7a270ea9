import CDossierZstd
import Foundation
import Testing
@testable import DossierKit

/// Data a hostile sealer hides where no one hashes it, and folders it only implies (review
/// of session 15): libarchive skips the data of a GNU dumpdir entry ('D', read as a folder)
/// and reads special headers (pax, GNU long names) of up to 1 MB before every entry, all of
/// it decompressed but counted nowhere; and a file whose folders have no entries of their own
/// made folders that no manifest counted or listed.
@Suite("hostile inner archives: hidden data and implied folders")
struct HiddenDataTests {
    /// A ustar header block, written by hand (libarchive writes no dumpdir entries).
    static func header(_ name: String, type: UInt8, size: Int, mode: Int = 0o644) -> [UInt8] {
        var block = [UInt8](repeating: 0, count: 512)
        func put(_ text: String, at offset: Int) { block.replaceSubrange(offset..<offset + text.utf8.count, with: Array(text.utf8)) }
        put(name, at: 0)
        put(String(format: "%07o", mode), at: 100)
        put("0000000", at: 108)
        put("0000000", at: 116)
        put(String(format: "%011o", size), at: 124)
        put("00000000000", at: 136)
        block[156] = type
        put("ustar", at: 257)
        put("00", at: 263)
        put("        ", at: 148)
        let sum = block.reduce(0) { $0 + Int($1) }
        put(String(format: "%06o", sum), at: 148)
        block[154] = 0
        return block
    }

    /// An entry: its header, its data padded to 512 bytes.
    static func entry(_ name: String, type: UInt8, data: [UInt8], mode: Int = 0o644) -> [UInt8] {
        header(name, type: type, size: data.count, mode: mode) + data + [UInt8](repeating: 0, count: (512 - data.count % 512) % 512)
    }

    static func zstd(_ bytes: [UInt8]) throws -> [UInt8] {
        var compressed = [UInt8](repeating: 0, count: ZSTD_compressBound(bytes.count))
        let size = compressed.withUnsafeMutableBytes { out in bytes.withUnsafeBytes { ZSTD_compress(out.baseAddress, out.count, $0.baseAddress, $0.count, 1) } }
        try #require(ZSTD_isError(size) == 0)
        return Array(compressed[0..<size])
    }

    /// A signed dossier around `tar` (raw, ending with the private manifest listing `files`).
    static func dossier(_ fx: DossierFixture, _ name: String, entries tar: [UInt8], files: [(String, [UInt8])], folders: [String] = []) throws -> String {
        let privateBytes = PrivateManifest(dossierID: name, files: files.map {
            .init(path: $0.0, size: Int64($0.1.count), sha256: Hex.encode(SHA256.hash($0.1)), mediaType: "text/plain", mode: 0o644, mtime: 0)
        }, directories: folders.map { .init(path: $0, mode: 0o755, mtime: 0) }).json().canonicalBytes()
        let whole = tar + entry("manifest.json", type: UInt8(ascii: "0"), data: privateBytes) + [UInt8](repeating: 0, count: 1024)
        return try HostileDossier.build(fx, name: name, entries: [], privateManifest: privateBytes, declaredFiles: Int64(files.count),
                                        declaredBytes: files.reduce(0) { $0 + Int64($1.1.count) }, declaredDirectories: Int64(folders.count),
                                        innerArchive: try zstd(whole))
    }

    @Test("a folder entry that carries data (a GNU dumpdir, or a damaged header) is refused before its data is read")
    func dumpdirWithData() throws {
        let fx = try DossierFixture()
        let data = Array("x".utf8)
        let tar = Self.entry("content/d/", type: UInt8(ascii: "D"), data: [UInt8](repeating: 0, count: 4 << 20), mode: 0o755)
            + Self.entry("content/d/x.txt", type: UInt8(ascii: "0"), data: data)
        let path = try Self.dossier(fx, "dumpdir", entries: tar, files: [("d/x.txt", data)], folders: ["d"])
        try HostileLimitsTests.expectRefusedWhenOpening(fx, path, kind: .content, message: "carries data", "a dumpdir entry with 4 MiB")
    }

    /// libarchive reads a type-5 folder's size as 0 and the data after it as the next header:
    /// such a dossier is refused as a damaged archive (or, for zero blocks, read as the tar's
    /// end, as one with data after its end — since session 17 the stream is read to its last
    /// byte; before, as one that ends before its private manifest) — never opened with data
    /// nobody hashed.
    @Test("a plain folder entry (type 5) with a size is refused, whatever its data holds", arguments: [UInt8(0), 0x41])
    func folderWithSize(_ filler: UInt8) throws {
        let fx = try DossierFixture()
        let file = Array("x".utf8)
        let tar = Self.entry("content/d/", type: UInt8(ascii: "5"), data: [UInt8](repeating: filler, count: 1_024), mode: 0o755)
            + Self.entry("content/d/x.txt", type: UInt8(ascii: "0"), data: file)
        let path = try Self.dossier(fx, "dir-size", entries: tar, files: [("d/x.txt", file)], folders: ["d"])
        try HostileLimitsTests.expectRefusedWhenOpening(fx, path, kind: .content, message: filler == 0 ? "data after its end" : "Damaged tar archive",
                                                        "a type-5 folder of 1,024 bytes of \(filler)")
    }

    @Test("special headers before the entries hide no more than the content, headers and private manifest may take")
    func specialHeaderFlood() throws {
        let fx = try DossierFixture()
        // One pax record of 900,000 bytes ("900000 comment=…\n") before each of 100 files
        // (libarchive takes records under 1 MB, and one pax header per entry): 90 MB
        // decompressed for 100 bytes of content.
        let record = Array("900000 comment=".utf8) + [UInt8](repeating: UInt8(ascii: "A"), count: 900_000 - 16) + [0x0A]
        let pax = Self.entry("PaxHeader/x", type: UInt8(ascii: "x"), data: record)
        var tar: [UInt8] = []
        var files: [(String, [UInt8])] = []
        for index in 0..<100 {
            tar += pax
            let data = Array("\(index % 10)".utf8)
            tar += Self.entry("content/f\(index).txt", type: UInt8(ascii: "0"), data: data)
            files.append(("f\(index).txt", data))
        }
        let path = try Self.dossier(fx, "flood", entries: tar, files: files)
        try HostileLimitsTests.expectRefusedWhenOpening(fx, path, kind: .content, message: "decompression bomb", "90 MB of pax comments")
        // The same headers, few enough, are only headers: the dossier opens.
        var small: [UInt8] = []
        small += pax
        small += Self.entry("content/f.txt", type: UInt8(ascii: "0"), data: Array("f".utf8))
        let fine = try Self.dossier(fx, "few", entries: small, files: [("f.txt", Array("f".utf8))])
        _ = try Dossier.open(fine, with: [fx.recipient.identity], into: fx.dir.path("few-out"), trusting: fx.trust, recordingTo: fx.recorder)
        #expect(FileManager.default.fileExists(atPath: fx.dir.path("few-out/f.txt")))
    }

    @Test("a file whose folder has no entry before it is refused: folders a path only implies escape the manifest and its counts",
          arguments: [["content/a/b/x.txt"], ["content/a/x.txt", "content/a/"], ["content/a/", "content/a/b/c/x.txt"]])
    func impliedFolders(_ names: [String]) throws {
        let fx = try DossierFixture()
        let data = Array("x".utf8)
        var tar: [UInt8] = []
        var files: [(String, [UInt8])] = []
        var folders: [String] = []
        for name in names {
            if name.hasSuffix("/") {
                tar += Self.entry(name, type: UInt8(ascii: "5"), data: [], mode: 0o755)
                folders.append(String(name.dropFirst(8).dropLast()))
            } else {
                tar += Self.entry(name, type: UInt8(ascii: "0"), data: data)
                files.append((String(name.dropFirst(8)), data))
            }
        }
        let path = try Self.dossier(fx, "implied", entries: tar, files: files, folders: folders)
        try HostileLimitsTests.expectRefusedWhenOpening(fx, path, kind: .content, message: "before its folder", "\(names)")
    }

    @Test("the same archive with every folder first opens (the hand-made tar is otherwise sound)")
    func foldersFirstOpens() throws {
        let fx = try DossierFixture()
        let data = Array("x".utf8)
        let tar = Self.entry("content/a/", type: UInt8(ascii: "5"), data: [], mode: 0o755)
            + Self.entry("content/a/b/", type: UInt8(ascii: "5"), data: [], mode: 0o755)
            + Self.entry("content/a/b/x.txt", type: UInt8(ascii: "0"), data: data)
        let path = try Self.dossier(fx, "sound", entries: tar, files: [("a/b/x.txt", data)], folders: ["a", "a/b"])
        _ = try Dossier.open(path, with: [fx.recipient.identity], into: fx.dir.path("out"), trusting: fx.trust, recordingTo: fx.recorder)
        #expect(FileManager.default.fileExists(atPath: fx.dir.path("out/a/b/x.txt")))
    }

    @Test("opened files get 0644 or 0755 (the execute bit kept) and folders 0755, whatever modes a hand-made tar gives them (FORMAT.md §2)",
          arguments: [false, true])
    func modesNormalised(absolutePaths: Bool) throws {
        let fx = try DossierFixture()
        let data = Array("x".utf8)
        let modes: [(String, Int)] = [("none.txt", 0o000), ("exec-only", 0o111), ("odd.txt", 0o622), ("group-exec", 0o610), ("plain.txt", 0o644)]
        var tar = Self.entry("content/d/", type: UInt8(ascii: "5"), data: [], mode: 0o700)
            + Self.entry("content/e/", type: UInt8(ascii: "5"), data: [], mode: 0o000)
        for (name, mode) in modes { tar += Self.entry("content/d/" + name, type: UInt8(ascii: "0"), data: data, mode: mode) }
        let path = try Self.dossier(fx, "modes", entries: tar, files: modes.map { ("d/" + $0.0, data) }, folders: ["d", "e"])
        var options = OpenOptions()
        options.absolutePathsForTesting = absolutePaths
        _ = try Dossier.open(path, with: [fx.recipient.identity], into: fx.dir.path("out"), trusting: fx.trust, recordingTo: fx.recorder, options: options)
        let mask = umask(0)
        umask(mask)
        func mode(_ name: String) throws -> UInt32 { UInt32(try FileSystem.lstatus(fx.dir.path("out/" + name)).st_mode) & 0o7777 }
        #expect(try mode("d/none.txt") == 0o644 & ~UInt32(mask))
        #expect(try mode("d/exec-only") == 0o755 & ~UInt32(mask))
        #expect(try mode("d/odd.txt") == 0o644 & ~UInt32(mask))
        #expect(try mode("d/group-exec") == 0o755 & ~UInt32(mask))
        #expect(try mode("d/plain.txt") == 0o644 & ~UInt32(mask))
        #expect(try mode("d") == 0o755 & ~UInt32(mask))
        #expect(try mode("e") == 0o755 & ~UInt32(mask))
    }
}
