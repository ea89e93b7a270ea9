import Foundation
import Testing
@testable import DossierKit

/// FORMAT.md §3.1, field by field: each framing rule broken alone on a sealed dossier (the
/// signatures cover the manifest, not the framing, so no re-signing is needed) is refused
/// with a message naming it. (TamperCampaignTests flips every byte, but asserts only that
/// the dossier is no longer valid.)
@Suite("Container framing rules (FORMAT.md §3.1)")
struct FramingRulesTests {
    struct Sealed {
        let fx: DossierFixture
        let bytes: [UInt8]
        var endOffset: Int { bytes.count - 22 }
        var cdOffset: Int { Int(Self.u32(bytes, endOffset + 16)) }
        static func u32(_ b: [UInt8], _ at: Int) -> UInt32 { UInt32(b[at]) | UInt32(b[at + 1]) << 8 | UInt32(b[at + 2]) << 16 | UInt32(b[at + 3]) << 24 }
        static func u16(_ b: [UInt8], _ at: Int) -> UInt16 { UInt16(b[at]) | UInt16(b[at + 1]) << 8 }

        init() throws {
            fx = try DossierFixture()
            let receipt = try fx.seal(try fx.folder("framed", ["a.txt": Array("content".utf8)]))
            bytes = Array(try Data(contentsOf: URL(fileURLWithPath: receipt.path)))
        }

        /// The offsets of every central directory record and its local header.
        var records: [(central: Int, local: Int)] {
            var out: [(Int, Int)] = []
            var at = cdOffset
            while at < endOffset {
                let nameLength = Int(Self.u16(bytes, at + 28)), extra = Int(Self.u16(bytes, at + 30)), comment = Int(Self.u16(bytes, at + 32))
                out.append((at, Int(Self.u32(bytes, at + 42))))
                at += 46 + nameLength + extra + comment
            }
            return out
        }

        /// Verifies `changed` (written beside) and returns the failed checks' details.
        func failures(_ name: String, _ change: (inout [UInt8]) -> Void) throws -> String {
            var copy = bytes
            change(&copy)
            let path = fx.dir.path(name + ".dossier")
            try Data(copy).write(to: URL(fileURLWithPath: path))
            let report = Dossier.verify(path, trusting: fx.trust)
            #expect(report.status == .invalid, "\(name): \(report.status)")
            return report.checks.filter { !$0.passed }.map(\.detail).joined(separator: "; ")
        }
    }

    static func put32(_ b: inout [UInt8], _ at: Int, _ value: UInt32) { for i in 0..<4 { b[at + i] = UInt8((value >> (8 * UInt32(i))) & 0xFF) } }
    static func put16(_ b: inout [UInt8], _ at: Int, _ value: UInt16) { b[at] = UInt8(value & 0xFF); b[at + 1] = UInt8(value >> 8) }

    @Test("the control verifies")
    func control() throws {
        let s = try Sealed()
        let path = s.fx.dir.path("control.dossier")
        try Data(s.bytes).write(to: URL(fileURLWithPath: path))
        #expect(Dossier.verify(path, trusting: s.fx.trust).status == .valid)
    }

    @Test("end of central directory: zip64 markers, entry counts, a comment, a central directory over 1 MiB or not where it says")
    func endRecord() throws {
        let s = try Sealed()
        let end = s.endOffset
        let cases: [(String, (inout [UInt8]) -> Void, String)] = [
            ("zip64-offset", { Self.put32(&$0, end + 16, 0xFFFF_FFFF) }, "zip64 end records are not supported"),
            ("zip64-count", { Self.put16(&$0, end + 8, 0xFFFF); Self.put16(&$0, end + 10, 0xFFFF) }, "outside 1…1000"),
            ("no-entries", { Self.put16(&$0, end + 8, 0); Self.put16(&$0, end + 10, 0) }, "0 entries is outside 1…1000"),
            ("counts-differ", { Self.put16(&$0, end + 8, 1) }, "unexpected values in the end-of-central-directory record"),
            ("disk", { Self.put16(&$0, end + 4, 1) }, "unexpected values in the end-of-central-directory record"),
            ("comment", { Self.put16(&$0, end + 20, 1) }, "unexpected values in the end-of-central-directory record"),
            ("big-directory", { Self.put32(&$0, end + 12, UInt32((1 << 20) + 1)) }, "the central directory does not end where the end record begins"),
            ("directory-moved", { Self.put32(&$0, end + 16, UInt32(s.cdOffset - 1)) }, "the central directory does not end where the end record begins"),
            ("appended", { $0 += [0] }, "no end-of-central-directory record at the end"),
        ]
        for (name, change, says) in cases {
            let failed = try s.failures(name, change)
            #expect(failed.contains(says), "\(name): \(failed)")
        }
    }

    @Test("central directory records and local headers: versions, method, flags, attributes, extra fields, agreement")
    func records() throws {
        let s = try Sealed()
        let (central, local) = try #require(s.records.first)
        let cases: [(String, (inout [UInt8]) -> Void, String)] = [
            ("made-by", { Self.put16(&$0, central + 4, 0x0314) }, "unexpected 'version made by'"),
            ("needed", { Self.put16(&$0, central + 6, 20) }, "unexpected 'version needed' 20"),
            ("flags", { Self.put16(&$0, central + 8, 0) }, "must be stored (method 0) with a data descriptor"),
            ("method", { Self.put16(&$0, central + 10, 8) }, "must be stored (method 0) with a data descriptor"),
            ("attributes", { Self.put32(&$0, central + 38, 0o100755 << 16) }, "unexpected attributes in the central directory"),
            ("internal-attributes", { Self.put16(&$0, central + 36, 1) }, "unexpected attributes in the central directory"),
            ("uid", { $0[central + 46 + Int(Sealed.u16(s.bytes, central + 28)) + 15] = 1 }, "unexpected extra fields in the central directory"),
            ("local-signature", { $0[local + 3] = 5 }, "bad local header signature"),
            ("local-method", { Self.put16(&$0, local + 8, 8) }, "the local header disagrees with the central directory"),
            ("local-time", { Self.put16(&$0, local + 10, Sealed.u16(s.bytes, local + 10) ^ 1) }, "the local header disagrees with the central directory"),
            ("local-crc", { Self.put32(&$0, local + 14, 1) }, "the local header disagrees with the central directory"),
            ("local-uid", { $0[local + 30 + Int(Sealed.u16(s.bytes, local + 26)) + 15] = 1 }, "the local header name or extra fields disagree"),
            ("central-signature", { $0[central + 3] = 9 }, "central directory record 0 has a bad signature"),
        ]
        for (name, change, says) in cases {
            let failed = try s.failures(name, change)
            #expect(failed.contains(says), "\(name): \(failed)")
        }
    }

    @Test("the sealing time: the same in every UT field and the local headers, and equal to the manifest's (a coordinated change fails the timestamps check)")
    func sealingTime() throws {
        let s = try Sealed()
        // One record's UT time alone: the records disagree.
        let (central, _) = try #require(s.records.first)
        let utAt = central + 46 + Int(Sealed.u16(s.bytes, central + 28)) + 5
        let alone = try s.failures("ut-alone") { Self.put32(&$0, utAt, Sealed.u32(s.bytes, utAt) &+ 60) }
        #expect(alone.contains("extra fields"), "\(alone)")
        // Every UT time, central and local, moved by a minute together: the framing agrees
        // with itself, but not with the signed sealing time.
        let together = try s.failures("ut-together") { b in
            for (central, local) in s.records {
                let c = central + 46 + Int(Sealed.u16(s.bytes, central + 28)) + 5
                let l = local + 30 + Int(Sealed.u16(s.bytes, local + 26)) + 5
                for at in [c, l] { Self.put32(&b, at, Sealed.u32(s.bytes, at) &+ 60) }
            }
        }
        #expect(together.contains("the container timestamps do not match the sealing time in the manifest"), "\(together)")
    }
}
