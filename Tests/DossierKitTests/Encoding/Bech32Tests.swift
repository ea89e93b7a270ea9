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
}
