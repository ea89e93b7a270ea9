import CDossierArchive
import Glibc

/// Writes files and folders to disk through libarchive's disk writer with every safety
/// flag: no "..", no writing through symlinks, no overwriting, no owners, sanitised
/// permissions, and with `refuseAbsolutePaths` no absolute paths. Callers validate names
/// first and pass paths relative to a fresh staging folder that is the thread's working
/// directory, or absolute paths below its real path (see `ExtractionThread`).
final class DiskWriter {
    private let archive: OpaquePointer
    private var closed = false
    /// One entry object, cleared and reused for every header.
    private var reusable: OpaquePointer?

    init(refuseAbsolutePaths: Bool) throws(ArchiveError) {
        guard let archive = archive_write_disk_new() else { throw ArchiveError("archive_write_disk_new failed") }
        self.archive = archive
        let flags = ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_NO_OVERWRITE
            | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM | (refuseAbsolutePaths ? ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS : 0)
        guard archive_write_disk_set_options(archive, flags) == ARCHIVE_OK else {
            throw ArchiveError("setting the extraction flags failed")
        }
    }

    deinit {
        archive_write_free(archive)
        if let reusable { archive_entry_free(reusable) }
    }

    private func check(_ status: Int32, _ what: String) throws(ArchiveError) {
        // ARCHIVE_WARN is how libarchive reports refusals ("Path contains '..'"): a failure here.
        guard status != ARCHIVE_OK else { return }
        let message = LibArchive.message(archive, status)
        let code = archive_errno(archive)
        // libarchive's own refusals carry no system error (ARCHIVE_ERRNO_MISC is -1).
        guard code > 0 else { throw ArchiveError("\(what): \(message)") }
        let cause = String(cString: strerror(code))
        throw ArchiveError(message.contains(cause) ? "\(what): \(message)" : "\(what): \(message): \(cause)", code: code)
    }

    func begin(path: String, isDirectory: Bool, size: Int64, permissions: UInt32, mtime: Int64) throws(ArchiveError) {
        if reusable == nil { reusable = archive_entry_new() }
        guard let entry = archive_entry_clear(reusable) else { throw ArchiveError("archive_entry_new failed") }
        try LibArchive.withUTF8Locale { () throws(ArchiveError) in
            archive_entry_set_pathname_utf8(entry, path)
            archive_entry_set_filetype(entry, isDirectory ? dossier_ae_ifdir() : dossier_ae_ifreg())
            archive_entry_set_perm(entry, mode_t(permissions & 0o777))
            archive_entry_set_size(entry, isDirectory ? 0 : size)
            archive_entry_set_mtime(entry, time_t(mtime), 0)
            try check(archive_write_header(archive, entry), "creating \(path)")
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws(ArchiveError) {
        var offset = 0
        while offset < bytes.count {
            let n = archive_write_data(archive, bytes.baseAddress! + offset, bytes.count - offset)
            if n <= 0 { try check(n == 0 ? ARCHIVE_FATAL : Int32(n), "writing file data") }
            offset += n
        }
    }

    func finishEntry() throws(ArchiveError) {
        try check(archive_write_finish_entry(archive), "finishing a file")
    }

    /// Applies deferred folder times and permissions.
    func close() throws(ArchiveError) {
        guard !closed else { return }
        closed = true
        try check(archive_write_close(archive), "finishing extraction")
    }
}
