import Foundation
import Testing
@testable import DossierKit

/// The layout decoder of the private manifest must never accept what the general
/// canonical-JSON path refuses, and must read what it accepts to the same value.
@Suite("private manifest: layout decoder agrees with the general parser")
struct PrivateManifestDecodingTests {
    static let names: [String] = [
        "a.txt", "Akte/Seite 1.pdf", "名前/文書.txt", "e\u{301}.txt", "Ωmega/K.txt", "tab\there", "quote\"d", "back\\slash",
        "ctl\u{1}", "emoji 📁/x", "", "0", "-", "line\u{2028}sep", "del\u{7F}",
    ]

    static func manifest(_ random: inout SplitMix64) -> PrivateManifest {
        func name() -> String { names[Int(random.next() % UInt64(names.count))] + "\(random.next() % 100)" }
        func integer() -> Int64 {
            switch random.next() % 6 {
            case 0: 0
            case 1: Int64(random.next() % 10)
            case 2: JSONValue.maxSafeInteger
            case 3: -Int64(random.next() % 1_000_000)
            default: Int64(random.next() % 5_000_000_000)
            }
        }
        let files = (0..<Int(random.next() % 4)).map { _ in
            PrivateManifest.File(path: name(), size: abs(integer()), sha256: (0..<32).map { _ in String(format: "%02x", random.next() % 256) }.joined(),
                                 mediaType: random.next() % 5 == 0 ? "text/plain; charset=\"utf-8\"" : "application/pdf",
                                 mode: random.next() % 2 == 0 ? 0o644 : 0o755, mtime: integer())
        }
        let directories = (0..<Int(random.next() % 3)).map { _ in
            PrivateManifest.Directory(path: name(), mode: 0o755, mtime: integer())
        }
        return PrivateManifest(dossierID: random.next() % 4 == 0 ? "case \u{E9}" : "case-\(random.next() % 1000)", files: files,
                               directories: directories)
    }

    /// Both decoders on `bytes`: the layout decoder may decline (nil), but what it accepts
    /// the general path must accept with the same value.
    static func agree(_ bytes: [UInt8]) -> (fast: Bool, general: Bool) {
        let fast = PrivateManifest.decodeLayout(bytes)
        let general = try? PrivateManifest(general: bytes)
        if let fast {
            // Compared as bytes: Swift's String == would call canonically equivalent strings equal.
            #expect(general?.canonicalBytes() == fast.canonicalBytes(),
                    "layout decoder accepted \(String(decoding: bytes, as: UTF8.self)) as \(fast), general: \(String(describing: general))")
        }
        return (fast != nil, general != nil)
    }

    @Test("manifests as written (directly or through the value tree: same bytes) are read by the layout decoder when they need no escapes, else by the general parser")
    func written() {
        var random = SplitMix64(seed: 0x5EED_0001)
        var fastCount = 0
        for _ in 0..<2_000 {
            let manifest = Self.manifest(&random)
            let bytes = manifest.json().canonicalBytes()
            // The direct writer writes the same bytes as the value tree, whole or in pieces
            // of any size, and counts them exactly.
            #expect(manifest.canonicalBytes() == bytes)
            #expect(manifest.canonicalByteCount() == bytes.count)
            let pieceSize = Int(random.next() % 300) + 1
            var pieces: [[UInt8]] = []
            manifest.writeCanonical(pieceSize: pieceSize) { pieces.append(Array($0)) }
            #expect(Array(pieces.joined()) == bytes)
            #expect(pieces.dropLast().allSatisfy { $0.count >= pieceSize && !$0.isEmpty }, "pieces of \(pieceSize): \(pieces.map(\.count))")
            let (fast, general) = Self.agree(bytes)
            #expect(general)
            let needsEscapes = bytes.contains(0x5C)
            #expect(fast == !needsEscapes, "\(String(decoding: bytes, as: UTF8.self))")
            if fast { fastCount += 1 }
            #expect((try? PrivateManifest(canonical: bytes)) == manifest)
        }
        #expect(fastCount > 500)
    }

    @Test("mutated manifests: the layout decoder accepts nothing the general parser refuses")
    func mutated() {
        var random = SplitMix64(seed: 0x5EED_0002)
        var fastAccepted = 0
        var generalAccepted = 0
        // Bytes that matter to the grammar, plus a few UTF-8 lead and continuation bytes.
        let interesting: [UInt8] = Array(#"{}[]",:-0123456789.eE+\ ntu"#.utf8) + [0x00, 0x1F, 0x7F, 0x80, 0xBF, 0xC0, 0xC3, 0xE2, 0xED, 0xF0, 0xF4, 0xF5, 0xFF, 0x09, 0x0A]
        for _ in 0..<20_000 {
            var bytes = Self.manifest(&random).json().canonicalBytes()
            for _ in 0...(random.next() % 3) {
                let at = Int(random.next() % UInt64(bytes.count))
                let byte = interesting[Int(random.next() % UInt64(interesting.count))]
                switch random.next() % 4 {
                case 0: bytes[at] = byte
                case 1: bytes.insert(byte, at: at)
                case 2: bytes.remove(at: at)
                default: bytes[at] ^= UInt8(1 << (random.next() % 8))
                }
                if bytes.isEmpty { bytes = [0x7B] }
            }
            let (fast, general) = Self.agree(bytes)
            if fast { fastAccepted += 1 }
            if general { generalAccepted += 1 }
        }
        // Some mutants stay valid (a digit for a digit): both must have accepted some.
        #expect(fastAccepted > 100 && generalAccepted >= fastAccepted)
    }

    @Test("rules of the layout broken one at a time are declined, and the general parser refuses them too")
    func brokenRules() {
        let good = PrivateManifest(dossierID: "x", files: [.init(path: "a", size: 1, sha256: String(repeating: "ab", count: 32), mediaType: "t",
                                                                mode: 0o644, mtime: 5)],
                                   directories: [.init(path: "d", mode: 0o755, mtime: 7)])
        let text = String(decoding: good.json().canonicalBytes(), as: UTF8.self)
        #expect(Self.agree(Array(text.utf8)) == (true, true))
        let broken: [(String, String)] = [
            (#""size":1"#, #""size":01"#), (#""size":1"#, #""size":-1"#), (#""mtime":5"#, #""mtime":-0"#),
            (#""mtime":5"#, #""mtime":5.0"#), (#""mtime":5"#, #""mtime":5e0"#), (#""mtime":5"#, #""mtime":9007199254740992"#),
            (#""mode":420"#, #""mode":512"#), ("abab", "ABab"), (#""path":"a""#, "\"path\":\"a\u{1}\""),
            (#""format":"dossier-private/1""#, #""format":"dossier-private/2""#), ("}]", "} ]"), (#""files""#, #""Files""#),
        ]
        for (from, to) in broken {
            let mutated = text.replacingOccurrences(of: from, with: to)
            #expect(mutated != text, "\(from) not found")
            #expect(Self.agree(Array(mutated.utf8)) == (false, false), "\(to)")
        }
        // Trailing bytes, invalid UTF-8 and an overlong encoding.
        #expect(Self.agree(Array(text.utf8) + [0x20]) == (false, false))
        var invalid = Array(text.utf8)
        invalid.replaceSubrange(invalid.firstRange(of: Array(#""path":"a""#.utf8))!, with: Array(#""path":""#.utf8) + [0xC0, 0xAF, 0x22])
        #expect(Self.agree(invalid) == (false, false))
        // A surrogate encoded in UTF-8 (ED A0 80), a scalar beyond U+10FFFF (F4 90 80 80), a lone
        // continuation byte and a truncated sequence: invalid UTF-8 both ways.
        for sequence: [UInt8] in [[0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0x80], [0xE6, 0x96]] {
            var bytes = Array(text.utf8)
            bytes.replaceSubrange(bytes.firstRange(of: Array(#""path":"a""#.utf8))!, with: Array(#""path":"a"#.utf8) + sequence + [0x22])
            #expect(Self.agree(bytes) == (false, false), "\(sequence)")
        }
        // Valid multi-byte names are read by the layout decoder, byte for byte.
        var cjk = Array(text.utf8)
        cjk.replaceSubrange(cjk.firstRange(of: Array(#""path":"a""#.utf8))!, with: Array("\"path\":\"调查/e\u{301}\"".utf8))
        #expect(Self.agree(cjk) == (true, true))
        #expect(PrivateManifest.decodeLayout(cjk)?.files.first.map { Array($0.path.utf8) } == Array("调查/e\u{301}".utf8))
    }
}
