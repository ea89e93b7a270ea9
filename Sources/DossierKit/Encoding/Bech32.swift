/// Bech32 (BIP 173) text encoding, as age uses it for keys (`age1…`, `AGE-SECRET-KEY-1…`).
///
/// Strict: one case per string, a checksum of the original Bech32 constant (not Bech32m),
/// HRP characters 33…126, data characters from the Bech32 alphabet, padding bits zero.
/// BIP 173 limits strings to 90 characters; age lifts that limit (`maxLength: nil`).
package enum Bech32 {
    /// Why a string is not valid Bech32.
    package struct DecodingError: Error, Sendable, Equatable, CustomStringConvertible {
        package let reason: String
        package var description: String { "invalid Bech32: \(reason)" }
    }

    private static let alphabet = Array("qpzry9x8gf2tvdw0s3jn54khce6mua7l".utf8)
    private static let reverse: [Int8] = {
        var table = [Int8](repeating: -1, count: 128)
        for (index, char) in alphabet.enumerated() { table[Int(char)] = Int8(index) }
        return table
    }()

    private static func polymod(_ values: [UInt8]) -> UInt32 {
        let generator: [UInt32] = [0x3b6a_57b2, 0x2650_8e6d, 0x1ea1_19fa, 0x3d42_33dd, 0x2a14_62b3]
        var checksum: UInt32 = 1
        for value in values {
            let top = checksum >> 25
            checksum = (checksum & 0x1ff_ffff) << 5 ^ UInt32(value)
            for i in 0..<5 where (top >> UInt32(i)) & 1 == 1 {
                checksum ^= generator[i]
            }
        }
        return checksum
    }

    private static func expand(_ hrp: [UInt8]) -> [UInt8] {
        hrp.map { $0 >> 5 } + [0] + hrp.map { $0 & 31 }
    }

    /// Encodes 5-bit `words` under the human-readable part `hrp` (lower case output).
    package static func encode(hrp: String, words: [UInt8], maxLength: Int? = 90) throws(DecodingError) -> String {
        let hrpBytes = Array(hrp.lowercased().utf8)
        guard !hrpBytes.isEmpty, hrpBytes.allSatisfy({ (33...126).contains($0) }) else {
            throw DecodingError(reason: "the human-readable part must be 1 or more characters 33…126")
        }
        guard words.allSatisfy({ $0 < 32 }) else { throw DecodingError(reason: "a data word exceeds 5 bits") }
        let length = hrpBytes.count + 1 + words.count + 6
        if let maxLength, length > maxLength {
            throw DecodingError(reason: "\(length) characters exceed the limit of \(maxLength)")
        }
        let mod = polymod(expand(hrpBytes) + words + [0, 0, 0, 0, 0, 0]) ^ 1
        let checksum = (0..<6).map { UInt8((mod >> UInt32(5 * (5 - $0))) & 31) }
        var out = hrpBytes
        out.append(UInt8(ascii: "1"))
        for word in words + checksum { out.append(alphabet[Int(word)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Encodes bytes (converted to 5-bit words with zero padding).
    package static func encode(hrp: String, bytes: some Sequence<UInt8>, maxLength: Int? = 90) throws(DecodingError) -> String {
        try encode(hrp: hrp, words: convertBits(Array(bytes), from: 8, to: 5, pad: true), maxLength: maxLength)
    }

    /// Decodes `string` into its human-readable part (lower case) and 5-bit words.
    package static func decode(_ string: String, maxLength: Int? = 90) throws(DecodingError) -> (hrp: String, words: [UInt8]) {
        let bytes = Array(string.utf8)
        if let maxLength, bytes.count > maxLength {
            throw DecodingError(reason: "\(bytes.count) characters exceed the limit of \(maxLength)")
        }
        guard bytes.allSatisfy({ (33...126).contains($0) }) else {
            throw DecodingError(reason: "a character is outside the printable ASCII range 33…126")
        }
        let hasLower = bytes.contains { (97...122).contains($0) }
        let hasUpper = bytes.contains { (65...90).contains($0) }
        guard !(hasLower && hasUpper) else { throw DecodingError(reason: "mixed upper and lower case") }
        let lower = bytes.map { (65...90).contains($0) ? $0 + 32 : $0 }
        guard let separator = lower.lastIndex(of: UInt8(ascii: "1")) else {
            throw DecodingError(reason: "no separator '1'")
        }
        guard separator > 0 else { throw DecodingError(reason: "empty human-readable part") }
        guard lower.count - separator - 1 >= 6 else { throw DecodingError(reason: "checksum shorter than 6 characters") }
        let hrp = Array(lower[..<separator])
        var values: [UInt8] = []
        values.reserveCapacity(lower.count - separator - 1)
        for char in lower[(separator + 1)...] {
            let value = reverse[Int(char)]
            guard value >= 0 else {
                throw DecodingError(reason: "character '\(Character(Unicode.Scalar(char)))' is not in the Bech32 alphabet")
            }
            values.append(UInt8(value))
        }
        guard polymod(expand(hrp) + values) == 1 else { throw DecodingError(reason: "checksum mismatch") }
        return (String(decoding: hrp, as: UTF8.self), Array(values.dropLast(6)))
    }

    /// Decodes `string` and converts its words back to bytes (padding must be zero bits).
    package static func decodeBytes(_ string: String, maxLength: Int? = 90) throws(DecodingError) -> (hrp: String, bytes: [UInt8]) {
        let (hrp, words) = try decode(string, maxLength: maxLength)
        return (hrp, try convertBits(words, from: 5, to: 8, pad: false))
    }

    /// Regroups bits (BIP 173 `convertbits`). Without padding, leftover bits must be fewer
    /// than `from` and all zero.
    package static func convertBits(_ data: [UInt8], from: Int, to: Int, pad: Bool) throws(DecodingError) -> [UInt8] {
        var accumulator = 0
        var bits = 0
        let maxValue = (1 << to) - 1
        var out: [UInt8] = []
        out.reserveCapacity(data.count * from / to + 1)
        for value in data {
            guard Int(value) >> from == 0 else { throw DecodingError(reason: "value exceeds \(from) bits") }
            accumulator = (accumulator << from) | Int(value)
            bits += from
            while bits >= to {
                bits -= to
                out.append(UInt8((accumulator >> bits) & maxValue))
            }
            accumulator &= (1 << bits) - 1
        }
        if pad {
            if bits > 0 { out.append(UInt8((accumulator << (to - bits)) & maxValue)) }
        } else if bits >= from || (accumulator << (to - bits)) & maxValue != 0 {
            throw DecodingError(reason: "non-zero or excess padding bits")
        }
        return out
    }
}
