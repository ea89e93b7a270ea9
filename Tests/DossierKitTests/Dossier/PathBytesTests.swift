import Foundation
import Testing
@testable import DossierKit
#if canImport(Glibc)
import Glibc
#endif

/// Paths are split at "/" bytes, never at Characters: "/" followed by a combining mark (or
/// a joiner, a variation selector) is one grapheme in Swift, but still a separator on disk.
/// Review of session 15: such a name was opened under another name (the mark dropped), or
/// not at all when the dossier also held the name without the mark.
@Suite("paths by bytes: names that start with a combining mark")
struct PathBytesTests {
    /// Names whose first scalar extends the grapheme of the "/" before it.
    static let files: [String: [UInt8]] = [
        "a/b": Array("one".utf8),
        "a/\u{301}b": Array("two".utf8),
        "\u{301}top.txt": Array("three".utf8),
        "\u{200D}x/\u{FE0F}y/z.txt": Array("four".utf8),
        "d/\u{301}": Array("five".utf8),
        "d/\u{301}\u{301}/e/\u{301}f": Array("six".utf8),
    ]

    /// Every file below `root` as its path's bytes → content, and every folder (as an
    /// empty-named marker "path/"), read with readdir: no String comparison (which is by
    /// canonical equivalence), and not Foundation's enumerator, which itself mistakes such
    /// names for absolute paths.
    static func tree(_ root: String) throws -> [[UInt8]: [UInt8]] {
        var out: [[UInt8]: [UInt8]] = [:]
        func walk(_ relative: [UInt8]) throws {
            let folder = relative.isEmpty ? root : root + "/" + String(decoding: relative, as: UTF8.self)
            guard let dir = opendir(folder) else { throw FileError(operation: "opendir", path: folder, code: errno) }
            defer { closedir(dir) }
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
                if name == [0x2E] || name == [0x2E, 0x2E] { continue }
                let path = relative.isEmpty ? name : relative + [0x2F] + name
                let full = root + "/" + String(decoding: path, as: UTF8.self)
                let info = try FileSystem.lstatus(full)
                if FileSystem.isRegular(info) {
                    out[path] = Array(try Data(contentsOf: URL(fileURLWithPath: full)))
                } else {
                    out[path + [0x2F]] = []
                    try walk(path)
                }
            }
        }
        try walk([])
        return out
    }

    /// `files` and every folder they imply, as `tree` gives them.
    static func expected(_ files: [String: [UInt8]], folders extra: [String] = []) -> [[UInt8]: [UInt8]] {
        var out: [[UInt8]: [UInt8]] = [:]
        for (path, content) in files {
            out[Array(path.utf8)] = content
            let parts = FileSystem.components(of: path)
            for end in parts.indices.dropLast() { out[Array(parts[...end].joined(separator: "/").utf8) + [0x2F]] = [] }
        }
        for path in extra {
            let parts = FileSystem.components(of: path)
            for end in parts.indices { out[Array(parts[...end].joined(separator: "/").utf8) + [0x2F]] = [] }
        }
        return out
    }

    @Test("seal and open keep every such name, with the thread's own working directory and with absolute paths, one worker or two",
          arguments: [(false, 1), (true, 1), (false, 2)])
    func roundTrip(absolutePaths: Bool, workers: Int) throws {
        let fx = try DossierFixture()
        let source = try fx.folder("case", Self.files, emptyDirectories: ["\u{301}hollow/\u{301}inner"])
        let receipt = try fx.seal(source)
        #expect(receipt.manifest.fileCount == Int64(Self.files.count))
        var options = OpenOptions()
        options.absolutePathsForTesting = absolutePaths
        options.extractionThreadsForTesting = workers
        let out = fx.dir.path("opened")
        let opened = try Dossier.open(receipt.path, with: [fx.recipient.identity], into: out, trusting: fx.trust,
                                      recordingTo: fx.recorder, options: options)
        #expect(opened.filesWritten == Self.files.count)
        #expect(try Self.tree(out) == Self.expected(Self.files, folders: ["\u{301}hollow/\u{301}inner"]))
        // One document by its name.
        var one = OpenOptions()
        one.only = "d/\u{301}\u{301}/e/\u{301}f"
        _ = try Dossier.open(receipt.path, with: [fx.recipient.identity], into: fx.dir.path("one"), trusting: fx.trust,
                             recordingTo: fx.recorder, options: one)
        #expect(try Self.tree(fx.dir.path("one")) == Self.expected(["d/\u{301}\u{301}/e/\u{301}f": Array("six".utf8)]))
    }

    @Test("a handed-in archive whose files imply their folders gets those folders, named by bytes")
    func archiveParents() throws {
        let fx = try DossierFixture()
        let files = ["\u{301}p/\u{301}q/r.txt": Array("r".utf8), "t/s.txt": Array("s".utf8)]
        let source = try fx.folder("tree", files)
        // A tar with files only, no folder entries.
        let tar = fx.dir.path("files.tar")
        let made = try Subprocess.run("/bin/tar", ["-cf", tar, "--no-recursion", "-C", source, "\u{301}p/\u{301}q/r.txt", "t/s.txt"])
        #expect(made.status == 0, "\(made.stderr)")
        let receipt = try fx.seal(tar, id: "from-tar")
        #expect(receipt.manifest.fileCount == 2)
        #expect(receipt.manifest.directoryCount == 3)
        let out = fx.dir.path("opened")
        _ = try Dossier.open(receipt.path, with: [fx.recipient.identity], into: out, trusting: fx.trust, recordingTo: fx.recorder)
        #expect(try Self.tree(out) == Self.expected(files))
    }

    @Test("the output may not lie in the folder being sealed, also below a folder whose name starts with a combining mark")
    func outputInsideSource() throws {
        let fx = try DossierFixture()
        let source = try fx.folder("src", ["\u{301}inner/a.txt": Array("a".utf8)])
        do {
            _ = try fx.seal(source, to: source + "/\u{301}inner/out.dossier")
            Issue.record("sealed into the folder being sealed")
        } catch let error as DossierError {
            #expect(error.kind == .output && error.reason.contains("inside the folder being sealed"), "\(error)")
        }
        #expect(!FileManager.default.fileExists(atPath: source + "/\u{301}inner/out.dossier"))
    }

    @Test("folders whose names on disk are not in NFC seal (checked again after the walk by their own bytes) and open under their NFC names")
    func foldersNotInNFC() throws {
        let fx = try DossierFixture()
        let source = try fx.folder("nfd", ["cafe\u{301}/x.txt": Array("x".utf8), "cafe\u{301}/sma\u{30A}/y.txt": Array("y".utf8)])
        let receipt = try fx.seal(source)
        #expect(receipt.manifest.directoryCount == 2)
        let out = fx.dir.path("opened")
        _ = try Dossier.open(receipt.path, with: [fx.recipient.identity], into: out, trusting: fx.trust, recordingTo: fx.recorder)
        #expect(try Self.tree(out) == Self.expected(["caf\u{E9}/x.txt": Array("x".utf8), "caf\u{E9}/sm\u{E5}/y.txt": Array("y".utf8)]))
    }

    /// The folder check after the walk looks folders up below the case folder by their paths
    /// on disk; past PATH_MAX it goes one folder at a time. Names of 85 × "e" + U+0301 are
    /// 255 bytes on disk but 170 in NFC: 16 levels are 4,095 bytes on disk, 2,735 in the dossier.
    @Test("a tree whose on-disk paths are longer than the system takes (but not its NFC paths) seals")
    func onDiskPathsBeyondPathMax() throws {
        let fx = try DossierFixture()
        let name = String(repeating: "e\u{301}", count: 85)
        #expect(name.utf8.count == 255)
        let root = fx.dir.path("deep")
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: false)
        // Made one level at a time by descriptor: the whole path is beyond PATH_MAX.
        var fd = open(root, O_RDONLY | O_DIRECTORY)
        try #require(fd >= 0)
        for _ in 0..<16 {
            try #require(mkdirat(fd, name, 0o755) == 0)
            let next = openat(fd, name, O_RDONLY | O_DIRECTORY)
            close(fd)
            try #require(next >= 0)
            fd = next
        }
        let file = openat(fd, "leaf.txt", O_WRONLY | O_CREAT | O_EXCL, 0o644)
        try #require(file >= 0)
        _ = write(file, "leaf", 4)
        close(file)
        close(fd)
        let receipt = try fx.seal(root)
        #expect(receipt.manifest.directoryCount == 16 && receipt.manifest.fileCount == 1)
    }

    @Test("path helpers split at bytes")
    func helpers() {
        #expect(FileSystem.parent(of: "a/\u{301}b") == "a")
        #expect(FileSystem.lastComponent(of: "a/\u{301}b") == "\u{301}b")
        #expect(FileSystem.parent(of: "/\u{301}b") == "/")
        #expect(FileSystem.components(of: "x/\u{301}y//\u{200D}z").map { Array($0.utf8) } == [Array("x".utf8), Array("\u{301}y".utf8), Array("\u{200D}z".utf8)])
        #expect(FileSystem.components(of: "\u{301}") == ["\u{301}"])
    }
}
