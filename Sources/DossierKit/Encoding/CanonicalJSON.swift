/// Strict JSON (RFC 8259) and its canonical form (RFC 8785, the JSON Canonicalization Scheme),
/// for signed dossier manifests.
///
/// A signature covers the canonical bytes of a manifest, so the parser refuses everything that
/// could make two readers disagree about what was signed: invalid UTF-8, unpaired surrogate
/// escapes, duplicate keys, a byte order mark, anything but JSON whitespace around the value,
/// and numbers that are not exact integers in the I-JSON range ±(2^53 − 1) (RFC 7493).
/// Without floating-point numbers, RFC 8785 reduces to: no whitespace, members sorted by the
/// UTF-16 code units of their keys, minimal string escapes, integers in plain decimal.
///
/// Keys and strings are Swift `String`s, which preserve the exact scalars they were parsed
/// from (so canonical bytes round-trip exactly) but compare under Unicode canonical
/// equivalence: `.string("\u{E9}") == .string("e\u{301}")` although their canonical bytes
/// differ. Compare signed content by `canonicalBytes()`, not by `==`. For the same reason the
/// parser rejects an object whose keys are distinct code points but canonically equivalent:
/// a `[String: JSONValue]` cannot hold both.
package enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    /// An integer with |n| ≤ 2^53 − 1 (`JSONValue.maxSafeInteger`). A larger value can be built
    /// in code; `canonicalBytes()` writes it as it is and `parse` refuses the result.
    case integer(Int64)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// 2^53 − 1, the largest integer every JSON implementation reads exactly (I-JSON, RFC 7493).
    package static let maxSafeInteger: Int64 = (1 << 53) - 1

    /// The most `parse` ever allows as `maxDepth`, whatever the caller asks for. Equality,
    /// hashing, `canonicalBytes()` and deallocation of a value recurse once per nesting level,
    /// so the parser must not build values deeper than a thread's stack can take.
    package static let depthCeiling = 256
}

/// Why bytes are not acceptable (canonical) JSON.
package struct JSONError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong; parse errors end with "at byte N (line L, column C)".
    package let reason: String
    /// The byte offset of the problem, when known.
    package let offset: Int?

    package init(reason: String, offset: Int? = nil) {
        self.reason = reason
        self.offset = offset
    }

    /// The reason `parseCanonical` gives when the bytes parse but are not canonical.
    package static let notCanonical = "not in canonical form (RFC 8785)"

    package var description: String {
        if reason == Self.notCanonical, let offset {
            return "invalid JSON: \(reason), first difference at byte \(offset)"
        }
        return "invalid JSON: \(reason)"
    }
}

extension JSONValue {
    /// Strict RFC 8259 parse of UTF-8 bytes. Rejects: invalid UTF-8, lone/unpaired surrogate
    /// escapes, duplicate object keys, trailing garbage (only JSON whitespace may surround the
    /// value), a leading BOM, non-integer numbers (fraction or exponent: floats are not allowed),
    /// integers outside ±(2^53 − 1), leading zeros, unescaped control characters in strings,
    /// nesting deeper than `maxDepth` (arrays and objects; `[]` is depth 1, capped at
    /// `depthCeiling`) and input larger than `maxBytes`.
    ///
    /// Iterative (no recursion per nesting level) and linear in the input size.
    package static func parse(_ bytes: [UInt8], maxDepth: Int = 32, maxBytes: Int = 1 << 20) throws(JSONError) -> JSONValue {
        guard bytes.count <= maxBytes else {
            throw JSONError(reason: "input of \(bytes.count) bytes exceeds the limit of \(max(maxBytes, 0)) bytes", offset: nil)
        }
        let depth = min(max(maxDepth, 0), depthCeiling)
        // A NUL after the input lets the scanning loops stop without bounds checks: no token
        // continues through a 0 byte.
        var terminated = bytes
        terminated.append(0)
        let result: Result<JSONValue, JSONError> = terminated.withUnsafeBufferPointer { buffer in
            // Never nil: the buffer holds at least the terminator.
            guard let text = buffer.baseAddress else { return .failure(JSONError(reason: "no input buffer")) }
            var parser = JSONParser(text, count: bytes.count, maxDepth: depth)
            do throws(JSONError) { return .success(try parser.parseDocument()) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// RFC 8785 canonical form: no insignificant whitespace; object members sorted by the UTF-16
    /// code units of their keys; strings with only the mandatory escapes (\" \\ \b \f \n \r \t
    /// and \u00xx in lowercase hex for the other controls below 0x20), everything else literal
    /// UTF-8 (no Unicode normalization); integers in plain decimal.
    package func canonicalBytes() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        CanonicalWriter.write(self, into: &out)
        return out
    }

    /// Parses `bytes` (as `parse` does) and checks they are exactly the canonical form of their
    /// value; otherwise throws `JSONError.notCanonical` with the offset of the first difference.
    package static func parseCanonical(_ bytes: [UInt8], maxDepth: Int = 32, maxBytes: Int = 1 << 20) throws(JSONError) -> JSONValue {
        let value = try parse(bytes, maxDepth: maxDepth, maxBytes: maxBytes)
        let canonical = value.canonicalBytes()
        guard canonical != bytes else { return value }
        var difference = min(canonical.count, bytes.count)
        for i in 0..<difference where canonical[i] != bytes[i] {
            difference = i
            break
        }
        throw JSONError(reason: JSONError.notCanonical, offset: difference)
    }

    /// The member `key` of an object; nil for a missing key or a value that is not an object.
    package subscript(key: String) -> JSONValue? { objectValue?[key] }

    package var stringValue: String? {
        if case .string(let value) = self { value } else { nil }
    }

    package var integerValue: Int64? {
        if case .integer(let value) = self { value } else { nil }
    }

    package var boolValue: Bool? {
        if case .bool(let value) = self { value } else { nil }
    }

    package var arrayValue: [JSONValue]? {
        if case .array(let value) = self { value } else { nil }
    }

    package var objectValue: [String: JSONValue]? {
        if case .object(let value) = self { value } else { nil }
    }
}

// MARK: - Literals

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    package init(stringLiteral value: String) { self = .string(value) }

    /// Traps outside ±(2^53 − 1): a literal out of range is a programming error.
    package init(integerLiteral value: Int64) {
        precondition((-Self.maxSafeInteger...Self.maxSafeInteger).contains(value), "JSON integer literal \(value) is outside ±(2^53 - 1)")
        self = .integer(value)
    }

    package init(booleanLiteral value: Bool) { self = .bool(value) }

    package init(arrayLiteral elements: JSONValue...) { self = .array(elements) }

    /// Traps on duplicate keys, as a `Dictionary` literal does.
    package init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(uniqueKeysWithValues: elements))
    }
}

// MARK: - Parser

// Computed rather than stored: a debug build reads a stored static through a lazy-init check.
private extension UInt8 {
    static var quote: UInt8 { 0x22 }
    static var backslash: UInt8 { 0x5C }
    static var comma: UInt8 { 0x2C }
    static var colon: UInt8 { 0x3A }
    static var minus: UInt8 { 0x2D }
    static var zero: UInt8 { 0x30 }
    static var nine: UInt8 { 0x39 }
    static var openBracket: UInt8 { 0x5B }
    static var closeBracket: UInt8 { 0x5D }
    static var openBrace: UInt8 { 0x7B }
    static var closeBrace: UInt8 { 0x7D }
    static var newline: UInt8 { 0x0A }
}

/// Lowercase hex of `value`, zero-padded to `width` digits.
private func hex(_ value: some BinaryInteger, width: Int) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: max(0, width - digits.count)) + digits
}

/// Whether none of the eight bytes of `word` is a control character (< 0x20), '"' or '\\', nor
/// (with `asciiOnly`) 0x80 or above. Eight bytes per step keep long strings (hashes, paths)
/// cheap in debug builds. It may flag a plain byte (the caller then looks byte by byte), but
/// never misses a special one: a borrow only ever moves up from a byte that is itself special.
private func isPlain(_ word: UInt64, asciiOnly: Bool) -> Bool {
    let ones: UInt64 = 0x0101_0101_0101_0101
    let high: UInt64 = 0x8080_8080_8080_8080
    let quotes = word ^ (0x22 &* ones)
    let backslashes = word ^ (0x5C &* ones)
    var special = ((word &- 0x20 &* ones) & ~word) | ((quotes &- ones) & ~quotes) | ((backslashes &- ones) & ~backslashes)
    if asciiOnly { special |= word }
    return special & high == 0
}

/// A single pass over the input with an explicit stack of open containers.
///
/// `text[count]` is a 0 byte, so loops may read one byte past the input without a bounds
/// check; nothing reads further. Plain loops over a pointer keep debug builds fast.
extension JSONValue {
    /// Whether UTF-8 `bytes` have at most 30 non-starters in a row (Unicode stream-safe,
    /// UAX #15): what every JSON string read must be (`requireStreamSafe`), also on the
    /// private manifest's fast path.
    static func isStreamSafe(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard bytes.contains(where: { $0 >= 0xCC }) else { return true }
        var run = 0
        for scalar in String(decoding: bytes, as: UTF8.self).unicodeScalars {
            switch scalar.value {
            // Starters whose canonical decomposition begins with two non-starters (UAX #15).
            case 0x0F73, 0x0F75, 0x0F81: run += 2
            case 0x0344: run += 2
            default: run = scalar.properties.canonicalCombiningClass.rawValue == 0 ? 0 : run + 1
            }
            if run > 30 { return false }
        }
        return true
    }
}

private struct JSONParser {
    private let text: UnsafePointer<UInt8>
    private let count: Int
    private let maxDepth: Int
    private var position = 0

    /// An array or object whose members are still being read.
    private struct Frame {
        let isObject: Bool
        var items: [JSONValue] = []
        var members: [String: JSONValue] = [:]
        /// The key whose value is being read, and where it starts (objects).
        var key = ""
        var keyOffset = 0
    }

    init(_ text: UnsafePointer<UInt8>, count: Int, maxDepth: Int) {
        self.text = text
        self.count = count
        self.maxDepth = maxDepth
    }

    mutating func parseDocument() throws(JSONError) -> JSONValue {
        if count >= 3, text[0] == 0xEF, text[1] == 0xBB, text[2] == 0xBF {
            throw failure("a byte order mark (U+FEFF) is not allowed before the value", at: 0)
        }
        let value = try parseValue()
        skipWhitespace()
        guard position == count else {
            throw failure("trailing data after the JSON value (only whitespace may follow it)", at: position)
        }
        return value
    }

    private mutating func skipWhitespace() {
        while true {
            let byte = text[position]
            guard byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 else { return }
            position += 1
        }
    }

    private mutating func parseValue() throws(JSONError) -> JSONValue {
        // The innermost open container is `current` (when `depth` > 0); the ones around it wait
        // in `outer`. Keeping it in a local is much cheaper in debug builds than `stack[top]`.
        var outer: [Frame] = []
        var current = Frame(isObject: false)
        var depth = 0
        value: while true {
            skipWhitespace()
            var value: JSONValue
            switch text[position] {
            case .quote:
                value = .string(try parseString())
            case .minus, .zero ... .nine:
                value = .integer(try parseInteger())
            case .openBracket, .openBrace:
                let isObject = text[position] == .openBrace
                guard depth < maxDepth else {
                    throw failure("nesting deeper than \(maxDepth) levels (maxDepth)", at: position)
                }
                position += 1
                skipWhitespace()
                if text[position] == (isObject ? .closeBrace : .closeBracket) {
                    position += 1
                    value = isObject ? .object([:]) : .array([])
                } else {
                    var frame = Frame(isObject: isObject)
                    // Growing from empty costs several reallocations; manifests' containers are small.
                    if isObject { frame.members.reserveCapacity(8) } else { frame.items.reserveCapacity(8) }
                    if isObject { (frame.key, frame.keyOffset) = try parseKey(expecting: "a string key or '}'") }
                    if depth > 0 { outer.append(current) }
                    current = frame
                    depth += 1
                    continue value
                }
            case 0x74: // t
                try parseLiteral("true")
                value = .bool(true)
            case 0x66: // f
                try parseLiteral("false")
                value = .bool(false)
            case 0x6E: // n
                try parseLiteral("null")
                value = .null
            default:
                throw unexpected(expecting: "a value")
            }
            // Hand the value to the open containers, closing every one that ends here.
            while depth > 0 {
                skipWhitespace()
                let next = text[position]
                if current.isObject {
                    if current.members.updateValue(value, forKey: current.key) != nil {
                        throw duplicate(current.key, at: current.keyOffset, in: current.members)
                    }
                    if next == .comma {
                        position += 1
                        skipWhitespace()
                        (current.key, current.keyOffset) = try parseKey(expecting: "a string key after ','")
                        continue value
                    }
                    guard next == .closeBrace else { throw unexpected(expecting: "',' or '}' after an object member") }
                    value = .object(current.members)
                } else {
                    current.items.append(value)
                    if next == .comma {
                        position += 1
                        continue value
                    }
                    guard next == .closeBracket else { throw unexpected(expecting: "',' or ']' after an array element") }
                    value = .array(current.items)
                }
                position += 1
                depth -= 1
                current = depth > 0 ? outer.removeLast() : Frame(isObject: false)
            }
            return value
        }
    }

    /// Reads `"key" :`; returns the key and the offset of its opening quote.
    private mutating func parseKey(expecting expected: String) throws(JSONError) -> (String, Int) {
        guard text[position] == .quote else { throw unexpected(expecting: expected) }
        let start = position
        let key = try parseString()
        skipWhitespace()
        guard text[position] == .colon else { throw unexpected(expecting: "':' after an object key") }
        position += 1
        return (key, start)
    }

    private mutating func parseLiteral(_ word: StaticString) throws(JSONError) {
        let length = word.utf8CodeUnitCount
        var matches = position + length <= count
        var i = 0
        while matches, i < length {
            matches = text[position + i] == word.utf8Start[i]
            i += 1
        }
        guard matches else { throw failure("invalid literal, expected '\(word)'", at: position) }
        position += length
    }

    // MARK: Numbers

    /// `-?(0|[1-9][0-9]*)` within ±(2^53 − 1); a fraction or exponent is refused, not rounded.
    private mutating func parseInteger() throws(JSONError) -> Int64 {
        let start = position
        var i = position
        let negative = text[i] == .minus
        if negative { i += 1 }
        let digitsStart = i
        // Digit loops compare against literals inline ("0" is 0x30, "9" 0x39): calls cost in debug.
        while text[i] >= 0x30, text[i] <= 0x39 { i += 1 }
        let digitsEnd = i
        var isFloat = false
        if text[i] == 0x2E { // .
            isFloat = true
            i += 1
            while text[i] >= 0x30, text[i] <= 0x39 { i += 1 }
        }
        if text[i] == 0x65 || text[i] == 0x45 { // e E
            isFloat = true
            i += 1
            if text[i] == 0x2B || text[i] == .minus { i += 1 } // + -
            while text[i] >= 0x30, text[i] <= 0x39 { i += 1 }
        }
        guard digitsEnd > digitsStart else { throw failure("expected a digit after '-'", at: digitsStart) }
        guard !isFloat else {
            throw failure("floating-point numbers are not allowed (\(token(start..<i)) has a fraction or exponent; only integers are)", at: start)
        }
        guard text[digitsStart] != .zero || digitsEnd - digitsStart == 1 else {
            throw failure("leading zeros are not allowed in numbers (\(token(start..<digitsEnd)))", at: start)
        }
        // 16 digits cannot overflow Int64; more are out of range anyway.
        guard digitsEnd - digitsStart <= 16 else { throw outOfRange(start..<digitsEnd) }
        var magnitude: Int64 = 0
        var j = digitsStart
        while j < digitsEnd {
            magnitude = magnitude &* 10 &+ Int64(text[j] &- 0x30)
            j += 1
        }
        guard magnitude <= JSONValue.maxSafeInteger else { throw outOfRange(start..<digitsEnd) }
        position = digitsEnd
        return negative ? -magnitude : magnitude
    }

    private func outOfRange(_ range: Range<Int>) -> JSONError {
        failure("integer \(token(range)) is outside the safe range ±(2^53-1) = ±\(JSONValue.maxSafeInteger)", at: range.lowerBound)
    }

    /// ASCII bytes of a number for an error message, shortened if long.
    private func token(_ range: Range<Int>) -> String {
        let shown = min(range.count, 40)
        return String(decoding: UnsafeBufferPointer(start: text + range.lowerBound, count: shown), as: UTF8.self)
            + (shown == range.count ? "" : "…")
    }

    // MARK: Strings

    /// Reads a string starting at its opening quote.
    private mutating func parseString() throws(JSONError) -> String {
        let start = position
        var runStart = position + 1
        var i = try scanPlain(from: runStart)
        if text[i] == .quote {
            position = i + 1
            let bytes = UnsafeBufferPointer(start: text + runStart, count: i - runStart)
            try requireStreamSafe(bytes, at: start)
            return String(decoding: bytes, as: UTF8.self)
        }
        var bytes: [UInt8] = []
        while true {
            if i > runStart { bytes.append(contentsOf: UnsafeBufferPointer(start: text + runStart, count: i - runStart)) }
            guard i < count else { throw failure("unterminated string", at: start) }
            if text[i] == .quote {
                position = i + 1
                try bytes.withUnsafeBufferPointer { (buffer) throws(JSONError) in try requireStreamSafe(buffer, at: start) }
                return String(decoding: bytes, as: UTF8.self)
            }
            i = try parseEscape(at: i, into: &bytes)
            runStart = i
            i = try scanPlain(from: i)
        }
    }

    /// Refuses a string with more than 30 non-starters in a row (not Unicode stream-safe,
    /// UAX #15). Swift normalises a String to hash or compare it, and reordering a long run
    /// of combining marks of mixed classes costs quadratic time: a manifest key of 80,000
    /// of them took seconds, 480,000 minutes, before any signature was checked. No text of
    /// any script needs more than 30. Only strings with a scalar of U+0300 or above (a UTF-8
    /// lead byte of 0xCC or more) are looked at.
    private func requireStreamSafe(_ bytes: UnsafeBufferPointer<UInt8>, at start: Int) throws(JSONError) {
        guard JSONValue.isStreamSafe(bytes) else {
            throw failure("a string with more than 30 combining characters in a row (not Unicode stream-safe, UAX #15)", at: start)
        }
    }

    /// Skips string bytes that stand for themselves; returns the index of the next quote,
    /// backslash, or the end of input.
    private func scanPlain(from start: Int) throws(JSONError) -> Int {
        let raw = UnsafeRawPointer(text)
        let misalignment = Int(bitPattern: raw) & 7
        var i = start
        while true {
            if (misalignment + i) & 7 == 0 {
                while i + 8 <= count, isPlain(raw.load(fromByteOffset: i, as: UInt64.self), asciiOnly: true) { i += 8 }
            }
            let byte = text[i]
            // The common case first, with literals: " is 0x22, \ is 0x5C.
            if byte >= 0x20, byte < 0x80, byte != 0x22, byte != 0x5C {
                i += 1
                continue
            }
            if byte >= 0x80 {
                guard let length = utf8Length(at: i) else { throw failure("invalid UTF-8 in a string", at: i) }
                i += length
            } else if byte >= 0x20 {
                if byte == .quote || byte == .backslash { return i }
                i += 1
            } else if i == count {
                return i
            } else {
                throw failure("unescaped control character U+\(hex(byte, width: 4).uppercased()) in a string (it must be escaped)", at: i)
            }
        }
    }

    /// Decodes the escape at `i` (a backslash) into UTF-8; returns the index after it.
    private func parseEscape(at i: Int, into bytes: inout [UInt8]) throws(JSONError) -> Int {
        guard i + 1 < count else { throw failure("unterminated escape sequence", at: i) }
        let simple: UInt8
        switch text[i + 1] {
        case .quote: simple = .quote
        case .backslash: simple = .backslash
        case UInt8(ascii: "/"): simple = UInt8(ascii: "/")
        case UInt8(ascii: "b"): simple = 0x08
        case UInt8(ascii: "f"): simple = 0x0C
        case UInt8(ascii: "n"): simple = 0x0A
        case UInt8(ascii: "r"): simple = 0x0D
        case UInt8(ascii: "t"): simple = 0x09
        case UInt8(ascii: "u"):
            let unit = try hex4(at: i)
            var scalarValue = UInt32(unit)
            var end = i + 6
            switch unit {
            case 0xD800...0xDBFF:
                // `end` <= count, and text[end + 1] is read only if text[end] is not the terminator.
                guard text[end] == .backslash, text[end + 1] == UInt8(ascii: "u"),
                      case let low = try hex4(at: end), low >= 0xDC00, low <= 0xDFFF
                else {
                    throw failure("unpaired surrogate escape \\u\(hex(unit, width: 4).uppercased()): a high surrogate must be followed by a \\u escape of a low surrogate", at: i)
                }
                scalarValue = 0x10000 + (UInt32(unit - 0xD800) << 10) + UInt32(low - 0xDC00)
                end += 6
            case 0xDC00...0xDFFF:
                throw failure("unpaired surrogate escape \\u\(hex(unit, width: 4).uppercased()): a low surrogate without a high surrogate before it", at: i)
            default:
                break
            }
            guard let scalar = Unicode.Scalar(scalarValue) else {
                throw failure("escape does not encode a Unicode scalar", at: i)
            }
            UTF8.encode(scalar) { bytes.append($0) }
            return end
        case let other:
            let shown = other >= 0x20 && other < 0x7F
                ? "'\\\(Character(Unicode.Scalar(other)))'" : "\\ followed by byte 0x\(hex(other, width: 2))"
            throw failure("invalid escape sequence \(shown)", at: i)
        }
        bytes.append(simple)
        return i + 2
    }

    /// The four hex digits of the `\u` escape whose backslash is at `i`.
    private func hex4(at i: Int) throws(JSONError) -> UInt16 {
        guard i + 6 <= count else { throw failure("incomplete \\u escape (expected 4 hex digits)", at: i) }
        var value: UInt16 = 0
        for j in (i + 2)..<(i + 6) {
            let byte = text[j]
            let digit: UInt8
            switch byte {
            case .zero ... .nine: digit = byte - .zero
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw failure("invalid \\u escape (expected 4 hex digits)", at: i)
            }
            value = value << 4 | UInt16(digit)
        }
        return value
    }

    /// The length of the well-formed UTF-8 sequence at `i` (Unicode Table 3-7: no overlong
    /// forms, no encoded surrogates, nothing above U+10FFFF), or nil. Reads stop at the first
    /// byte that is not a continuation byte, so never beyond the terminator.
    private func utf8Length(at i: Int) -> Int? {
        let lead = text[i]
        if lead < 0x80 { return 1 }
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        let length: Int
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: (length, low) = (3, 0xA0)
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: (length, high) = (3, 0x9F)
        case 0xF0: (length, low) = (4, 0x90)
        case 0xF1...0xF3: length = 4
        case 0xF4: (length, high) = (4, 0x8F)
        default: return nil
        }
        guard text[i + 1] >= low, text[i + 1] <= high else { return nil }
        var j = 2
        while j < length {
            guard text[i + j] >= 0x80, text[i + j] <= 0xBF else { return nil }
            j += 1
        }
        return length
    }

    // MARK: Errors

    /// The error for a key that is already in `members`.
    private func duplicate(_ key: String, at offset: Int, in members: [String: JSONValue]) -> JSONError {
        let earlier = members.index(forKey: key).map { members[$0].key } ?? key
        let equivalent = earlier.unicodeScalars.elementsEqual(key.unicodeScalars)
            ? "" : " (canonically equivalent to an earlier key, which a dossier manifest cannot hold apart)"
        let quoted = key.abbreviated.unicodeScalars.map { $0.value < 0x20 ? "\\u\(hex($0.value, width: 4))" : String($0) }.joined()
        return failure("duplicate object key \"\(quoted)\"\(equivalent)", at: offset)
    }

    /// Describes the byte at `position` (or the end of input) where `expected` was wanted.
    private func unexpected(expecting expected: String) -> JSONError {
        guard position < count else { return failure("unexpected end of input, expected \(expected)", at: position) }
        let byte = text[position]
        switch byte {
        case 0x21...0x7E:
            return failure("unexpected character '\(Character(Unicode.Scalar(byte)))', expected \(expected)", at: position)
        case 0x80...:
            guard let length = utf8Length(at: position) else { return failure("invalid UTF-8", at: position) }
            var scalar = UInt32(byte) & (0xFF >> (length + 1))
            for j in 1..<length { scalar = scalar << 6 | UInt32(text[position + j] & 0x3F) }
            return failure("unexpected character U+\(hex(scalar, width: 4).uppercased()), expected \(expected)", at: position)
        default:
            return failure("unexpected byte 0x\(hex(byte, width: 2)), expected \(expected)", at: position)
        }
    }

    /// An error at `offset`, located by byte, line and column (columns count characters).
    private func failure(_ message: String, at offset: Int) -> JSONError {
        let end = min(offset, count)
        var line = 1
        var lineStart = 0
        for j in 0..<end where text[j] == .newline {
            line += 1
            lineStart = j + 1
        }
        var column = 1
        for j in lineStart..<end where text[j] & 0xC0 != 0x80 { column += 1 }
        return JSONError(reason: "\(message) at byte \(offset) (line \(line), column \(column))", offset: offset)
    }
}

extension JSONValue {
    /// Appends `string` as canonical JSON, for writers of a fixed layout that do not build
    /// a value first (the private manifest of 20,000 files).
    package static func appendCanonical(_ string: String, to out: inout [UInt8]) {
        CanonicalWriter.write(string, into: &out)
    }

    /// Appends `number` as canonical JSON (plain decimal).
    package static func appendCanonical(_ number: Int64, to out: inout [UInt8]) {
        CanonicalWriter.write(number, into: &out)
    }
}

// MARK: - Canonical writer

private enum CanonicalWriter {
    static func write(_ value: JSONValue, into out: inout [UInt8]) {
        switch value {
        case .null:
            append("null", to: &out)
        case .bool(let flag):
            append(flag ? "true" : "false", to: &out)
        case .integer(let number):
            write(number, into: &out)
        case .string(let string):
            write(string, into: &out)
        case .array(let items):
            out.append(.openBracket)
            var index = 0
            while index < items.count {
                if index > 0 { out.append(.comma) }
                write(items[index], into: &out)
                index += 1
            }
            out.append(.closeBracket)
        case .object(let members):
            out.append(.openBrace)
            var keys = Array(members.keys)
            keys.sort(by: utf16Precedes)
            var index = 0
            while index < keys.count {
                if index > 0 { out.append(.comma) }
                write(keys[index], into: &out)
                out.append(.colon)
                if let member = members[keys[index]] { write(member, into: &out) }
                index += 1
            }
            out.append(.closeBrace)
        }
    }

    /// ASCII `word`, a byte at a time (cheaper in debug builds than a generic bulk append).
    private static func append(_ word: StaticString, to out: inout [UInt8]) {
        var i = 0
        while i < word.utf8CodeUnitCount {
            out.append(word.utf8Start[i])
            i += 1
        }
    }

    /// Plain decimal: an optional "-" and the digits of the magnitude.
    static func write(_ number: Int64, into out: inout [UInt8]) {
        if number < 0 { out.append(.minus) }
        var magnitude = number.magnitude
        var divisor: UInt64 = 1
        while magnitude / divisor >= 10 { divisor *= 10 }
        while divisor > 0 {
            out.append(0x30 + UInt8(magnitude / divisor))
            magnitude %= divisor
            divisor /= 10
        }
    }

    /// Whether `a` sorts before `b` by UTF-16 code units (RFC 8785 §3.2.3), compared on
    /// UTF-8: byte order is code point order, except that U+E000…U+FFFF (lead bytes EE, EF)
    /// come after the supplementary planes (lead bytes F0…F4, surrogates D800…DFFF in UTF-16).
    static func utf16Precedes(_ a: String, _ b: String) -> Bool {
        var a = a
        var b = b
        return a.withUTF8 { x in
            b.withUTF8 { y in
                let shared = min(x.count, y.count)
                var i = 0
                while i < shared {
                    let (p, q) = (x[i], y[i])
                    if p != q {
                        if p >= 0xEE, q >= 0xEE, (p >= 0xF0) != (q >= 0xF0) { return p >= 0xF0 }
                        return p < q
                    }
                    i += 1
                }
                return x.count < y.count
            }
        }
    }

    /// A string with only the escapes RFC 8785 requires (those of ECMAScript `JSON.stringify`).
    static func write(_ string: String, into out: inout [UInt8]) {
        out.append(.quote)
        var string = string
        string.withUTF8 { bytes in
            guard let base = bytes.baseAddress else { return }
            let raw = UnsafeRawPointer(base)
            let misalignment = Int(bitPattern: raw) & 7
            let count = bytes.count
            var runStart = 0
            var i = 0
            while i < count {
                if (misalignment + i) & 7 == 0 {
                    while i + 8 <= count, isPlain(raw.load(fromByteOffset: i, as: UInt64.self), asciiOnly: false) { i += 8 }
                    if i == count { break }
                }
                let byte = base[i]
                // " is 0x22, \ is 0x5C.
                if byte < 0x20 || byte == 0x22 || byte == 0x5C {
                    if i > runStart { out.append(contentsOf: UnsafeBufferPointer(start: base + runStart, count: i - runStart)) }
                    escape(byte, into: &out)
                    runStart = i + 1
                }
                i += 1
            }
            if count > runStart { out.append(contentsOf: UnsafeBufferPointer(start: base + runStart, count: count - runStart)) }
        }
        out.append(.quote)
    }

    private static func escape(_ byte: UInt8, into out: inout [UInt8]) {
        out.append(.backslash)
        switch byte {
        case .quote, .backslash: out.append(byte)
        case 0x08: out.append(UInt8(ascii: "b"))
        case 0x0C: out.append(UInt8(ascii: "f"))
        case 0x0A: out.append(UInt8(ascii: "n"))
        case 0x0D: out.append(UInt8(ascii: "r"))
        case 0x09: out.append(UInt8(ascii: "t"))
        default:
            let low = byte & 0xF
            out.append(UInt8(ascii: "u"))
            out.append(.zero)
            out.append(.zero)
            out.append(.zero + byte >> 4)
            out.append(low < 10 ? .zero + low : UInt8(ascii: "a") + low - 10)
        }
    }
}

extension String {
    /// The string for a message: its first 64 scalars and "…" when it is longer (a hostile
    /// key or value may be a mebibyte long).
    package var abbreviated: String {
        unicodeScalars.count > 64 ? String(String.UnicodeScalarView(unicodeScalars.prefix(64))) + "…" : self
    }
}
