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
    /// The last pieces handed out (copies, ≤ `keptBytes`): where the tar's end blocks and
    /// what follows them are, since the tar reader reads ahead of what it consumes.
    private var kept: [(start: Int64, bytes: [UInt8])] = []
    private var keptCount = 0
    private static let keptBytes = 2 << 20
    /// pixz's index, which it writes into the xz stream after the tar's end blocks.
    static let pixzIndexMagic: [UInt8] = [0xA6, 0x4C, 0x32, 0x2E, 0xD6, 0x14, 0xAE, 0xDB]

    init(_ source: ByteSource) { self.source = source }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = try source.read(into: buffer)
        keep(Array(UnsafeRawBufferPointer(rebasing: buffer[0..<n])))
        return n
    }

    private func keep(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        kept.append((totalOut, bytes))
        keptCount += bytes.count
        totalOut += Int64(bytes.count)
        while keptCount - kept[0].bytes.count >= Self.keptBytes {
            keptCount -= kept[0].bytes.count
            kept.removeFirst()
        }
    }

    /// The kept byte at `offset`, or nil when it is not kept.
    private func keptByte(_ offset: Int64) -> UInt8? {
        for piece in kept where offset >= piece.start && offset < piece.start + Int64(piece.bytes.count) {
            return piece.bytes[Int(offset - piece.start)]
        }
        return nil
    }

    /// The first kept non-zero byte at or after `offset`.
    private func firstNonZero(from offset: Int64) -> Int64? {
        for piece in kept where piece.start + Int64(piece.bytes.count) > offset {
            let from = Int(max(0, offset - piece.start))
            if let index = piece.bytes[from...].firstIndex(where: { $0 != 0 }) { return piece.start + Int64(index) }
        }
        return nil
    }

    /// The rules a tar's end must meet once the tar reader has said "end" having read up to
    /// `consumed` (its `uncompressedBytesRead`); nil when they are met, else what is wrong.
    /// The reader consumed the end-of-archive blocks it found: two blocks of zeros after the
    /// last entry (`lastEntryEnd`, when known), and after them only zeros (a tape's record
    /// padding, at most `paddingLimit` bytes) — or, with `pixzIndex`, pixz's index.
    func endProblem(consumed: Int64, lastEntryEnd: Int64?, pixzIndex: Bool = false, paddingLimit: Int64 = 128 << 20) throws -> String? {
        let cut = "the tar ends without its end-of-archive blocks: it is cut short (files may be missing)"
        if let lastEntryEnd, consumed < lastEntryEnd + 1024 {
            return consumed <= lastEntryEnd ? cut : "the tar ends with a single end-of-archive block: it is cut short (files may be missing)"
        }
        // The end blocks themselves (what the reader took for them) are zeros.
        guard consumed >= 1024, (consumed - 1024..<consumed).allSatisfy({ keptByte($0) == 0 }) else { return cut }
        // After them: the first byte that is not zero, if any.
        var offset = consumed
        var buffer = [UInt8](repeating: 0, count: 256 << 10)
        while true {
            if let found = firstNonZero(from: offset) {
                offset = found
                break
            }
            offset = totalOut
            guard offset - consumed <= paddingLimit else { return "more than \(paddingLimit >> 20) MiB follow the end of the tar" }
            let n = try buffer.withUnsafeMutableBytes { try read(into: $0) }
            if n == 0 { return nil }  // zeros to the end
        }
        // Something follows: pixz's index (the first 8 bytes), or data that is not the tar's.
        if pixzIndex {
            while totalOut < offset + 8 {
                let n = try buffer.withUnsafeMutableBytes { try read(into: $0) }
                if n == 0 { break }
            }
            if (0..<8).map({ keptByte(offset + Int64($0)) }) == Self.pixzIndexMagic.map({ Optional($0) }) { return nil }
        }
        return "data follows the end of the tar (another archive, or a damaged one)"
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
