import Testing
@testable import DossierKit

@Suite("CanonicalJSON: strict RFC 8259 parsing, RFC 8785 canonical form")
struct CanonicalJSONTests {
    /// The error `parse` throws for `text`, or nil (recorded as an issue) if it accepts it.
    static func parseError(_ bytes: [UInt8], maxDepth: Int = 32, maxBytes: Int = 1 << 20,
                           sourceLocation: SourceLocation = #_sourceLocation) -> JSONError? {
        do {
            let value = try JSONValue.parse(bytes, maxDepth: maxDepth, maxBytes: maxBytes)
            Issue.record("accepted \(String(decoding: bytes, as: UTF8.self).debugDescription) as \(value)", sourceLocation: sourceLocation)
            return nil
        } catch {
            return error
        }
    }

    static func parseError(_ text: String, maxDepth: Int = 32, sourceLocation: SourceLocation = #_sourceLocation) -> JSONError? {
        parseError(text.bytes, maxDepth: maxDepth, sourceLocation: sourceLocation)
    }

    /// Asserts `parse` rejects `text` with a reason containing `fragment`, at `offset` if given.
    static func expectRejected(_ bytes: [UInt8], _ fragment: String, at offset: Int? = nil,
                               sourceLocation: SourceLocation = #_sourceLocation) {
        guard let error = parseError(bytes, sourceLocation: sourceLocation) else { return }
        #expect(error.reason.contains(fragment), "\(error.reason) lacks \(fragment.debugDescription)", sourceLocation: sourceLocation)
        if let offset {
            #expect(error.offset == offset, "\(error.reason)", sourceLocation: sourceLocation)
            #expect(error.reason.contains("at byte \(offset) "), "\(error.reason)", sourceLocation: sourceLocation)
        }
    }

    static func expectRejected(_ text: String, _ fragment: String, at offset: Int? = nil,
                               sourceLocation: SourceLocation = #_sourceLocation) {
        expectRejected(text.bytes, fragment, at: offset, sourceLocation: sourceLocation)
    }

    /// Asserts `parseCanonical` rejects `text` as non-canonical, first differing at `offset`.
    static func expectNotCanonical(_ text: String, at offset: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(throws: JSONError(reason: "not in canonical form (RFC 8785)", offset: offset), "\(text.debugDescription)",
                sourceLocation: sourceLocation) {
            try JSONValue.parseCanonical(text.bytes)
        }
    }

    /// Where `needle` first occurs in `haystack`.
    static func offset(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard needle.count <= haystack.count else { return nil }
        return (0...(haystack.count - needle.count)).first { haystack[$0..<($0 + needle.count)].elementsEqual(needle) }
    }

    static func canonical(_ text: String) throws -> String {
        String(decoding: try JSONValue.parse(text.bytes).canonicalBytes(), as: UTF8.self)
    }

    // MARK: RFC 8785 examples

    @Test("RFC 8785 §3.2.3: members sort by UTF-16 code units (the emoji's surrogates sort before U+FB33)")
    func rfc8785Sorting() throws {
        let input = #"""
        {
          "\u20ac": "Euro Sign",
          "\r": "Carriage Return",
          "\ufb33": "Hebrew Letter Dalet With Dagesh",
          "1": "One",
          "\ud83d\ude00": "Emoji: Grinning Face",
          "\u0080": "Control",
          "\u00f6": "Latin Small Letter O With Diaeresis"
        }
        """#
        let value = try JSONValue.parse(input.bytes)
        let expected = #"{"\r":"Carriage Return","1":"One","# + "\"\u{80}\":\"Control\",\"\u{F6}\":\"Latin Small Letter O With Diaeresis\","
            + "\"\u{20AC}\":\"Euro Sign\",\"\u{1F600}\":\"Emoji: Grinning Face\",\"\u{FB33}\":\"Hebrew Letter Dalet With Dagesh\"}"
        #expect(value.canonicalBytes() == expected.bytes)
        // The values in the order the spec lists them.
        let order = ["Carriage Return", "One", "Control", "Latin Small Letter O With Diaeresis", "Euro Sign",
                     "Emoji: Grinning Face", "Hebrew Letter Dalet With Dagesh"]
        let positions = order.map { Self.offset(of: "\"\($0)\"".bytes, in: value.canonicalBytes()) }
        #expect(!positions.contains(nil))
        #expect(positions.compactMap { $0 } == positions.compactMap { $0 }.sorted())
        // Scalar (UTF-8) order would put U+FB33 before U+1F600; JCS must not.
        let emoji = Self.offset(of: "\u{1F600}".bytes, in: value.canonicalBytes())
        let dalet = Self.offset(of: "\u{FB33}".bytes, in: value.canonicalBytes())
        #expect(emoji != nil && dalet != nil && emoji! < dalet!)
        #expect(try JSONValue.parseCanonical(expected.bytes) == value)
    }

    @Test("member order equals UTF-16 code unit order for keys mixing every UTF-8 length and both sides of the surrogate block")
    func utf16Order() {
        let scalars: [Unicode.Scalar] = ["a", "z", "\u{7F}", "\u{80}", "\u{7FF}", "\u{800}", "\u{D7FF}", "\u{E000}", "\u{FB33}",
                                         "\u{FFFF}", "\u{10000}", "\u{1F600}", "\u{10FFFF}"]
        var state: UInt64 = 7
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        for _ in 0..<50 {
            var members: [String: JSONValue] = [:]
            for _ in 0..<40 {
                var key = String.UnicodeScalarView()
                for _ in 0..<(1 + next(3)) { key.append(scalars[next(scalars.count)]) }
                members[String(key)] = .null
            }
            let sorted = members.keys.sorted { $0.utf16.lexicographicallyPrecedes($1.utf16) }
            let expected = "{" + sorted.map { "\"\($0)\":null" }.joined(separator: ",") + "}"
            #expect(JSONValue.object(members).canonicalBytes() == expected.bytes)
        }
    }

    @Test("RFC 8785 §3.2.2 example without its numbers: escapes and literals; with its numbers it is refused (floats)")
    func rfc8785Example() throws {
        let input = #"{"string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/", "literals": [null, true, false]}"#
        let expected = "{\"literals\":[null,true,false],\"string\":\"\u{20AC}$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}"
        #expect(try Self.canonical(input) == expected)
        let full = #"""
        {
          "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
          "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
          "literals": [null, true, false]
        }
        """#
        Self.expectRejected(full, "floating-point numbers are not allowed", at: 16)
    }

    @Test("RFC 8785 §3.2.4: no Unicode normalization; \"A\\u030a\" stays A + combining ring, byte for byte")
    func rfc8785NoNormalization() throws {
        let value = try JSONValue.parse(#"{"Unnormalized Unicode":"A\u030a"}"#.bytes)
        #expect(value.canonicalBytes() == [UInt8](hex: "7b22556e6e6f726d616c697a656420556e69636f6465223a2241cc8a227d"))
    }

    // MARK: Canonical strings

    @Test("every control character gets the mandatory escape: the short form where JSON has one, else \\u00xx lowercase")
    func controlEscapes() throws {
        let short: [UInt8: String] = [0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0C: "\\f", 0x0D: "\\r"]
        for code in UInt8(0)..<0x20 {
            let value = JSONValue.string("a" + String(Unicode.Scalar(code)) + "z")
            let escape = short[code] ?? "\\u00" + (code < 0x10 ? "0" : "") + String(code, radix: 16)
            #expect(value.canonicalBytes() == "\"a\(escape)z\"".bytes, "U+\(code)")
            #expect(try JSONValue.parseCanonical(value.canonicalBytes()) == value, "U+\(code)")
        }
        #expect(JSONValue.string("\u{1F}\u{1A}").canonicalBytes() == #""\u001f\u001a""#.bytes)
        #expect(JSONValue.string("\"\\").canonicalBytes() == #""\"\\""#.bytes)
        // Everything else, including DEL and '/', is literal.
        #expect(JSONValue.string("/\u{7F} ~").canonicalBytes() == "\"/\u{7F} ~\"".bytes)
    }

    @Test("non-ASCII is literal UTF-8, including C1 controls, U+2028/U+2029, BOM and astral characters")
    func nonASCIILiteral() throws {
        let text = "é€\u{80}\u{9F}\u{2028}\u{2029}\u{FEFF}\u{FFFF}😀\u{10FFFF}"
        let value = JSONValue.string(text)
        #expect(value.canonicalBytes() == [0x22] + Array(text.utf8) + [0x22])
        #expect(try JSONValue.parseCanonical(value.canonicalBytes()).stringValue == text)
        // The escaped spelling parses to the same text but is not canonical.
        let escaped = #""\u00e9\u20ac\u0080\u009f\u2028\u2029\ufeff\uffff\ud83d\ude00\udbff\udfff""#
        #expect(try JSONValue.parse(escaped.bytes).stringValue == text)
        Self.expectNotCanonical(escaped, at: 1)
    }

    @Test("integers are plain decimal; -0 parses as 0; the safe range bounds are written exactly")
    func integers() throws {
        let cases: [(JSONValue, String)] = [(0, "0"), (-1, "-1"), (42, "42"), (9_007_199_254_740_991, "9007199254740991"),
                                            (-9_007_199_254_740_991, "-9007199254740991")]
        for (value, text) in cases {
            #expect(value.canonicalBytes() == text.bytes)
            #expect(try JSONValue.parseCanonical(text.bytes) == value)
        }
        #expect(try JSONValue.parse("-0".bytes) == .integer(0))
        Self.expectNotCanonical("-0", at: 0)
        #expect(JSONValue.maxSafeInteger == 9_007_199_254_740_991)
        // Values built in code beyond the safe range are written as they are, and refused on reading.
        #expect(JSONValue.integer(.min).canonicalBytes() == "-9223372036854775808".bytes)
        #expect(JSONValue.integer(.max).canonicalBytes() == "9223372036854775807".bytes)
        #expect(throws: JSONError.self) { try JSONValue.parse(JSONValue.integer(1 << 53).canonicalBytes()) }
    }

    // MARK: Round trips

    static let manifest: JSONValue = [
        "format": "dossier/1",
        "case": ["id": "2024-0117", "title": "Fictitious \"case\" — Zürich\n(closed)", "sealed": true, "reopened": false],
        "files": [
            ["path": "évidence/photo 1.jpg", "size": 1_048_576, "sha256": "00ff"],
            ["path": "notes/\u{1F600}.txt", "size": 0, "sha256": "ab"],
        ],
        "counts": [-9_007_199_254_740_991, -1, 0, 1, 9_007_199_254_740_991],
        "empty": ["array": [], "object": [:], "string": ""],
        "note": .null,
    ]

    @Test("round trip: canonical bytes parse back to the same value and are a fixed point; pretty input canonicalizes")
    func roundTrip() throws {
        let bytes = Self.manifest.canonicalBytes()
        let parsed = try JSONValue.parseCanonical(bytes)
        #expect(parsed == Self.manifest)
        #expect(parsed.canonicalBytes() == bytes)
        #expect(bytes.starts(with: #"{"case":{"id":"2024-0117","reopened":false,"sealed":true,"title":"Fictitious \"case\""#.bytes))

        let pretty = """
         \r\n\t{ "note" : null , "empty" : { "string" : "", "object" : { }, "array" : [ ] },
          "counts" : [ -9007199254740991, -1, 0, 1, 9007199254740991 ], "format" : "dossier/1",
          "files" : [ { "sha256" : "00ff", "size" : 1048576, "path" : "\\u00e9vidence\\/photo 1.jpg" },
                      { "path": "notes/\\uD83D\\uDE00.txt", "size": 0, "sha256": "ab" } ],
          "case" : { "sealed" : true, "reopened" : false, "title" : "Fictitious \\"case\\" \\u2014 Z\\u00FCrich\\n(closed)",
                     "id" : "2024-0117" } }\n
        """
        let reparsed = try JSONValue.parse(pretty.bytes)
        #expect(reparsed.canonicalBytes() == bytes)
        #expect(reparsed == Self.manifest)
    }

    @Test("escapes decode to the characters they name, in upper or lower case hex")
    func escapeDecoding() throws {
        let value = try JSONValue.parse(#""\"\\\/\b\f\n\r\t\u0000\u001F\u00e9\u00E9\uD83D\uDE00\ud83d\ude00""#.bytes)
        #expect(value == .string("\"\\/\u{8}\u{C}\n\r\t\u{0}\u{1F}éé😀😀"))
        #expect(value.canonicalBytes() == #""\"\\/\b\f\n\r\t\u0000\u001féé😀😀""#.bytes)
    }

    @Test("long strings are scanned eight bytes at a time: a special byte at any position is still found")
    func specialBytesAtEveryPosition() throws {
        for position in 0..<40 {
            let prefix = String(repeating: "a", count: position)
            let suffix = String(repeating: "b", count: 40 - position)
            // Found by the parser: an escape, a quote ending the string early, a control, bad UTF-8.
            let escaped = try JSONValue.parse("\"\(prefix)\\n\(suffix)\"".bytes)
            #expect(escaped.stringValue == prefix + "\n" + suffix, "\(position)")
            #expect(try JSONValue.parse("[\"\(prefix)\",\"\(suffix)\"]".bytes) == [.string(prefix), .string(suffix)])
            Self.expectRejected("\"\(prefix)\u{1}\(suffix)\"".bytes, "unescaped control character U+0001", at: position + 1)
            Self.expectRejected("\"\(prefix)".bytes + [0xFF] + "\(suffix)\"".bytes, "invalid UTF-8", at: position + 1)
            #expect(try JSONValue.parse("\"\(prefix)é\(suffix)\"".bytes).stringValue == prefix + "é" + suffix)
            // Found by the writer: every byte that must be escaped, and non-ASCII that must not.
            for (character, escape) in [("\u{1}", "\\u0001"), ("\u{1F}", "\\u001f"), ("\"", "\\\""), ("\\", "\\\\"), ("é", "é")] {
                let value = JSONValue.string(prefix + character + suffix)
                #expect(value.canonicalBytes() == "\"\(prefix)\(escape)\(suffix)\"".bytes, "\(position) \(escape)")
            }
        }
        // An unterminated long string ends at the input's end, not beyond it.
        for length in 0..<20 {
            Self.expectRejected("\"" + String(repeating: "x", count: length), "unterminated string", at: 0)
        }
    }

    // MARK: parseCanonical

    @Test("parseCanonical accepts canonical bytes and refuses whitespace, reordering and needless escapes, at the first difference")
    func parseCanonicalRejects() throws {
        #expect(try JSONValue.parseCanonical(#"{"a":[1,"x",null],"b":{}}"#.bytes)["b"] == .object([:]))
        Self.expectNotCanonical(#" {"a":1}"#, at: 0)
        Self.expectNotCanonical("{\"a\":1}\n", at: 7)
        Self.expectNotCanonical(#"{"a": 1}"#, at: 5)
        Self.expectNotCanonical(#"[1, 2]"#, at: 3)
        Self.expectNotCanonical(#"{"b":1,"a":2}"#, at: 2)
        Self.expectNotCanonical(#"{"aa":1,"a":2}"#, at: 3)
        Self.expectNotCanonical(#""a\/b""#, at: 2)
        Self.expectNotCanonical(#""\u0041""#, at: 1)
        Self.expectNotCanonical(#""\u001F""#, at: 6)
        Self.expectNotCanonical(#""\u000a""#, at: 2)
        Self.expectNotCanonical(#""\u00e9""#, at: 1)
        Self.expectNotCanonical("-0", at: 0)
        // Non-canonical and invalid: the parse error wins.
        let error = try #require(Self.parseError(#"{"a":1.0}"#))
        #expect(try JSONValue.parseCanonical(#"{"a":1}"#.bytes)["a"] == 1)
        #expect(throws: error) { try JSONValue.parseCanonical(#"{"a":1.0}"#.bytes) }
        #expect(JSONError(reason: "not in canonical form (RFC 8785)", offset: 3).description
                == "invalid JSON: not in canonical form (RFC 8785), first difference at byte 3")
    }

    // MARK: Rejections, one per rule

    @Test("invalid UTF-8 is refused: stray continuation, overlong, encoded surrogate, above U+10FFFF, truncated")
    func invalidUTF8() throws {
        let quote: UInt8 = 0x22
        for bad: [UInt8] in [[0x80], [0xC3, 0x28], [0xC0, 0xAF], [0xE0, 0x80, 0xAF], [0xED, 0xA0, 0x80],
                             [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80], [0xFF], [0xE2, 0x82]] {
            Self.expectRejected([quote, 0x61] + bad + [quote], "invalid UTF-8", at: 2)
        }
        Self.expectRejected([0x5B, 0xFE, 0x5D], "invalid UTF-8", at: 1)
        // Well-formed edge cases pass.
        let good: [UInt8] = [quote, 0xC2, 0x80, 0xE0, 0xA0, 0x80, 0xED, 0x9F, 0xBF, 0xEE, 0x80, 0x80, 0xF0, 0x90, 0x80, 0x80, 0xF4, 0x8F, 0xBF, 0xBF, quote]
        #expect(try JSONValue.parse(good).stringValue == "\u{80}\u{800}\u{D7FF}\u{E000}\u{10000}\u{10FFFF}")
    }

    @Test("lone and unpaired surrogate escapes are refused")
    func unpairedSurrogates() {
        Self.expectRejected(#""\ud83d""#, "unpaired surrogate escape \\uD83D", at: 1)
        Self.expectRejected(#""x\ude00y""#, "unpaired surrogate escape \\uDE00", at: 2)
        Self.expectRejected(#""\ud83d\u0041""#, "unpaired surrogate", at: 1)
        Self.expectRejected(#""\ud83d\ud83d""#, "unpaired surrogate", at: 1)
        Self.expectRejected(#""\ud83dx\ude00""#, "unpaired surrogate", at: 1)
        Self.expectRejected(#""\ude00\ud83d""#, "a low surrogate without a high surrogate", at: 1)
    }

    @Test("duplicate keys are refused, also when only canonically equivalent, at any depth")
    func duplicateKeys() {
        Self.expectRejected(#"{"a":1,"a":2}"#, #"duplicate object key "a""#, at: 7)
        Self.expectRejected(#"{"a":1,"b":{"c":1,"c":1}}"#, #"duplicate object key "c""#, at: 18)
        Self.expectRejected(#"{"a":1,"\u0061":2}"#, "duplicate object key", at: 7)
        Self.expectRejected(#"{"\u00e9":1,"e\u0301":2}"#, "canonically equivalent", at: 12)
        #expect(throws: Never.self) { try JSONValue.parse(#"[{"a":1},{"a":1}]"#.bytes) }
    }

    @Test("only JSON whitespace may surround the value: trailing data is refused")
    func trailingGarbage() {
        Self.expectRejected("1 2", "trailing data after the JSON value", at: 2)
        Self.expectRejected("{} x", "trailing data", at: 3)
        Self.expectRejected("[]]", "trailing data", at: 2)
        Self.expectRejected("null\0", "trailing data", at: 4)
        Self.expectRejected("true\u{0B}", "trailing data", at: 4)
        Self.expectRejected("\u{0C}1", "unexpected byte 0x0c", at: 0)
        Self.expectRejected("\u{A0}1", "unexpected character U+00A0", at: 0)
        #expect(throws: Never.self) { try JSONValue.parse(" \t\r\n1 \t\r\n".bytes) }
    }

    @Test("a leading byte order mark is refused")
    func byteOrderMark() {
        Self.expectRejected([0xEF, 0xBB, 0xBF] + "{}".bytes, "byte order mark", at: 0)
        Self.expectRejected([0x20, 0xEF, 0xBB, 0xBF, 0x31], "unexpected character U+FEFF", at: 1)
    }

    @Test("floating-point numbers are refused: fraction or exponent, whatever the value")
    func floats() {
        for text in ["1.5", "1.0", "-0.0", "1e3", "1E3", "1e+2", "2E-3", "0e0", "1.", "12.e4"] {
            Self.expectRejected(text, "floating-point numbers are not allowed", at: 0)
        }
        Self.expectRejected(#"{"n":[1,2.5]}"#, "floating-point numbers are not allowed (2.5", at: 8)
    }

    @Test("integers outside ±(2^53-1) are refused, however long")
    func integerRange() {
        Self.expectRejected("9007199254740992", "outside the safe range ±(2^53-1)", at: 0)
        Self.expectRejected("-9007199254740992", "integer -9007199254740992 is outside", at: 0)
        Self.expectRejected("[18446744073709551616]", "outside the safe range", at: 1)
        Self.expectRejected(String(repeating: "9", count: 100_000), "outside the safe range", at: 0)
    }

    @Test("leading zeros and malformed numbers are refused")
    func leadingZeros() {
        Self.expectRejected("01", "leading zeros are not allowed", at: 0)
        Self.expectRejected("-007", "leading zeros are not allowed in numbers (-007)", at: 0)
        Self.expectRejected("[00]", "leading zeros", at: 1)
        Self.expectRejected("-", "expected a digit after '-'", at: 1)
        Self.expectRejected("-x", "expected a digit after '-'", at: 1)
        Self.expectRejected("+1", "unexpected character '+'", at: 0)
        Self.expectRejected(".5", "unexpected character '.'", at: 0)
    }

    @Test("control characters must be escaped inside strings")
    func unescapedControls() throws {
        for code in UInt8(0)..<0x20 {
            Self.expectRejected([0x22, 0x61, code, 0x22], "unescaped control character", at: 2)
        }
        Self.expectRejected("\"a\tb\"", "unescaped control character U+0009", at: 2)
        Self.expectRejected("{\"k\":\"line\nbreak\"}", "U+000A", at: 10)
        #expect(try JSONValue.parse("\"\u{7F}\"".bytes) == .string("\u{7F}"))
    }

    @Test("nesting deeper than maxDepth is refused; maxDepth counts arrays and objects alike and is capped")
    func depth() throws {
        let deep32 = String(repeating: "[", count: 32) + String(repeating: "]", count: 32)
        #expect(throws: Never.self) { try JSONValue.parse(deep32.bytes) }
        let deep33 = String(repeating: "[", count: 33) + String(repeating: "]", count: 33)
        Self.expectRejected(deep33, "nesting deeper than 32 levels", at: 32)
        let objects = String(repeating: #"{"a":"#, count: 5) + "1" + String(repeating: "}", count: 5)
        #expect(throws: Never.self) { try JSONValue.parse(objects.bytes, maxDepth: 5) }
        #expect(Self.parseError(objects, maxDepth: 4)?.reason.contains("nesting deeper than 4 levels") == true)
        #expect(Self.parseError("[]", maxDepth: 0)?.offset == 0)
        #expect(try JSONValue.parse("7".bytes, maxDepth: 0) == 7)
        // A caller's huge maxDepth is capped, so a hostile input cannot build a value whose
        // recursive operations overflow the stack.
        let ceiling = JSONValue.depthCeiling
        let atCeiling = String(repeating: "[", count: ceiling) + String(repeating: "]", count: ceiling)
        let value = try JSONValue.parse(atCeiling.bytes, maxDepth: .max)
        #expect(value.canonicalBytes() == atCeiling.bytes && value == value)
        let over = String(repeating: "[", count: ceiling + 1) + String(repeating: "]", count: ceiling + 1)
        #expect(Self.parseError(over, maxDepth: .max)?.reason.contains("nesting deeper than \(ceiling) levels") == true)
    }

    @Test("input larger than maxBytes is refused before parsing; exactly maxBytes is fine")
    func maxBytes() throws {
        let text = #"{"a":"0123456789"}"#.bytes
        #expect(try JSONValue.parse(text, maxBytes: text.count)["a"] == "0123456789")
        let error = Self.parseError(text, maxBytes: text.count - 1)
        #expect(error == JSONError(reason: "input of 18 bytes exceeds the limit of 17 bytes", offset: nil))
        let huge = [UInt8](repeating: UInt8(ascii: " "), count: (1 << 20) + 1)
        #expect(Self.parseError(huge)?.reason.contains("exceeds the limit of 1048576 bytes") == true)
    }

    @Test("other syntax errors name what was expected, with byte, line and column")
    func syntaxErrors() {
        Self.expectRejected("", "unexpected end of input, expected a value", at: 0)
        Self.expectRejected("   ", "unexpected end of input", at: 3)
        Self.expectRejected(#""abc"#, "unterminated string", at: 0)
        Self.expectRejected(#""ab\"#, "unterminated escape sequence", at: 3)
        Self.expectRejected(#""\x""#, #"invalid escape sequence '\x'"#, at: 1)
        Self.expectRejected(#""\'""#, "invalid escape sequence", at: 1)
        Self.expectRejected(#""\u12G4""#, "invalid \\u escape", at: 1)
        Self.expectRejected(#""\u12""#, "expected 4 hex digits", at: 1)
        Self.expectRejected("[1,]", "unexpected character ']', expected a value", at: 3)
        Self.expectRejected("[1 2]", "expected ',' or ']'", at: 3)
        Self.expectRejected(#"{"a":1,}"#, "expected a string key after ','", at: 7)
        Self.expectRejected(#"{"a" 1}"#, "expected ':' after an object key", at: 5)
        Self.expectRejected(#"{"a":1 "b":2}"#, "expected ',' or '}'", at: 7)
        Self.expectRejected("{a:1}", "expected a string key or '}'", at: 1)
        Self.expectRejected("['a']", "unexpected character '''", at: 1)
        Self.expectRejected("[1] // c", "trailing data", at: 4)
        Self.expectRejected("NaN", "unexpected character 'N'", at: 0)
        Self.expectRejected("tru", "invalid literal, expected 'true'", at: 0)
        Self.expectRejected("nul1", "invalid literal, expected 'null'", at: 0)
        Self.expectRejected("[fals", "expected 'false'", at: 1)
        Self.expectRejected("[[1]", "unexpected end of input, expected ',' or ']'", at: 4)
        let error = Self.parseError("{\n  \"é\": 1,\n  \"b\": x\n}")
        #expect(error?.reason == "unexpected character 'x', expected a value at byte 20 (line 3, column 8)")
        #expect(error?.description == "invalid JSON: " + (error?.reason ?? ""))
        // Columns count characters, not bytes: "é" is two bytes, one column.
        let sameLine = Self.parseError("{\n  \"é\": x\n}")
        #expect(sameLine?.reason == "unexpected character 'x', expected a value at byte 10 (line 2, column 8)")
    }

    // MARK: Accessors and literals

    @Test("accessors return the payload for their case and nil for every other case")
    func accessors() {
        let values: [JSONValue] = [.null, true, 7, "s", [1], ["k": "v"]]
        #expect(values.map { $0.boolValue } == [nil, true, nil, nil, nil, nil])
        #expect(values.map { $0.integerValue } == [nil, nil, 7, nil, nil, nil])
        #expect(values.map { $0.stringValue } == [nil, nil, nil, "s", nil, nil])
        #expect(values.map { $0.arrayValue } == [nil, nil, nil, nil, [.integer(1)], nil])
        #expect(values.map { $0.objectValue } == [nil, nil, nil, nil, nil, ["k": .string("v")]])
        #expect(values.map { $0["k"] } == [nil, nil, nil, nil, nil, .string("v")])
        #expect(Self.manifest["case"]?["id"]?.stringValue == "2024-0117")
        #expect(Self.manifest["case"]?["missing"] == nil)
        #expect(Self.manifest["files"]?.arrayValue?.last?["size"]?.integerValue == 0)
    }

    // MARK: Hostile input and speed

    @Test("mutated manifests never crash: each either throws JSONError or yields a value that round-trips")
    func mutationFuzz() throws {
        let seed = Self.manifest.canonicalBytes()
        let alphabet = Array(#"{}[]",:\ u0123456789abcdefDE-+.eE"#.utf8) + [0x00, 0x0A, 0x80, 0xC3, 0xED, 0xF4, 0xFF]
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        var accepted = 0
        var rejected = 0
        for _ in 0..<3000 {
            var bytes = seed
            for _ in 0...next(3) {
                switch next(3) {
                case 0: bytes[next(bytes.count)] = alphabet[next(alphabet.count)]
                case 1: bytes.insert(alphabet[next(alphabet.count)], at: next(bytes.count + 1))
                default: if bytes.count > 1 { bytes.remove(at: next(bytes.count)) }
                }
            }
            do {
                let value = try JSONValue.parse(bytes)
                let canonical = value.canonicalBytes()
                #expect(try JSONValue.parseCanonical(canonical) == value)
                accepted += 1
            } catch {
                #expect(error.offset.map { (0...bytes.count).contains($0) } ?? false, "\(error)")
                rejected += 1
            }
        }
        #expect(accepted > 0 && rejected > 0)
    }

    @Test("hostile shapes are refused quickly: a megabyte of '[' or of a long string without its closing quote")
    func hostileShapes() {
        let brackets = [UInt8](repeating: UInt8(ascii: "["), count: 1 << 20)
        #expect(Self.parseError(brackets)?.offset == 32)
        let open = [UInt8(ascii: "\"")] + [UInt8](repeating: UInt8(ascii: "a"), count: (1 << 20) - 1)
        #expect(Self.parseError(open)?.reason.contains("unterminated string") == true)
        let escapes = [UInt8(ascii: "\"")] + Array(String(repeating: #"\n"#, count: 100_000).utf8)
        #expect(Self.parseError(escapes)?.reason.contains("unterminated string") == true)
    }

    @Test("parsing scales linearly: a 1 MiB manifest costs about 16 times a 64 KiB one")
    func speed() throws {
        func document(bytes limit: Int) -> (bytes: [UInt8], count: Int) {
            var files: [JSONValue] = []
            var size = 2
            while size < limit - 200 {
                let index = files.count
                let entry: JSONValue = ["path": .string("évidence/dir \(index % 97)/file-\(index).txt"), "size": .integer(Int64(index) * 4099),
                                        "sha256": .string(String(repeating: "0f", count: 32)), "note": "line\tbreak\n\u{1F600}", "ok": true]
                size += entry.canonicalBytes().count + 1
                files.append(entry)
            }
            return (JSONValue.object(["files": .array(files)]).canonicalBytes(), files.count)
        }
        let small = document(bytes: 64 << 10), large = document(bytes: 1 << 20)
        #expect(large.bytes.count > 1_000_000 && large.bytes.count <= 1 << 20)
        // Relative, not absolute, time: the ratio holds on slow machines and under sanitizers.
        // Linear work gives ~16x for 16x the bytes; quadratic work would give ~256x.
        let clock = ContinuousClock()
        func fastest(_ bytes: [UInt8], expecting count: Int) throws -> Duration {
            var best = Duration.seconds(1_000)
            for _ in 0..<3 {
                var parsed: JSONValue = .null
                best = min(best, try clock.measure { parsed = try JSONValue.parseCanonical(bytes) })
                #expect(parsed["files"]?.arrayValue?.count == count)
            }
            return best
        }
        let smallTime = try fastest(small.bytes, expecting: small.count)
        let largeTime = try fastest(large.bytes, expecting: large.count)
        let ratio = largeTime / smallTime
        #expect(ratio < 64, "1 MiB took \(largeTime), 64 KiB took \(smallTime): \(ratio)x for 16x the bytes")
        print("CanonicalJSON scaling: \(smallTime) for \(small.bytes.count) bytes, \(largeTime) for \(large.bytes.count) bytes (\(ratio)x)")
    }
}
