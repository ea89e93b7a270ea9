/// Bech32 (BIP 173) text encoding, as age uses it for keys (`age1…`, `AGE-SECRET-KEY-1…`).
///
/// Strict: one case per string, a checksum of the original Bech32 constant (not Bech32m),
/// HRP characters 33…126, data characters from the Bech32 alphabet, padding bits zero.
/// BIP 173 limits strings to 90 characters; age lifts that limit (`maxLength: nil`).
///
/// Secret keys go through `decodeSecret` / `encodeSecret`, which work on raw bytes and keep
/// every intermediate (the 5-bit words, the text, the key bytes) in wiping memory. Errors
/// never quote the input: it may be a secret key.
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

    /// The BIP 173 checksum state, fed one 5-bit value at a time (no buffer of values).
    private struct Polymod {
        private(set) var value: UInt32 = 1

        mutating func feed(_ word: UInt8) {
            let top = value >> 25
            value = (value & 0x1ff_ffff) << 5 ^ UInt32(word)
            if top & 1 != 0 { value ^= 0x3b6a_57b2 }
            if top & 2 != 0 { value ^= 0x2650_8e6d }
            if top & 4 != 0 { value ^= 0x1ea1_19fa }
            if top & 8 != 0 { value ^= 0x3d42_33dd }
            if top & 16 != 0 { value ^= 0x2a14_62b3 }
        }

        /// Feeds BIP 173's expansion of the (lower case) human-readable part.
        mutating func feed(hrp: UnsafeRawBufferPointer) {
            for char in hrp { feed(lower(char) >> 5) }
            feed(0)
            for char in hrp { feed(lower(char) & 31) }
        }
    }

    private static func lower(_ char: UInt8) -> UInt8 { (65...90).contains(char) ? char + 32 : char }
    private static func upper(_ char: UInt8) -> UInt8 { (97...122).contains(char) ? char - 32 : char }

    // MARK: Encoding

    /// Encodes 5-bit `words` under the human-readable part `hrp` (lower case output).
    package static func encode(hrp: String, words: [UInt8], maxLength: Int? = 90) throws(DecodingError) -> String {
        let hrpBytes = Array(hrp.utf8)
        let length = try encodedLength(hrp: hrpBytes, wordCount: words.count, maxLength: maxLength)
        var out = [UInt8](repeating: 0, count: length)
        try withBytes(hrpBytes) { (hrp) throws(DecodingError) in
            try withBytes(words) { (words) throws(DecodingError) in
                try withMutableBytes(&out) { (out) throws(DecodingError) in try encode(hrp: hrp, words: words, uppercase: false, into: out) }
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Encodes bytes (converted to 5-bit words with zero padding).
    package static func encode(hrp: String, bytes: some Sequence<UInt8>, maxLength: Int? = 90) throws(DecodingError) -> String {
        let data = Array(bytes)
        var words = [UInt8](repeating: 0, count: regroupedCount(data.count, from: 8, to: 5, pad: true))
        try withBytes(data) { (data) throws(DecodingError) in
            try withMutableBytes(&words) { (words) throws(DecodingError) in try regroup(data, from: 8, to: 5, pad: true, into: words) }
        }
        return try encode(hrp: hrp, words: words, maxLength: maxLength)
    }

    /// Encodes secret `bytes` (no length limit) into wiping memory: the words and the text
    /// never exist anywhere else. Upper case when `uppercase` (age identities, signing keys).
    package static func encodeSecret(hrp: String, bytes: UnsafeRawBufferPointer, uppercase: Bool) throws(DecodingError) -> SecureBytes {
        let hrpBytes = Array(hrp.utf8)
        let wordCount = regroupedCount(bytes.count, from: 8, to: 5, pad: true)
        let length = try encodedLength(hrp: hrpBytes, wordCount: wordCount, maxLength: nil)
        var text: SecureBytes?
        _ = try SecureBytes(count: wordCount) { (words) throws(DecodingError) in
            try regroup(bytes, from: 8, to: 5, pad: true, into: words)
            text = try SecureBytes(count: length) { (out) throws(DecodingError) in
                try withBytes(hrpBytes) { (hrp) throws(DecodingError) in
                    try encode(hrp: hrp, words: UnsafeRawBufferPointer(words), uppercase: uppercase, into: out)
                }
            }
        }
        return text!
    }

    private static func encodedLength(hrp: [UInt8], wordCount: Int, maxLength: Int?) throws(DecodingError) -> Int {
        guard !hrp.isEmpty, hrp.allSatisfy({ (33...126).contains($0) }) else {
            throw DecodingError(reason: "the human-readable part must be 1 or more characters 33…126")
        }
        let length = hrp.count + 1 + wordCount + 6
        if let maxLength, length > maxLength {
            throw DecodingError(reason: "\(length) characters exceed the limit of \(maxLength)")
        }
        return length
    }

    /// Writes `hrp` `1` words checksum into `out` (exactly `encodedLength` bytes).
    private static func encode(hrp: UnsafeRawBufferPointer, words: UnsafeRawBufferPointer, uppercase: Bool,
                               into out: UnsafeMutableRawBufferPointer) throws(DecodingError) {
        precondition(out.count == hrp.count + 1 + words.count + 6)
        var checksum = Polymod()
        checksum.feed(hrp: hrp)
        func caseOf(_ char: UInt8) -> UInt8 { uppercase ? upper(char) : lower(char) }
        var at = 0
        for char in hrp {
            out[at] = caseOf(char)
            at += 1
        }
        out[at] = UInt8(ascii: "1")
        at += 1
        for word in words {
            guard word < 32 else { throw DecodingError(reason: "a data word exceeds 5 bits") }
            checksum.feed(word)
            out[at] = caseOf(alphabet[Int(word)])
            at += 1
        }
        for _ in 0..<6 { checksum.feed(0) }
        let mod = checksum.value ^ 1
        for i in 0..<6 {
            out[at] = caseOf(alphabet[Int((mod >> UInt32(5 * (5 - i))) & 31)])
            at += 1
        }
    }

    // MARK: Decoding

    /// Decodes `string` into its human-readable part (lower case) and 5-bit words.
    package static func decode(_ string: String, maxLength: Int? = 90) throws(DecodingError) -> (hrp: String, words: [UInt8]) {
        let text = Array(string.utf8)
        var values = [UInt8](repeating: 0, count: text.count)
        let (hrpCount, wordCount) = try withBytes(text) { (text) throws(DecodingError) in
            try withMutableBytes(&values) { (values) throws(DecodingError) in try decode(text, maxLength: maxLength, into: values) }
        }
        return (String(decoding: text[..<hrpCount].map(lower), as: UTF8.self), Array(values[..<wordCount]))
    }

    /// Decodes `string` and converts its words back to bytes (padding must be zero bits).
    package static func decodeBytes(_ string: String, maxLength: Int? = 90) throws(DecodingError) -> (hrp: String, bytes: [UInt8]) {
        let (hrp, words) = try decode(string, maxLength: maxLength)
        var bytes = [UInt8](repeating: 0, count: regroupedCount(words.count, from: 5, to: 8, pad: false))
        try withBytes(words) { (words) throws(DecodingError) in
            try withMutableBytes(&bytes) { (bytes) throws(DecodingError) in try regroup(words, from: 5, to: 8, pad: false, into: bytes) }
        }
        return (hrp, bytes)
    }

    /// Decodes a secret key's text (no length limit) into its human-readable part (lower
    /// case; not secret) and its bytes in wiping memory. The 5-bit words live only in wiping
    /// memory, and no lower-cased copy of the text is made.
    package static func decodeSecret(_ text: UnsafeRawBufferPointer) throws(DecodingError) -> (hrp: String, bytes: SecureBytes) {
        var hrpCount = 0
        var bytes: SecureBytes?
        _ = try SecureBytes(count: text.count) { (values) throws(DecodingError) in
            let decoded = try decode(text, maxLength: nil, into: values)
            hrpCount = decoded.hrpCount
            let words = UnsafeRawBufferPointer(rebasing: values[0..<decoded.wordCount])
            bytes = try SecureBytes(count: regroupedCount(words.count, from: 5, to: 8, pad: false)) { (out) throws(DecodingError) in
                try regroup(words, from: 5, to: 8, pad: false, into: out)
            }
        }
        return (String(decoding: text[..<hrpCount].map(lower), as: UTF8.self), bytes!)
    }

    /// Checks `text` and writes the 5-bit values of its data part, checksum included, into
    /// `values` (at least `text.count` bytes). Returns the length of the human-readable part
    /// and the number of data words (checksum excluded).
    private static func decode(_ text: UnsafeRawBufferPointer, maxLength: Int?,
                               into values: UnsafeMutableRawBufferPointer) throws(DecodingError) -> (hrpCount: Int, wordCount: Int) {
        precondition(values.count >= text.count)
        if let maxLength, text.count > maxLength {
            throw DecodingError(reason: "\(text.count) characters exceed the limit of \(maxLength)")
        }
        var hasLower = false, hasUpper = false
        var separator = -1
        for (index, char) in text.enumerated() {
            guard (33...126).contains(char) else {
                throw DecodingError(reason: "a character is outside the printable ASCII range 33…126")
            }
            if (97...122).contains(char) { hasLower = true }
            if (65...90).contains(char) { hasUpper = true }
            if char == UInt8(ascii: "1") { separator = index }
        }
        guard !(hasLower && hasUpper) else { throw DecodingError(reason: "mixed upper and lower case") }
        guard separator >= 0 else { throw DecodingError(reason: "no separator '1'") }
        guard separator > 0 else { throw DecodingError(reason: "empty human-readable part") }
        guard text.count - separator - 1 >= 6 else { throw DecodingError(reason: "checksum shorter than 6 characters") }
        var checksum = Polymod()
        checksum.feed(hrp: UnsafeRawBufferPointer(rebasing: text[..<separator]))
        var count = 0
        for char in text[(separator + 1)...] {
            let value = reverse[Int(lower(char))]
            // The character is not named: the text may be a secret key.
            guard value >= 0 else { throw DecodingError(reason: "a character of the data part is not in the Bech32 alphabet") }
            values[count] = UInt8(value)
            checksum.feed(UInt8(value))
            count += 1
        }
        guard checksum.value == 1 else { throw DecodingError(reason: "checksum mismatch") }
        return (separator, count - 6)
    }

    // MARK: Regrouping bits

    /// How many `to`-bit values `count` `from`-bit values regroup into.
    private static func regroupedCount(_ count: Int, from: Int, to: Int, pad: Bool) -> Int {
        pad ? (count * from + to - 1) / to : count * from / to
    }

    /// Regroups bits (BIP 173 `convertbits`) into `output` (exactly `regroupedCount` values).
    /// Without padding, leftover bits must be fewer than `from` and all zero. Only registers
    /// hold bits in between.
    private static func regroup(_ input: UnsafeRawBufferPointer, from: Int, to: Int, pad: Bool,
                                into output: UnsafeMutableRawBufferPointer) throws(DecodingError) {
        precondition(output.count == regroupedCount(input.count, from: from, to: to, pad: pad))
        var accumulator = 0
        var bits = 0
        var at = 0
        let maxValue = (1 << to) - 1
        for value in input {
            guard Int(value) >> from == 0 else { throw DecodingError(reason: "value exceeds \(from) bits") }
            accumulator = (accumulator << from) | Int(value)
            bits += from
            while bits >= to {
                bits -= to
                output[at] = UInt8((accumulator >> bits) & maxValue)
                at += 1
            }
            accumulator &= (1 << bits) - 1
        }
        if pad {
            if bits > 0 { output[at] = UInt8((accumulator << (to - bits)) & maxValue) }
        } else if bits >= from || (accumulator << (to - bits)) & maxValue != 0 {
            throw DecodingError(reason: "non-zero or excess padding bits")
        }
    }
}
