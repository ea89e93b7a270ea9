import Testing
@testable import DossierKit

@Suite("Bech32 (BIP 173)")
struct Bech32Tests {
    struct File: Decodable {
        struct Invalid: Decodable { let string: String; let reason: String }
        let valid: [String]
        let invalid: [Invalid]
    }

    @Test("every BIP 173 valid string decodes and re-encodes to itself (modulo case)")
    func valid() throws {
        let file = try Vectors.decode(File.self, "bip173/vectors.json")
        #expect(file.valid.count == 7)
        for string in file.valid {
            let (hrp, words) = try Bech32.decode(string)
            #expect(try Bech32.encode(hrp: hrp, words: words) == string.lowercased(), "\(string)")
            // Flipping one data character breaks the checksum.
            var chars = Array(string.utf8)
            let last = chars.count - 1
            chars[last] = chars[last] == UInt8(ascii: "q") ? UInt8(ascii: "p") : UInt8(ascii: "q")
            if string.lowercased() == string {
                #expect(throws: Bech32.DecodingError.self) { try Bech32.decode(String(decoding: chars, as: UTF8.self)) }
            }
        }
    }

    @Test("every BIP 173 invalid string is rejected")
    func invalid() throws {
        let file = try Vectors.decode(File.self, "bip173/vectors.json")
        #expect(file.invalid.count == 20)
        for c in file.invalid {
            #expect(throws: Bech32.DecodingError.self, "\(c.reason): \(c.string.debugDescription)") { try Bech32.decode(c.string) }
        }
    }

    @Test("bytes round-trip; padding must be zero; the length limit can be lifted for age keys")
    func bytes() throws {
        let key = Array(0..<32) as [UInt8]
        let encoded = try Bech32.encode(hrp: "age", bytes: key)
        #expect(encoded.hasPrefix("age1"))
        let (hrp, decoded) = try Bech32.decodeBytes(encoded)
        #expect(hrp == "age" && decoded == key)
        #expect(try Bech32.decodeBytes(encoded.uppercased()).bytes == key)

        let long = [UInt8](repeating: 7, count: 100)
        #expect(throws: Bech32.DecodingError.self) { try Bech32.encode(hrp: "age", bytes: long) }
        let unlimited = try Bech32.encode(hrp: "age", bytes: long, maxLength: nil)
        #expect(try Bech32.decodeBytes(unlimited, maxLength: nil).bytes == long)
        #expect(throws: Bech32.DecodingError.self) { try Bech32.decode(unlimited) }

        // 8 bits -> two words where the second carries 2 non-zero padding bits.
        let badPadding = try Bech32.encode(hrp: "a", words: [0, 1])
        #expect(throws: Bech32.DecodingError.self) { try Bech32.decodeBytes(badPadding) }
    }

    @Test("the secret (byte) forms agree with the string forms and fail where they fail, without naming a character")
    func secretForms() throws {
        var generator = SystemRandomNumberGenerator()
        for count in [0, 1, 5, 8, 31, 32, 40, 64] {
            let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let string = try Bech32.encode(hrp: "age-secret-key-", bytes: bytes, maxLength: nil)
            for uppercase in [false, true] {
                let secret = try bytes.withUnsafeBytes { try Bech32.encodeSecret(hrp: "age-secret-key-", bytes: $0, uppercase: uppercase) }
                #expect(secret.unsafeCopy == Array((uppercase ? string.uppercased() : string).utf8), "\(count) bytes")
                let decoded = try secret.withUnsafeBytes { try Bech32.decodeSecret($0) }
                #expect(decoded.hrp == "age-secret-key-" && decoded.bytes.unsafeCopy == bytes, "\(count) bytes")
            }
        }
        let file = try Vectors.decode(File.self, "bip173/vectors.json")
        // Secret keys have no length limit (age lifts BIP 173's 90 characters): that vector decodes.
        for c in file.invalid where c.reason != "overall max length exceeded" {
            #expect(throws: Bech32.DecodingError.self, "\(c.reason)") { try Array(c.string.utf8).withUnsafeBytes { try Bech32.decodeSecret($0) } }
        }
        // Non-zero padding bits (8 bits in two words) and a character outside the alphabet.
        let badPadding = try Bech32.encode(hrp: "a", words: [0, 1])
        #expect(throws: Bech32.DecodingError.self) { try Array(badPadding.utf8).withUnsafeBytes { try Bech32.decodeSecret($0) } }
        for input in ["AGE-SECRET-KEY-1QQQQQQQQQQQBQQQQQQ", "age-secret-key-1qqqqqqqqqqqbqqqqqq"] {
            do {
                _ = try Array(input.utf8).withUnsafeBytes { try Bech32.decodeSecret($0) }
                Issue.record("\(input) decoded")
            } catch let error as Bech32.DecodingError {
                #expect(error.reason.contains("not in the Bech32 alphabet"))
                #expect(!"\(error)".contains("'b'") && !"\(error)".contains("'B'"), "the error names the character: \(error)")
            } catch {
                Issue.record("unexpected error \(error)")
            }
        }
    }
}
