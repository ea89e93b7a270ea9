import Foundation
import Testing
@testable import DossierKit

@Suite("Dossier: hostile content is refused and nothing is written")
struct HostileInputTests {
    struct Case: Sendable, CustomStringConvertible {
        let description: String
        let entries: [HostileDossier.Entry]
        let expected: DossierError.Kind
        /// What the refusal's reason must say (the rule, not just the kind).
        let message: String
    }

    static let cases: [Case] = [
        Case(description: "zip-slip ..", entries: [.file("content/../escape.txt")], expected: .unsafePath, message: "contains a '.' or '..' component"),
        Case(description: "deep zip-slip", entries: [.file("content/a/../../../escape.txt")], expected: .unsafePath, message: "contains a '.' or '..' component"),
        Case(description: "absolute path", entries: [.file("/tmp/escape.txt")], expected: .unsafePath, message: "an entry outside content/"),
        Case(description: "absolute inside content", entries: [.file("content//etc/passwd")], expected: .unsafePath, message: "absolute path"),
        Case(description: "entry outside content/", entries: [.file("evil.txt")], expected: .unsafePath, message: "an entry outside content/"),
        Case(description: "symlink escape", entries: [.symlink("content/link", to: "/etc"), .file("content/link/passwd")], expected: .unsafePath, message: "is a link; dossiers hold only files and folders"),
        Case(description: "hardlink", entries: [.file("content/a.txt"), .hardlink("content/b.txt", to: "/etc/passwd")], expected: .unsafePath, message: "is a link; dossiers hold only files and folders"),
        Case(description: "device", entries: [.device("content/dev")], expected: .unsafePath, message: "is a device or other special file"),
        Case(description: "block device", entries: [.init(path: "content/blk", type: 0o060000, mode: 0o660)], expected: .unsafePath, message: "is a device or other special file"),
        // (No socket: tar has no type for one, and pax writers refuse to archive sockets.)
        Case(description: "FIFO", entries: [.init(path: "content/fifo", type: 0o010000, mode: 0o644)], expected: .unsafePath, message: "is a device or other special file"),
        Case(description: "setuid bit", entries: [.file("content/run.sh", mode: 0o4755)], expected: .unsafePath, message: "has setuid, setgid or sticky bits"),
        Case(description: "duplicate name", entries: [.file("content/a.txt"), .file("content/a.txt")], expected: .unsafePath, message: "duplicate path"),
        Case(description: "case collision", entries: [.file("content/Report.pdf"), .file("content/report.pdf")], expected: .unsafePath, message: "collide when case and Unicode normalisation are ignored"),
        // libarchive writes the NFD name in NFC, so the tar holds the same name twice (an NFD
        // name in a hand-made tar: HostileLimitsTests.nonNFCNameRefused).
        Case(description: "Unicode normalisation collision", entries: [.file("content/caf\u{E9}.txt"), .file("content/cafe\u{301}.txt")], expected: .unsafePath, message: "duplicate path"),
        Case(description: "backslash", entries: [.file("content/a\\..\\b.txt")], expected: .unsafePath, message: "contains a backslash"),
        Case(description: "control character", entries: [.file("content/a\u{1}.txt")], expected: .unsafePath, message: "contains the control character 0x1"),
        // Below a folder entry only the new name is checked at opening: the same rules must hold there.
        Case(description: "case collision below a folder entry", entries: [.directory("content/a"), .file("content/a/x"), .file("content/a/X")],
             expected: .unsafePath, message: "collide when case and Unicode normalisation are ignored"),
        Case(description: "folder and an implied folder in another case", entries: [.directory("content/a"), .file("content/a/x"), .file("content/A/y")],
             expected: .unsafePath, message: "collide when case and Unicode normalisation are ignored"),
        Case(description: "duplicate below a folder entry", entries: [.directory("content/a"), .file("content/a/x"), .file("content/a/x")],
             expected: .unsafePath, message: "duplicate path"),
        Case(description: "'..' below a folder entry", entries: [.directory("content/a"), .file("content/a/..")], expected: .unsafePath, message: "contains a '.' or '..' component"),
        Case(description: "device name below a folder entry", entries: [.directory("content/a"), .file("content/a/CON.txt")], expected: .unsafePath, message: "uses the Windows device name CON"),
        // A file with the path of a folder (libarchive would skip the file and chmod the folder).
        // A folder only implied is refused at its first file (review of session 15), before a
        // file of its path could collide with it.
        Case(description: "file named like an implied folder", entries: [.file("content/a/x"), .file("content/a")], expected: .content, message: "comes before its folder"),
        Case(description: "file, then a path below it", entries: [.file("content/a"), .file("content/a/x")], expected: .unsafePath, message: "is both a file and a folder"),
        Case(description: "folder entry and a file of its path", entries: [.directory("content/a"), .file("content/a")], expected: .unsafePath, message: "is both a file and a folder"),
    ]

    static func snapshot(_ dir: String) -> Set<String> {
        Set((FileManager.default.enumerator(atPath: dir)?.allObjects as? [String]) ?? [])
    }

    @Test("each hostile inner archive is refused with its reason", arguments: cases)
    func refused(_ c: Case) throws {
        let fx = try DossierFixture()
        let path = try HostileDossier.build(fx, name: "hostile", entries: c.entries)
        // The container and signatures are fine: only the content is hostile.
        #expect(Dossier.verify(path, trusting: fx.trust).status == .valid)
        let before = Self.snapshot(fx.dir.url.path)
        let out = fx.dir.path("out")
        do {
            _ = try Dossier.open(path, with: [fx.recipient.identity], into: out, trusting: fx.trust, recordingTo: fx.recorder)
            Issue.record("\(c) was opened")
        } catch {
            #expect(error.kind == c.expected && error.reason.contains(c.message), "\(c): \(error.kind) \(error.reason)")
        }
        #expect(Self.snapshot(fx.dir.url.path) == before, "files were left behind")
        #expect(!FileManager.default.fileExists(atPath: "/tmp/escape.txt"))
        let deep = Dossier.verify(path, trusting: fx.trust, identities: [fx.recipient.identity])
        #expect(deep.status == .invalid, "deep verification must reject \(c)")
    }

    @Test("a decompression bomb beyond the signed size is stopped before it is written")
    func bomb() throws {
        let fx = try DossierFixture()
        let big = [UInt8](repeating: 0, count: 8 << 20)  // compresses to almost nothing
        let path = try HostileDossier.build(fx, name: "bomb", entries: [.file("content/zeros.bin", big)], declaredBytes: 1024)
        let before = Self.snapshot(fx.dir.url.path)
        do {
            _ = try Dossier.open(path, with: [fx.recipient.identity], into: fx.dir.path("out"), trusting: fx.trust, recordingTo: fx.recorder)
            Issue.record("the bomb was opened")
        } catch {
            #expect(error.kind == .content)
            #expect(error.reason.contains("decompression bomb"))
        }
        #expect(Self.snapshot(fx.dir.url.path) == before)
    }

    @Test("a sparse entry (GNU tar --sparse, pax 1.0) is refused: its holes are data nobody hashed")
    func sparseEntry() throws {
        let fx = try DossierFixture()
        let work = fx.dir.path("sparse-src")
        try FileManager.default.createDirectory(atPath: work + "/content", withIntermediateDirectories: true)
        let script = """
            set -e; cd '\(work)'
            truncate -s 4M content/sparse.bin
            printf 'Akte' | dd of=content/sparse.bin bs=1 seek=2097152 conv=notrunc status=none
            printf '{}' > manifest.json
            tar --sparse --format=pax -cf - content/sparse.bin manifest.json | zstd -q -c
            """
        let made = try Subprocess.run("/bin/sh", ["-c", script])
        try #require(made.status == 0, "tar/zstd: \(made.stderr)")
        // GNU tar stored it as sparse (a pax GNU.sparse record), else this test proves nothing.
        let listing = try Subprocess.run("/bin/sh", ["-c", "cd '\(work)' && tar --sparse --format=pax -cf - content/sparse.bin | grep -c GNU.sparse"])
        try #require(listing.status == 0, "GNU tar did not write a sparse entry")
        let path = try HostileDossier.build(fx, name: "sparse", entries: [], declaredFiles: 1, declaredBytes: 4 << 20,
                                            innerArchive: Array(made.stdout))
        let before = Self.snapshot(fx.dir.url.path)
        do {
            _ = try Dossier.open(path, with: [fx.recipient.identity], into: fx.dir.path("out"), trusting: fx.trust, recordingTo: fx.recorder)
            Issue.record("the sparse entry was opened")
        } catch {
            #expect(error.kind == .content)
            #expect(error.reason.contains("sparse"), "\(error)")
        }
        #expect(Self.snapshot(fx.dir.url.path) == before)
    }

    @Test("an inner archive that is not zstd-compressed (a plain tar, or cut inside its last frame) is refused; nothing is written")
    func innerArchiveNotZstd() throws {
        let fx = try DossierFixture()
        /// The inner archive of dossier `id` (one file and its private manifest) as a plain tar and through zstd.
        func inner(_ id: String) throws -> (manifest: [UInt8], plain: [UInt8], zstd: [UInt8]) {
            let work = fx.dir.path(id + "-src")
            try FileManager.default.createDirectory(atPath: work + "/content", withIntermediateDirectories: true)
            try Data("Akte".utf8).write(to: URL(fileURLWithPath: work + "/content/a.txt"))
            let manifest = PrivateManifest(dossierID: id, files: [
                .init(path: "a.txt", size: 4, sha256: Hex.encode(SHA256.hash(Array("Akte".utf8))), mediaType: "text/plain", mode: 0o644, mtime: 0),
            ], directories: []).json().canonicalBytes()
            try Data(manifest).write(to: URL(fileURLWithPath: work + "/manifest.json"))
            let tar = "cd '\(work)' && tar --format=pax -cf - content/a.txt manifest.json"
            let plain = try Subprocess.run("/bin/sh", ["-c", tar])
            let compressed = try Subprocess.run("/bin/sh", ["-c", tar + " | zstd -q -c"])
            try #require(plain.status == 0 && compressed.status == 0, "tar/zstd: \(plain.stderr) \(compressed.stderr)")
            return (manifest, Array(plain.stdout), Array(compressed.stdout))
        }
        func build(_ id: String, _ archive: (manifest: [UInt8], plain: [UInt8], zstd: [UInt8]), _ bytes: [UInt8]) throws -> String {
            try HostileDossier.build(fx, name: id, entries: [], privateManifest: archive.manifest, declaredFiles: 1, declaredBytes: 4,
                                     declaredDirectories: 0, innerArchive: bytes)
        }
        // The same tar through zstd opens (so the refusals below are about the compression).
        let good = try inner("good")
        _ = try Dossier.open(try build("good", good, good.zstd), with: [fx.recipient.identity], into: fx.dir.path("good"),
                             trusting: fx.trust, recordingTo: fx.recorder)
        #expect(try DossierFixture.contents(of: fx.dir.path("good")) == ["a.txt": Array("Akte".utf8)])
        for name in ["plain", "cut"] {
            let archive = try inner(name)
            let path = try build(name, archive, name == "plain" ? archive.plain : Array(archive.zstd.dropLast(3)))
            let before = Self.snapshot(fx.dir.url.path)
            do {
                _ = try Dossier.open(path, with: [fx.recipient.identity], into: fx.dir.path("out"), trusting: fx.trust, recordingTo: fx.recorder)
                Issue.record("\(name): opened")
            } catch {
                #expect(error.kind == .content, "\(name): \(error)")
                #expect(error.reason.contains("zstd"), "\(name): \(error.reason)")
            }
            #expect(Self.snapshot(fx.dir.url.path) == before, "\(name)")
        }
    }

    @Test("content that disagrees with the private manifest is refused: missing, extra, changed")
    func manifestMismatch() throws {
        let fx = try DossierFixture()
        let listed = PrivateManifest(dossierID: "mismatch", files: [
            .init(path: "a.txt", size: 1, sha256: Hex.encode(SHA256.hash(Array("y".utf8))), mediaType: "text/plain", mode: 0o644, mtime: 0),
            .init(path: "gone.txt", size: 1, sha256: Hex.encode(SHA256.hash(Array("z".utf8))), mediaType: "text/plain", mode: 0o644, mtime: 0),
        ], directories: []).json().canonicalBytes()
        let path = try HostileDossier.build(fx, name: "mismatch", entries: [.file("content/a.txt"), .file("content/extra.txt")],
                                            privateManifest: listed, declaredFiles: 2, declaredBytes: 2)
        do {
            _ = try Dossier.open(path, with: [fx.recipient.identity], into: fx.dir.path("out"), trusting: fx.trust, recordingTo: fx.recorder)
            Issue.record("mismatching content was opened")
        } catch {
            #expect(error.kind == .content)
            #expect(error.reason.contains("missing: gone.txt"))
            #expect(error.reason.contains("changed: a.txt"))
            #expect(error.reason.contains("extra: extra.txt"))
        }
        #expect(!FileManager.default.fileExists(atPath: fx.dir.path("out")))
    }

    @Test("a private manifest whose sizes would overflow a 64-bit total saturates instead of crashing")
    func sizeOverflow() {
        let huge = PrivateManifest.File(path: "a", size: Int64.max / 2 + 1, sha256: String(repeating: "0", count: 64), mediaType: "text/plain", mode: 0o644, mtime: 0)
        let manifest = PrivateManifest(dossierID: "x", files: [huge, huge, huge], directories: [])
        #expect(manifest.totalBytes == Int64.max)
    }
}
