import CDossierZstd

/// Decompresses the zstd stream of a payload's inner archive (RFC 8878) for the tar reader,
/// so that what the stream holds is accounted for to its last byte — which libarchive's
/// own zstd filter, stopping where the tar ends, did not: bytes after the tar's end, even a
/// frame of 4 GiB of zeros, were signed, never read, and inflated by `zstd -d` (spec-only
/// reader of session 17). Refused here:
/// - anything but zstd frames: a skippable frame (data a decoder passes over unread), or
///   bytes that are not a frame at all;
/// - frames that need a window above 8 MiB (`windowLogMax`: the largest a sealer's levels
///   1…19 use), which bounds the opening's memory (libarchive allowed 128 MiB);
/// - a stream that ends inside a frame.
/// `drainTrailing` reads what follows the tar's end; opening allows only zero padding there.
final class ZstdSource: BlockSource {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// 2^23 = 8 MiB.
    static let windowLogMax: Int32 = 23
    /// The magic number that starts every zstd frame (little-endian 0xFD2FB528).
    static let frameMagic: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD]

    private let input: ByteSource
    private let dctx: OpaquePointer
    private var output: [UInt8]
    /// The input block being decompressed (borrowed from a block source, or `readBuffer`).
    private var block = UnsafeRawBufferPointer(start: nil, count: 0)
    private var position = 0
    private var readBuffer: [UInt8] = []
    private var inputEnded = false
    /// Between frames: the next input bytes must be a frame's magic number.
    private var atFrameStart = true
    /// The last call filled the output: the decoder may hold more before it needs input.
    private var outputFull = false
    /// A frame's first bytes, gathered across input blocks to check its magic number, then
    /// fed to the decoder before the rest of the block.
    private var stash: [UInt8] = []
    /// Output handed out by `nextBlock` but not yet taken by `read`.
    private var pending = UnsafeRawBufferPointer(start: nil, count: 0)
    /// Bytes decompressed so far.
    private(set) var totalOut: Int64 = 0
    /// The offset (in the decompressed stream) just past its last non-zero byte so far: what
    /// follows it is zeros. The tar reader borrows whole blocks and stops inside one at the
    /// tar's end, so what came after the end in that block is judged by this.
    private(set) var endOfNonZero: Int64 = 0

    init(_ input: ByteSource, outputSize: Int = 256 << 10) throws(Failure) {
        guard let dctx = ZSTD_createDCtx() else { throw Failure(description: "ZSTD_createDCtx failed") }
        self.dctx = dctx
        self.input = input
        output = [UInt8](repeating: 0, count: outputSize)
        // (Every property is set: on a throw, deinit frees the context.)
        if ZSTD_isError(ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, Self.windowLogMax)) != 0 {
            throw Failure(description: "zstd: cannot limit the window")
        }
    }

    deinit { ZSTD_freeDCtx(dctx) }

    /// Makes `block` hold unread input, unless the input has ended.
    private func fillInput() throws {
        guard position == block.count, !inputEnded else { return }
        if let blocks = input as? BlockSource {
            block = try blocks.nextBlock()
        } else {
            if readBuffer.isEmpty { readBuffer = [UInt8](repeating: 0, count: 256 << 10) }
            let n = try readBuffer.withUnsafeMutableBytes { try input.read(into: $0) }
            block = readBuffer.withUnsafeBytes { UnsafeRawBufferPointer(rebasing: $0[0..<n]) }
        }
        position = 0
        if block.count == 0 { inputEnded = true }
    }

    /// Gathers a frame's first four bytes and checks they are the zstd magic number.
    private func checkFrameMagic() throws {
        while stash.count < 4 {
            try fillInput()
            if position == block.count { break }
            stash.append(block[position])
            position += 1
        }
        guard stash.count == 4 else { throw Failure(description: "the zstd stream ends inside a frame's header") }
        guard stash == Self.frameMagic else {
            let skippable = stash[0] & 0xF0 == 0x50 && stash[1] == 0x2A && stash[2] == 0x4D && stash[3] == 0x18
            throw Failure(description: skippable ? "the zstd stream holds a skippable frame (data no decoder reads)"
                                                 : "the stream is not zstd frames (after \(totalOut) decompressed bytes)")
        }
        atFrameStart = false
    }

    /// One call of the decoder; the number of bytes it wrote to `output`.
    private func decompress() throws -> Int {
        var result = 0
        var written = 0
        try output.withUnsafeMutableBytes { raw in
            var out = ZSTD_outBuffer(dst: raw.baseAddress, size: raw.count, pos: 0)
            if !stash.isEmpty {
                let consumed = stash.withUnsafeBytes { bytes -> Int in
                    var inBuffer = ZSTD_inBuffer(src: bytes.baseAddress, size: bytes.count, pos: 0)
                    result = ZSTD_decompressStream(dctx, &out, &inBuffer)
                    return inBuffer.pos
                }
                if ZSTD_isError(result) == 0 { stash.removeFirst(consumed) }
            } else {
                var inBuffer = ZSTD_inBuffer(src: block.baseAddress, size: block.count, pos: position)
                result = ZSTD_decompressStream(dctx, &out, &inBuffer)
                position = inBuffer.pos
            }
            written = out.pos
            if ZSTD_isError(result) != 0 {
                let name = String(cString: ZSTD_getErrorName(result))
                if ZSTD_getErrorCode(result) == ZSTD_error_frameParameter_windowTooLarge {
                    throw Failure(description: "a zstd frame needs a window above \(1 << (Self.windowLogMax - 20)) MiB, more than a sealer writes (\(name))")
                }
                throw Failure(description: "zstd: \(name)")
            }
            outputFull = out.pos == out.size
        }
        if result == 0 {
            // The frame is decoded and flushed: what follows must be another frame.
            atFrameStart = true
            outputFull = false
        }
        if written > 0, let last = output[0..<written].lastIndex(where: { $0 != 0 }) {
            endOfNonZero = totalOut + Int64(last) + 1
        }
        totalOut += Int64(written)
        return written
    }

    private func produce() throws -> UnsafeRawBufferPointer {
        while true {
            if !outputFull {
                try fillInput()
                if position == block.count && stash.isEmpty {
                    guard atFrameStart else { throw Failure(description: "the zstd stream ends inside a frame") }
                    return UnsafeRawBufferPointer(start: nil, count: 0)
                }
                if atFrameStart { try checkFrameMagic() }
            }
            let n = try decompress()
            if n > 0 { return output.withUnsafeBytes { UnsafeRawBufferPointer(rebasing: $0[0..<n]) } }
        }
    }

    func nextBlock() throws -> UnsafeRawBufferPointer {
        if pending.count > 0 {
            defer { pending = UnsafeRawBufferPointer(start: nil, count: 0) }
            return pending
        }
        return try produce()
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard buffer.count > 0 else { return 0 }
        if pending.count == 0 { pending = try produce() }
        let n = min(buffer.count, pending.count)
        buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: pending[0..<n]))
        pending = UnsafeRawBufferPointer(rebasing: pending[n...])
        return n
    }

    /// Reads the rest of the stream after the tar reader stopped at `consumed` bytes (what
    /// it used; it may have borrowed more): how many bytes follow that point, and whether
    /// all are zero. Stops once more than `limit` follow.
    func drainTrailing(after consumed: Int64, limit: Int64) throws -> (bytes: Int64, allZero: Bool) {
        while totalOut - consumed <= limit {
            if try nextBlock().count == 0 { break }
        }
        return (totalOut - consumed, endOfNonZero <= consumed)
    }
}
