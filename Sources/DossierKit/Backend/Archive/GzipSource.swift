import CDossierZlib

/// Decompresses a gzip stream (RFC 1952) for the tar reader, checking what libarchive's
/// gzip filter does not: each member's CRC-32 and length in its trailer. A `.tar.gz` with
/// a changed byte or trailer was sealed with the changed content (review of session 18:
/// 39 of 40 single-bit flips sealed, and then verified and opened as sealed).
///
/// Several members one after another are one stream (as `gzip -d` reads them); after the
/// last member only zero bytes may follow (tape padding). A member cut short, a header
/// or data zlib refuses, or anything else after the last member is an error.
final class GzipSource: ByteSource {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private let input: ByteSource
    private var stream = z_stream()
    private var inputBuffer: [UInt8]
    /// Bytes of `inputBuffer` not yet given to zlib: `inputBuffer[position..<filled]`.
    private var position = 0
    private var filled = 0
    private var inputEnded = false
    private var memberEnded = false
    private var finished = false
    private var initialized = false

    init(_ input: ByteSource, bufferSize: Int = 256 << 10) throws(Failure) {
        self.input = input
        inputBuffer = [UInt8](repeating: 0, count: bufferSize)
        // 16 + 15: a gzip wrapper (no zlib or raw deflate), the largest window.
        guard inflateInit2_(&stream, 16 + 15, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw Failure(description: "gzip: cannot start zlib's decoder")
        }
        initialized = true
    }

    deinit { if initialized { inflateEnd(&stream) } }

    /// Refills the input buffer when it is used up; false at the end of the input.
    private func refill() throws -> Bool {
        if position < filled { return true }
        if inputEnded { return false }
        let n = try inputBuffer.withUnsafeMutableBytes { try input.read(into: $0) }
        position = 0
        filled = n
        if n == 0 { inputEnded = true }
        return n > 0
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard buffer.count > 0, !finished else { return 0 }
        while true {
            if memberEnded {
                // Between members: another member, zero padding to the end, or nothing.
                guard try refill() else { finished = true; return 0 }
                if inputBuffer[position] == 0 {
                    while try refill() {
                        guard inputBuffer[position..<filled].allSatisfy({ $0 == 0 }) else {
                            throw Failure(description: "gzip: data follows the compressed stream after zero bytes")
                        }
                        position = filled
                    }
                    finished = true
                    return 0
                }
                guard inputBuffer[position] == 0x1F else {
                    throw Failure(description: "gzip: data that is not a gzip member follows the compressed stream")
                }
                guard inflateReset(&stream) == Z_OK else { throw Failure(description: "gzip: cannot restart zlib's decoder") }
                memberEnded = false
            }
            let hasInput = try refill()
            let produced: Int
            let status: Int32 = inputBuffer.withUnsafeMutableBytes { raw in
                stream.next_in = raw.baseAddress!.assumingMemoryBound(to: Bytef.self) + position
                stream.avail_in = uInt(filled - position)
                stream.next_out = buffer.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(min(buffer.count, Int(UInt32.max)))
                let status = inflate(&stream, Z_NO_FLUSH)
                stream.next_in = nil
                stream.next_out = nil
                return status
            }
            position = filled - Int(stream.avail_in)
            produced = min(buffer.count, Int(UInt32.max)) - Int(stream.avail_out)
            switch status {
            case Z_STREAM_END:
                memberEnded = true
                if produced > 0 { return produced }
            case Z_OK:
                if produced > 0 { return produced }
            case Z_BUF_ERROR where !hasInput:
                throw Failure(description: "gzip: the compressed stream is cut short")
            case Z_BUF_ERROR:
                continue
            case Z_DATA_ERROR:
                let message = stream.msg.map { String(cString: $0) } ?? "invalid data"
                // zlib's words for the trailer: "incorrect data check" (CRC-32), "incorrect length check".
                let meaning = message.contains("data check") ? "its CRC-32 does not match the data: the file is damaged"
                    : message.contains("length check") ? "its recorded length does not match the data: the file is damaged"
                    : "damaged data (\(message))"
                throw Failure(description: "gzip: \(meaning)")
            case Z_MEM_ERROR:
                throw Failure(description: "gzip: out of memory")
            default:
                throw Failure(description: "gzip: zlib status \(status)")
            }
            if !hasInput && !memberEnded { throw Failure(description: "gzip: the compressed stream is cut short") }
        }
    }
}
