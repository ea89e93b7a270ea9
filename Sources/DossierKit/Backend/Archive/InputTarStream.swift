import CDossierArchive

/// The decompressed stream of a tar handed in for sealing (plain, or through gzip, bzip2,
/// xz or zstd), as the tar reader reads it — so that what comes after the tar's end can be
/// looked at: libarchive stops at the first end block, or at the end of the input when the
/// end blocks are missing, and says nothing either way. A tar cut after a whole entry, a
/// lone end block, or a second tar or other data after the end sealed as if complete
/// (review of session 18).
final class InputTarStream: ByteSource {
    private let source: ByteSource
    /// Bytes handed out so far.
    private(set) var totalOut: Int64 = 0
    /// Just past the last non-zero byte handed out or drained: what follows it is zeros.
    private(set) var endOfNonZero: Int64 = 0

    init(_ source: ByteSource) { self.source = source }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = try source.read(into: buffer)
        note(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        return n
    }

    private func note(_ bytes: UnsafeRawBufferPointer) {
        if let last = bytes.lastIndex(where: { $0 != 0 }) { endOfNonZero = totalOut + Int64(last) + 1 }
        totalOut += Int64(bytes.count)
    }

    /// Reads the rest of the stream (at most `limit` bytes), so that `endOfNonZero` covers
    /// all of it; false when there was more.
    func drain(limit: Int64) throws -> Bool {
        var buffer = [UInt8](repeating: 0, count: 256 << 10)
        var drained: Int64 = 0
        while true {
            let n = try buffer.withUnsafeMutableBytes { try read(into: $0) }
            if n == 0 { return true }
            drained += Int64(n)
            if drained > limit { return false }
        }
    }

    /// The rules a tar's end must meet once the tar reader has said "end" having read up to
    /// `consumed` (its `uncompressedBytesRead`); nil when they are met, else what is wrong.
    /// The reader consumed the end-of-archive blocks it found: two blocks of zeros after the
    /// last entry (`lastEntryEnd`, when known), and after them only zeros (a tape's
    /// record padding), at most `paddingLimit` bytes.
    func endProblem(consumed: Int64, lastEntryEnd: Int64?, paddingLimit: Int64 = 16 << 20) throws -> String? {
        guard try drain(limit: paddingLimit) else {
            return "more than \(paddingLimit >> 20) MiB follow the end of the tar"
        }
        if let lastEntryEnd, consumed < lastEntryEnd + 1024 {
            return consumed <= lastEntryEnd
                ? "the tar ends without its end-of-archive blocks: it is cut short (files may be missing)"
                : "the tar ends with a single end-of-archive block: it is cut short (files may be missing)"
        }
        if endOfNonZero > consumed {
            return "data follows the end of the tar (another archive, or a damaged one)"
        }
        if endOfNonZero > consumed - 1024 {
            return "the tar ends without its end-of-archive blocks: it is cut short (files may be missing)"
        }
        return nil
    }
}

/// Decompresses bzip2, xz or zstd with libarchive's filters (each checks its own checksums),
/// handing out the plain bytes: what `InputTarStream` reads for a `.tar.bz2`, `.tar.xz`
/// or `.tar.zst`.
final class LibArchiveDecoder: ByteSource {
    private let archive: OpaquePointer
    private var started = false

    init(path: String) throws(ArchiveError) {
        guard let archive = archive_read_new() else { throw ArchiveError("archive_read_new failed") }
        self.archive = archive
        archive_read_support_filter_bzip2(archive)
        archive_read_support_filter_xz(archive)
        archive_read_support_filter_zstd(archive)
        archive_read_support_format_raw(archive)
        let status = archive_read_open_filename(archive, path, 256 * 1024)
        guard status == ARCHIVE_OK else { throw ArchiveError("opening the archive: \(LibArchive.message(archive, status))") }
    }

    deinit { archive_read_free(archive) }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if !started {
            var entry: OpaquePointer?
            let status = archive_read_next_header(archive, &entry)
            guard status == ARCHIVE_OK else { throw ArchiveError("decompressing: \(LibArchive.message(archive, status))") }
            started = true
        }
        let n = archive_read_data(archive, buffer.baseAddress, buffer.count)
        guard n >= 0 else { throw ArchiveError("decompressing: \(LibArchive.message(archive, Int32(n)))") }
        return n
    }
}
