/// age v1 (https://age-encryption.org/v1): the encrypted payload of a sealed dossier.
///
/// Two verbs, like age itself: encrypt to recipients (`AgeEncryptingWriter`, a sink you
/// write plaintext into) and decrypt with identities (`AgeDecryptingReader`, a source you
/// read plaintext from). Both run in constant memory (one 64 KiB chunk) whatever the size.
/// The reader releases only authenticated plaintext, chunk by chunk; a modified or
/// truncated payload makes it throw `AgeError` with kind `.payload` before any byte of the
/// bad chunk is released.
public enum Age {
    /// Encrypts `plaintext` in memory. For large data use `AgeEncryptingWriter`.
    public static func encrypt(_ plaintext: [UInt8], to recipients: [AgeRecipient], armored: Bool = false) throws(AgeError) -> [UInt8] {
        try withBytes(plaintext) { (bytes) throws(AgeError) in try encrypt(bytes: bytes, to: recipients, armored: armored) }
    }

    /// `encrypt` of bytes held elsewhere (a key file in wiping memory). The only other copy
    /// of the plaintext is the encryptor's chunk buffer, which it wipes.
    static func encrypt(bytes plaintext: UnsafeRawBufferPointer, to recipients: [AgeRecipient], armored: Bool) throws(AgeError) -> [UInt8] {
        let sink = MemorySink()
        let writer = try AgeEncryptingWriter(to: sink, recipients: recipients, armored: armored)
        try writer.writeChunk(plaintext)
        try writer.finish()
        return sink.bytes
    }

    /// Decrypts an age file (binary or armored) in memory. For large data use `AgeDecryptingReader`.
    public static func decrypt(_ ciphertext: [UInt8], with identities: [AgeIdentity]) throws(AgeError) -> [UInt8] {
        let reader = try AgeDecryptingReader(from: MemorySource(ciphertext), identities: identities)
        var out: [UInt8] = []
        while let chunk = try reader.nextChunk() { out += chunk }
        return out
    }

    /// Decrypts a small age file (a passphrase-protected key file) into wiping memory: the
    /// plaintext is decrypted straight into it, and the reader wipes its chunk buffer.
    static func decryptSecret(_ ciphertext: [UInt8], with identities: [AgeIdentity]) throws(AgeError) -> SecureBytes {
        let reader = try AgeDecryptingReader(from: MemorySource(ciphertext), identities: identities)
        var length = 0
        // The plaintext is shorter than the ciphertext (16-byte tags, a header).
        let buffer = try SecureBytes(count: ciphertext.count) { (buffer) throws(AgeError) in
            while length < buffer.count {
                let n: Int
                do {
                    n = try reader.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[length...]))
                } catch {
                    throw error as? AgeError ?? AgeError.wrapping(error, "decrypting failed")
                }
                if n == 0 { break }
                length += n
            }
        }
        return buffer.copy(0..<length)
    }

    /// Re-wraps an age file for new recipients: unwraps the file key with `identities`,
    /// writes a new header (new stanzas, new MAC) and then the payload body (nonce and
    /// STREAM chunks) byte for byte unchanged. Nothing is decrypted beyond the header.
    /// Armored input is accepted; the output is binary.
    public static func rewrap(from source: ByteSource, to sink: ByteSink, identities: [AgeIdentity], recipients: [AgeRecipient]) throws(AgeError) {
        let opened = try AgeFile.openHeader(source, identities: identities)
        let header = try AgeFile.makeHeader(fileKey: opened.fileKey, recipients: recipients)
        do {
            try sink.write(header.encoded)
            var buffer = [UInt8](repeating: 0, count: 256 * 1024)
            while true {
                let n = try buffer.withUnsafeMutableBytes { try opened.reader.read(into: $0) }
                if n == 0 { break }
                try buffer.withUnsafeBytes { try sink.write(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            }
        } catch {
            throw AgeError.wrapping(error, "copying the payload body failed")
        }
    }
}

/// Header-level operations shared by the reader, the writer and re-wrapping.
enum AgeFile {
    struct Opened {
        let header: AgeHeader
        let fileKey: SecureBytes
        /// Positioned at the first byte of the payload body (the 16-byte nonce).
        let reader: BufferedReader
    }

    /// Wraps `source` in a reader, de-armoring when the input is armored.
    static func reader(for source: ByteSource) throws(AgeError) -> BufferedReader {
        let raw = BufferedReader(source)
        let first: UInt8?
        do { first = try raw.peek() } catch { throw AgeError.wrapping(error, "reading the input failed") }
        if let first, AgeArmor.looksArmored(firstByte: first) {
            return BufferedReader(AgeArmorReader(raw))
        }
        return raw
    }

    /// Parses the header, unwraps the file key with the first identity that can, and
    /// verifies the header MAC.
    static func openHeader(_ source: ByteSource, identities: [AgeIdentity]) throws(AgeError) -> Opened {
        let reader = try reader(for: source)
        let header = try AgeHeader.parse(from: reader)
        let fileKey = try unwrap(header, identities: identities)
        return Opened(header: header, fileKey: fileKey, reader: reader)
    }

    /// Unwraps the file key of a parsed header with the first identity that can, and
    /// verifies the header MAC.
    static func unwrap(_ header: AgeHeader, identities: [AgeIdentity]) throws(AgeError) -> SecureBytes {
        guard !identities.isEmpty else { throw AgeError(.invalidArgument, "no identities given") }
        if header.stanzas.contains(where: { $0.type == "scrypt" }) && header.stanzas.count != 1 {
            throw AgeError(.header, "an scrypt stanza must be the only stanza in the header")
        }
        var fileKey: SecureBytes?
        for identity in identities {
            if let key = try identity.type.unwrap(header.stanzas) {
                fileKey = key
                break
            }
        }
        guard let fileKey else {
            var reason = "none of the \(identities.count) identit\(identities.count == 1 ? "y" : "ies") matches any of the \(header.stanzas.count) recipient stanza\(header.stanzas.count == 1 ? "" : "s")"
            if header.stanzas.contains(where: { $0.type == "mlkem768x25519" }) {
                reason += "; the file has post-quantum hybrid (mlkem768x25519) recipients, which this version does not support"
            }
            throw AgeError(.noMatch, reason)
        }
        try header.verifyMAC(fileKey: fileKey)
        return fileKey
    }

    /// Builds a header wrapping `fileKey` to `recipients`.
    static func makeHeader(fileKey: SecureBytes, recipients: [AgeRecipient]) throws(AgeError) -> AgeHeader {
        guard !recipients.isEmpty else { throw AgeError(.invalidArgument, "no recipients given") }
        if recipients.count > 1, recipients.contains(where: { $0.type.mustBeAlone }) {
            throw AgeError(.invalidArgument, "a passphrase (scrypt) recipient must be the only recipient")
        }
        var stanzas: [AgeStanza] = []
        for recipient in recipients { stanzas += try recipient.type.wrap(fileKey) }
        return try AgeHeader(stanzas: stanzas, fileKey: fileKey)
    }

    /// Reads the 16-byte payload nonce and derives the payload key.
    static func readPayloadKey(_ opened: Opened) throws(AgeError) -> SecureBytes {
        var nonce = [UInt8](repeating: 0, count: AgeStream.payloadNonceSize)
        let n: Int
        do {
            n = try nonce.withUnsafeMutableBytes { try opened.reader.readFully(into: $0) }
        } catch {
            throw AgeError.wrapping(error, "reading the payload nonce failed")
        }
        guard n == AgeStream.payloadNonceSize else {
            throw AgeError(.header, "the file ends \(n) bytes into the 16-byte payload nonce")
        }
        return try AgeStream.payloadKey(fileKey: opened.fileKey, nonce: nonce)
    }
}

/// Encrypts what is written to it into an age file on `sink`. Call `finish()` at the end:
/// without it the file has no last chunk and will not decrypt.
public final class AgeEncryptingWriter: ByteSink {
    private let stream: AgeStreamEncryptor
    private let armor: AgeArmorWriter?
    private var finished = false
    /// A failure of `finish` (the stream's own failures stick in the stream): every later
    /// call throws it.
    private var failed: AgeError?
    /// Length of the header (through the MAC line) written at `init`; the payload body follows.
    let headerByteCount: Int

    /// Writes the header at once; plaintext follows through `write(_:)`.
    public init(to sink: ByteSink, recipients: [AgeRecipient], armored: Bool = false) throws(AgeError) {
        let fileKey: SecureBytes
        do { fileKey = try SecureRandom.secretBytes(AgeStream.fileKeySize) } catch { throw AgeError(.invalidArgument, "\(error)") }
        let header = try AgeFile.makeHeader(fileKey: fileKey, recipients: recipients)
        let nonce: [UInt8]
        do { nonce = try SecureRandom.bytes(AgeStream.payloadNonceSize) } catch { throw AgeError(.invalidArgument, "\(error)") }
        let target: ByteSink
        if armored {
            let armor = AgeArmorWriter(sink)
            self.armor = armor
            target = armor
        } else {
            self.armor = nil
            target = sink
        }
        headerByteCount = header.encoded.count
        do {
            try target.write(header.encoded + nonce)
        } catch {
            throw AgeError.wrapping(error, "writing the header failed")
        }
        stream = try AgeStreamEncryptor(payloadKey: AgeStream.payloadKey(fileKey: fileKey, nonce: nonce), sink: target)
    }

    /// Encrypts `bytes` (buffered into 64 KiB chunks).
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        try writeChunk(bytes)
    }

    /// `write(_:)` with a typed error.
    public func writeChunk(_ bytes: UnsafeRawBufferPointer) throws(AgeError) {
        if let failed { throw failed }
        guard !finished else { throw AgeError(.invalidArgument, "write after finish") }
        // The stream keeps its own failure: a later write or `finish` throws it again.
        try stream.write(bytes)
    }

    /// Writes the last chunk (and the armor end line).
    /// After a failure (here or in a write) every later call throws it again.
    public func finish() throws(AgeError) {
        if let failed { throw failed }
        guard !finished else { return }
        do throws(AgeError) {
            try stream.finish()
            do { try armor?.finish() } catch { throw AgeError.wrapping(error, "writing the armor failed") }
        } catch {
            failed = error
            throw error
        }
        finished = true
    }
}

/// Reads an age file (binary or armored) from `source` and yields its plaintext.
///
/// `init` parses the header, unwraps the file key and verifies the header MAC; reading
/// then decrypts chunk by chunk. Only authenticated chunks are released.
public final class AgeDecryptingReader: ByteSource {
    private let stream: AgeStreamDecryptor
    private var chunk: [UInt8]
    private var chunkLength = 0
    private var offset = 0

    /// Reads the header from `source` (binary or armored), unwraps the file key with the
    /// first of `identities` that can, and verifies the header MAC; nothing is decrypted yet.
    /// Throws an `AgeError`, e.g. `.noMatch` when none of `identities` is a recipient, `.hmac`
    /// when the header MAC does not verify, `.header` or `.armor` for malformed input.
    public convenience init(from source: ByteSource, identities: [AgeIdentity]) throws(AgeError) {
        try self.init(opened: AgeFile.openHeader(source, identities: identities))
    }

    /// Decrypts a body whose header was already opened (the reader is at the body's start).
    init(opened: AgeFile.Opened) throws(AgeError) {
        stream = try AgeStreamDecryptor(payloadKey: AgeFile.readPayloadKey(opened), reader: opened.reader)
        chunk = [UInt8](repeating: 0, count: AgeStream.chunkSize)
    }

    deinit { secureWipe(&chunk) }

    /// The next authenticated chunk (up to 64 KiB), or nil at the clean end of the payload.
    public func nextChunk() throws(AgeError) -> [UInt8]? {
        if offset < chunkLength {
            defer { offset = chunkLength }
            return Array(chunk[offset..<chunkLength])
        }
        let stream = self.stream
        guard let n = try withMutableBytes(&chunk, { (raw) throws(AgeError) in try stream.nextChunk(into: raw) }) else { return nil }
        return Array(chunk[0..<n])
    }

    /// Reads up to `buffer.count` bytes of authenticated plaintext; 0 at the clean end.
    /// Throws an `AgeError` (`.payload` for a chunk that does not authenticate or a stream
    /// that is cut short).
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard buffer.count > 0 else { return 0 }
        if offset == chunkLength && buffer.count >= AgeStream.chunkSize {
            // Room for a whole chunk: decrypted in place, not copied. A chunk that does not
            // authenticate is wiped from `buffer` before the error is thrown (AEADKey.open).
            return try stream.nextChunk(into: buffer) ?? 0
        }
        if offset == chunkLength {
            let stream = self.stream
            let n = try withMutableBytes(&chunk) { (raw) throws(AgeError) in try stream.nextChunk(into: raw) }
            guard let n else { return 0 }
            chunkLength = n
            offset = 0
            if n == 0 { return 0 }
        }
        let n = Swift.min(buffer.count, chunkLength - offset)
        chunk.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<(offset + n)])) }
        offset += n
        return n
    }
}
