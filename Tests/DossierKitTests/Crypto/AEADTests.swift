import Testing
@testable import DossierKit

@Suite("AEAD: ChaCha20-Poly1305 (RFC 8439) and AES-GCM, against Wycheproof")
struct AEADTests {
    struct Group: Decodable, Sendable {
        let ivSize: Int, keySize: Int, tagSize: Int
        let tests: [Case]
    }
    struct Case: Decodable, Sendable {
        let tcId: Int, comment: String, key: String, iv: String, aad: String, msg: String, ct: String, tag: String
        let result: WycheproofResult
        let flags: [String]
    }

    /// Runs every case of a Wycheproof AEAD file: valid cases must seal to the expected
    /// ciphertext and tag and open back; invalid cases must be rejected (and release nothing).
    func run(_ file: String, _ algorithm: AEADAlgorithm) throws {
        let vectors = try Vectors.decode(WycheproofFile<Group>.self, file)
        var ran = 0, valid = 0, invalid = 0
        for group in vectors.testGroups {
            for test in group.tests {
                ran += 1
                let key = [UInt8](hex: test.key), iv = [UInt8](hex: test.iv), aad = [UInt8](hex: test.aad)
                let sealed = [UInt8](hex: test.ct) + [UInt8](hex: test.tag)
                let label = Comment(rawValue: "\(file) tcId \(test.tcId) \(test.comment) \(test.flags)")
                switch test.result {
                case .valid, .acceptable:
                    valid += 1
                    let aead = try AEADKey(algorithm, key: key)
                    #expect(try aead.seal([UInt8](hex: test.msg), nonce: iv, aad: aad) == sealed, label)
                    #expect(try aead.open(sealed, nonce: iv, aad: aad) == [UInt8](hex: test.msg), label)
                case .invalid:
                    invalid += 1
                    // Each invalid case is refused for its own reason: a nonce we do not
                    // accept, or a tag that does not authenticate.
                    let expected: CryptoError.Code
                    switch Set(test.flags) {
                    case ["ModifiedTag"]: expected = .authenticationFailure
                    case ["InvalidNonceSize"], ["ZeroLengthIv"]: expected = .invalidNonce
                    default:
                        Issue.record("no expected failure for the flags of \(label)")
                        continue
                    }
                    do {
                        _ = try AEADKey(algorithm, key: key).open(sealed, nonce: iv, aad: aad)
                        Issue.record("accepted: \(label)")
                    } catch {
                        #expect(error.code == expected, "\(error) — \(label)")
                    }
                    if expected == .invalidNonce {
                        // Nor does anything get sealed under such a nonce.
                        do {
                            _ = try AEADKey(algorithm, key: key).seal([UInt8](hex: test.msg), nonce: iv, aad: aad)
                            Issue.record("sealed under a refused nonce: \(label)")
                        } catch {
                            #expect(error.code == .invalidNonce, "\(error) — \(label)")
                        }
                    }
                }
            }
        }
        #expect(ran == vectors.numberOfTests)
        #expect(valid > 0 && invalid > 0)
    }

    @Test("Wycheproof chacha20_poly1305_test.json (all 325 cases)")
    func wycheproofChaCha() throws { try run("wycheproof/chacha20_poly1305_test.json", .chaCha20Poly1305) }

    @Test("Wycheproof aes_gcm_test.json (all 316 cases, 128/192/256-bit keys, IVs of 1 to 257 bytes)")
    func wycheproofAESGCM() throws { try run("wycheproof/aes_gcm_test.json", .aesGCM) }

    @Test("RFC 8439 section 2.8.2 AEAD example")
    func rfc8439() throws {
        let key = Array(0x80...0x9f) as [UInt8]
        let nonce = [UInt8](hex: "070000004041424344454647")
        let aad = [UInt8](hex: "50515253c0c1c2c3c4c5c6c7")
        let plaintext = "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.".bytes
        let sealed = try ChaChaPoly.seal(plaintext, key: key, nonce: nonce, aad: aad)
        #expect(Array(sealed.prefix(16)).hex == "d31a8d34648e60db7b86afbc53ef7ec2")
        #expect(Array(sealed.suffix(16)).hex == "1ae10b594f09e26a7e902ecbd0600691")
        #expect(try ChaChaPoly.open(sealed, key: key, nonce: nonce, aad: aad) == plaintext)
    }

    @Test("tampering with ciphertext, tag, nonce or AAD fails and wipes the output buffer")
    func tamperFailsAndWipes() throws {
        let key = try SecureRandom.bytes(32), nonce = try SecureRandom.bytes(12)
        let plaintext = [UInt8](repeating: 0x41, count: 1000)
        for algorithm in [AEADAlgorithm.chaCha20Poly1305, .aesGCM] {
            let aead = try AEADKey(algorithm, key: key)
            let sealed = try aead.seal(plaintext, nonce: nonce, aad: "hdr".bytes)
            for position in [0, 500, sealed.count - 1] {
                var bad = sealed
                bad[position] ^= 0x01
                var out = [UInt8](repeating: 0xee, count: plaintext.count)
                #expect(throws: CryptoError.self) {
                    try bad.withUnsafeBytes { b in
                        try nonce.withUnsafeBytes { n in
                            try "hdr".bytes.withUnsafeBytes { a in
                                try out.withUnsafeMutableBytes { o in try aead.open(b, nonce: n, aad: a, into: o) }
                            }
                        }
                    }
                }
                #expect(out.allSatisfy { $0 == 0 }, "no unauthenticated plaintext left in the buffer")
            }
            #expect(throws: CryptoError.self) { try aead.open(sealed, nonce: nonce, aad: "hdx".bytes) }
            var otherNonce = nonce
            otherNonce[0] ^= 1
            #expect(throws: CryptoError.self) { try aead.open(sealed, nonce: otherNonce, aad: "hdr".bytes) }
            #expect(throws: CryptoError.self) { try aead.open(Array(sealed.prefix(15)), nonce: nonce) }
            // The key object still works after failures.
            #expect(try aead.open(sealed, nonce: nonce, aad: "hdr".bytes) == plaintext)
        }
    }

    @Test("wrong key and nonce sizes are typed errors")
    func sizes() {
        do {
            _ = try AEADKey(.chaCha20Poly1305, key: [UInt8](repeating: 0, count: 16))
            Issue.record("a 16-byte ChaCha20 key was accepted")
        } catch {
            #expect(error.code == .invalidKey)
        }
        do {
            _ = try ChaChaPoly.seal([UInt8](), key: [UInt8](repeating: 0, count: 32), nonce: [UInt8](repeating: 0, count: 8))
            Issue.record("an 8-byte ChaCha20 nonce was accepted")
        } catch {
            #expect(error.code == .invalidNonce)
        }
        #expect(throws: CryptoError.self) { try AEADKey(.aesGCM, key: [UInt8](repeating: 0, count: 20)) }
        #expect(throws: CryptoError.self) { try AESGCM.seal([UInt8](), key: [UInt8](repeating: 0, count: 32), nonce: [UInt8]()) }
    }
}
