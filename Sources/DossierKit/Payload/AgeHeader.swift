/// The age v1 header: version line, recipient stanzas, MAC line.
///
/// Parsing is strict on every rule of the specification: LF line endings, VCHAR arguments,
/// canonical unpadded base64 wrapped at 64 columns with a final short line, a 32-byte MAC.
struct AgeHeader: Sendable {
    static let versionLine = Array("age-encryption.org/v1\n".utf8)
    /// The largest header accepted (a dossier transferred to many archives still fits many times over).
    static let maxByteCount = 1 << 20
    /// The longest header line accepted (hybrid recipient stanzas have ~1,500-character arguments).
    static let maxLineLength = 8 * 1024

    var stanzas: [AgeStanza]
    /// The header MAC (HMAC-SHA-256 over `macInput`).
    var mac: [UInt8]
    /// The header bytes the MAC covers: everything up to and including "---".
    var macInput: [UInt8]
    /// The whole encoded header, including the MAC line.
    var encoded: [UInt8] { macInput + Array(" ".utf8) + AgeBase64.encode(mac) + [UInt8(ascii: "\n")] }

    /// Builds a header for `stanzas` and computes its MAC with `fileKey`.
    init(stanzas: [AgeStanza], fileKey: SecureBytes) throws(AgeError) {
        self.stanzas = stanzas
        var input = AgeHeader.versionLine
        for stanza in stanzas { input += stanza.encoded() }
        input += Array("---".utf8)
        self.macInput = input
        self.mac = try AgeHeader.computeMAC(over: input, fileKey: fileKey)
    }

    private init(stanzas: [AgeStanza], mac: [UInt8], macInput: [UInt8]) {
        self.stanzas = stanzas
        self.mac = mac
        self.macInput = macInput
    }

    /// HMAC-SHA-256 keyed with HKDF-SHA-256(file key, salt: empty, info: "header").
    static func computeMAC(over input: [UInt8], fileKey: SecureBytes) throws(AgeError) -> [UInt8] {
        do {
            let key = try HKDFSHA256.deriveKey(inputKeyMaterial: fileKey, salt: [UInt8](), info: Array("header".utf8), outputByteCount: 32)
            return try HMACSHA256.authenticate(input, key: key)
        } catch {
            throw AgeError(.header, "computing the header MAC failed: \(error)")
        }
    }

    /// Checks the MAC in constant time.
    func verifyMAC(fileKey: SecureBytes) throws(AgeError) {
        let expected = try AgeHeader.computeMAC(over: macInput, fileKey: fileKey)
        guard constantTimeEquals(expected, mac) else {
            throw AgeError(.hmac, "the header MAC does not verify: the header was modified or the file key is wrong")
        }
    }

    /// Parses a header from `reader`, leaving it positioned at the first payload byte.
    static func parse(from reader: BufferedReader) throws(AgeError) -> AgeHeader {
        var consumed = 0
        func line() throws(AgeError) -> [UInt8] {
            let next: [UInt8]?
            do {
                next = try reader.readLine(maxLength: maxLineLength + 1) {
                    AgeError(.header, "a header line is longer than \(maxLineLength) bytes")
                }
            } catch {
                throw AgeError.wrapping(error, "reading the header failed")
            }
            guard let next else { throw AgeError(.header, consumed == 0 ? "the file is empty" : "the header ends before its MAC line") }
            guard next.last == UInt8(ascii: "\n") else { throw AgeError(.header, "the header ends before its MAC line") }
            consumed += next.count
            guard consumed <= maxByteCount else { throw AgeError(.header, "the header is larger than \(maxByteCount) bytes") }
            return Array(next.dropLast())
        }

        let version = try line()
        guard version + [UInt8(ascii: "\n")] == versionLine else {
            if version.starts(with: Array("age-encryption.org/".utf8)) {
                throw AgeError(.header, "unsupported age version line \(printable(version))")
            }
            throw AgeError(.header, "not an age file: the first line is not \"age-encryption.org/v1\"")
        }
        var macInput = versionLine
        var stanzas: [AgeStanza] = []
        var pending = try line()
        while true {
            if pending.starts(with: Array("---".utf8)) {
                // MAC line: "--- " + 43 characters of canonical base64 (32 bytes).
                let rest = pending.dropFirst(3)
                guard rest.first == UInt8(ascii: " ") else { throw AgeError(.header, "malformed MAC line: a space must follow \"---\"") }
                guard let mac = AgeBase64.decode(rest.dropFirst()), mac.count == 32 else {
                    throw AgeError(.header, "malformed MAC line: the MAC is not 32 bytes of canonical base64")
                }
                macInput += Array("---".utf8)
                return AgeHeader(stanzas: stanzas, mac: mac, macInput: macInput)
            }
            guard pending.starts(with: Array("-> ".utf8)) else {
                throw AgeError(.header, "unexpected header line \(printable(pending)): expected a stanza (\"-> \") or the MAC line (\"---\")")
            }
            macInput += pending + [UInt8(ascii: "\n")]
            let fields = pending.dropFirst(3).split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
            guard !fields.isEmpty, fields.allSatisfy({ AgeStanza.isValidArgument($0) }) else {
                throw AgeError(.header, "malformed stanza line \(printable(pending)): arguments must be non-empty printable ASCII separated by single spaces")
            }
            var body: [UInt8] = []
            while true {
                let bodyLine = try line()
                macInput += bodyLine + [UInt8(ascii: "\n")]
                guard bodyLine.count <= 64 else { throw AgeError(.header, "a stanza body line is longer than 64 columns") }
                guard let decoded = AgeBase64.decode(bodyLine) else {
                    throw AgeError(.header, "a stanza body line is not canonical unpadded base64: \(printable(bodyLine))")
                }
                body += decoded
                if bodyLine.count < 64 { break }
            }
            let strings = fields.map { String(decoding: $0, as: UTF8.self) }
            stanzas.append(AgeStanza(type: strings[0], arguments: Array(strings.dropFirst()), body: body))
            pending = try line()
        }
    }

    /// A short, safe rendering of header bytes for error messages (headers hold no secrets):
    /// printable ASCII as it is, every other byte and the backslash as `\xHH` (two digits:
    /// "\xa" then "b" read as the byte 0xAB).
    static func printable(_ bytes: some Collection<UInt8>) -> String {
        let digits = Array("0123456789abcdef")
        let shown = bytes.prefix(60).map {
            (0x20...0x7e).contains($0) && $0 != UInt8(ascii: "\\") ? String(UnicodeScalar($0)) : "\\x\(digits[Int($0 >> 4)])\(digits[Int($0 & 15)])"
        }.joined()
        return "\"" + shown + (bytes.count > 60 ? "…" : "") + "\""
    }
}
