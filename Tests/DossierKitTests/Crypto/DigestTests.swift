import Testing
@testable import DossierKit

@Suite("Digests: SHA-256, SHA-512 (FIPS 180-4), BLAKE2b-512 (RFC 7693)")
struct DigestTests {
    @Test("SHA-256 known answers")
    func sha256() {
        #expect(SHA256.hash("abc".bytes).hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hash([UInt8]()).hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hash("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".bytes).hex
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    @Test("SHA-256 of one million 'a', streamed in uneven pieces")
    func sha256Streaming() {
        let ctx = DigestContext(.sha256)
        let block = [UInt8](repeating: UInt8(ascii: "a"), count: 999)
        var remaining = 1_000_000
        while remaining > 0 {
            let n = min(remaining, block.count)
            ctx.update(Array(block[0..<n]))
            remaining -= n
        }
        #expect(ctx.finalize().hex == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test("SHA-512 known answers")
    func sha512() {
        #expect(SHA512.hash("abc".bytes).hex
                == "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f")
        #expect(SHA512.hash([UInt8]()).hex
                == "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e")
    }

    @Test("BLAKE2b-512 RFC 7693 Appendix A")
    func blake2b() {
        #expect(BLAKE2b512.hash("abc".bytes).hex
                == "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923")
        #expect(BLAKE2b512.hash([UInt8]()).hex
                == "786a02f742015903c6c6fd852552d272912f4740e15847618a86e217f71f5419d25e1031afee585313896444934eb04b903a685b1448b755d56f701afe9be2ce")
    }

    @Test("incremental hashing equals one-shot for every algorithm", arguments: DigestAlgorithm.allCases)
    func incrementalMatchesOneShot(_ algorithm: DigestAlgorithm) {
        let message = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let ctx = DigestContext(algorithm)
        ctx.update(Array(message[0..<1]))
        ctx.update(Array(message[1..<4097]))
        ctx.update(Array(message[4097...]))
        #expect(ctx.finalize() == algorithm.hash(message))
        #expect(algorithm.hash(message).count == algorithm.byteCount)
    }

    @Test("a reset context starts afresh, after a finished and after an unfinished computation", arguments: DigestAlgorithm.allCases)
    func resetStartsAfresh(_ algorithm: DigestAlgorithm) {
        let ctx = DigestContext(algorithm)
        ctx.update("first message".bytes)
        _ = ctx.finalize()
        ctx.reset()
        ctx.update("abc".bytes)
        #expect(ctx.finalize() == algorithm.hash("abc".bytes))
        ctx.reset()
        ctx.update("left unfinished".bytes)
        ctx.reset()
        #expect(ctx.finalize() == algorithm.hash([UInt8]()))
    }
}

@Suite("HMAC-SHA-256 (RFC 4231)")
struct HMACTests {
    // RFC 4231 section 4: test cases 1-4, 6, 7 (full output) and 5 (truncated to 128 bits).
    static let cases: [(key: [UInt8], data: [UInt8], mac: String)] = [
        ([UInt8](repeating: 0x0b, count: 20), "Hi There".bytes,
         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
        ("Jefe".bytes, "what do ya want for nothing?".bytes,
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        ([UInt8](repeating: 0xaa, count: 20), [UInt8](repeating: 0xdd, count: 50),
         "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
        (Array(1...25), [UInt8](repeating: 0xcd, count: 50),
         "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
        ([UInt8](repeating: 0x0c, count: 20), "Test With Truncation".bytes,
         "a3b6167473100ee06e0c796c2955552b"),
        ([UInt8](repeating: 0xaa, count: 131), "Test Using Larger Than Block-Size Key - Hash Key First".bytes,
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
        ([UInt8](repeating: 0xaa, count: 131),
         "This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.".bytes,
         "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
    ]

    @Test("RFC 4231 test cases 1-7")
    func rfc4231() throws {
        for (index, c) in Self.cases.enumerated() {
            let mac = try HMACSHA256.authenticate(c.data, key: c.key)
            #expect(mac.hex.hasPrefix(c.mac), "RFC 4231 case \(index + 1)")
            if c.mac.count == 64 {
                #expect(try HMACSHA256.isValid([UInt8](hex: c.mac), for: c.data, key: c.key))
            }
        }
    }

    @Test("a wrong, truncated or modified tag is rejected")
    func rejectsWrongTags() throws {
        let key = "Jefe".bytes, data = "what do ya want for nothing?".bytes
        var tag = try HMACSHA256.authenticate(data, key: key)
        #expect(try !HMACSHA256.isValid(Array(tag.dropLast()), for: data, key: key))
        tag[31] ^= 1
        #expect(try !HMACSHA256.isValid(tag, for: data, key: key))
        #expect(try !HMACSHA256.isValid(try HMACSHA256.authenticate(data, key: key), for: data + [0], key: key))
    }

    @Test("constant-time comparison: equal, different, different lengths, empty")
    func constantTime() {
        #expect(constantTimeEquals([1, 2, 3] as [UInt8], [1, 2, 3] as [UInt8]))
        #expect(!constantTimeEquals([1, 2, 3] as [UInt8], [1, 2, 4] as [UInt8]))
        #expect(!constantTimeEquals([1, 2, 3] as [UInt8], [1, 2] as [UInt8]))
        #expect(constantTimeEquals([] as [UInt8], [] as [UInt8]))
    }
}
