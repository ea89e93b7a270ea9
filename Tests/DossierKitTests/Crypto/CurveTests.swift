import Testing
@testable import DossierKit

@Suite("X25519 (RFC 7748, Wycheproof)")
struct X25519Tests {
    func privateKey(_ hex: String) throws -> X25519.PrivateKey {
        try X25519.PrivateKey(rawRepresentation: SecureBytes(copying: [UInt8](hex: hex)))
    }

    @Test("RFC 7748 section 5.2 and 6.1")
    func rfc7748() throws {
        let scalar = try privateKey("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4")
        let u = try X25519.PublicKey(rawRepresentation: [UInt8](hex: "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c"))
        #expect(try scalar.sharedSecret(with: u).unsafeCopy.hex == "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552")

        let alice = try privateKey("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
        let bob = try privateKey("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb")
        #expect(try alice.publicKey().rawRepresentation.hex == "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
        #expect(try bob.publicKey().rawRepresentation.hex == "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
        let shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"
        #expect(try alice.sharedSecret(with: bob.publicKey()).unsafeCopy.hex == shared)
        #expect(try bob.sharedSecret(with: alice.publicKey()).unsafeCopy.hex == shared)
    }

    struct Group: Decodable, Sendable { let curve: String; let tests: [Case] }
    struct Case: Decodable, Sendable {
        let tcId: Int, comment: String, flags: [String]
        let `public`: String, `private`: String, shared: String
        let result: WycheproofResult
    }

    @Test("Wycheproof x25519_test.json: every case computes the expected secret; all-zero secrets are refused when asked")
    func wycheproof() throws {
        let file = try Vectors.decode(WycheproofFile<Group>.self, "wycheproof/x25519_test.json")
        var ran = 0, zeroCases = 0
        for test in file.testGroups.flatMap(\.tests) {
            ran += 1
            let label = Comment(rawValue: "tcId \(test.tcId) \(test.comment) \(test.flags)")
            let key = try privateKey(test.private)
            let peer = try X25519.PublicKey(rawRepresentation: [UInt8](hex: test.public))
            let isZero = test.shared == String(repeating: "0", count: 64)
            #expect(isZero == test.flags.contains("ZeroSharedSecret"), label)
            if isZero {
                zeroCases += 1
                // The caller that asks (age) gets a typed error; one that does not gets RFC 7748's zeros.
                do {
                    _ = try key.sharedSecret(with: peer)
                    Issue.record("all-zero shared secret accepted: \(label)")
                } catch {
                    #expect(error.code == .lowOrderPoint, label)
                }
                #expect(try key.sharedSecret(with: peer, rejectingAllZero: false).unsafeCopy.hex == test.shared, label)
            } else {
                // valid and acceptable (twist, non-canonical u) cases: RFC 7748 defines the output.
                #expect(try key.sharedSecret(with: peer).unsafeCopy.hex == test.shared, label)
            }
        }
        #expect(ran == file.numberOfTests)
        #expect(zeroCases == 31)
    }

    @Test("generated keys agree; wrong sizes are rejected")
    func generatedKeys() throws {
        let a = try X25519.PrivateKey(), b = try X25519.PrivateKey()
        #expect(try a.sharedSecret(with: b.publicKey()) == b.sharedSecret(with: a.publicKey()))
        #expect(throws: CryptoError.self) { try X25519.PublicKey(rawRepresentation: [UInt8](repeating: 9, count: 31)) }
        #expect(throws: CryptoError.self) { try X25519.PrivateKey(rawRepresentation: SecureBytes(copying: [UInt8](repeating: 9, count: 33))) }
    }
}

@Suite("Ed25519 (RFC 8032, Wycheproof)")
struct Ed25519Tests {
    @Test("RFC 8032 section 7.1 tests 1-3")
    func rfc8032() throws {
        let cases: [(secret: String, public: String, message: String, signature: String)] = [
            ("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
             "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
             "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
            ("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
             "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
             "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
            ("c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
             "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
             "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"),
        ]
        for c in cases {
            let key = try Ed25519.PrivateKey(rawRepresentation: SecureBytes(copying: [UInt8](hex: c.secret)))
            let message = [UInt8](hex: c.message)
            #expect(try key.publicKey().rawRepresentation.hex == c.public)
            #expect(try key.signature(for: message).hex == c.signature)
            #expect(try key.publicKey().isValidSignature([UInt8](hex: c.signature), for: message))
            #expect(try !key.publicKey().isValidSignature([UInt8](hex: c.signature), for: message + [0]))
        }
    }

    struct Group: Decodable, Sendable {
        struct Key: Decodable, Sendable { let pk: String }
        let publicKey: Key
        let tests: [Case]
    }
    struct Case: Decodable, Sendable {
        let tcId: Int, comment: String, msg: String, sig: String, flags: [String]
        let result: WycheproofResult
    }

    @Test("Wycheproof ed25519_test.json: every valid signature verifies, every invalid one is rejected")
    func wycheproof() throws {
        let file = try Vectors.decode(WycheproofFile<Group>.self, "wycheproof/ed25519_test.json")
        var ran = 0
        for group in file.testGroups {
            let key = try Ed25519.PublicKey(rawRepresentation: [UInt8](hex: group.publicKey.pk))
            for test in group.tests {
                ran += 1
                let verified = key.isValidSignature([UInt8](hex: test.sig), for: [UInt8](hex: test.msg))
                #expect(verified == (test.result == .valid), "tcId \(test.tcId) \(test.comment) \(test.flags)")
            }
        }
        #expect(ran == file.numberOfTests)
    }

    @Test("generated keys sign and verify; malformed signatures and keys are rejected")
    func generated() throws {
        let key = try Ed25519.PrivateKey()
        let signature = try key.signature(for: "manifest".bytes)
        #expect(try key.publicKey().isValidSignature(signature, for: "manifest".bytes))
        #expect(try !key.publicKey().isValidSignature(Array(signature.dropLast()), for: "manifest".bytes))
        #expect(try !Ed25519.PrivateKey().publicKey().isValidSignature(signature, for: "manifest".bytes))
        #expect(throws: CryptoError.self) { try Ed25519.PublicKey(rawRepresentation: [UInt8](repeating: 1, count: 33)) }
    }
}
