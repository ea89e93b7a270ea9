import Foundation
import Testing
@testable import DossierKit

@Suite("age: encryption, decryption, keys, re-wrapping, bad input")
struct AgeTests {
    static let sizes = [0, 1, 1000, AgeStream.chunkSize - 1, AgeStream.chunkSize, AgeStream.chunkSize + 1,
                        2 * AgeStream.chunkSize, 2 * AgeStream.chunkSize + 17,
                        16 * AgeStream.chunkSize, 16 * AgeStream.chunkSize + 1, 33 * AgeStream.chunkSize - 5]

    static func pattern(_ count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 8) }
    }

    @Test("round trip at chunk boundaries, binary and armored; ciphertext size follows the format", arguments: sizes)
    func roundTrip(size: Int) throws {
        let key = try AgeX25519.generate()
        let plaintext = Self.pattern(size)
        for armored in [false, true] {
            let ciphertext = try Age.encrypt(plaintext, to: [AgeRecipient(key.recipient)], armored: armored)
            #expect(try Age.decrypt(ciphertext, with: [key.identity]) == plaintext)
            if !armored {
                let chunks = max(1, (size + AgeStream.chunkSize - 1) / AgeStream.chunkSize)
                let headerLength = try AgeHeader.parse(from: BufferedReader(MemorySource(ciphertext))).encoded.count
                #expect(ciphertext.count == headerLength + 16 + size + 16 * chunks)
            } else {
                let text = String(decoding: ciphertext, as: UTF8.self)
                #expect(text.hasPrefix("-----BEGIN AGE ENCRYPTED FILE-----\n"))
                #expect(text.hasSuffix("-----END AGE ENCRYPTED FILE-----\n"))
                #expect(text.split(separator: "\n").allSatisfy { $0.count <= 64 || $0.hasPrefix("-----") })
            }
        }
    }

    @Test("several recipients: each identity alone decrypts; a stranger gets no match")
    func multipleRecipients() throws {
        let keys = try (0..<3).map { _ in try AgeX25519.generate() }
        let ciphertext = try Age.encrypt(Array("case file".utf8), to: keys.map { try AgeRecipient($0.recipient) })
        for key in keys { #expect(try Age.decrypt(ciphertext, with: [key.identity]) == Array("case file".utf8)) }
        do {
            _ = try Age.decrypt(ciphertext, with: [try AgeX25519.generate().identity])
            Issue.record("a stranger decrypted")
        } catch {
            #expect(error.kind == .noMatch)
        }
    }

    @Test("passphrase round trip; wrong passphrase is no match; over-limit work factor is refused before any work")
    func passphrase() throws {
        let ciphertext = try Age.encrypt(Array("secret".utf8), to: [AgeRecipient.passphrase("correct horse", workFactor: 10)])
        #expect(try Age.decrypt(ciphertext, with: [AgeIdentity.passphrase("correct horse")]) == Array("secret".utf8))
        #expect(throws: AgeError(.noMatch, "none of the 1 identity matches any of the 1 recipient stanza")) {
            try Age.decrypt(ciphertext, with: [AgeIdentity.passphrase("wrong")])
        }
        let expensive = try Age.encrypt(Array("x".utf8), to: [AgeRecipient.passphrase("pw", workFactor: 12)])
        do {
            _ = try Age.decrypt(expensive, with: [AgeIdentity.passphrase("pw", maxWorkFactor: 11)])
            Issue.record("work factor above the maximum accepted")
        } catch {
            #expect(error.kind == .header)
            #expect(error.reason.contains("exceeds the allowed maximum of 11"))
        }
    }

    @Test("scrypt work factors: above 22 refused by default before any work, above 30 a malformed header, 31 no valid maximum (FORMAT §1.2)")
    func workFactorLimits() throws {
        let sealed = try Age.encrypt(Array("x".utf8), to: [AgeRecipient.passphrase("pw", workFactor: 10)])
        func claiming(_ factor: String) -> [UInt8] {
            let text = String(decoding: sealed, as: UTF8.self)
            let line = text.split(separator: "\n")[1]
            return Array(text.replacingOccurrences(of: String(line), with: line.dropLast(2) + factor).utf8)
        }
        let started = Date()
        for (factor, says) in [("23", "exceeds the allowed maximum of 22"), ("30", "exceeds the allowed maximum of 22")] {
            do {
                _ = try Age.decrypt(claiming(factor), with: [AgeIdentity.passphrase("pw")])
                Issue.record("work factor \(factor) accepted")
            } catch {
                #expect(error.kind == .header && error.reason.contains(says), "\(factor): \(error)")
            }
        }
        #expect(Date().timeIntervalSince(started) < 2, "no scrypt work was done")
        #expect(throws: AgeError.self) { try Age.decrypt(claiming("31"), with: [AgeIdentity.passphrase("pw", maxWorkFactor: 30)]) }
        #expect(throws: AgeError.self) { try AgeIdentity.passphrase("pw", maxWorkFactor: 31) }
        #expect(throws: AgeError.self) { try AgeIdentity.passphrase("pw", maxWorkFactor: 0) }
    }

    @Test("stanza bodies: a line of more than 64 columns, and a line after the short last one, are header failures (FORMAT §1.3)")
    func bodyLines() throws {
        let key = try AgeX25519.generate()
        let sealed = try Age.encrypt(Array("x".utf8), to: [AgeRecipient(key.recipient)])
        let text = String(decoding: sealed, as: UTF8.self)
        let lines = text.split(separator: "\n", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
        let body = lines[2]
        #expect(body.count == 43, "an X25519 body is one short line")
        let long = [lines[0], lines[1], body + String(repeating: "A", count: 22), lines[3]].joined(separator: "\n")
        let after = [lines[0], lines[1], body, "AAAA", lines[3]].joined(separator: "\n")
        for (name, bytes) in [("long", long), ("after", after)] {
            do {
                _ = try Age.decrypt(Array(bytes.utf8), with: [key.identity])
                Issue.record("\(name) accepted")
            } catch {
                #expect(error.kind == .header, "\(name): \(error)")
            }
        }
    }

    @Test("armor (FORMAT §1.4): whitespace around it and CRLF are fine; a missing END line, text before BEGIN, unpadded or over-long lines are armor failures")
    func armorRules() throws {
        let key = try AgeX25519.generate()
        let plaintext = [UInt8].random(count: 200)
        let armored = String(decoding: try Age.encrypt(plaintext, to: [AgeRecipient(key.recipient)], armored: true), as: UTF8.self)
        let lines = armored.split(separator: "\n").map(String.init)
        #expect(lines.first == "-----BEGIN AGE ENCRYPTED FILE-----" && lines.last == "-----END AGE ENCRYPTED FILE-----")
        let fine = ["\n \t" + armored + "\n\n  ", lines.joined(separator: "\r\n") + "\r\n"]
        for text in fine { #expect(try Age.decrypt(Array(text.utf8), with: [key.identity]) == plaintext) }
        let body = Array(lines.dropFirst().dropLast())
        let last = try #require(body.last)
        #expect(last.hasSuffix("="), "this size ends with padding")
        let broken: [(String, String)] = [
            ("no END line", lines.dropLast().joined(separator: "\n") + "\n"),
            ("text before BEGIN, after whitespace", "\nSubject: case file\n" + armored),
            ("text after END", armored + "more\n"),
            ("no padding", ([lines[0]] + body.dropLast() + [String(last.drop { _ in false }.filter { $0 != "=" })] + [lines.last!]).joined(separator: "\n") + "\n"),
            ("a line of 65 columns", ([lines[0], body[0] + String(body[1].prefix(1))] + [String(body[1].dropFirst())] + body.dropFirst(2) + [lines.last!]).joined(separator: "\n") + "\n"),
            ("whitespace inside", ([lines[0], " " + body[0]] + body.dropFirst() + [lines.last!]).joined(separator: "\n") + "\n"),
        ]
        for (name, text) in broken {
            do {
                _ = try Age.decrypt(Array(text.utf8), with: [key.identity])
                Issue.record("\(name) accepted")
            } catch {
                #expect(error.kind == .armor, "\(name): \(error)")
            }
        }
        // Text first (no whitespace, no dash): not armor at all, so binary age — whose first
        // line it is not.
        #expect(throws: AgeError(.header, "not an age file: the first line is not \"age-encryption.org/v1\"")) {
            try Age.decrypt(Array(("Subject: case file\n" + armored).utf8), with: [key.identity])
        }
    }

    @Test("a passphrase recipient cannot be combined with others; bad parameters are errors")
    func passphraseMustBeAlone() throws {
        let key = try AgeX25519.generate()
        #expect(throws: AgeError.self) {
            try Age.encrypt([1], to: [AgeRecipient.passphrase("pw", workFactor: 10), AgeRecipient(key.recipient)])
        }
        #expect(throws: AgeError.self) { try AgeRecipient.passphrase("pw", workFactor: 0) }
        #expect(throws: AgeError.self) { try AgeRecipient.passphrase("pw", workFactor: 31) }
        #expect(throws: AgeError.self) { try AgeRecipient.passphrase("", workFactor: 10) }
        #expect(throws: AgeError.self) { try Age.encrypt([1], to: []) }
    }

    @Test("streaming writer and reader in small pieces equal the one-shot functions")
    func streaming() throws {
        let key = try AgeX25519.generate()
        let plaintext = Self.pattern(3 * AgeStream.chunkSize + 5)
        let sink = MemorySink()
        let writer = try AgeEncryptingWriter(to: sink, recipients: [AgeRecipient(key.recipient)])
        var offset = 0
        var step = 1
        while offset < plaintext.count {
            let n = min(step, plaintext.count - offset)
            try plaintext[offset..<(offset + n)].withUnsafeBytes { try writer.write($0) }
            offset += n
            step = step * 3 + 1
        }
        try writer.finish()
        let reader = try AgeDecryptingReader(from: MemorySource(sink.bytes), identities: [key.identity])
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 999)
        while true {
            let n = try buffer.withUnsafeMutableBytes { try reader.read(into: $0) }
            if n == 0 { break }
            out += buffer[0..<n]
        }
        #expect(out == plaintext)
    }

    /// The STREAM body chunk by chunk with the primitive, as the format defines it.
    static func referenceBody(_ plaintext: [UInt8], payloadKey: SecureBytes) throws -> [UInt8] {
        let aead = try AEADKey(.chaCha20Poly1305, key: payloadKey)
        let chunks = max(1, (plaintext.count + AgeStream.chunkSize - 1) / AgeStream.chunkSize)
        var body: [UInt8] = []
        for i in 0..<chunks {
            let start = i * AgeStream.chunkSize
            let piece = Array(plaintext[start..<min(start + AgeStream.chunkSize, plaintext.count)])
            var out = [UInt8](repeating: 0, count: piece.count + AgeStream.tagSize)
            try withBytes(piece) { (p) throws(AgeError) in
                try withMutableBytes(&out) { (o) throws(AgeError) in
                    try AgeStream.encryptChunk(aead, index: UInt64(i), last: i == chunks - 1, plaintext: p, into: o)
                }
            }
            body += out
        }
        return body
    }

    @Test("the STREAM body is the same however the plaintext is split into writes (whole batches are encrypted from the caller's bytes)",
          arguments: [0, 1, AgeStream.chunkSize, AgeStream.chunkSize + 1, 16 * AgeStream.chunkSize, 16 * AgeStream.chunkSize + 1,
                      17 * AgeStream.chunkSize, 48 * AgeStream.chunkSize + 5])
    func writePatterns(size: Int) throws {
        let payloadKey = try AgeStream.payloadKey(fileKey: try SecureRandom.secretBytes(16), nonce: try SecureRandom.bytes(16))
        let plaintext = Self.pattern(size)
        let expected = try Self.referenceBody(plaintext, payloadKey: payloadKey)
        let chunk = AgeStream.chunkSize, batch = 16 * AgeStream.chunkSize
        var generator = SystemRandomNumberGenerator()
        let random = (0..<200).map { _ in Int.random(in: 1...(3 * chunk), using: &generator) }
        let patterns: [(String, [Int])] = [
            ("one write", [size]), ("1 MiB blocks", [batch]), ("1 MiB + 1", [batch + 1]), ("1 MiB − 1", [batch - 1]),
            ("chunks", [chunk]), ("chunk − 1", [chunk - 1]), ("chunk + 1", [chunk + 1]), ("1 byte, then 1 MiB", [1, batch]),
            ("2 MiB + 3", [2 * batch + 3]), ("random", random),
        ]
        for (name, steps) in patterns {
            let sink = MemorySink()
            let encryptor = try AgeStreamEncryptor(payloadKey: payloadKey, sink: sink)
            var offset = 0, step = 0
            while offset < size {
                let n = min(max(1, steps[step % steps.count]), size - offset)
                try withBytes(plaintext) { (raw) throws(AgeError) in
                    try encryptor.write(UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + n)]))
                }
                offset += n
                step += 1
            }
            try encryptor.finish()
            // Compared outside #expect: its diff of two megabyte arrays takes minutes.
            let written = sink.bytes
            let firstDifference = written.indices.first { $0 >= expected.count || written[$0] != expected[$0] } ?? (written.count == expected.count ? nil : written.count)
            #expect(firstDifference == nil, "\(name), \(size) bytes: \(sink.bytes.count) written, \(expected.count) expected")
        }
    }

    @Test("any chunk decrypts on its own with the payload key; the last-chunk flag and index are bound")
    func independentChunks() throws {
        let fileKey = try SecureRandom.secretBytes(16)
        let nonce = try SecureRandom.bytes(16)
        let payloadKey = try AgeStream.payloadKey(fileKey: fileKey, nonce: nonce)
        let plaintext = Self.pattern(4 * AgeStream.chunkSize + 100)
        let sink = MemorySink()
        let encryptor = try AgeStreamEncryptor(payloadKey: payloadKey, sink: sink)
        try withBytes(plaintext) { (raw) throws(AgeError) in try encryptor.write(raw) }
        try encryptor.finish()
        let body = sink.bytes
        let aead = try AEADKey(.chaCha20Poly1305, key: payloadKey)
        func decrypt(_ index: Int, last: Bool, as claimed: Int? = nil) throws(AgeError) -> [UInt8] {
            let start = index * AgeStream.encryptedChunkSize
            let end = min(start + AgeStream.encryptedChunkSize, body.count)
            var out = [UInt8](repeating: 0, count: end - start - 16)
            let slice = Array(body[start..<end])
            try withBytes(slice) { (c) throws(AgeError) in
                try withMutableBytes(&out) { (o) throws(AgeError) in
                    try AgeStream.decryptChunk(aead, index: UInt64(claimed ?? index), last: last, ciphertext: c, into: o)
                }
            }
            return out
        }
        // Out of order: chunk 3, then 0, then the last (4).
        #expect(try decrypt(3, last: false) == Array(plaintext[(3 * 65536)..<(4 * 65536)]))
        #expect(try decrypt(0, last: false) == Array(plaintext[0..<65536]))
        #expect(try decrypt(4, last: true) == Array(plaintext[(4 * 65536)...]))
        #expect(throws: AgeError.self) { try decrypt(4, last: false) }
        #expect(throws: AgeError.self) { try decrypt(2, last: true) }
        #expect(throws: AgeError.self) { try decrypt(2, last: false, as: 1) }
    }

    @Test("re-wrapping changes only the header: the body stays byte for byte, new recipients decrypt, old ones do not")
    func rewrap() throws {
        let old = try AgeX25519.generate(), new1 = try AgeX25519.generate(), new2 = try AgeX25519.generate()
        let plaintext = Self.pattern(150_000)
        let original = try Age.encrypt(plaintext, to: [AgeRecipient(old.recipient)])
        let sink = MemorySink()
        try Age.rewrap(from: MemorySource(original), to: sink, identities: [old.identity],
                       recipients: [AgeRecipient(new1.recipient), AgeRecipient(new2.recipient)])
        let rewrapped = sink.bytes
        let oldHeader = try AgeHeader.parse(from: BufferedReader(MemorySource(original))).encoded.count
        let newHeader = try AgeHeader.parse(from: BufferedReader(MemorySource(rewrapped))).encoded.count
        #expect(Array(original[oldHeader...]) == Array(rewrapped[newHeader...]))
        #expect(try Age.decrypt(rewrapped, with: [new1.identity]) == plaintext)
        #expect(try Age.decrypt(rewrapped, with: [new2.identity]) == plaintext)
        #expect(throws: AgeError.self) { try Age.decrypt(rewrapped, with: [old.identity]) }
        // Without a matching identity nothing is written.
        let refused = MemorySink()
        #expect(throws: AgeError.self) {
            try Age.rewrap(from: MemorySource(original), to: refused, identities: [new1.identity], recipients: [AgeRecipient(new2.recipient)])
        }
        #expect(refused.bytes.isEmpty)
    }

    @Test("read(into:) decrypts whole chunks in place: the same plaintext for every buffer size, and a chunk that fails leaves nothing of itself in the buffer")
    func readInPlace() throws {
        let key = try AgeX25519.generate()
        let plaintext = Self.pattern(5 * AgeStream.chunkSize + 123)
        let good = try Age.encrypt(plaintext, to: [AgeRecipient(key.recipient)])
        // Buffer sizes below, at and above a chunk, and alternating ones that leave a chunk half read.
        for sizes in [[AgeStream.chunkSize], [AgeStream.chunkSize + 1], [1 << 20], [999], [100, 70_000], [AgeStream.chunkSize - 1, 3]] {
            let reader = try AgeDecryptingReader(from: MemorySource(good), identities: [key.identity])
            var out: [UInt8] = [], turn = 0
            while true {
                var buffer = [UInt8](repeating: 0, count: sizes[turn % sizes.count])
                turn += 1
                let n = try buffer.withUnsafeMutableBytes { try reader.read(into: $0) }
                if n == 0 { break }
                out += buffer[0..<n]
            }
            #expect(out == plaintext, "buffer sizes \(sizes)")
        }
        // The second chunk modified: read as the opening's prefetcher reads, into one 1 MiB block.
        let headerLength = try AgeHeader.parse(from: BufferedReader(MemorySource(good))).encoded.count
        var bad = good
        bad[headerLength + 16 + AgeStream.encryptedChunkSize + 7] ^= 0x10
        let reader = try AgeDecryptingReader(from: MemorySource(bad), identities: [key.identity])
        var block = [UInt8](repeating: 0xEE, count: 1 << 20)
        var filled = 0
        var failure: (any Error)?
        block.withUnsafeMutableBytes { raw in
            do {
                while true {
                    let n = try reader.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[filled...]))
                    if n == 0 { break }
                    filled += n
                }
            } catch { failure = error }
        }
        #expect((failure as? AgeError)?.kind == .payload, "\(String(describing: failure))")
        #expect(filled == AgeStream.chunkSize && Array(block[0..<filled]) == Array(plaintext[0..<filled]))
        let second = block[AgeStream.chunkSize..<(2 * AgeStream.chunkSize)]
        #expect(second.allSatisfy { $0 == 0 }, "the chunk that failed to authenticate was left in the buffer")
        #expect(block[(2 * AgeStream.chunkSize)...].allSatisfy { $0 == 0xEE })
    }

    @Test("modified, truncated and extended files fail with the right kind and release nothing unauthenticated")
    func tampering() throws {
        let key = try AgeX25519.generate()
        let plaintext = Self.pattern(2 * AgeStream.chunkSize + 10)
        let good = try Age.encrypt(plaintext, to: [AgeRecipient(key.recipient)])
        let headerLength = try AgeHeader.parse(from: BufferedReader(MemorySource(good))).encoded.count
        func outcome(_ bytes: [UInt8]) -> (AgeError.Kind?, Int) {
            var released = 0
            do {
                let reader = try AgeDecryptingReader(from: MemorySource(bytes), identities: [key.identity])
                while let chunk = try reader.nextChunk() { released += chunk.count }
                return (nil, released)
            } catch {
                return (error.kind, released)
            }
        }
        // Flip a bit in the MAC, in the stanza body, in the nonce, in each chunk.
        // The MAC's 40th base64 digit carries 6 bits of the MAC (no padding bits): the line
        // stays canonical, so the only right answer is an HMAC failure.
        var mac = good
        mac[headerLength - 5] = mac[headerLength - 5] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        #expect(outcome(mac) == (.hmac, 0))
        // The stanza body (the wrapped file key), third line of the header: the identity's
        // unwrap fails, so no identity matches; nothing is released.
        let lineStarts = [0] + good.prefix(headerLength).indices.filter { good[$0] == 0x0A }.map { $0 + 1 }
        var body = good
        let at = lineStarts[2] + 10
        body[at] = body[at] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        #expect(outcome(body) == (.noMatch, 0))
        var nonce = good; nonce[headerLength + 3] ^= 1
        #expect(outcome(nonce) == (.payload, 0))
        var first = good; first[headerLength + 16 + 100] ^= 1
        #expect(outcome(first) == (.payload, 0))
        var second = good; second[headerLength + 16 + AgeStream.encryptedChunkSize + 5] ^= 0x80
        #expect(outcome(second) == (.payload, AgeStream.chunkSize))
        var tag = good; tag[good.count - 1] ^= 1
        #expect(outcome(tag) == (.payload, 2 * AgeStream.chunkSize))
        // The error names the chunk, and calls it the last only when it is (a full-size
        // chunk in the middle was reported as "chunk 1 (last)").
        func reason(_ bytes: [UInt8]) -> String {
            do {
                let reader = try AgeDecryptingReader(from: MemorySource(bytes), identities: [key.identity])
                while try reader.nextChunk() != nil {}
                return "no error"
            } catch { return error.reason }
        }
        #expect(reason(first).hasPrefix("chunk 0 does not authenticate"), "\(reason(first))")
        #expect(reason(second).hasPrefix("chunk 1 does not authenticate"), "\(reason(second))")
        #expect(reason(tag).hasPrefix("chunk 2 (last) does not authenticate"), "\(reason(tag))")
        // A full-size last chunk, modified: it is the last one.
        let full = try Age.encrypt(Self.pattern(2 * AgeStream.chunkSize), to: [AgeRecipient(key.recipient)])
        var fullLast = full; fullLast[full.count - 1] ^= 1
        #expect(reason(fullLast).hasPrefix("chunk 1 (last) does not authenticate"), "\(reason(fullLast))")
        // Truncation at a chunk boundary and in the middle; an appended byte.
        #expect(outcome(Array(good.prefix(headerLength + 16 + AgeStream.encryptedChunkSize))).0 == .payload)
        #expect(outcome(Array(good.dropLast(3))).0 == .payload)
        #expect(outcome(good + [0]).0 == .payload)
        #expect(outcome(Array(good.prefix(headerLength + 7))).0 == .header)
        #expect(outcome(Array(good.prefix(20))).0 == .header)
        #expect(outcome([]).0 == .header)
        #expect(outcome(good).0 == nil && outcome(good).1 == plaintext.count)
    }

    @Test("key strings: parse, print, reject malformed; errors never echo secrets")
    func keys() throws {
        let key = try AgeX25519.generate()
        #expect(key.recipient.hasPrefix("age1") && key.recipient.count == 62)
        let secretLine = try #require(key.identityFile.split(separator: "\n").last)
        #expect(secretLine.hasPrefix("AGE-SECRET-KEY-1") && secretLine.count == 74)
        let parsed = try AgeIdentity(String(secretLine))
        #expect(parsed.recipient?.description == key.recipient)
        #expect(!"\(parsed)".contains("AGE-SECRET-KEY"))
        #expect(throws: AgeError.self) { try AgeRecipient("age1qqqqqq") }
        #expect(throws: AgeError.self) { try AgeRecipient(String(secretLine)) }
        var broken = Array(secretLine.utf8)
        broken[30] = broken[30] == UInt8(ascii: "Q") ? UInt8(ascii: "P") : UInt8(ascii: "Q")
        do {
            _ = try AgeIdentity(String(decoding: broken, as: UTF8.self))
            Issue.record("a corrupted identity parsed")
        } catch {
            #expect(error.kind == .invalidKey)
            #expect(!error.description.contains(String(secretLine.dropFirst(16).prefix(20))))
        }
    }

    @Test("an identity given as a recipient is refused without echoing it; key prefixes are case-sensitive as in age")
    func keyMixups() throws {
        let key = try AgeX25519.generate()
        let secret = String(try #require(key.identityFile.split(separator: "\n").last))
        do {
            _ = try AgeRecipient(secret)
            Issue.record("an identity was accepted as a recipient")
        } catch {
            #expect(!error.description.contains(secret.dropFirst(16).prefix(12)))
            #expect(error.reason.contains("identity"))
        }
        #expect(throws: AgeError.self) { try AgeRecipient(key.recipient.uppercased()) }
        #expect(throws: AgeError.self) { try AgeIdentity(secret.lowercased()) }
        #expect(try AgeRecipient(key.recipient).description == key.recipient)
    }

    @Test("identity files: comments, several keys, CRLF; a bad line is named by number without its content")
    func identityFiles() throws {
        let a = try AgeX25519.generate(), b = try AgeX25519.generate()
        let text = "# two keys\r\n" + a.identityFile + "\n  \n" + b.identityFile.replacingOccurrences(of: "\n", with: "\r\n")
        let identities = try AgeIdentity.parseIdentityFile(text)
        #expect(identities.count == 2)
        let ciphertext = try Age.encrypt([42], to: [AgeRecipient(b.recipient)])
        #expect(try Age.decrypt(ciphertext, with: identities) == [42])
        do {
            _ = try AgeIdentity.parseIdentityFile("# c\nAGE-SECRET-KEY-1NOTAKEYATALLHIDDEN\n")
            Issue.record("bad identity file accepted")
        } catch {
            #expect(error.reason.contains("line 2"))
            #expect(!error.reason.contains("NOTAKEYATALLHIDDEN"))
        }
        #expect(throws: AgeError.self) { try AgeIdentity.parseIdentityFile("# only comments\n") }
    }

    @Test("key files are written 0600, never overwritten, and loose permissions are refused on load")
    func keyFiles() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("age-keys-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let key = try AgeX25519.generate()
        let path = dir.appendingPathComponent("key.txt").path
        try key.writeIdentityFile(toPath: path)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(throws: AgeError.self) { try AgeX25519.generate().writeIdentityFile(toPath: path) }
        #expect(try AgeIdentity.loadIdentityFile(atPath: path).count == 1)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        do {
            _ = try AgeIdentity.loadIdentityFile(atPath: path)
            Issue.record("a world-readable key file was loaded")
        } catch {
            #expect(error.reason.contains("chmod 600"))
        }
        #expect(throws: AgeError.self) { try AgeIdentity.loadIdentityFile(atPath: dir.appendingPathComponent("missing").path) }
        // A protected identity file and the wrong passphrase: said so, not "no match".
        let protected = dir.appendingPathComponent("protected.txt").path
        try key.writeIdentityFile(toPath: protected, passphrase: "right horse")
        #expect(try AgeIdentity.loadIdentityFile(atPath: protected, passphrase: { "right horse" }).count == 1)
        do {
            _ = try AgeIdentity.loadIdentityFile(atPath: protected, passphrase: { "wrong horse" })
            Issue.record("loaded with a wrong passphrase")
        } catch {
            #expect(error.kind == .invalidKey, "\(error)")
            #expect(error.reason.contains("wrong passphrase for \(protected)"), "\(error)")
        }
    }

    @Test("a Passphrase of bytes protects and opens what its string form does; it compares in constant time and never prints")
    func passphraseBytes() throws {
        let dir = try TemporaryDirectory()
        var bytes = Array("right horse ✓".utf8)
        let passphrase = Passphrase(consuming: &bytes)
        #expect(bytes.isEmpty)
        #expect(!passphrase.isEmpty)
        #expect(passphrase.matches(Passphrase("right horse ✓")))
        #expect(!passphrase.matches(Passphrase("right horse ✗")) && !passphrase.matches(Passphrase("right horse")))
        #expect("\(passphrase)" == "Passphrase(redacted)" && !"\(passphrase)".contains("horse"))
        var none: [UInt8] = []
        #expect(Passphrase(consuming: &none).isEmpty)

        // Written with bytes, read with the string, and the other way round (each scrypt at
        // work factor 18 takes about a second: one wrong passphrase per kind of file).
        let identity = try AgeX25519.generate(), key = try SigningKey.generate(name: "bytes")
        try identity.writeIdentityFile(toPath: dir.path("bytes.age"), passphrase: passphrase)
        try key.write(toPath: dir.path("bytes.sign"), passphrase: passphrase)
        try identity.writeIdentityFile(toPath: dir.path("text.age"), passphrase: "right horse ✓")
        try key.write(toPath: dir.path("text.sign"), passphrase: "right horse ✓")
        #expect(try AgeIdentity.loadIdentityFile(atPath: dir.path("bytes.age"), passphrase: { "right horse ✓" }).first?.recipient?.description == identity.recipient)
        #expect(try AgeIdentity.loadIdentityFile(atPath: dir.path("text.age"), passphrase: { passphrase }).first?.recipient?.description == identity.recipient)
        #expect(try SigningKey.load(path: dir.path("bytes.sign"), passphrase: { "right horse ✓" }).publicKey == key.publicKey)
        #expect(try SigningKey.load(path: dir.path("text.sign"), passphrase: { passphrase }).publicKey == key.publicKey)
        #expect(throws: AgeError.self) { try AgeIdentity.loadIdentityFile(atPath: dir.path("bytes.age"), passphrase: { Passphrase("right horse") }) }
        #expect(throws: DossierError.self) { try SigningKey.load(path: dir.path("text.sign"), passphrase: { Passphrase("right horse") }) }
        // The payload's recipients and identities too.
        let ciphertext = try Age.encrypt(Array("x".utf8), to: [AgeRecipient.passphrase(passphrase, workFactor: 10)])
        #expect(try Age.decrypt(ciphertext, with: [AgeIdentity.passphrase("right horse ✓")]) == Array("x".utf8))
        #expect(try Age.decrypt(try Age.encrypt(Array("y".utf8), to: [AgeRecipient.passphrase("right horse ✓", workFactor: 10)]),
                                with: [AgeIdentity.passphrase(passphrase)]) == Array("y".utf8))
        #expect(throws: AgeError.self) { try Age.decrypt(ciphertext, with: [AgeIdentity.passphrase(Passphrase("right horse"))]) }
    }
}

extension AgeTests {
    /// Fails its `failing`-th write (counting from 1) and takes every other.
    final class FlakySink: ByteSink {
        let failing: Int
        var writes = 0
        var bytes: [UInt8] = []
        init(failing: Int) { self.failing = failing }
        func write(_ bytes: UnsafeRawBufferPointer) throws {
            writes += 1
            guard writes != failing else { throw FileError(operation: "write", path: "test", code: EIO) }
            self.bytes += bytes
        }
    }

    @Test("after a failed write the writer refuses to go on, even where the sink would take more: no chunk number encrypts other bytes")
    func failureSticks() throws {
        let key = try AgeX25519.generate()
        let sink = FlakySink(failing: 2)  // the header, then the first batch
        let writer = try AgeEncryptingWriter(to: sink, recipients: [AgeRecipient(key.recipient)])
        let header = sink.bytes.count
        let data = Self.pattern(20 * AgeStream.chunkSize)
        #expect(throws: AgeError.self) { try data.withUnsafeBytes { try writer.writeChunk($0) } }
        let retried = Self.pattern(3 * AgeStream.chunkSize).map { $0 ^ 0x5A }
        #expect(throws: AgeError.self) { try retried.withUnsafeBytes { try writer.writeChunk($0) } }
        #expect(throws: AgeError.self) { try writer.finish() }
        #expect(throws: AgeError.self) { try writer.finish() }
        #expect(sink.bytes.count == header, "nothing is written after the failure")
        #expect(sink.writes == 2)
        // A failing end (the last chunk's write) is not forgotten by a second finish either.
        let ending = FlakySink(failing: 2)
        let short = try AgeEncryptingWriter(to: ending, recipients: [AgeRecipient(key.recipient)])
        try Self.pattern(1000).withUnsafeBytes { try short.writeChunk($0) }
        #expect(throws: AgeError.self) { try short.finish() }
        #expect(throws: AgeError.self) { try short.finish() }
        #expect(throws: AgeError.self) { try [UInt8](repeating: 1, count: 10).withUnsafeBytes { try short.writeChunk($0) } }
    }
}
