import CDossierZstd

/// A byte sink that compresses everything written to it into one standard zstd frame
/// (readable by `zstd -d`, `tar --zstd` and libarchive) and passes it on.
///
/// With `workers` > 0, compression runs on that many zstd worker threads in jobs of
/// `jobSize` bytes; memory is then about workers × 2 × jobSize plus the window, whatever
/// the input size (libarchive's zstd filter leaves the job size at zstd's default of
/// 4 × the window, 8 MiB at level 3, which tripled the seal's peak memory).
final class ZstdSink: ByteSink {
    private let cctx: OpaquePointer
    private let sink: ByteSink
    private var output: [UInt8]
    /// Small writes (tar headers, small files) are gathered here first: one compression call
    /// per 256 KiB instead of one per write (each call in multi-threaded mode takes locks).
    private var pending: [UInt8] = []
    private let pendingLimit = 256 << 10
    private var finished = false

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
            }
        }
    }

    deinit { ZSTD_freeCCtx(cctx) }

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
            try check(result, "compression")
            produced = out.pos
        }
        if produced > 0 {
            try output.withUnsafeBytes { try sink.write(UnsafeRawBufferPointer(rebasing: $0[0..<produced])) }
        }
        return result
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        precondition(!finished, "write after finish")
        guard !bytes.isEmpty else { return }
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

    /// Ends the frame: everything buffered is compressed and passed on.
    func finish() throws {
        guard !finished else { return }
        try flushPending()
        finished = true
        var input = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
        while try step(&input, ZSTD_e_end) != 0 {}
    }
}
