import Foundation
import Testing
@testable import DossierKit

/// The limits of FORMAT.md §7 that the other suites do not reach, each broken by one byte
/// or one entry (refused, naming the limit) and met exactly (not refused for it).
@Suite("Format limits: container, signature and transfer files, age header (FORMAT.md §7)")
struct FormatLimitsTests {
    static let mtime: Int64 = 1_767_225_600
    static let signature = ContainerFormat.SignatureName(sequence: 1, role: .sealer, keyID: "14421BA8BF569FB1").entryName

    /// A container with these entries (contents need not be valid: the limits are checked first).
    static func container(_ dir: TemporaryDirectory, _ name: String, _ entries: [(String, [UInt8])]) throws -> String {
        let path = dir.path(name)
        let file = try FileSink(creating: path)
        let writer = try ContainerWriter(sink: file, mtime: mtime)
        for (entry, bytes) in entries { try writer.add(entry, bytes) }
        try writer.close()
        try file.close()
        return path
    }

    static var head: [(String, [UInt8])] {
        [(ContainerFormat.mimetypeEntry, Array(ContainerFormat.mimetype.utf8)), (ContainerFormat.payloadEntry, [1, 2, 3]),
         (ContainerFormat.manifestEntry, Array("{}".utf8))]
    }

    /// The reason the container is refused, or nil when it is read.
    static func refusal(_ path: String) -> String? {
        do { _ = try ContainerReader(path: path); return nil } catch { return error.reason }
    }

    @Test("a signature file of 8 KiB is read, one byte more is refused")
    func signatureFile() throws {
        let dir = try TemporaryDirectory()
        let exact = try Self.container(dir, "exact.dossier", Self.head + [(Self.signature, [UInt8](repeating: 0x41, count: 8 * 1024))])
        #expect(Self.refusal(exact) == nil)
        let over = try Self.container(dir, "over.dossier", Self.head + [(Self.signature, [UInt8](repeating: 0x41, count: 8 * 1024 + 1))])
        #expect(Self.refusal(over)?.contains("\(Self.signature) is larger than 8192 bytes") == true, "\(Self.refusal(over) ?? "read")")
    }

    @Test("a transfer record of 64 KiB is read, one byte more is refused")
    func transferRecord() throws {
        let dir = try TemporaryDirectory()
        let record = ContainerFormat.transferName(1)
        func entries(_ size: Int) -> [(String, [UInt8])] {
            Self.head + [(Self.signature, [0x41]), (record, [UInt8](repeating: 0x41, count: size)), (record + ".minisig", [0x41])]
        }
        #expect(Self.refusal(try Self.container(dir, "exact.dossier", entries(64 * 1024))) == nil)
        let over = Self.refusal(try Self.container(dir, "over.dossier", entries(64 * 1024 + 1)))
        #expect(over?.contains("\(record) is larger than 65536 bytes") == true, "\(over ?? "read")")
    }

    @Test("1,000 container entries pass the count, 1,001 are refused")
    func entryCount() throws {
        let dir = try TemporaryDirectory()
        func entries(_ count: Int) -> [(String, [UInt8])] { Self.head + (Self.head.count..<count).map { ("extra-\($0)", [0x41]) } }
        // 1,000: past the count, refused only for the names that may not follow the manifest.
        let exact = Self.refusal(try Self.container(dir, "exact.dossier", entries(1_000)))
        #expect(exact?.contains("unexpected entry") == true, "\(exact ?? "read")")
        let over = Self.refusal(try Self.container(dir, "over.dossier", entries(1_001)))
        #expect(over?.contains("1001 entries is outside 1…1000") == true, "\(over ?? "read")")
    }

    @Test("a container larger than format v1 allows is refused before it is parsed")
    func containerSize() throws {
        let dir = try TemporaryDirectory()
        // Sparse files: nothing is written but their size.
        func sparse(_ name: String, _ size: Int64) throws -> String {
            let path = dir.path(name)
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
            try #require(fd >= 0)
            defer { close(fd) }
            try #require(ftruncate(fd, off_t(size)) == 0)
            return path
        }
        let limit = ContainerFormat.maxContainerBytes + (64 << 20)
        let atLimit = Self.refusal(try sparse("exact.dossier", limit))
        #expect(atLimit?.contains("larger than format v1 allows") == false, "\(atLimit ?? "read")")
        let over = Self.refusal(try sparse("over.dossier", limit + 1))
        #expect(over?.contains("larger than format v1 allows (4 GiB)") == true, "\(over ?? "read")")
    }

    /// The age header, read before anything is decrypted: lines of at most 8 KiB, 1 MiB in all.
    static func headerRefusal(_ bytes: [UInt8]) -> String? {
        do { _ = try AgeHeader.parse(from: BufferedReader(MemorySource(bytes))); return nil } catch { return error.reason }
    }

    @Test("an age header line over 8 KiB and a header over 1 MiB are refused, naming the limit")
    func ageHeader() throws {
        let version = Array("age-encryption.org/v1\n".utf8)
        let longLine = version + Array("-> X25519 ".utf8) + [UInt8](repeating: 0x41, count: 8 * 1024) + [0x0a]
        #expect(Self.headerRefusal(longLine)?.contains("a header line is longer than 8192 bytes") == true, "\(Self.headerRefusal(longLine) ?? "parsed")")
        // A line of exactly 8 KiB (with its line end) is not refused for its length.
        let fullLine = version + Array("-> X25519 ".utf8) + [UInt8](repeating: 0x41, count: 8 * 1024 - 11) + [0x0a]
        #expect(Self.headerRefusal(fullLine)?.contains("longer than") == false, "\(Self.headerRefusal(fullLine) ?? "parsed")")
        // Many short stanzas (arguments of 1,000 bytes, empty bodies) past 1 MiB in all.
        let stanza = Array("-> t ".utf8) + [UInt8](repeating: 0x41, count: 1_000) + Array("\n\n".utf8)
        let many = version + (0..<1_100).flatMap { _ in stanza }
        #expect(Self.headerRefusal(many)?.contains("the header is larger than 1048576 bytes") == true, "\(Self.headerRefusal(many) ?? "parsed")")
    }
}
