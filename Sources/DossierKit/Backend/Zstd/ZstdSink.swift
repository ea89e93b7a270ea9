import CDossierZstd

/// Told where each file's data begins and ends in a stream, so that a compressor can
/// store data that does not compress (scans, photos, PDFs of images) instead of spending
/// CPU on it.
protocol FileDataObserver: AnyObject {
    /// The data of a file of `size` bytes follows; `sample` is its first piece.
    func fileDataBegins(size: Int64, sample: UnsafeRawBufferPointer) throws
    /// The file's data has been written completely.
    func fileDataEnds() throws
}

/// A byte sink that compresses everything written to it into standard zstd (readable by
/// `zstd -d`, `tar --zstd` and libarchive) and passes it on.
///
/// With `workers` > 0, compression runs on that many zstd worker threads in jobs of
/// `jobSize` bytes; memory is then about workers × 2 × jobSize plus the window, whatever
/// the input size (libarchive's zstd filter leaves the job size at zstd's default of
/// 4 × the window, 8 MiB at level 3, which tripled the seal's peak memory).
///
/// Data that does not compress is stored: told by `fileDataBegins` that a large file
/// follows whose first piece does not compress, the sink ends the current frame and writes
/// the file's data as a frame of raw blocks (RFC 8878 §3.1.1.2: a zstd stream is any
/// sequence of frames; `zstd -d`, libarchive and `tar --zstd` read it as one). zstd -3
/// spends ~1 s of CPU per GB on such data to save nothing (0.002% on the `typical` corpus's
/// scans); storing costs one copy.
final class ZstdSink: ByteSink, FileDataObserver {
    private let cctx: OpaquePointer
    private let sink: ByteSink
    private var output: [UInt8]
    /// Small writes (tar headers, small files) are gathered here first: one compression call
    /// per 256 KiB instead of one per write (each call in multi-threaded mode takes locks).
    private var pending: [UInt8] = []
    private let pendingLimit = 256 << 10
    private var finished = false
    /// Whether the current compressed frame has received input since it began.
    private var frameHasInput = false
    /// Whether any frame (compressed or stored) has been passed on.
    private var wroteFrame = false
    /// Storing a file's data as raw blocks; `pending` then holds the block being filled.
    private var storing = false
    /// Worker threads asked of zstd (0: compression on the caller's thread).
    private(set) var workers = 0
    /// Whether any compressed byte was passed on (before that, the workers may be given up).
    private var producedAny = false
    /// Files smaller than this are always compressed (a frame switch costs a pipeline flush).
    static let minimumStoredFileSize: Int64 = 512 << 10
    /// The largest raw block (RFC 8878: Block_Maximum_Size is at most 128 KiB).
    static let rawBlockSize = 128 << 10
    /// A sample that compresses to more than this fraction of its size counts as incompressible.
    static let storeThreshold = 0.97
    private lazy var probe: OpaquePointer? = ZSTD_createCCtx()
    private var probeOutput: [UInt8] = []
    /// Stored file data and frames, for tests and benchmarks.
    private(set) var storedBytes: Int64 = 0
    private(set) var storedFrames = 0

    struct ZstdError: Error, CustomStringConvertible {
        let description: String
    }

    init(sink: ByteSink, level: Int, workers: Int, jobSize: Int = 1 << 20) throws(ZstdError) {
        guard let cctx = ZSTD_createCCtx() else { throw ZstdError(description: "ZSTD_createCCtx failed") }
        self.cctx = cctx
        self.sink = sink
        output = [UInt8](repeating: 0, count: ZSTD_CStreamOutSize())
        try check(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, Int32(level)), "level \(level)")
        if workers > 0 {
            // A libzstd built without threads refuses nbWorkers; compression then stays on this thread.
            if ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_nbWorkers, Int32(workers))) == 0 {
                try check(ZSTD_CCtx_setParameter(cctx, ZSTD_c_jobSize, Int32(jobSize)), "job size \(jobSize)")
                self.workers = workers
            }
        }
    }

    deinit {
        ZSTD_freeCCtx(cctx)
        if let probe { ZSTD_freeCCtx(probe) }
    }

    private func check(_ code: Int, _ what: String) throws(ZstdError) {
        if ZSTD_isError(code) != 0 {
            throw ZstdError(description: "zstd \(what): \(String(cString: ZSTD_getErrorName(code)))")
        }
    }

    /// Runs one compression step and passes the produced bytes on. Returns zstd's hint
    /// (0 when a flush or end is complete).
    private func step(_ input: inout ZSTD_inBuffer, _ mode: ZSTD_EndDirective) throws -> Int {
        let capacity = output.count
        var produced = 0
        var result = 0
        try output.withUnsafeMutableBytes { raw in
            var out = ZSTD_outBuffer(dst: raw.baseAddress, size: capacity, pos: 0)
            result = ZSTD_compressStream2(cctx, &out, &input, mode)
            // The first call starts the workers; where the system refuses them (a limit
            // on threads), the stream is compressed on this thread instead. Nothing was
            // consumed or produced yet: the call is made again.
            if dossier_zstd_is_allocation_error(result) != 0 && !producedAny && workers > 0 {
                workers = 0
                _ = ZSTD_CCtx_reset(cctx, ZSTD_reset_session_only)
                try check(ZSTD_CCtx_setParameter(cctx, ZSTD_c_nbWorkers, 0), "one thread")
                result = ZSTD_compressStream2(cctx, &out, &input, mode)
            }
            try check(result, "compression")
            produced = out.pos
        }
        if produced > 0 {
            producedAny = true
            try output.withUnsafeBytes { try sink.write(UnsafeRawBufferPointer(rebasing: $0[0..<produced])) }
        }
        return result
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        precondition(!finished, "write after finish")
        guard !bytes.isEmpty else { return }
        if storing { return try store(bytes) }
        frameHasInput = true
        if pending.count + bytes.count <= pendingLimit {
            if pending.isEmpty { pending.reserveCapacity(pendingLimit) }
            pending.append(contentsOf: bytes)
            if pending.count == pendingLimit { try flushPending() }
            return
        }
        try flushPending()
        if bytes.count < pendingLimit {
            pending.append(contentsOf: bytes)
        } else {
            try compress(bytes)
        }
    }

    private func flushPending() throws {
        guard !pending.isEmpty else { return }
        try pending.withUnsafeBytes { try compress($0) }
        pending.removeAll(keepingCapacity: true)
    }

    private func compress(_ bytes: UnsafeRawBufferPointer) throws {
        var input = ZSTD_inBuffer(src: bytes.baseAddress, size: bytes.count, pos: 0)
        while input.pos < input.size { _ = try step(&input, ZSTD_e_continue) }
    }

    /// Ends the stream: everything buffered is compressed (or stored) and passed on.
    func finish() throws {
        guard !finished else { return }
        if storing { try fileDataEnds() }
        try endFrame()
        if !wroteFrame { try endFrame(evenIfEmpty: true) }  // an empty input is one empty frame
        finished = true
    }

    /// Ends the current compressed frame, if it has any input.
    private func endFrame(evenIfEmpty: Bool = false) throws {
        guard frameHasInput || evenIfEmpty else { return }
        try flushPending()
        var input = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
        while try step(&input, ZSTD_e_end) != 0 {}
        frameHasInput = false
        wroteFrame = true
    }

    // MARK: - Storing incompressible file data

    func fileDataBegins(size: Int64, sample: UnsafeRawBufferPointer) throws {
        precondition(!finished && !storing, "file data began twice")
        // 64 KiB past the start: a file's first bytes are often a compressible header.
        let probeSize = 64 << 10
        let probeStart = sample.count >= 2 * probeSize ? probeSize : 0
        let probe = UnsafeRawBufferPointer(rebasing: sample[probeStart..<min(sample.count, probeStart + probeSize)])
        guard size >= Self.minimumStoredFileSize, !probe.isEmpty, !compresses(probe) else { return }
        try endFrame()
        // Frame header: magic, descriptor 0 (no content size, no checksum, no dictionary,
        // not single-segment), window descriptor 0x38 (2^17 = 128 KiB, the raw block size).
        try sink.write([0x28, 0xB5, 0x2F, 0xFD, 0x00, 0x38])
        storing = true
        storedFrames += 1
        wroteFrame = true
        pending.removeAll(keepingCapacity: true)
        pending.reserveCapacity(Self.rawBlockSize)
    }

    func fileDataEnds() throws {
        guard storing else { return }
        try emitRawBlock(last: true)
        storing = false
    }

    /// Gathers stored bytes into raw blocks; a full block is passed on once more data
    /// follows, so that the frame's last block can carry the last-block flag. Whole blocks
    /// with more bytes after them in the same write are passed on without being gathered.
    private func store(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            if pending.count == Self.rawBlockSize { try emitRawBlock(last: false) }
            if pending.isEmpty && bytes.count - offset > Self.rawBlockSize {
                try emitRawBlock(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + Self.rawBlockSize)]), last: false)
                offset += Self.rawBlockSize
                continue
            }
            let n = min(Self.rawBlockSize - pending.count, bytes.count - offset)
            pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)]))
            offset += n
        }
        storedBytes += Int64(bytes.count)
    }

    /// A raw block: 3-byte little-endian header (last flag, type 0 = raw, size << 3), the bytes.
    private func emitRawBlock(last: Bool) throws {
        try pending.withUnsafeBytes { try emitRawBlock($0, last: last) }
        pending.removeAll(keepingCapacity: true)
    }

    private func emitRawBlock(_ block: UnsafeRawBufferPointer, last: Bool) throws {
        let header = UInt32(block.count) << 3 | (last ? 1 : 0)
        try sink.write([UInt8(header & 0xFF), UInt8(header >> 8 & 0xFF), UInt8(header >> 16 & 0xFF)])
        if !block.isEmpty { try sink.write(block) }
    }

    /// Whether `sample` compresses (at level 1) to at most `storeThreshold` of its size.
    /// A probe that cannot run counts as compressible: the data is then compressed as usual.
    private func compresses(_ sample: UnsafeRawBufferPointer) -> Bool {
        guard let probe else { return true }
        let bound = ZSTD_compressBound(sample.count)
        if probeOutput.count < bound { probeOutput = [UInt8](repeating: 0, count: bound) }
        let size = probeOutput.withUnsafeMutableBytes { out in
            ZSTD_compressCCtx(probe, out.baseAddress, out.count, sample.baseAddress, sample.count, 1)
        }
        guard ZSTD_isError(size) == 0 else { return true }
        return Double(size) <= Double(sample.count) * Self.storeThreshold
    }
}
