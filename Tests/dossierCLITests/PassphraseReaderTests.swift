import Foundation
import Testing
@testable import dossier
import DossierKit

/// The CLI reads passphrases as bytes (never as a `String`, which cannot be wiped), and
/// must still mean by them what it meant when it read them into strings.
@Suite("dossier CLI: reading passphrases")
struct PassphraseReaderTests {
    /// The bytes a passphrase had when the reader returned `String(decoding:as:)` of them.
    static func asBefore(_ bytes: [UInt8]) -> [UInt8] { Array(String(decoding: bytes, as: UTF8.self).utf8) }

    @Test("bytes that are not UTF-8 become U+FFFD exactly as in a String: fixed cases and 20,000 random lines")
    func repairMatchesString() throws {
        var cases: [[UInt8]] = [
            [], Array("plain ascii".utf8), Array("Grüße ✓ 😀".utf8),
            [0xFF], [0x70, 0xFF, 0xE9, 0x77],           // Latin-1
            [0xE2, 0x82, 0x41], [0xE2, 0x82],             // truncated, inside and at the end
            [0xED, 0xA0, 0x80], [0xC0, 0x80], [0xC1, 0xBF], // surrogate, overlongs
            [0xF4, 0x90, 0x80, 0x80], [0xF0, 0x9F, 0x98],  // beyond U+10FFFF, truncated 4-byte
            [0xF8, 0x88, 0x80, 0x80, 0x80], [0xFC, 0x84, 0x80, 0x80, 0x80, 0x80], [0x80, 0xBF],
        ]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            // Mostly high bytes, so that broken sequences of every shape occur.
            let count = Int.random(in: 0...12, using: &generator)
            cases.append((0..<count).map { _ in
                Bool.random(using: &generator) ? UInt8.random(in: 0x80...0xFF, using: &generator) : UInt8.random(in: 0...0xFF, using: &generator)
            })
        }
        var differing: [[UInt8]] = [], unwiped = 0
        for input in cases {
            var bytes = input
            let passphrase = PassphraseReader.passphrase(&bytes)
            if !bytes.allSatisfy({ $0 == 0 }) { unwiped += 1 }
            if passphrase.secret.withUnsafeBytes({ Array($0) }) != Self.asBefore(input) { differing.append(input) }
        }
        #expect(differing.isEmpty, "\(differing.count) inputs differ, e.g. \(differing.prefix(5))")
        #expect(unwiped == 0, "input buffers left unwiped")
    }

    @Test("lines: LF ends a line (a CR before it stays, as before); a CR is dropped at the end of the input; long lines are read whole")
    func lines() throws {
        func read(_ input: [UInt8]) throws -> [[UInt8]?] {
            var fds: [Int32] = [0, 0]
            try #require(pipe(&fds) == 0)
            let written = input.withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) }
            try #require(written == input.count)
            close(fds[1])
            defer { close(fds[0]) }
            var lines: [[UInt8]?] = []
            while let line = try PassphraseReader.readLine(fd: fds[0]) {
                lines.append(line.secret.withUnsafeBytes { Array($0) })
            }
            return lines
        }
        #expect(try read(Array("one\ntwo\r\nthree\r".utf8)) == [Array("one".utf8), Array("two\r".utf8), Array("three".utf8)])
        #expect(try read(Array("\n\n".utf8)) == [[], []])
        #expect(try read([]) == [])
        // Beyond the 4 KiB reserved at first: the buffer grows by copying and wiping.
        let long = (0..<10_000).map { UInt8(0x61 + $0 % 26) }
        #expect(try read(long + [0x0a] + Array("next".utf8)) == [long, Array("next".utf8)])
    }
}

/// Review of session 15: `--json` wrote C1 controls (CSI U+009B, which some terminals act
/// on in UTF-8), line separators and bidirectional controls from a dossier as they were.
@Suite("--json output and the terminal")
struct JSONOutputTests {
    @Test("characters a terminal acts on are written as \\u escapes; the JSON means the same")
    func terminalCharactersEscaped() throws {
        let text = "a\u{9B}31m\u{85}b\u{2028}c\u{2029}d\u{202E}e\u{2066}f\u{200F}g\u{61C}h é 名"
        let bytes = Console.jsonBytes(.object(["v": .string(text)]))
        let output = String(decoding: bytes, as: UTF8.self)
        for escape in ["\\u009b", "\\u0085", "\\u2028", "\\u2029", "\\u202e", "\\u2066", "\\u200f", "\\u061c"] {
            #expect(output.contains(escape), "\(escape) in \(output)")
        }
        #expect(!output.unicodeScalars.contains { (0x80...0x9F).contains($0.value) || $0.value == 0x2028 || $0.value == 0x202E })
        let parsed = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: String]
        #expect(parsed?["v"] == text)
        // Plain text is left byte for byte.
        #expect(Console.jsonBytes(.object(["v": .string("é 名 plain")])) == JSONValue.object(["v": .string("é 名 plain")]).canonicalBytes())
    }
}
