import CDossierArchive

/// Writes a tar (POSIX pax, zstd-compressed) or zip (stored entries) archive into a
/// `ByteSink` through libarchive. Entry names are UTF-8; owners are not recorded.
final class ArchiveWriter {
    enum Format {
        /// POSIX pax tar (ustar headers, pax extended headers where needed) through zstd.
        case paxTarZstd(level: Int, threads: Int)
        /// POSIX pax tar, uncompressed (the seal compresses it with `ZstdSink`).
        case paxTar
        /// Zip with stored (uncompressed) entries.
        case zipStored
        /// 7-Zip, for archives handed in by case systems (and test fixtures).
        case sevenZip
    }

    private let archive: OpaquePointer
    private let sink: ByteSink
    private var sinkError: (any Error)?
    private var closed = false
    /// One entry object, cleared and reused for every header (libarchive copies what it needs).
    private var reusable: OpaquePointer?

    init(format: Format, sink: ByteSink) throws(ArchiveError) {
        guard let archive = archive_write_new() else { throw ArchiveError("archive_write_new failed") }
        self.archive = archive
        self.sink = sink
        try LibArchive.withUTF8Locale { () throws(ArchiveError) in
            switch format {
            case .paxTarZstd(let level, let threads):
                try check(archive_write_set_format_pax_restricted(archive), "selecting the pax format")
                try check(archive_write_add_filter_zstd(archive), "adding the zstd filter")
                try check(archive_write_set_filter_option(archive, "zstd", "compression-level", String(level)), "setting the zstd level")
                if threads > 1 {
                    // Older libarchive builds lack the option; compression then runs on one thread.
                    _ = archive_write_set_filter_option(archive, "zstd", "threads", String(threads))
                }
            case .paxTar:
                try check(archive_write_set_format_pax_restricted(archive), "selecting the pax format")
            case .zipStored:
                try check(archive_write_set_format_zip(archive), "selecting the zip format")
                try check(archive_write_set_format_option(archive, "zip", "compression", "store"), "selecting stored zip entries")
            case .sevenZip:
                try check(archive_write_set_format_7zip(archive), "selecting the 7-Zip format")
            }
            // No block padding: the output is exactly the archive.
            try check(archive_write_set_bytes_per_block(archive, 0), "setting the block size")
            let context = Unmanaged.passUnretained(self).toOpaque()
            let status = archive_write_open2(archive, context, nil, { _, context, buffer, length in
                let writer = Unmanaged<ArchiveWriter>.fromOpaque(context!).takeUnretainedValue()
                return writer.deliver(buffer, length)
            }, nil, nil)
            try check(status, "opening the archive")
        }
    }

    deinit {
        // An archive that was not closed is abandoned: nothing more may reach the sink.
        if !closed { archive_write_fail(archive) }
        archive_write_free(archive)
        if let reusable { archive_entry_free(reusable) }
    }

    /// Abandons the archive after an error: no trailer, no flushing of buffered output.
    func abort() {
        guard !closed else { return }
        closed = true
        archive_write_fail(archive)
    }

    private func deliver(_ buffer: UnsafeRawPointer?, _ length: Int) -> Int {
        guard length > 0, let buffer else { return 0 }
        do {
            try sink.write(UnsafeRawBufferPointer(start: buffer, count: length))
            return length
        } catch {
            sinkError = error
            return -1
        }
    }

    private func check(_ status: Int32, _ what: String) throws(ArchiveError) {
        guard status != ARCHIVE_OK else { return }
        if let sinkError {
            throw ArchiveError("\(what): \(sinkError)", underlying: sinkError)
        }
        let message = LibArchive.message(archive, status)
        // Warnings are failures too: a refusal or a lossy conversion must not pass silently.
        throw ArchiveError("\(what): \(message)")
    }

    /// Adds an entry header. Directories have size 0; a file's `size` may be nil only in a
    /// zip, which then streams the entry (data descriptor with zip64 sizes).
    func writeHeader(path: String, isDirectory: Bool, size: Int64?, permissions: UInt32, mtime: Int64) throws(ArchiveError) {
        if reusable == nil { reusable = archive_entry_new2(archive) }
        guard let entry = archive_entry_clear(reusable) else { throw ArchiveError("archive_entry_new failed") }
        try LibArchive.withUTF8Locale { () throws(ArchiveError) in
            archive_entry_set_pathname_utf8(entry, path)
            archive_entry_set_filetype(entry, isDirectory ? dossier_ae_ifdir() : dossier_ae_ifreg())
            archive_entry_set_perm(entry, mode_t(permissions & 0o777))
            if isDirectory {
                archive_entry_set_size(entry, 0)
            } else if let size {
                archive_entry_set_size(entry, size)
            } else {
                archive_entry_unset_size(entry)
            }
            archive_entry_set_mtime(entry, time_t(mtime), 0)
            archive_entry_set_uid(entry, 0)
            archive_entry_set_gid(entry, 0)
            try check(archive_write_header(archive, entry), "writing the header of \(path)")
        }
    }

    /// Adds an entry of any kind with raw attributes, unchecked. Only for building test
    /// fixtures that imitate hostile archives (links, devices, setuid bits).
    func writeRawHeader(path: String, fileType: UInt32, mode: UInt32, size: Int64, symlink: String? = nil, hardlink: String? = nil) throws(ArchiveError) {
        guard let entry = archive_entry_new2(archive) else { throw ArchiveError("archive_entry_new failed") }
        defer { archive_entry_free(entry) }
        try LibArchive.withUTF8Locale { () throws(ArchiveError) in
            archive_entry_copy_pathname(entry, path)
            archive_entry_set_filetype(entry, fileType)
            archive_entry_set_mode(entry, mode_t(fileType | mode))
            archive_entry_set_size(entry, size)
            if let symlink { archive_entry_copy_symlink(entry, symlink) }
            if let hardlink { archive_entry_copy_hardlink(entry, hardlink) }
            try check(archive_write_header(archive, entry), "writing a raw header")
        }
    }

    /// Writes entry data (all of it).
    func writeData(_ bytes: UnsafeRawBufferPointer) throws(ArchiveError) {
        var offset = 0
        while offset < bytes.count {
            let n = archive_write_data(archive, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 { try check(Int32(n), "writing entry data") }
            if n == 0 { throw ArchiveError("libarchive accepted no data") }
            offset += n
        }
    }

    /// Ends the current entry.
    func finishEntry() throws(ArchiveError) {
        try check(archive_write_finish_entry(archive), "finishing an entry")
    }

    /// Writes the archive trailer (tar end blocks, zip central directory) and flushes.
    func close() throws(ArchiveError) {
        guard !closed else { return }
        closed = true
        try LibArchive.withUTF8Locale { () throws(ArchiveError) in
            try check(archive_write_close(archive), "closing the archive")
        }
    }
}
