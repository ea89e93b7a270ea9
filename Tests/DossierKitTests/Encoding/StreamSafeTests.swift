import Foundation
import Testing
@testable import DossierKit

/// Review of session 15: Swift normalises a String to hash or compare it, and reordering a
/// long run of combining marks of mixed classes costs quadratic time — a public manifest
/// key of "a" + 40,000 × (U+0301 U+0316) stalled `inspect` for 15 s (240,000: > 5 min),
/// before any signature was checked. Strings in our JSON must be Unicode stream-safe
/// (UAX #15: at most 30 non-starters in a row), which bounds that work.
@Suite("JSON strings are Unicode stream-safe")
struct StreamSafeTests {
    static func json(key: String = "k", value: String = "v") -> [UInt8] {
        var bytes: [UInt8] = Array("{".utf8)
        JSONValue.appendCanonical(key, to: &bytes)
        bytes += Array(":".utf8)
        JSONValue.appendCanonical(value, to: &bytes)
        return bytes + Array("}".utf8)
    }

    static func parse(_ bytes: [UInt8], canonical: Bool) throws(JSONError) -> JSONValue {
        if canonical { return try JSONValue.parseCanonical(bytes) }
        return try JSONValue.parse(bytes)
    }

    static let marks = ["\u{301}", "\u{316}"]
    static func run(_ count: Int) -> String { (0..<count).map { marks[$0 % 2] }.joined() }

    @Test("30 combining marks in a row are fine; 31 are refused, in a key or a value, canonical or not, also as \\u escapes")
    func thirtyNonStarters() throws {
        for canonical in [true, false] {
            _ = try Self.parse(Self.json(key: "a" + Self.run(30)), canonical: canonical)
            _ = try Self.parse(Self.json(value: "a" + Self.run(30) + "b" + Self.run(30)), canonical: canonical)
            for bytes in [Self.json(key: "a" + Self.run(31)), Self.json(value: "a" + Self.run(31)),
                          Array(#"{"k":"a\#(String(repeating: #"\u0301"#, count: 31))"}"#.utf8)] {
                do {
                    _ = try Self.parse(bytes, canonical: canonical)
                    Issue.record("accepted 31 non-starters")
                } catch {
                    // The canonical parser refuses the \u escapes themselves (not canonical) first.
                    #expect(error.description.contains("stream-safe") || (canonical && bytes.contains(UInt8(ascii: "\\"))), "\(error)")
                }
            }
        }
    }

    @Test("a character whose decomposition starts with two non-starters counts for two (U+0F73, U+0344)")
    func decomposingNonStarters() throws {
        _ = try JSONValue.parseCanonical(Self.json(value: "a" + String(repeating: "\u{F73}", count: 15)))
        #expect(throws: JSONError.self) { try JSONValue.parseCanonical(Self.json(value: "a" + String(repeating: "\u{F73}", count: 16))) }
        #expect(throws: JSONError.self) { try JSONValue.parseCanonical(Self.json(value: "a" + String(repeating: "\u{344}", count: 16))) }
    }

    @Test("the hostile key of the review is refused at once")
    func hostileKeyFast() throws {
        let started = Date()
        #expect(throws: JSONError.self) { try JSONValue.parseCanonical(Self.json(key: "a" + Self.run(80_000))) }
        #expect(Date().timeIntervalSince(started) < 2)
    }

    @Test("a public manifest's unknown field is quoted by its first 64 characters")
    func unknownFieldQuotedShort() throws {
        let key = String(repeating: "x", count: 100_000)
        var bytes = Array(#"{"dossierId":"d","format":"dossier/1","#.utf8)
        JSONValue.appendCanonical(key, to: &bytes)
        bytes += Array(#":1}"#.utf8)
        // Keys in canonical order: "dossierId" < "format" < "xxx…".
        do {
            _ = try DossierManifest(canonical: bytes)
            Issue.record("accepted")
        } catch {
            #expect(error.reason.contains("unknown field") && error.reason.utf8.count < 400, "\(error.reason.prefix(200))")
        }
    }
}

@Suite("the private manifest's fast path accepts only what the full parser accepts")
struct PrivateManifestFastPathTests {
    @Test("a path of 31 combining marks in a row is refused on the fast path too (it passed verify -i and open)")
    func streamSafePaths() throws {
        func manifest(_ path: String) -> [UInt8] {
            PrivateManifest(dossierID: "CC-1", files: [.init(path: path, size: 1, sha256: String(repeating: "ab", count: 32),
                                                             mediaType: "text/plain", mode: 0o644, mtime: 0)],
                            directories: []).canonicalBytes()
        }
        let fine = manifest("x" + StreamSafeTests.run(30))
        #expect(PrivateManifest.decodeLayout(fine) != nil)
        let hostile = manifest("x" + StreamSafeTests.run(31))
        #expect(PrivateManifest.decodeLayout(hostile) == nil, "the fast path accepted 31 non-starters")
        #expect(throws: DossierError.self) { try PrivateManifest(canonical: hostile) }
    }

    @Test("modes are what a sealer writes: files 420 or 493, folders 493 (any mode up to 0777 was read), on both paths")
    func modes() throws {
        func manifest(file: UInt32, folder: UInt32) -> [UInt8] {
            PrivateManifest(dossierID: "CC-1", files: [.init(path: "d/a", size: 1, sha256: String(repeating: "ab", count: 32),
                                                             mediaType: "text/plain", mode: file, mtime: -5)],
                            directories: [.init(path: "d", mode: folder, mtime: 0)]).canonicalBytes()
        }
        for (file, folder) in [(0o644, 0o755), (0o755, 0o755)] as [(UInt32, UInt32)] {
            #expect(PrivateManifest.decodeLayout(manifest(file: file, folder: folder)) != nil)
            #expect(throws: Never.self) { try PrivateManifest(general: manifest(file: file, folder: folder)) }
        }
        for (file, folder) in [(0o600, 0o755), (0o777, 0o755), (0o000, 0o755), (0o644, 0o700), (0o644, 0o644)] as [(UInt32, UInt32)] {
            let bytes = manifest(file: file, folder: folder)
            #expect(PrivateManifest.decodeLayout(bytes) == nil, "file \(String(file, radix: 8)), folder \(String(folder, radix: 8))")
            #expect(throws: DossierError.self) { try PrivateManifest(general: bytes) }
        }
    }
}
