/// age's ASCII armor: strict PEM-like framing of padded base64 in 64-column lines.
///
/// ```
/// -----BEGIN AGE ENCRYPTED FILE-----
/// <64 columns of base64>
/// <final line, 1…64 columns, padded>
/// -----END AGE ENCRYPTED FILE-----
/// ```
/// Whitespace is allowed before the first and after the last line; lines may end in LF or
/// CRLF; everything else (empty lines, short inner lines, trailing spaces, non-canonical
/// base64, checksums, garbage) is an armor failure.
enum AgeArmor {
    static let begin = Array("-----BEGIN AGE ENCRYPTED FILE-----".utf8)
    static let end = Array("-----END AGE ENCRYPTED FILE-----".utf8)
    static let columns = 64

    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0a || byte == 0x0d
    }

    /// Whether input that starts with `byte` must be armored (binary age starts with "a").
    static func looksArmored(firstByte byte: UInt8) -> Bool {
        byte == UInt8(ascii: "-") || isWhitespace(byte)
    }

    /// Whether a key file is age-encrypted (passphrase-protected): binary age, or the armor's
    /// first line after any whitespace — exact prefixes, as age itself decides. A plain key
    /// file may start with blank lines or spaces (they are ignored) and is not encrypted.
    static func isEncryptedKeyFile<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> Bool {
        if bytes.starts(with: "age-encryption.org/".utf8) { return true }
        return bytes.drop(while: isWhitespace).starts(with: begin)
    }
}

/// Decodes armored input as a byte source, in constant memory.
final class AgeArmorReader: ByteSource {
    private enum State { case start, body, done }
    private let reader: BufferedReader
    private var state = State.start
    private var decoded: [UInt8] = []
    private var offset = 0
    private var sawFinalLine = false

    init(_ reader: BufferedReader) { self.reader = reader }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while offset == decoded.count {
            if state == .done { return 0 }
            try advance()
        }
        let n = Swift.min(buffer.count, decoded.count - offset)
        decoded.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<(offset + n)])) }
        offset += n
        return n
    }

    private func fail(_ reason: String) -> AgeError { AgeError(.armor, reason) }

    /// Reads one line without its LF or CRLF; `hadNewline` tells whether it ended in LF.
    private func nextLine() throws -> (line: [UInt8], hadNewline: Bool)? {
        guard var line = try reader.readLine(maxLength: AgeArmor.columns + 2, tooLong: { fail("an armor line is longer than \(AgeArmor.columns) columns") }) else {
            return nil
        }
        var hadNewline = false
        if line.last == UInt8(ascii: "\n") {
            line.removeLast()
            hadNewline = true
            if line.last == UInt8(ascii: "\r") { line.removeLast() }
        }
        return (line, hadNewline)
    }

    private func advance() throws {
        switch state {
        case .start:
            while let byte = try reader.peek(), AgeArmor.isWhitespace(byte) { reader.skip() }
            guard let (line, hadNewline) = try nextLine(), line == AgeArmor.begin, hadNewline else {
                throw fail("the armor does not start with \"-----BEGIN AGE ENCRYPTED FILE-----\"")
            }
            state = .body
        case .body:
            guard let (line, hadNewline) = try nextLine() else {
                throw fail("the armor ends without \"-----END AGE ENCRYPTED FILE-----\"")
            }
            if line == AgeArmor.end {
                // Only whitespace may follow.
                while let byte = try reader.peek() {
                    guard AgeArmor.isWhitespace(byte) else { throw fail("data follows the armor end line") }
                    reader.skip()
                }
                state = .done
                decoded = []
                offset = 0
                return
            }
            guard hadNewline else { throw fail("the armor ends without \"-----END AGE ENCRYPTED FILE-----\"") }
            guard !sawFinalLine else { throw fail("a line shorter than \(AgeArmor.columns) columns is followed by more data") }
            guard !line.isEmpty else { throw fail("empty line inside the armor") }
            guard line.count <= AgeArmor.columns else { throw fail("an armor line is longer than \(AgeArmor.columns) columns") }
            guard let bytes = AgeBase64.decode(line, padded: true) else {
                throw fail("an armor line is not canonical padded base64")
            }
            if line.count < AgeArmor.columns || line.last == UInt8(ascii: "=") { sawFinalLine = true }
            decoded = bytes
            offset = 0
        case .done:
            return
        }
    }
}

/// Encodes written bytes as armor into a sink. Call `finish()` to write the end line.
final class AgeArmorWriter: ByteSink {
    private let sink: ByteSink
    private var pending: [UInt8] = []
    private var started = false
    private static let bytesPerLine = AgeArmor.columns / 4 * 3

    init(_ sink: ByteSink) { self.sink = sink }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        if !started {
            try sink.write(AgeArmor.begin + [UInt8(ascii: "\n")])
            started = true
        }
        pending.append(contentsOf: bytes)
        if pending.count > Self.bytesPerLine {
            let whole = (pending.count - 1) / Self.bytesPerLine * Self.bytesPerLine
            var out: [UInt8] = []
            out.reserveCapacity(whole / 3 * 4 + whole / Self.bytesPerLine)
            var i = 0
            while i < whole {
                out += AgeBase64.encode(pending[i..<(i + Self.bytesPerLine)], padded: true)
                out.append(UInt8(ascii: "\n"))
                i += Self.bytesPerLine
            }
            pending.removeFirst(whole)
            try sink.write(out)
        }
    }

    func finish() throws {
        if !started {
            try sink.write(AgeArmor.begin + [UInt8(ascii: "\n")])
            started = true
        }
        var out: [UInt8] = []
        if !pending.isEmpty {
            out += AgeBase64.encode(pending, padded: true)
            out.append(UInt8(ascii: "\n"))
        }
        out += AgeArmor.end + [UInt8(ascii: "\n")]
        pending = []
        try sink.write(out)
    }
}
