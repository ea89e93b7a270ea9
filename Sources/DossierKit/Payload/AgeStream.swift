import Foundation

/// The age STREAM payload: ChaCha20-Poly1305 over 64 KiB chunks, nonce = 11-byte
/// big-endian chunk counter ‖ last-chunk flag, payload key = HKDF-SHA-256(file key,
/// salt: 16-byte payload nonce, info: "payload").
///
/// Every chunk is independently decryptable given the payload key, its index and whether
/// it is the last one: `encryptChunk` / `decryptChunk` encrypt and decrypt one chunk
/// wherever it is in the stream.
enum AgeStream {
    static let chunkSize = 64 * 1024
    static let tagSize = 16
    static let encryptedChunkSize = chunkSize + tagSize
    static let payloadNonceSize = 16
    static let fileKeySize = 16

    /// Derives the payload key from the file key and the 16-byte payload nonce.
    static func payloadKey(fileKey: SecureBytes, nonce: [UInt8]) throws(AgeError) -> SecureBytes {
        do {
            return try HKDFSHA256.deriveKey(inputKeyMaterial: fileKey, salt: nonce, info: Array("payload".utf8), outputByteCount: 32)
        } catch {
            throw AgeError(.payload, "deriving the payload key failed: \(error)")
        }
    }

    /// The chunk cipher bound to a payload key.
    static func cipher(_ payloadKey: SecureBytes) throws(AgeError) -> AEADKey {
        do {
            return try AEADKey(.chaCha20Poly1305, key: payloadKey)
        } catch {
            throw AgeError(.payload, "payload key rejected: \(error)")
        }
    }

    /// The 12-byte ChaCha20-Poly1305 nonce of chunk `index`.
    static func chunkNonce(index: UInt64, last: Bool) -> [UInt8] {
        var nonce = [UInt8](repeating: 0, count: 12)
        var counter = index.bigEndian
        withUnsafeBytes(of: &counter) { nonce.replaceSubrange(3..<11, with: $0) }
        nonce[11] = last ? 1 : 0
        return nonce
    }

    /// Encrypts one chunk (`plaintext.count` ≤ 64 KiB) into `output` (plaintext + 16 bytes).
    static func encryptChunk(
        _ aead: AEADKey, index: UInt64, last: Bool,
        plaintext: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer
    ) throws(AgeError) {
        precondition(plaintext.count <= chunkSize)
        let nonce = chunkNonce(index: index, last: last)
        do {
            try withBytes(nonce) { (n) throws(CryptoError) in
                try aead.seal(plaintext, nonce: n, aad: UnsafeRawBufferPointer(start: nil, count: 0), into: output)
            }
        } catch {
            throw AgeError(.payload, "encrypting chunk \(index) failed: \(error)")
        }
    }

    /// Decrypts and authenticates one chunk into `output` (ciphertext − 16 bytes). On
    /// failure `output` is wiped and nothing is released.
    static func decryptChunk(
        _ aead: AEADKey, index: UInt64, last: Bool,
        ciphertext: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer
    ) throws(AgeError) {
        guard ciphertext.count >= tagSize, ciphertext.count <= encryptedChunkSize else {
            throw AgeError(.payload, "chunk \(index) has an invalid size of \(ciphertext.count) bytes")
        }
        let nonce = chunkNonce(index: index, last: last)
        do {
            try withBytes(nonce) { (n) throws(CryptoError) in
                try aead.open(ciphertext, nonce: n, aad: UnsafeRawBufferPointer(start: nil, count: 0), into: output)
            }
        } catch {
            throw AgeError(.payload, "chunk \(index)\(last ? " (last)" : "") does not authenticate: the payload was modified, truncated or extended")
        }
    }
}

/// Encrypts a plaintext stream into STREAM chunks written to a sink, in constant memory.
///
/// Plaintext is gathered into batches of up to 16 chunks (1 MiB), encrypted and written
/// in order. Whole chunks that are followed by more bytes of the same write are encrypted
/// straight from the caller's bytes; only the rest is copied into the batch buffer.
///
/// The chunks are encrypted one after another on the caller's thread (in a seal, the
/// pipeline's writer, beside the thread that reads, hashes and compresses). They were
/// encrypted side by side with `DispatchQueue.concurrentPerform` until session 14: no faster
/// on two cores, where the seal's other work already fills both (typical seal 0.519 s with,
/// 0.508 s without, 16 interleaved rounds), and libdispatch waits for ever for worker
/// threads the system refuses (a seal under `ulimit -u 4…6` hung).
final class AgeStreamEncryptor {
    static let batchChunks = 16
    private let aead: AEADKey
    private let sink: ByteSink
    private var plaintext: [UInt8]
    private var filled = 0
    private var output: [UInt8]
    private var index: UInt64 = 0
    private var finished = false
    /// The first failure: every later call throws it. A batch whose writing failed may be
    /// partly in the sink, and its chunk numbers must never encrypt other bytes (the same
    /// key and nonce twice).
    private var failed: AgeError?

    init(payloadKey: SecureBytes, sink: ByteSink) throws(AgeError) {
        aead = try AgeStream.cipher(payloadKey)
        self.sink = sink
        plaintext = [UInt8](repeating: 0, count: AgeStream.chunkSize * Self.batchChunks)
        output = [UInt8](repeating: 0, count: AgeStream.encryptedChunkSize * Self.batchChunks)
    }

    deinit { secureWipe(&plaintext) }

    func write(_ bytes: UnsafeRawBufferPointer) throws(AgeError) {
        precondition(!finished, "write after finish")
        try failing { () throws(AgeError) in try append(bytes) }
    }

    func finish() throws(AgeError) {
        precondition(!finished, "finish called twice")
        try failing { () throws(AgeError) in try flush(last: true) }
        finished = true
    }

    /// Runs `body` unless an earlier call failed; keeps its failure.
    private func failing(_ body: () throws(AgeError) -> Void) throws(AgeError) {
        if let failed { throw failed }
        do { try body() } catch {
            failed = error
            throw error
        }
    }

    private func append(_ bytes: UnsafeRawBufferPointer) throws(AgeError) {
        var offset = 0
        while offset < bytes.count {
            let remaining = bytes.count - offset
            // A full batch is flushed (all its chunks regular) only once more data arrives,
            // so the last chunk may be full and is never empty unless the stream is.
            if filled == plaintext.count { try flush(last: false) }
            // Whole chunks with at least one more byte after them in this write are not the
            // last: they join the buffered whole chunks in a batch without being copied.
            if filled % AgeStream.chunkSize == 0 && remaining > AgeStream.chunkSize {
                let direct = Swift.min(Self.batchChunks - filled / AgeStream.chunkSize, (remaining - 1) / AgeStream.chunkSize)
                let length = direct * AgeStream.chunkSize
                try encryptBatch(direct: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + length)]), last: false)
                offset += length
                continue
            }
            let n = Swift.min(plaintext.count - filled, remaining)
            plaintext.withUnsafeMutableBytes { dst in
                UnsafeMutableRawBufferPointer(rebasing: dst[filled..<(filled + n)])
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)]))
            }
            filled += n
            offset += n
        }
    }

    /// Encrypts the buffered chunks; with `last`, the final one carries the last-chunk flag.
    private func flush(last: Bool) throws(AgeError) {
        try encryptBatch(direct: UnsafeRawBufferPointer(start: nil, count: 0), last: last)
    }

    /// Encrypts one batch — the buffered plaintext followed by `direct` (only whole chunks
    /// may be buffered when `direct` is not empty) — writes it, and empties the buffer.
    private func encryptBatch(direct: UnsafeRawBufferPointer, last: Bool) throws(AgeError) {
        let buffered = filled
        precondition(direct.isEmpty || buffered % AgeStream.chunkSize == 0)
        let count = buffered + direct.count
        precondition(count <= plaintext.count)
        let chunks = Swift.max(1, (count + AgeStream.chunkSize - 1) / AgeStream.chunkSize)
        let outputLength = count + chunks * AgeStream.tagSize
        var failure: AgeError?
        plaintext.withUnsafeBytes { input in
            output.withUnsafeMutableBytes { out in
                for i in 0..<chunks {
                    let start = i * AgeStream.chunkSize
                    let length = Swift.min(AgeStream.chunkSize, count - start)
                    let piece = start < buffered
                        ? UnsafeRawBufferPointer(rebasing: input[start..<(start + length)])
                        : UnsafeRawBufferPointer(rebasing: direct[(start - buffered)..<(start - buffered + length)])
                    let outStart = i * AgeStream.encryptedChunkSize
                    do throws(AgeError) {
                        try AgeStream.encryptChunk(aead, index: index + UInt64(i), last: last && i == chunks - 1, plaintext: piece,
                                                   into: UnsafeMutableRawBufferPointer(rebasing: out[outStart..<(outStart + length + AgeStream.tagSize)]))
                    } catch {
                        failure = error
                        return
                    }
                }
            }
        }
        if let failure { throw failure }
        do {
            try output.withUnsafeBytes { try sink.write(UnsafeRawBufferPointer(rebasing: $0[0..<outputLength])) }
        } catch {
            throw AgeError.wrapping(error, "writing the payload failed")
        }
        index += UInt64(chunks)
        filled = 0
    }

}

/// Decrypts STREAM chunks from a reader and releases only authenticated plaintext.
///
/// The chunking rule follows the reference implementation exactly, so that the plaintext
/// released before an error is the same everywhere (the CCTV vectors check it):
/// a read of fewer than 64 KiB + 16 bytes is the last chunk; a full-size chunk is tried as
/// a regular chunk and, if that fails, as the last one; after the last chunk the stream
/// must end — trailing data is an error reported after the (authentic) last chunk.
final class AgeStreamDecryptor {
    private let aead: AEADKey
    private let reader: BufferedReader
    private var ciphertext: [UInt8]
    private var index: UInt64 = 0
    private var done = false
    private var failed: AgeError?

    init(payloadKey: SecureBytes, reader: BufferedReader) throws(AgeError) {
        aead = try AgeStream.cipher(payloadKey)
        self.reader = reader
        ciphertext = [UInt8](repeating: 0, count: AgeStream.encryptedChunkSize)
    }

    /// Decrypts the next chunk into `output` (at least 64 KiB) and returns its plaintext
    /// length, or nil after the last chunk. After an error every later call throws it again.
    func nextChunk(into output: UnsafeMutableRawBufferPointer) throws(AgeError) -> Int? {
        if let failed { throw failed }
        if done { return nil }
        do {
            return try decryptNext(into: output)
        } catch {
            failed = error
            throw error
        }
    }

    private func decryptNext(into output: UnsafeMutableRawBufferPointer) throws(AgeError) -> Int {
        precondition(output.count >= AgeStream.chunkSize)
        let count: Int
        do {
            count = try ciphertext.withUnsafeMutableBytes { try reader.readFully(into: $0) }
        } catch {
            throw AgeError.wrapping(error, "reading the payload failed")
        }
        if count == 0 {
            throw AgeError(.payload, index == 0 ? "the payload has no chunks" : "the payload ends without a last chunk: it was truncated")
        }
        var last = count < AgeStream.encryptedChunkSize
        if last && count == AgeStream.tagSize && index > 0 {
            throw AgeError(.payload, "the last chunk is empty, which only an empty payload may have")
        }
        guard count >= AgeStream.tagSize else {
            throw AgeError(.payload, "chunk \(index) is truncated (\(count) bytes)")
        }
        let plaintextLength = count - AgeStream.tagSize
        let index = self.index
        let aead = self.aead
        let plaintextOut = UnsafeMutableRawBufferPointer(rebasing: output[0..<plaintextLength])
        do {
            try withBytes(ciphertext) { (c) throws(AgeError) in
                try AgeStream.decryptChunk(aead, index: index, last: last,
                                           ciphertext: UnsafeRawBufferPointer(rebasing: c[0..<count]), into: plaintextOut)
            }
        } catch where !last {
            // A full-size chunk may be the last one.
            do {
                try withBytes(ciphertext) { (c) throws(AgeError) in
                    try AgeStream.decryptChunk(aead, index: index, last: true,
                                               ciphertext: UnsafeRawBufferPointer(rebasing: c[0..<count]), into: plaintextOut)
                }
                last = true
            } catch let asLast {
                // Neither: named as the last chunk only when nothing follows it (a middle
                // chunk was reported as "(last)").
                var atEnd = false
                do { atEnd = try reader.peek() == nil } catch {}
                throw atEnd ? asLast : error
            }
        }
        if last {
            done = true
            let trailing: UInt8?
            do { trailing = try reader.peek() } catch {
                failed = AgeError.wrapping(error, "reading after the last chunk failed")
                done = false
                return plaintextLength
            }
            if trailing != nil {
                // The last chunk is authentic and released; the stream still fails.
                failed = AgeError(.payload, "data follows the last chunk: the payload was extended")
                done = false
            }
        } else {
            guard self.index < UInt64.max else { throw AgeError(.payload, "too many chunks") }
            self.index += 1
        }
        return plaintextLength
    }
}
