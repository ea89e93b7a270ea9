import CDossierArchive
#if canImport(Glibc)
import Glibc
#endif

/// Metadata of one archive entry, with the name kept as bytes until it is validated.
struct ArchiveEntryInfo: Sendable {
    enum Kind: Sendable, Equatable { case file, directory, symlink, hardlink, other(UInt32) }
    /// The raw name bytes as stored (UTF-8 expected, not yet validated).
    let pathBytes: [UInt8]
    let kind: Kind
    /// Size in bytes, nil when the archive does not record it.
    let size: Int64?
    /// Permission bits including setuid/setgid/sticky as stored.
    let mode: UInt32
    let mtime: Int64
    /// Symlink or hardlink target, for reporting.
    let linkTarget: [UInt8]?
}

/// Reads tar / zip / 7z / cpio archives (any compression libarchive knows) entry by entry.
final class ArchiveReader {
    enum Input {
        /// A stream (tar with any filter); no seeking.
        case stream(ByteSource)
        /// A file path (zip and 7z need seeking).
        case file(String)
    }

    private let archive: OpaquePointer
    private var source: ByteSource?
    private var sourceError: (any Error)?
    private var buffer: [UInt8]
    private var entryOpen = false

    /// - Parameters:
    ///   - tarOnly: accept only tar — for the dossier payload and for tars handed in by case
    ///     systems (decompressed before); otherwise zip, 7z and tar, without any filter.
    ///   - zstd: with `tarOnly`, also a tar through zstd (libarchive's filter); the payload's
    ///     inner archive is decompressed by `ZstdSource` and read as a plain tar.
    init(_ input: Input, tarOnly: Bool, zstd: Bool = true) throws(ArchiveError) {
        guard let archive = archive_read_new() else { throw ArchiveError("archive_read_new failed") }
        self.archive = archive
        buffer = [UInt8](repeating: 0, count: 256 * 1024)
        if tarOnly {
            if zstd { archive_read_support_filter_zstd(archive) }
            archive_read_support_format_tar(archive)
        } else {
            // What case systems hand in, as documented: zip and 7z (which compress inside),
            // and a tar without a ustar mark (old v7). No filters: a compressed tar is
            // decompressed before (`GzipSource`, `LibArchiveDecoder`) and read as a stream,
            // to check its end (`InputTarStream`). Not "all": libarchive would read a plain
            // text file as mtree, and its other filters decode uuencode, lz4, lzip… or hand
            // the input to whatever lrzip, lzop or grzip is on PATH.
            // By the central directory where libarchive finds it (in the last 16 KiB), else
            // by the local headers; either way `InputZipDirectory` checks the result against
            // the central directory (a zip cut short, or local entries it does not list).
            archive_read_support_format_zip(archive)
            archive_read_support_format_tar(archive)
            archive_read_support_format_gnutar(archive)
            archive_read_support_format_7zip(archive)
        }
        let status: Int32
        switch input {
        case .stream(let source):
            self.source = source
            let context = Unmanaged.passUnretained(self).toOpaque()
            status = LibArchive.withUTF8Locale {
                archive_read_open(archive, context, nil, { _, context, out in
                    let reader = Unmanaged<ArchiveReader>.fromOpaque(context!).takeUnretainedValue()
                    return reader.supply(out)
                }, nil)
            }
        case .file(let path):
            status = LibArchive.withUTF8Locale { archive_read_open_filename(archive, path, 256 * 1024) }
        }
        try check(status, "opening the archive")
    }

    deinit { archive_read_free(archive) }

    /// The compression libarchive found, outermost first (valid after the first `nextEntry`):
    /// `[ARCHIVE_FILTER_ZSTD, ARCHIVE_FILTER_NONE]` for tar.zst, `[ARCHIVE_FILTER_NONE]` for a plain tar.
    var filters: [Int32] {
        (0..<archive_filter_count(archive)).map { archive_filter_code(archive, $0) }
    }

    /// libarchive's names of `filters` ("zstd", "none").
    var filterNames: [String] {
        (0..<archive_filter_count(archive)).map { archive_filter_name(archive, $0).map { String(cString: $0) } ?? "?" }
    }

    /// In a tar: where the last entry's data (with its padding) ends in the decompressed
    /// stream, when known; what follows it up to `uncompressedBytesRead` after the end is
    /// what libarchive took for the end-of-archive blocks.
    private(set) var lastEntryEnd: Int64?

    /// Whether libarchive read the archive as a zip (valid after the first `nextEntry`).
    var isZip: Bool { archive_format(archive) & ARCHIVE_FORMAT_BASE_MASK == ARCHIVE_FORMAT_ZIP }

    /// Whether libarchive read the archive as a tar (valid after the first `nextEntry`).
    var isTar: Bool { archive_format(archive) & ARCHIVE_FORMAT_BASE_MASK == ARCHIVE_FORMAT_TAR }

    /// False until libarchive has recognised the format (at the first `nextEntry`).
    var formatRecognized: Bool { archive_format(archive) != 0 }

    /// The bytes the archive format has read so far, after decompression: headers, special
    /// headers and data, also what it skipped.
    var uncompressedBytesRead: Int64 { Int64(archive_filter_bytes(archive, 0)) }

    private func supply(_ out: UnsafeMutablePointer<UnsafeRawPointer?>?) -> Int {
        guard let source else { return 0 }
        do {
            // A block source lends its bytes (valid until the next callback): no copy.
            if let blocks = source as? BlockSource {
                let block = try blocks.nextBlock()
                out?.pointee = block.baseAddress
                return block.count
            }
            let n = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
            buffer.withUnsafeBytes { out?.pointee = $0.baseAddress }
            return n
        } catch {
            sourceError = error
            return -1
        }
    }

    private func check(_ status: Int32, _ what: String) throws(ArchiveError) {
        guard status != ARCHIVE_OK else { return }
        if let sourceError {
            throw ArchiveError("\(what): \(sourceError)", underlying: sourceError)
        }
        throw ArchiveError("\(what): \(LibArchive.message(archive, status))")
    }

    /// The next entry, or nil at the end of the archive.
    func nextEntry() throws(ArchiveError) -> ArchiveEntryInfo? {
        var entry: OpaquePointer?
        let status = LibArchive.withUTF8Locale { archive_read_next_header(archive, &entry) }
        if status == ARCHIVE_EOF { return nil }
        try check(status, "reading the next entry")
        guard let entry else { throw ArchiveError("libarchive returned no entry") }
        entryOpen = true
        guard let name = archive_entry_pathname(entry) else { throw ArchiveError("an entry has no name") }
        let pathBytes = cStringBytes(name)
        let type = UInt32(archive_entry_filetype(entry))
        var linkTarget: [UInt8]?
        let kind: ArchiveEntryInfo.Kind
        if let hardlink = archive_entry_hardlink(entry) {
            kind = .hardlink
            linkTarget = cStringBytes(hardlink)
        } else if type == dossier_ae_ifreg() {
            kind = .file
        } else if type == dossier_ae_ifdir() {
            kind = .directory
        } else if type == dossier_ae_iflnk() {
            kind = .symlink
            if let target = archive_entry_symlink(entry) {
                linkTarget = cStringBytes(target)
            }
        } else {
            kind = .other(type)
        }
        // Where this entry's stored data ends in a tar, padded to its 512-byte block (a
        // sparse entry stores less than its size: unknown).
        let size = archive_entry_size_is_set(entry) != 0 ? Int64(archive_entry_size(entry)) : nil
        if let size, archive_entry_sparse_count(entry) == 0 {
            lastEntryEnd = uncompressedBytesRead + (size + 511) / 512 * 512
        } else {
            lastEntryEnd = nil
        }
        return ArchiveEntryInfo(
            pathBytes: pathBytes, kind: kind,
            size: size,
            mode: UInt32(archive_entry_mode(entry)) & 0o7777,
            mtime: Int64(archive_entry_mtime(entry)),
            linkTarget: linkTarget)
    }

    /// The next piece of the current entry's data where libarchive holds it (valid until
    /// the next read), with its offset in the entry; nil at the end of the entry. No copy.
    func readDataBlock() throws(ArchiveError) -> (offset: Int64, bytes: UnsafeRawBufferPointer)? {
        var buffer: UnsafeRawPointer?
        var size = 0
        var offset: la_int64_t = 0
        let status = archive_read_data_block(archive, &buffer, &size, &offset)
        if status == ARCHIVE_EOF { return nil }
        try check(status, "reading entry data")
        return (Int64(offset), UnsafeRawBufferPointer(start: size > 0 ? buffer : nil, count: size))
    }

    /// Reads data of the current entry; returns 0 at its end.
    func readData(into out: UnsafeMutableRawBufferPointer) throws(ArchiveError) -> Int {
        let n = archive_read_data(archive, out.baseAddress, out.count)
        if n < 0 { try check(Int32(n), "reading entry data") }
        return n
    }
}

/// The bytes of a C string, without its terminator and without any decoding.
func cStringBytes(_ pointer: UnsafePointer<CChar>) -> [UInt8] {
    Array(UnsafeBufferPointer(start: UnsafeRawPointer(pointer).assumingMemoryBound(to: UInt8.self), count: strlen(pointer)))
}
