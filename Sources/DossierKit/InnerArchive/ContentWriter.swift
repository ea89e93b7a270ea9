import CDossierSystem
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes a case folder (or a handed-in archive) into the inner pax tar, hashing every
/// file on the way and building the private manifest. Layout of the tar:
/// `content/<path>` for every directory and file, then `manifest.json` (the private manifest).
final class ContentWriter {
    static let contentPrefix = "content/"
    static let manifestEntry = "manifest.json"
    static let pieceSize = 256 * 1024

    private let tar: ArchiveWriter
    private var files: [PrivateManifest.File] = []
    private var directories: [PrivateManifest.Directory] = []
    private var collisions = DossierPath.CollisionDetector()
    private var writtenDirectories = Set<String>()
    private var buffer = [UInt8](repeating: 0, count: ContentWriter.pieceSize)
    /// The per-file hash, reset for every file.
    private let fileHash = DigestContext(.sha256)

    /// Told where each file's data begins and ends (the compressor, which stores data
    /// that does not compress).
    var dataObserver: FileDataObserver?
    var progress: ProgressHandler?
    var expectedBytes: Int64 = 0
    private var doneBytes: Int64 = 0
    /// Reads the next files into the page cache when the folder is not in memory (from
    /// the first file the walk finds not cached on).
    /// Every folder walked (in the order its walk began; the case folder first), with the
    /// state it was walked in, looked at again at the end. Names, not paths: a folder's path
    /// is its parents' names (memory stays small for deep trees of many folders).
    private var walkedFolders: [WalkedFolder] = []
    /// The index in `walkedFolders` of the folder being walked.
    private var currentFolder = -1
    private var readAhead: FolderReadAhead?
    private var readAheadWoken = false
    /// Whether the first read of each file may be tried without waiting for the disk
    /// (off where the kernel does not support it).
    private var probeReads = true
    /// What the read-ahead did during `addFolder`.
    private(set) var readAheadStatistics = FolderReadAhead.Statistics()

    /// The first read of each file, not waiting for the disk (`preadv2(RWF_NOWAIT)`);
    /// tests make it answer as kernels without it would (`answeringNoWaitReads`).
    private let readCached: (Int32, UnsafeMutableRawPointer?, Int) -> Int

    init(tar: ArchiveWriter) {
        self.tar = tar
        if let fake = Thread.current.threadDictionary[Self.noWaitReadsKey] as? NoWaitReads {
            readCached = { _, _, _ in
                fake.calls += 1
                errno = fake.error
                return -1
            }
        } else {
            readCached = { dossier_read_cached($0, $1, $2, -1) }
        }
    }

    /// A no-wait read that always fails with `error` (tests), and how often it was tried.
    final class NoWaitReads {
        let error: Int32
        var calls = 0
        init(error: Int32) { self.error = error }
    }

    private static let noWaitReadsKey = "dossier.ContentWriter.noWaitReads"

    /// Runs `body` with the no-wait first reads of content writers made on this thread
    /// failing with `error` (tests: EOPNOTSUPP or EINVAL where the kernel or file system
    /// has none, EAGAIN for a file not in memory, or any other); returns how often one was tried.
    static func answeringNoWaitReads(with error: Int32, _ body: () throws -> Void) rethrows -> Int {
        let dictionary = Thread.current.threadDictionary
        let fake = NoWaitReads(error: error)
        dictionary[noWaitReadsKey] = fake
        defer { dictionary[noWaitReadsKey] = nil }
        try body()
        return fake.calls
    }

    private func advance(_ n: Int) {
        doneBytes += Int64(n)
        progress?(doneBytes, max(expectedBytes, doneBytes))
    }

    /// Total size of the regular files below `root` (for progress; errors count as 0).
    static func folderSize(_ root: String) -> Int64 {
        var total: Int64 = 0
        guard let names = try? FileSystem.listDirectory(root) else { return 0 }
        for name in names {
            let path = root + "/" + String(decoding: name, as: UTF8.self)
            guard let info = try? FileSystem.lstatus(path) else { continue }
            if FileSystem.isDirectory(info) { total += folderSize(path) } else if FileSystem.isRegular(info) { total += Int64(info.st_size) }
        }
        return total
    }

    private func archiveFailure(_ error: ArchiveError, _ what: String) -> DossierError {
        // Our own error from below libarchive (through the age layer too), e.g. the size limit.
        DossierError.cause(of: error) ?? DossierError(.output, "\(what): \(error)")
    }

    /// Sanitised permissions: 0755 for directories and executables, 0644 otherwise.
    static func permissions(_ mode: UInt32, directory: Bool) -> UInt32 {
        directory || mode & 0o111 != 0 ? 0o755 : 0o644
    }

    // MARK: - Folder

    /// Adds everything below `root` (a directory), in bytewise name order.
    ///
    /// The walk works on descriptors: each folder is opened once and what it holds is
    /// opened relative to it (`openat`, never following a link), so a file is looked up
    /// once, and what is sealed is exactly what was opened and checked with fstat.
    func addFolder(_ root: String) throws(DossierError) {
        let fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw DossierError(.source, FileError(operation: "open directory", path: root, code: errno).description) }
        defer { close(fd) }
        readAhead = FolderReadAhead(folder: fd)
        defer {
            if let readAhead {
                readAhead.stop()
                readAheadStatistics = readAhead.statistics
            }
            readAhead = nil
        }
        try addChildren(of: fd, at: root, parent: nil)
        try recheckWalkedFolders(root: fd)
    }

    /// A folder as walked: its parent's index (-1 for the case folder), its name on disk, its
    /// device and its state (set when its walk ended).
    private struct WalkedFolder {
        let parent: Int
        let name: [UInt8]
        var device: UInt = 0
        var state: FolderState?
    }

    /// The path of a walked folder below the case folder, as it is on disk.
    private func relativePath(of index: Int) -> [UInt8] {
        var names: [[UInt8]] = []
        var current = index
        while current > 0 {
            names.append(walkedFolders[current].name)
            current = walkedFolders[current].parent
        }
        return Array(names.reversed().joined(separator: [UInt8(ascii: "/")]))
    }

    /// Each folder is checked when its own walk ends, but a file moved from a folder not yet
    /// walked into one already finished would be in neither (review of session 15). So at
    /// the end every folder must still be in the state it was walked in: a rename changes
    /// both folders' times. (Device and state, not the inode number: on some network and
    /// FUSE file systems that is not stable once the kernel forgot the folder.)
    private func recheckWalkedFolders(root: Int32) throws(DossierError) {
        for index in walkedFolders.indices {
            var rootInfo = stat()
            // The case folder by its descriptor (its path may be a link to it); the others by
            // their path below it, never following a link.
            let looked = index == 0 ? (fstat(root, &rootInfo) == 0 ? rootInfo : nil) : Self.status(below: root, relativePath(of: index))
            guard let info = looked, UInt(info.st_dev) == walkedFolders[index].device, Self.state(info) == walkedFolders[index].state else {
                throw changed(index == 0 ? "the case folder" : String(decoding: relativePath(of: index), as: UTF8.self), folder: true)
            }
        }
        walkedFolders = []
    }

    /// What a directory entry turned out to be, opened where it is a file or a folder.
    private enum Node {
        case folder(Int32, stat)
        case file(Int32, stat)
        case symlink
        case special
    }

    private func addChildren(of directory: Int32, at absolute: String, parent: DossierPath.Parent?) throws(DossierError) {
        var info = stat()
        guard fstat(directory, &info) == 0 else { throw DossierError(.source, FileError(operation: "stat", path: absolute, code: errno).description) }
        let before = Self.state(info)
        let index = walkedFolders.count
        walkedFolders.append(WalkedFolder(parent: currentFolder, name: parent == nil ? [] : Array(FileSystem.lastComponent(of: absolute).utf8),
                                          device: UInt(info.st_dev), state: nil))
        let enclosing = currentFolder
        currentFolder = index
        defer { currentFolder = enclosing }
        let entries: [FileSystem.DirectoryEntry]
        do { entries = try FileSystem.listDirectory(fd: directory, path: absolute) } catch {
            throw DossierError(.source, "\(error)")
        }
        // Names can only collide with their siblings (the key of a name is its folder and its
        // folded form), and each folder is listed once: the collision check of a folder walk
        // keeps the names of the folders on the current path (each while its subfolders are
        // walked), not the whole tree's.
        var siblings = DossierPath.CollisionDetector()
        try addEntries(entries, of: directory, at: absolute, parent: parent, siblings: &siblings)
        // After everything below it: the folder must still hold exactly what was listed (a
        // file added to a folder already listed would be missing from the dossier, one
        // removed after it was read would be in it). Its times change with every entry
        // created, removed or renamed in it; the names are compared too, in case the clock
        // did not move on between the listing and the change.
        let after = try folderState(directory, at: absolute)
        let names: [[UInt8]]
        do { names = try FileSystem.listDirectory(fd: directory, path: absolute).map(\.name) } catch {
            throw DossierError(.source, "\(error)")
        }
        guard after == before, names.elementsEqual(entries.lazy.map(\.name)) else {
            throw changed(parent?.path ?? "the case folder", folder: true)
        }
        walkedFolders[index].state = before
    }

    /// The status of `relative` below the folder `root`, without following links (nil if it
    /// cannot be had); a path longer than the system takes (the walk goes deeper: it works
    /// on descriptors) is followed one folder at a time.
    private static func status(below root: Int32, _ relative: [UInt8]) -> stat? {
        if relative.count < Int(PATH_MAX) - 1 { return try? FileSystem.lstatusAt(root, relative, path: "") }
        let components = relative.split(separator: UInt8(ascii: "/"))
        var current = root
        defer { if current != root { close(current) } }
        for component in components.dropLast() {
            let next = FileSystem.openAt(current, Array(component), flags: O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard next >= 0 else { return nil }
            if current != root { close(current) }
            current = next
        }
        return try? FileSystem.lstatusAt(current, Array(components.last ?? []), path: "")
    }

    /// What changes when entries are created, removed or renamed in a folder.
    private struct FolderState: Equatable {
        let modified: Int64, modifiedNanoseconds: Int, changed: Int64, changedNanoseconds: Int, links: UInt, size: Int64
    }

    private func folderState(_ directory: Int32, at absolute: String) throws(DossierError) -> FolderState {
        var info = stat()
        guard fstat(directory, &info) == 0 else { throw DossierError(.source, FileError(operation: "stat", path: absolute, code: errno).description) }
        return Self.state(info)
    }

    private static func state(_ info: stat) -> FolderState {
        FolderState(modified: Int64(info.st_mtim.tv_sec), modifiedNanoseconds: info.st_mtim.tv_nsec, changed: Int64(info.st_ctim.tv_sec),
                    changedNanoseconds: info.st_ctim.tv_nsec, links: UInt(info.st_nlink), size: Int64(info.st_size))
    }

    private func addEntries(_ entries: [FileSystem.DirectoryEntry], of directory: Int32, at absolute: String,
                            parent: DossierPath.Parent?, siblings: inout DossierPath.CollisionDetector) throws(DossierError) {
        for entry in entries {
            // Stored in NFC; the file is still opened by its own bytes.
            let name = DossierPath.nfc(entry.name)
            let path: String
            do {
                // readdir's type is only a hint, which is enough here: names in one folder
                // are unique, and every parent is a folder inserted before its children.
                let isFolder = entry.type == DT_DIR
                if let parent {
                    path = try DossierPath.validate(appending: name, to: parent)
                    try siblings.insert(name, below: parent, path: path, isFolder: isFolder)
                } else {
                    path = try DossierPath.validate(name)
                    try siblings.insert(path, isFolder: isFolder)
                }
            } catch {
                throw DossierError(.unsafePath, "cannot seal \(error)", hint: "rename the file or folder")
            }
            // The source path of the entry, for messages (and a folder's children): built only when needed.
            let entryPath = { absolute + "/" + String(decoding: entry.name, as: UTF8.self) }
            switch try openEntry(entry, in: directory, at: entryPath(), path: path) {
            case .folder(let fd, let info):
                defer { close(fd) }
                try addDirectory(path, mode: UInt32(info.st_mode), mtime: Int64(info.st_mtim.tv_sec))
                let bytes = parent.map { $0.bytes + [UInt8(ascii: "/")] + name } ?? name
                try addChildren(of: fd, at: entryPath(), parent: .init(bytes: bytes, path: path, depth: (parent?.depth ?? 0) + 1))
            case .file(let fd, let info):
                defer { close(fd) }
                try addFile(path, fd: fd, at: entryPath(), before: info)
            case .symlink:
                throw DossierError(.source, "\(path) is a symbolic link; a dossier holds only regular files and folders",
                                   hint: "replace the link with a copy of the file it points to")
            case .special:
                throw DossierError(.source, "\(path) is a special file (device, socket or pipe); a dossier holds only regular files and folders")
            }
        }
    }

    /// Opens a folder or regular file `entry` of `directory` without following links (and
    /// without blocking, should a pipe appear). The type readdir reported is only a hint:
    /// fstat of what was opened decides, and anything else is looked at with fstatat.
    private func openEntry(_ entry: FileSystem.DirectoryEntry, in directory: Int32, at absolute: @autoclosure () -> String,
                           path: String) throws(DossierError) -> Node {
        var type = Int32(entry.type)
        for _ in 0..<3 {
            if type == Int32(DT_REG) || type == Int32(DT_DIR) {
                let flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (type == Int32(DT_DIR) ? O_DIRECTORY : O_NONBLOCK)
                let fd = FileSystem.openAt(directory, entry.name, flags: flags)
                guard fd >= 0 else {
                    // Replaced by a link or something else since it was listed: look again.
                    if errno == ELOOP || errno == ENOTDIR || errno == ENXIO { type = Int32(DT_UNKNOWN); continue }
                    // Listed, then removed or renamed before its turn.
                    if errno == ENOENT { throw changed(path) }
                    throw DossierError(.source, FileError(operation: "open", path: absolute(), code: errno).description)
                }
                var info = stat()
                guard fstat(fd, &info) == 0 else {
                    let code = errno
                    close(fd)
                    throw DossierError(.source, FileError(operation: "stat", path: absolute(), code: code).description)
                }
                if type == Int32(DT_REG) && FileSystem.isRegular(info) { return .file(fd, info) }
                if type == Int32(DT_DIR) && FileSystem.isDirectory(info) { return .folder(fd, info) }
                close(fd)
                type = Int32(DT_UNKNOWN)
                continue
            }
            let info: stat
            do { info = try FileSystem.lstatusAt(directory, entry.name, path: absolute()) } catch {
                throw error.code == ENOENT ? changed(path) : DossierError(.source, "\(error)")
            }
            if FileSystem.isRegular(info) {
                type = Int32(DT_REG)
            } else if FileSystem.isDirectory(info) {
                type = Int32(DT_DIR)
            } else {
                return FileSystem.isSymlink(info) ? .symlink : .special
            }
        }
        throw changed(path)
    }

    /// Refuses one more entry beyond the format's limit (before any of it is written).
    private func countEntry() throws(DossierError) {
        guard files.count + directories.count < DossierManifest.Limits.maxEntries else {
            throw DossierError(.source, "the source has more than \(DossierManifest.Limits.maxEntries) files and folders, the limit of format v1",
                               hint: "split the case into several dossiers")
        }
    }

    private func addDirectory(_ path: String, mode: UInt32, mtime: Int64) throws(DossierError) {
        try countEntry()
        let permissions = Self.permissions(mode, directory: true)
        do {
            try tar.writeHeader(path: Self.contentPrefix + path, isDirectory: true, size: 0, permissions: permissions, mtime: mtime)
            try tar.finishEntry()
        } catch { throw archiveFailure(error, "writing folder \(path)") }
        directories.append(.init(path: path, mode: permissions, mtime: mtime))
        writtenDirectories.insert(path)
    }

    /// Streams the open file `fd` (whose fstat is `before`) into the tar, detecting a file
    /// that changes while it is read.
    private func addFile(_ path: String, fd: Int32, at absolute: @autoclosure () -> String, before: stat) throws(DossierError) {
        try countEntry()
        let size = Int64(before.st_size)
        let permissions = Self.permissions(UInt32(before.st_mode), directory: false)
        let mtime = Int64(before.st_mtim.tv_sec)
        do {
            try tar.writeHeader(path: Self.contentPrefix + path, isDirectory: false, size: size, permissions: permissions, mtime: mtime)
        } catch { throw archiveFailure(error, "writing \(path)") }
        // Read to the end, not just to the size fstat gave: on some file systems (FUSE,
        // procfs) the size understates the content, and such a file must be refused as
        // changed (more data than its size), not sealed cut short.
        // The first read must not wait for the disk: when it would, the folder is not in
        // memory, and the read-ahead is woken for the files after this one.
        var firstRead = readAhead != nil && probeReads
        let index = files.count
        let (total, sha256, head) = try copyData(path, size: size, tooLong: changed(path)) { (raw) throws(DossierError) in
            if firstRead {
                firstRead = false
                let n = readCached(fd, raw.baseAddress, raw.count)
                if n >= 0 { return n }
                if errno == EAGAIN {
                    readAheadWoken = true
                    readAhead?.notCached(fileIndex: index)
                } else if errno == EOPNOTSUPP || errno == EINVAL {
                    probeReads = false
                }
                // Anything else: the ordinary read below reports it.
            }
            while true {
                let n = Glibc.read(fd, raw.baseAddress, raw.count)
                if n >= 0 { return n }
                if errno != EINTR { throw DossierError(.source, FileError(operation: "read", path: absolute(), code: errno).description) }
            }
        }
        var after = stat()
        guard fstat(fd, &after) == 0, total == size, after.st_size == before.st_size,
              after.st_mtim.tv_sec == before.st_mtim.tv_sec, after.st_mtim.tv_nsec == before.st_mtim.tv_nsec,
              after.st_ctim.tv_sec == before.st_ctim.tv_sec, after.st_ctim.tv_nsec == before.st_ctim.tv_nsec
        else { throw changed(path) }
        do { try tar.finishEntry() } catch { throw archiveFailure(error, "writing \(path)") }
        files.append(.init(path: path, size: size, sha256: sha256,
                           mediaType: MediaType.detect(path: path, head: head), mode: permissions, mtime: mtime))
        if readAheadWoken { readAhead?.walkerFinished(files: files.count) }
    }

    /// Copies one file's data into the tar in pieces from `read` (which fills the buffer
    /// and returns the count, 0 at the end), hashing it; `tooLong` is thrown when more than
    /// `size` bytes arrive. Returns the byte count, the SHA-256 and the first bytes.
    private func copyData(_ path: String, size: Int64, tooLong: @autoclosure () -> DossierError,
                          read: (UnsafeMutableRawBufferPointer) throws(DossierError) -> Int) throws(DossierError) -> (count: Int64, sha256: String, head: [UInt8]) {
        let hash = fileHash
        hash.reset()
        var total: Int64 = 0
        var head: [UInt8] = []
        let tar = self.tar
        while true {
            let n = try withMutableBytes(&buffer, read)
            if n == 0 { break }
            total += Int64(n)
            guard total <= size else { throw tooLong() }
            if head.isEmpty {
                head = Array(buffer[0..<min(n, 16)])
                try notify(path) { (observer) throws in
                    try withBytes(buffer) { (raw) throws in try observer.fileDataBegins(size: size, sample: UnsafeRawBufferPointer(rebasing: raw[0..<n])) }
                }
            }
            do {
                try withBytes(buffer) { (raw) throws(ArchiveError) in
                    let piece = UnsafeRawBufferPointer(rebasing: raw[0..<n])
                    hash.update(piece)
                    try tar.writeData(piece)
                }
            } catch { throw archiveFailure(error, "writing \(path)") }
            advance(n)
        }
        try notify(path) { (observer) throws in try observer.fileDataEnds() }
        return (total, Hex.encode(hash.finalize()), head)
    }

    private func notify(_ path: String, _ call: (FileDataObserver) throws -> Void) throws(DossierError) {
        guard let dataObserver else { return }
        do { try call(dataObserver) } catch {
            // Our own error from below (the pipeline, through the age layer), as in archiveFailure.
            throw DossierError.cause(of: error) ?? DossierError(.output, "writing \(path): \(error)")
        }
    }

    private func changed(_ path: String, folder: Bool = false) -> DossierError {
        DossierError(.source, folder ? "\(path) changed while it was being sealed: entries were added, removed or renamed in it after it was listed"
                                     : "\(path) changed while it was being sealed",
                     hint: "make sure nothing writes to the case folder, then seal again")
    }

    // MARK: - Handed-in archive

    /// Adds the files and folders of a zip / tar / 7z archive (read with libarchive).
    /// Links, devices and unsafe names are refused; missing parent folders are added.
    func addArchive(_ path: String) throws(DossierError) {
        let reader: ArchiveReader
        // What the file starts with: a damaged archive of a kind we read is not "not an archive".
        let kind = InputArchiveKind(path: path)
        let notAnArchive = { (error: ArchiveError) in
            if let kind {
                return DossierError(.source, "\(path) looks like a \(kind.name) but cannot be read: it is damaged or cut short (\(error))",
                                    hint: "ask the case system for the archive again, or seal the case folder")
            }
            if let compression = InputArchiveKind.unreadCompression(path) {
                return DossierError(.source, "\(path) is compressed with \(compression), which sealing does not read",
                                    hint: "recompress it with gzip, bzip2, xz or zstd (or as zip or 7z), or seal the extracted folder")
            }
            return DossierError(.source, "\(path) is neither a folder nor a zip, tar or 7z archive (\(error))",
                                hint: "seal the case folder, or the archive the case system exported (zip, tar, tar.gz, tar.bz2, tar.xz, tar.zst, 7z)")
        }
        if kind == .emptyZip {
            throw DossierError(.source, "\(path) holds no files or folders (an empty zip)",
                               hint: "ask the case system for the archive again, or seal the case folder")
        }
        // The file as it is now: it must be the same when the last entry has been read.
        let before: stat
        do { before = try FileSystem.status(path) } catch { throw DossierError(.source, "cannot read \(path): \(error)") }
        let tarStream: InputTarStream?
        do throws(ArchiveError) { (reader, tarStream) = try Self.openInputArchive(path, kind: kind) } catch {
            throw error.underlying == nil || error.underlying is GzipSource.Failure ? notAnArchive(error) : DossierError(.source, "cannot read \(path): \(error)")
        }
        // A zip / 7z bomb is refused by its declared sizes, before its data is expanded:
        // the same 1,000:1 bound the sealed dossier must keep (docs/FORMAT.md §7).
        let archiveSize = (try? FileSystem.lstatus(path)).map { Int64($0.st_size) } ?? 0
        let (product, overflow) = archiveSize.multipliedReportingOverflow(by: DossierManifest.Limits.maxExpansionRatio)
        let budget = overflow ? Int64.max : product + DossierManifest.Limits.expansionSlack
        var expanded: Int64 = 0
        var entriesRead = 0
        // A zip's names as its central directory lists them, and how many entries libarchive
        // read (by name they differ: libarchive turns `\` into `/` and reads a UTF-8 name
        // field where there is one; `InputZipDirectory` checked each name against its header).
        var zipDirectory: [[UInt8]]?
        var zipEntriesRead = 0
        while true {
            let entry: ArchiveEntryInfo?
            do { entry = try reader.nextEntry() } catch {
                if !reader.formatRecognized { throw notAnArchive(error) }
                throw DossierError(.source, "reading \(path) failed: \(error)")
            }
            guard let entry else { break }
            entriesRead += 1
            if entriesRead == 1 && reader.isZip {
                // Before anything of it is sealed: one name for each entry.
                do { zipDirectory = try InputZipDirectory.check(path) } catch {
                    throw DossierError(.source, "\(path) cannot be sealed: \(error)", hint: "ask the case system for the archive again, or seal the case folder")
                }
            }
            if zipDirectory != nil { zipEntriesRead += 1 }
            var nameBytes = entry.pathBytes
            if entry.kind == .directory, nameBytes.last == UInt8(ascii: "/") { nameBytes.removeLast() }
            while nameBytes.starts(with: [UInt8(ascii: "."), UInt8(ascii: "/")]) { nameBytes.removeFirst(2) }
            // The archive's root ("." or "./") is the dossier's root, not an entry.
            if entry.kind == .directory && (nameBytes.isEmpty || nameBytes == [UInt8(ascii: ".")]) { continue }
            let name: String
            do { name = try DossierPath.validate(nameBytes.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
                .map { DossierPath.nfc(Array($0)) }.joined(separator: [UInt8(ascii: "/")]).map { $0 }) } catch {
                // Zips from older Windows tools name files in a code page (CP437, …), not UTF-8.
                let legacy = String(validating: nameBytes, as: UTF8.self) == nil
                throw DossierError(.unsafePath, "the archive has an unsafe entry: \(error)",
                                   hint: legacy ? "its names are not UTF-8 (an older tool's code page): ask for the archive with UTF-8 names (7-Zip, Info-ZIP 3 or bsdtar write them), or extract it and seal the folder" : nil)
            }
            switch entry.kind {
            case .directory:
                // (A tar's GNU dumpdir entry lists the folder's names as its data: libarchive
                // skips it. Elsewhere the bytes would be a file's, dropped.)
                if let size = entry.size, size > 0, !reader.isTar {
                    throw DossierError(.source, "archive entry \(name) is a folder entry that carries \(size) bytes of data (a file, or a damaged archive)")
                }
                if writtenDirectories.contains(name) { continue }
                try addParents(of: name, mtime: entry.mtime)
                do { try collisions.insert(name, isFolder: true) } catch { throw DossierError(.unsafePath, "in the archive: \(error)") }
                try addDirectory(name, mode: entry.mode, mtime: entry.mtime)
            case .file:
                try addParents(of: name, mtime: entry.mtime)
                do { try collisions.insert(name, isFolder: false) } catch { throw DossierError(.unsafePath, "in the archive: \(error)") }
                guard let size = entry.size, size >= 0 else {
                    throw DossierError(.source, "archive entry \(name) has no recorded size")
                }
                guard size <= budget - expanded else {
                    throw DossierError(.source, "\(path) expands beyond \(DossierManifest.Limits.maxExpansionRatio):1 of its \(archiveSize) bytes (possible zip bomb); refused at \(name)",
                                       hint: "seal the extracted folder instead if the content is genuine")
                }
                expanded += size
                try countEntry()
                try addArchiveFile(name, size: size, mode: entry.mode, mtime: entry.mtime, reader: reader)
            case .symlink, .hardlink:
                throw DossierError(.source, "archive entry \(name) is a link; a dossier holds only regular files and folders")
            case .other:
                throw DossierError(.source, "archive entry \(name) is a special file; a dossier holds only regular files and folders")
            }
        }
        // Zeros, an empty zip, a tar of end blocks: libarchive reads them as empty archives.
        guard entriesRead > 0 else {
            throw DossierError(.source, "\(path) holds no files or folders (an empty or blank archive)",
                               hint: "ask the case system for the archive again, or seal the case folder")
        }
        if let tarStream {
            let problem: String?
            do {
                problem = try tarStream.endProblem(consumed: reader.uncompressedBytesRead, lastEntryEnd: reader.lastEntryEnd,
                                                   pixzIndex: kind == .xz)
            } catch {
                throw DossierError(.source, "reading \(path) failed: \(error)")
            }
            if let problem {
                throw DossierError(.source, "\(path): \(problem)", hint: "ask the case system for the archive again, or seal the case folder")
            }
        }
        if let zipDirectory, zipDirectory.count != zipEntriesRead {
            throw DossierError(.source, "\(path) cannot be sealed: it holds \(zipEntriesRead) entries where its central directory lists \(zipDirectory.count) (entries cut off, or left behind by an update)",
                               hint: "ask the case system for the archive again, or seal the case folder")
        }
        let after: stat
        do { after = try FileSystem.status(path) } catch { throw DossierError(.source, "cannot read \(path) again: \(error)") }
        guard after.st_dev == before.st_dev, after.st_ino == before.st_ino, after.st_size == before.st_size,
              after.st_mtim.tv_sec == before.st_mtim.tv_sec, after.st_mtim.tv_nsec == before.st_mtim.tv_nsec,
              after.st_ctim.tv_sec == before.st_ctim.tv_sec, after.st_ctim.tv_nsec == before.st_ctim.tv_nsec else {
            throw DossierError(.source, "\(path) changed while it was read", hint: "seal it again when nothing writes to it")
        }
    }

    /// The reader for an archive handed in (`kind`: `InputArchiveKind(path:)`). A tar (plain
    /// or compressed) is read as a stream we see, to check its end (`InputTarStream`); zip
    /// and 7z (which compress inside) from the file, which they need to seek in.
    static func openInputArchive(_ path: String, kind: InputArchiveKind?) throws(ArchiveError) -> (ArchiveReader, InputTarStream?) {
        let decompressed: ByteSource?
        switch kind {
        case .gzip?:
            // Decompressed and checked by GzipSource (libarchive's filter checks nothing).
            let file: FileSource
            do { file = try FileSource(path: path) } catch { throw ArchiveError("\(error)", underlying: error) }
            do { decompressed = try GzipSource(file) } catch { throw ArchiveError("\(error)") }
        case .bzip2?, .xz?, .zstd?:
            decompressed = try LibArchiveDecoder(path: path)
        case .tar?:
            do { decompressed = try FileSource(path: path) } catch { throw ArchiveError("\(error)", underlying: error) }
        default:
            decompressed = nil
        }
        guard let decompressed else { return (try ArchiveReader(.file(path), tarOnly: false), nil) }
        let stream = InputTarStream(decompressed)
        return (try ArchiveReader(.stream(stream), tarOnly: true, zstd: false), stream)
    }

    private func addParents(of name: String, mtime: Int64) throws(DossierError) {
        var parent = ""
        for component in FileSystem.components(of: name).dropLast() {
            parent += parent.isEmpty ? component : "/" + component
            if writtenDirectories.contains(parent) { continue }
            do { try collisions.insert(parent, isFolder: true) } catch { throw DossierError(.unsafePath, "in the archive: \(error)") }
            try addDirectory(parent, mode: 0o755, mtime: mtime)
        }
    }

    private func addArchiveFile(_ name: String, size: Int64, mode: UInt32, mtime: Int64, reader: ArchiveReader) throws(DossierError) {
        let permissions = Self.permissions(mode, directory: false)
        do {
            try tar.writeHeader(path: Self.contentPrefix + name, isDirectory: false, size: size, permissions: permissions, mtime: mtime)
        } catch { throw archiveFailure(error, "writing \(name)") }
        let (total, sha256, head) = try copyData(name, size: size,
                                                 tooLong: DossierError(.source, "archive entry \(name) holds more data than its recorded size")) { (raw) throws(DossierError) in
            do { return try reader.readData(into: raw) } catch {
                throw DossierError(.source, "reading archive entry \(name) failed: \(error)")
            }
        }
        guard total == size else { throw DossierError(.source, "archive entry \(name) is shorter than its recorded size") }
        do { try tar.finishEntry() } catch { throw archiveFailure(error, "writing \(name)") }
        files.append(.init(path: name, size: size, sha256: sha256,
                           mediaType: MediaType.detect(path: name, head: head), mode: permissions, mtime: mtime))
    }

    // MARK: - End

    /// Writes the private manifest as the last tar entry and returns it with the SHA-256 of
    /// its bytes. The bytes are counted first and then written in pieces, never held whole.
    func finish(dossierID: String, mtime: Int64) throws(DossierError) -> (manifest: PrivateManifest, sha256: [UInt8]) {
        collisions = DossierPath.CollisionDetector()
        writtenDirectories = []
        let manifest = PrivateManifest(dossierID: dossierID, files: files, directories: directories)
        let size = manifest.canonicalByteCount()
        let digest = DigestContext(.sha256)
        var written = 0
        do {
            try tar.writeHeader(path: Self.manifestEntry, isDirectory: false, size: Int64(size), permissions: 0o644, mtime: mtime)
            try manifest.writeCanonical { (piece) throws(ArchiveError) in
                digest.update(piece)
                written += piece.count
                try tar.writeData(piece)
            }
            precondition(written == size, "the private manifest changed between counting and writing")
            try tar.finishEntry()
            try tar.close()
        } catch { throw archiveFailure(error, "writing the private manifest") }
        return (manifest, digest.finalize())
    }
}
