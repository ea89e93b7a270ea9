import CDossierZlib
import Foundation
import Testing
@testable import DossierKit

/// One CCTV age test vector (see Vectors/age/FORMAT.md).
struct AgeVector: Sendable, CustomStringConvertible {
    let name: String
    let expect: String
    let payloadHash: String?
    let fileKey: [UInt8]?
    let identities: [String]
    let passphrases: [String]
    let armored: Bool
    let input: [UInt8]
    var description: String { name }

    static let knownKeys: Set = ["expect", "payload", "file key", "identity", "passphrase", "armored", "compressed", "comment"]

    /// The folder named by AGE_TESTKIT_DIR, or the bundled copy.
    static var directory: URL {
        if let dir = ProcessInfo.processInfo.environment["AGE_TESTKIT_DIR"], !dir.isEmpty {
            return URL(fileURLWithPath: dir)
        }
        return Vectors.url("age")
    }

    static func all() throws -> [AgeVector] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { !$0.hasSuffix(".md") && !$0.hasPrefix(".") }
            .sorted()
        return try names.map { try load($0) }
    }

    static func load(_ name: String) throws -> AgeVector {
        let data = Array(try Data(contentsOf: directory.appendingPathComponent(name)))
        guard let split = data.indices.first(where: { $0 + 1 < data.count && data[$0] == 0x0a && data[$0 + 1] == 0x0a }) else {
            throw VectorError("\(name): no blank line after the metadata")
        }
        var expect = "", payload: String?, fileKey: [UInt8]?, identities: [String] = [], passphrases: [String] = []
        var armored = false, compressed = false
        for line in String(decoding: data[..<split], as: UTF8.self).split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { throw VectorError("\(name): bad metadata line \(line)") }
            let key = String(line[..<colon])
            let value = String(line[line.index(colon, offsetBy: 2)...])
            guard knownKeys.contains(key) else { throw VectorError("\(name): unknown metadata key \(key)") }
            switch key {
            case "expect": expect = value
            case "payload": payload = value
            case "file key": fileKey = [UInt8](hex: value)
            case "identity": identities.append(value)
            case "passphrase": passphrases.append(value)
            case "armored": armored = value == "yes"
            case "compressed":
                guard value == "zlib" else { throw VectorError("\(name): unknown compression \(value)") }
                compressed = true
            default: break
            }
        }
        var input = Array(data[(split + 2)...])
        if compressed { input = try inflate(input) }
        return AgeVector(name: name, expect: expect, payloadHash: payload, fileKey: fileKey,
                         identities: identities, passphrases: passphrases, armored: armored, input: input)
    }

    static func inflate(_ bytes: [UInt8]) throws -> [UInt8] {
        var capacity = 1 << 20
        while capacity <= 256 << 20 {
            var out = [UInt8](repeating: 0, count: capacity)
            var length = uLongf(capacity)
            let status = uncompress(&out, &length, bytes, uLong(bytes.count))
            if status == Z_OK { return Array(out[0..<Int(length)]) }
            guard status == Z_BUF_ERROR else { throw VectorError("zlib error \(status)") }
            capacity *= 4
        }
        throw VectorError("zlib output too large")
    }

    struct VectorError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// What our decryptor did: the outcome in the suite's words, the SHA-256 of every
    /// plaintext byte released, and the error reason if any.
    struct Outcome {
        var result: String
        var releasedHash: String
        var reason: String?
    }

    func run() throws -> Outcome {
        var parsed: [AgeIdentity] = []
        for identity in identities { parsed.append(try AgeIdentity(identity)) }
        for passphrase in passphrases { parsed.append(try AgeIdentity.passphrase(passphrase)) }
        let hash = DigestContext(.sha256)
        do {
            let reader = try AgeDecryptingReader(from: MemorySource(input), identities: parsed)
            while let chunk = try reader.nextChunk() { hash.update(chunk) }
            return Outcome(result: "success", releasedHash: hash.finalize().hex, reason: nil)
        } catch {
            return Outcome(result: error.kind.rawValue, releasedHash: hash.finalize().hex, reason: error.reason)
        }
    }
}

@Suite("age conformance: the CCTV test vectors")
struct AgeVectorTests {
    /// Post-quantum hybrid (mlkem768x25519) recipients are not built yet. These vectors
    /// expect a successful decryption that only a hybrid identity can do; we report them
    /// as "no match" naming the missing support. Every other vector must pass exactly.
    static let unsupportedHybrid: Set = ["armor_hybrid", "hybrid", "hybrid_grease", "hybrid_multiple_recipients"]
    /// Hybrid vectors that expect "no match" and get it — but because hybrid stanzas are not
    /// supported at all, not because their tag, share or key fails: listed by name so that
    /// their passing is not taken for a hybrid implementation that checks them.
    static let noMatchBecauseUnsupported: Set = ["hybrid_bad_tag", "hybrid_no_match", "hybrid_currupted_enc_mlkem"]

    static let vectors: [AgeVector] = (try? AgeVector.all()) ?? []

    @Test("the vector folder is complete and parses")
    func folder() throws {
        let all = try AgeVector.all()
        #expect(all.count == Self.vectors.count)
        if ProcessInfo.processInfo.environment["AGE_TESTKIT_DIR"] == nil {
            #expect(all.count == 96, "the bundled copy has 96 vectors")
        }
        for vector in all {
            #expect(["success", "no match", "HMAC failure", "header failure", "payload failure", "armor failure"].contains(vector.expect), "\(vector.name)")
        }
    }

    @Test("every vector gives exactly its expected outcome", arguments: vectors)
    func vector(_ vector: AgeVector) throws {
        let outcome = try vector.run()
        if Self.unsupportedHybrid.contains(vector.name) {
            #expect(vector.expect == "success", "listed as unsupported but expects \(vector.expect)")
            #expect(outcome.result == "no match", "unsupported hybrid vector: \(outcome)")
            #expect(outcome.reason?.contains("mlkem768x25519") == true)
            #expect(outcome.releasedHash == SHA256.hash([UInt8]()).hex, "nothing released")
            return
        }
        if Self.noMatchBecauseUnsupported.contains(vector.name) {
            #expect(vector.expect == "no match", "listed as no match because unsupported, but expects \(vector.expect)")
            #expect(outcome.result == "no match" && outcome.reason?.contains("mlkem768x25519") == true, "\(vector.name): \(outcome)")
            #expect(outcome.releasedHash == SHA256.hash([UInt8]()).hex, "nothing released")
            return
        }
        #expect(outcome.result == vector.expect, "\(vector.name): got \(outcome.result) (\(outcome.reason ?? "")), expected \(vector.expect)")
        if vector.expect == "success" || vector.expect == "payload failure" {
            #expect(outcome.releasedHash == vector.payloadHash, "\(vector.name): hash of released plaintext")
        } else {
            #expect(outcome.releasedHash == SHA256.hash([UInt8]()).hex, "\(vector.name): plaintext released on \(vector.expect)")
        }
    }

    @Test("the unsupported list names exactly the hybrid vectors that need a hybrid identity to succeed")
    func unsupportedListIsExact() {
        let needsHybrid = Self.vectors.filter { v in
            v.expect == "success" && v.identities.contains { $0.hasPrefix("AGE-SECRET-KEY-PQ-1") }
                && !v.input.isEmpty && (try? v.run().result) != "success"
        }.map(\.name)
        if ProcessInfo.processInfo.environment["AGE_TESTKIT_DIR"] == nil {
            #expect(Set(needsHybrid) == Self.unsupportedHybrid)
        }
    }

    @Test("headers re-encode byte for byte (every vector that is not a header failure)")
    func headerRoundTrip() throws {
        var checked = 0
        for vector in Self.vectors where vector.expect != "header failure" && vector.expect != "armor failure" {
            let reader = try AgeFile.reader(for: MemorySource(vector.input))
            let header = try AgeHeader.parse(from: reader)
            let original = try AgeFile.reader(for: MemorySource(vector.input)).peek(header.encoded.count)
            #expect(header.encoded == original, "\(vector.name)")
            checked += 1
        }
        #expect(checked > 40)
    }

    @Test("STREAM re-encryption with the vector's file key reproduces every successful payload")
    func streamRoundTrip() throws {
        var checked = 0
        for vector in Self.vectors where vector.expect == "success" && !Self.unsupportedHybrid.contains(vector.name) {
            let fileKey = SecureBytes(copying: try #require(vector.fileKey))
            let reader = try AgeFile.reader(for: MemorySource(vector.input))
            _ = try AgeHeader.parse(from: reader)
            let rest = try reader.readAll()
            let nonce = Array(rest.prefix(16))
            let payloadKey = try AgeStream.payloadKey(fileKey: fileKey, nonce: nonce)
            // Decrypt with the known file key, then encrypt again: same bytes.
            let decryptor = try AgeStreamDecryptor(payloadKey: payloadKey, reader: BufferedReader(MemorySource(Array(rest.dropFirst(16)))))
            var plaintext: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: AgeStream.chunkSize)
            while let n = try withMutableBytes(&chunk, { (raw) throws(AgeError) in try decryptor.nextChunk(into: raw) }) {
                plaintext += chunk[0..<n]
            }
            let sink = MemorySink()
            let encryptor = try AgeStreamEncryptor(payloadKey: payloadKey, sink: sink)
            try withBytes(plaintext) { (raw) throws(AgeError) in try encryptor.write(raw) }
            try encryptor.finish()
            #expect(sink.bytes == Array(rest.dropFirst(16)), "\(vector.name)")
            checked += 1
        }
        #expect(checked >= 15)
    }
}
