import Testing
@testable import DossierKit

@Suite("HKDF-SHA-256 (RFC 5869, Wycheproof)")
struct HKDFTests {
    @Test("RFC 5869 A.1-A.3")
    func rfc5869() throws {
        let a1 = try HKDFSHA256.deriveKey(
            inputKeyMaterial: [UInt8](repeating: 0x0b, count: 22), salt: Array(0x00...0x0c) as [UInt8],
            info: Array(0xf0...0xf9) as [UInt8], outputByteCount: 42)
        #expect(a1.unsafeCopy.hex == "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865")
        let a2 = try HKDFSHA256.deriveKey(
            inputKeyMaterial: Array(0x00...0x4f) as [UInt8], salt: Array(0x60...0xaf) as [UInt8],
            info: Array(0xb0...0xff) as [UInt8], outputByteCount: 82)
        #expect(a2.unsafeCopy.hex == "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87")
        let a3 = try HKDFSHA256.deriveKey(
            inputKeyMaterial: [UInt8](repeating: 0x0b, count: 22), salt: [UInt8](), info: [UInt8](), outputByteCount: 42)
        #expect(a3.unsafeCopy.hex == "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8")
    }

    struct Group: Decodable, Sendable {
        let keySize: Int
        let tests: [Case]
    }
    struct Case: Decodable, Sendable {
        let tcId: Int, comment: String, ikm: String, salt: String, info: String, size: Int, okm: String
        let result: WycheproofResult
    }

    @Test("Wycheproof hkdf_sha256_test.json: every valid case derives, every invalid case is rejected")
    func wycheproof() throws {
        let file = try Vectors.decode(WycheproofFile<Group>.self, "wycheproof/hkdf_sha256_test.json")
        var ran = 0
        for test in file.testGroups.flatMap(\.tests) {
            ran += 1
            let derive = {
                try HKDFSHA256.deriveKey(inputKeyMaterial: [UInt8](hex: test.ikm), salt: [UInt8](hex: test.salt),
                                         info: [UInt8](hex: test.info), outputByteCount: test.size)
            }
            switch test.result {
            case .valid, .acceptable:
                #expect(try derive().unsafeCopy.hex == test.okm, "tcId \(test.tcId) \(test.comment)")
            case .invalid:
                #expect(throws: CryptoError.self, "tcId \(test.tcId) \(test.comment)") { try derive() }
            }
        }
        #expect(ran == file.numberOfTests)
    }
}

@Suite("scrypt (RFC 7914)")
struct ScryptTests {
    @Test("RFC 7914 section 12, small parameters")
    func rfc7914() throws {
        let v1 = try Scrypt.deriveKey(password: [UInt8](), salt: [UInt8](), n: 16, r: 1, p: 1, outputByteCount: 64)
        #expect(v1.unsafeCopy.hex == "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906")
        let v2 = try Scrypt.deriveKey(password: "password".bytes, salt: "NaCl".bytes, n: 1024, r: 8, p: 16, outputByteCount: 64)
        #expect(v2.unsafeCopy.hex == "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640")
        let v3 = try Scrypt.deriveKey(password: "pleaseletmein".bytes, salt: "SodiumChloride".bytes, n: 16384, r: 8, p: 1, outputByteCount: 64)
        #expect(v3.unsafeCopy.hex == "7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2d5432955613f0fcf62d49705242a9af9e61e85dc0d651e40dfcf017b45575887")
    }

    @Test("RFC 7914 section 12, N = 2^20 (needs the raised memory limit)")
    func rfc7914Large() throws {
        let v4 = try Scrypt.deriveKey(password: "pleaseletmein".bytes, salt: "SodiumChloride".bytes, n: 1 << 20, r: 8, p: 1, outputByteCount: 64)
        #expect(v4.unsafeCopy.hex == "2101cb9b6a511aaeaddbbe09cf70f881ec568d574a2ffd4dabe5ee9820adaa478e56fd8f4ba5d09ffa1c6d927c40f4c337304049e8a952fbcbf45c6fa77a41a4")
    }

    @Test("bad parameters and an exceeded memory limit are errors, not crashes")
    func rejectsBadParameters() {
        #expect(throws: CryptoError.self) { try Scrypt.deriveKey(password: [UInt8](), salt: [UInt8](), n: 3, r: 1, p: 1, outputByteCount: 32) }
        #expect(throws: CryptoError.self) { try Scrypt.deriveKey(password: [UInt8](), salt: [UInt8](), n: 16, r: 0, p: 1, outputByteCount: 32) }
        #expect(throws: CryptoError.self) {
            try Scrypt.deriveKey(password: [UInt8](), salt: [UInt8](), n: 1 << 20, r: 8, p: 1, outputByteCount: 32, maxMemory: 64 << 20)
        }
    }
}
