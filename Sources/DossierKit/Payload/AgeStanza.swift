/// One recipient stanza of an age header: a type, arguments and a binary body.
///
/// ```
/// -> X25519 <base64 share>
/// <base64 body, 64 columns per line, final line shorter (possibly empty)>
/// ```
struct AgeStanza: Sendable, Equatable {
    var type: String
    var arguments: [String]
    var body: [UInt8]

    init(type: String, arguments: [String], body: [UInt8]) {
        self.type = type
        self.arguments = arguments
        self.body = body
    }

    /// Whether `bytes` is a valid stanza argument: one or more printable ASCII characters (VCHAR, 0x21…0x7E).
    static func isValidArgument(_ bytes: some Collection<UInt8>) -> Bool {
        !bytes.isEmpty && bytes.allSatisfy { (0x21...0x7e).contains($0) }
    }

    /// The canonical encoding of this stanza.
    func encoded() -> [UInt8] {
        var out = Array("->".utf8)
        for argument in [type] + arguments {
            out.append(UInt8(ascii: " "))
            out.append(contentsOf: argument.utf8)
        }
        out.append(UInt8(ascii: "\n"))
        let text = AgeBase64.encode(body)
        var offset = 0
        while true {
            let line = text[offset..<Swift.min(offset + 64, text.count)]
            out.append(contentsOf: line)
            out.append(UInt8(ascii: "\n"))
            offset += 64
            if line.count < 64 { break }
        }
        return out
    }
}
