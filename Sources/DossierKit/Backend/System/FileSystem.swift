import CDossierSystem
#if canImport(Glibc)
import Glibc
#endif

/// The file-system calls DossierKit makes, funnelled here so errno becomes `FileError`.
package enum FileSystem {
    /// lstat(2) of a path; does not follow a final symlink.
    static func lstatus(_ path: String) throws(FileError) -> stat {
        var info = stat()
        guard lstat(path, &info) == 0 else { throw FileError(operation: "stat", path: path, code: errno) }
        return info
    }

    /// stat(2) of a path, following symlinks.
    static func status(_ path: String) throws(FileError) -> stat {
        var info = stat()
        guard stat(path, &info) == 0 else { throw FileError(operation: "stat", path: path, code: errno) }
        return info
    }

    /// The absolute path without symlinks, "." or ".." (realpath(3)); nil if it cannot be resolved.
    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// `path` without trailing slashes ("out/" → "out"; "/" stays "/").
    package static func withoutTrailingSlashes(_ path: String) -> String {
        var path = Substring(path)
        while path.count > 1, path.hasSuffix("/") { path = path.dropLast() }
        return String(path)
    }

    static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    /// Throws when `path` can never be made: a name or path longer than the file system allows.
    /// Why `path` cannot be used as the folder of an output, or nil when it is a folder: it
    /// does not exist, is a file, is a link to nothing, a part of it is not a folder, or it
    /// cannot be reached (the system's words).
    static func folderProblem(_ path: String) -> String? {
        var info = stat()
        if stat(path, &info) == 0 { return isDirectory(info) ? nil : "\(path) is not a folder" }
        let code = errno
        switch code {
        case ENOENT:
            if lstat(path, &info) == 0 { return "\(path) is a symbolic link to nothing" }
            return "the folder \(path) does not exist"
        case ENOTDIR: return "\(path) is not a folder (a part of its path is a file)"
        default: return "cannot use the folder \(path): \(String(cString: strerror(code)).lowercased())"
        }
    }

    /// Whether the folder `path` is the folder `ancestor` or lies below it, by device and
    /// inode of `path` and each folder above it (`..` after `..`, up to the root): true also
    /// when a bind mount or another name makes the real paths differ.
    static func isSameOrBelowByIdentity(_ path: String, _ ancestor: String) -> Bool {
        var target = stat()
        guard stat(ancestor, &target) == 0 else { return false }
        var fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | dossier_o_path())
        guard fd >= 0 else { return false }
        defer { close(fd) }
        for _ in 0..<4096 {
            var here = stat()
            guard fstat(fd, &here) == 0 else { return false }
            if here.st_dev == target.st_dev && here.st_ino == target.st_ino { return true }
            let up = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC | dossier_o_path())
            guard up >= 0 else { return false }
            var parent = stat()
            guard fstat(up, &parent) == 0, parent.st_dev != here.st_dev || parent.st_ino != here.st_ino else {
                close(up)
                return false
            }
            close(fd)
            fd = up
        }
        return false
    }

    static func requireUsableName(_ path: String) throws(FileError) {
        var info = stat()
        if lstat(path, &info) != 0 && errno == ENAMETOOLONG { throw FileError(operation: "use the name", path: path, code: ENAMETOOLONG) }
    }

    static func isDirectory(_ info: stat) -> Bool { info.st_mode & Glibc.S_IFMT == Glibc.S_IFDIR }
    static func isRegular(_ info: stat) -> Bool { info.st_mode & Glibc.S_IFMT == Glibc.S_IFREG }
    static func isSymlink(_ info: stat) -> Bool { info.st_mode & Glibc.S_IFMT == Glibc.S_IFLNK }

    private static let direntNameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!

    private static let direntTypeOffset = MemoryLayout<dirent>.offset(of: \dirent.d_type)!

    /// One directory entry: the name's raw bytes and the type readdir(3) reported
    /// (`DT_REG`, `DT_DIR`, …; `DT_UNKNOWN` where the file system does not say).
    struct DirectoryEntry {
        let name: [UInt8]
        let type: UInt8
    }

    /// Names in a directory as raw bytes, sorted bytewise, without "." and "..".
    static func listDirectory(_ path: String) throws(FileError) -> [[UInt8]] {
        guard let dir = opendir(path) else { throw FileError(operation: "open directory", path: path, code: errno) }
        defer { closedir(dir) }
        return try readEntries(dir, path: path).map(\.name)
    }

    /// The entries of the open directory `fd` (which stays open, and is read from its
    /// start), sorted bytewise by name, without "." and "..". `path` names it in errors.
    static func listDirectory(fd: Int32, path: @autoclosure () -> String) throws(FileError) -> [DirectoryEntry] {
        let copy = fcntl(fd, F_DUPFD_CLOEXEC, 0)
        guard copy >= 0 else { throw FileError(operation: "open directory", path: path(), code: errno) }
        guard let dir = fdopendir(copy) else {
            let code = errno
            close(copy)
            throw FileError(operation: "open directory", path: path(), code: code)
        }
        defer { closedir(dir) }
        rewinddir(dir)
        return try readEntries(dir, path: path())
    }

    private static func readEntries(_ dir: OpaquePointer, path: @autoclosure () -> String) throws(FileError) -> [DirectoryEntry] {
        var entries: [DirectoryEntry] = []
        while true {
            errno = 0
            guard let entry = readdir(dir) else {
                if errno != 0 { throw FileError(operation: "read directory", path: path(), code: errno) }
                break
            }
            // Read d_name in place: copying the whole `dirent` (entry.pointee) reads past the
            // end of short records at the end of glibc's buffer (found by AddressSanitizer).
            let raw = UnsafeRawPointer(entry)
            let namePointer = raw.advanced(by: direntNameOffset).assumingMemoryBound(to: CChar.self)
            let name = Array(UnsafeRawBufferPointer(start: namePointer, count: strlen(namePointer)))
            if name == [0x2e] || name == [0x2e, 0x2e] { continue }
            entries.append(DirectoryEntry(name: name, type: raw.load(fromByteOffset: direntTypeOffset, as: UInt8.self)))
        }
        entries.sort { $0.name.lexicographicallyPrecedes($1.name) }
        return entries
    }

    /// openat(2) of `name` (raw bytes, one component) in the directory `directory`;
    /// returns the descriptor, or -1 with errno set.
    static func openAt(_ directory: Int32, _ name: [UInt8], flags: Int32) -> Int32 {
        (name + [0]).withUnsafeBytes { openat(directory, $0.baseAddress!.assumingMemoryBound(to: CChar.self), flags) }
    }

    /// fstatat(2) of `name` in the directory `directory`, not following a final symlink.
    static func lstatusAt(_ directory: Int32, _ name: [UInt8], path: @autoclosure () -> String) throws(FileError) -> stat {
        var info = stat()
        let result = (name + [0]).withUnsafeBytes {
            fstatat(directory, $0.baseAddress!.assumingMemoryBound(to: CChar.self), &info, AT_SYMLINK_NOFOLLOW)
        }
        guard result == 0 else { throw FileError(operation: "stat", path: path(), code: errno) }
        return info
    }

    static func makeDirectory(_ path: String, mode: mode_t = 0o700) throws(FileError) {
        guard mkdir(path, mode) == 0 else { throw FileError(operation: "create directory", path: path, code: errno) }
    }

    /// Removes a file or a whole tree without following symlinks at any level: folders are
    /// opened with `O_NOFOLLOW` and emptied through their descriptors (a name swapped for a
    /// symlink half-way cannot lead the removal elsewhere). Missing paths are fine. Returns
    /// what could not be removed ("" when everything was).
    ///
    /// The trees removed are our own (staging folders, temporaries), but their folders carry
    /// the modes of the payload: one that we may not read, search or write is given back to
    /// us (0700) first — never through a symlink — so that no plaintext stays behind.
    @discardableResult
    static func removeTree(_ path: String) -> String {
        var fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        if fd < 0 && errno == EACCES && fchmodat(AT_FDCWD, path, 0o700, AT_SYMLINK_NOFOLLOW) == 0 {
            fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        }
        guard fd >= 0 else {
            // Not a folder (or gone): unlink the name itself; a symlink is removed, not followed.
            return unlink(path) == 0 || errno == ENOENT ? "" : "\(path): \(String(cString: strerror(errno)))"
        }
        var failures = removeContents(of: fd, path: path)
        close(fd)
        if rmdir(path) != 0 && errno != ENOENT { failures.append("\(path): \(String(cString: strerror(errno)))") }
        return failures.joined(separator: "; ")
    }

    /// Removes everything below the open folder `fd` through descriptors, without following
    /// symlinks. Returns what could not be removed (`path` names the folder in messages).
    static func removeContents(of fd: Int32, path: String) -> [String] {
        // Read, search and write access to the folder itself (see removeTree).
        var info = stat()
        if fstat(fd, &info) == 0 && info.st_mode & 0o700 != 0o700 { fchmod(fd, 0o700) }
        let entries: [DirectoryEntry]
        do { entries = try listDirectory(fd: fd, path: path) } catch { return ["\(error)"] }
        var failures: [String] = []
        for entry in entries {
            let shown = path + "/" + String(decoding: entry.name, as: UTF8.self)
            let name = entry.name + [0]
            let flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC
            var child = openAt(fd, entry.name, flags: flags)
            if child < 0 && errno == EACCES,
               name.withUnsafeBytes({ fchmodat(fd, $0.baseAddress!.assumingMemoryBound(to: CChar.self), 0o700, AT_SYMLINK_NOFOLLOW) }) == 0 {
                child = openAt(fd, entry.name, flags: flags)
            }
            if child >= 0 {
                failures += removeContents(of: child, path: shown)
                close(child)
                let removed = name.withUnsafeBytes { unlinkat(fd, $0.baseAddress!.assumingMemoryBound(to: CChar.self), AT_REMOVEDIR) }
                if removed != 0 { failures.append("\(shown): \(String(cString: strerror(errno)))") }
                continue
            }
            // Not a folder (ENOTDIR; ELOOP for a symlink): unlink the name. Anything else
            // (EMFILE, EACCES) is reported, not guessed at.
            guard errno == ENOTDIR || errno == ELOOP else {
                failures.append("\(shown): \(String(cString: strerror(errno)))")
                continue
            }
            let removed = name.withUnsafeBytes { unlinkat(fd, $0.baseAddress!.assumingMemoryBound(to: CChar.self), 0) }
            if removed != 0 { failures.append("\(shown): \(String(cString: strerror(errno)))") }
        }
        return failures
    }

    /// Renames `from` to `to`, failing (EEXIST) if `to` exists — never overwrites.
    static func renameNoReplace(_ from: String, _ to: String) throws(FileError) {
        // renameat2(RENAME_NOREPLACE) is atomic; fall back to link+unlink for files where unsupported.
        if dossier_rename_noreplace(from, to) == 0 { return }
        let code = errno
        if code == EINVAL || code == ENOSYS {
            if link(from, to) == 0 { unlink(from); return }
        }
        throw FileError(operation: "rename to", path: to, code: code == EINVAL || code == ENOSYS ? errno : code)
    }

    /// Renames `from` over `to` (atomic replace).
    static func renameReplacing(_ from: String, _ to: String) throws(FileError) {
        guard rename(from, to) == 0 else { throw FileError(operation: "rename to", path: to, code: errno) }
    }

    /// fsyncs a directory so a rename in it is durable. A folder the caller may write into
    /// but not read (a drop folder, mode 0333) cannot be opened for that: then the file
    /// system holding `file` (the renamed file) is written back whole (syncfs), which makes
    /// the rename durable too.
    static func syncDirectory(_ path: String, renamed file: String? = nil) throws(FileError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            if code == EACCES, let file {
                let descriptor = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
                guard descriptor >= 0 else { throw FileError(operation: "open", path: file, code: errno) }
                defer { close(descriptor) }
                guard dossier_syncfs(descriptor) == 0 else { throw FileError(operation: "syncfs", path: file, code: errno) }
                return
            }
            throw FileError(operation: "open directory", path: path, code: code)
        }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw FileError(operation: "fsync directory", path: path, code: errno) }
    }

    /// Bytes an unprivileged process may still write on the file system holding `path`
    /// (nil when it cannot be told).
    static func availableBytes(at path: String) -> Int64? {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return nil }
        let (bytes, overflow) = Int64(info.f_bavail).multipliedReportingOverflow(by: Int64(info.f_frsize))
        return overflow ? Int64.max : bytes
    }

    /// Files and folders an unprivileged process may still create on the file system holding
    /// `path` (nil when it cannot be told, or the file system has no fixed number of them).
    static func availableInodes(at path: String) -> Int64? {
        var info = statvfs()
        guard statvfs(path, &info) == 0, info.f_files > 0 else { return nil }
        return Int64(clamping: info.f_favail)
    }

    // Paths are split at "/" bytes, never at Characters: a "/" followed by a combining
    // mark (U+0301), a joiner or a variation selector is one grapheme in Swift, but on disk
    // and in a tar it is still a separator (review of session 15: such a name lost its mark).

    /// The directory part of a path ("." for a bare name).
    package static func parent(of path: String) -> String {
        let utf8 = path.utf8
        guard let slash = utf8.lastIndex(of: UInt8(ascii: "/")) else { return "." }
        if slash == utf8.startIndex { return "/" }
        return String(decoding: utf8[..<slash], as: UTF8.self)
    }

    /// The part of a path after its last "/" (all of it when there is none).
    package static func lastComponent(of path: String) -> String {
        let utf8 = path.utf8
        guard let slash = utf8.lastIndex(of: UInt8(ascii: "/")) else { return path }
        return String(decoding: utf8[utf8.index(after: slash)...], as: UTF8.self)
    }

    /// The components of a path between its "/" bytes (empty ones left out unless asked for).
    static func components(of path: String, omittingEmpty: Bool = true) -> [String] {
        path.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: omittingEmpty).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Whether two paths are the same bytes (String's `==` compares by canonical equivalence:
    /// "é" precomposed equals "e" + U+0301, but on disk they are two names).
    static func same(_ a: String, _ b: String) -> Bool { a.utf8.elementsEqual(b.utf8) }

    /// Whether `path` is `folder` or lies below it, by bytes.
    static func isSameOrBelow(_ path: String, _ folder: String) -> Bool {
        if same(path, folder) { return true }
        let prefix = folder.utf8.last == UInt8(ascii: "/") ? Array(folder.utf8) : Array(folder.utf8) + [UInt8(ascii: "/")]
        return path.utf8.starts(with: prefix)
    }

    /// A unique sibling path for temporary output: ".<name>.<tag>-<pid>-<random>". The pid
    /// lets a later run remove what a killed process left (`removeStaleTemporaries`).
    static func temporarySibling(of path: String, tag: String) -> String {
        let random = (try? SecureRandom.bytes(6))?.map { String($0, radix: 16) }.joined() ?? "0"
        return parent(of: path) + "/" + temporaryPrefix(of: path, tag: tag) + String(getpid()) + "-" + machineTag + "-" + random
    }

    /// This machine, in temporary names: 8 hex digits of SHA-256 of its host name. A process
    /// id means something only on the machine that gave it out (a folder may be shared
    /// between machines, e.g. over NFS).
    static let machineTag: String = {
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, name.count - 1)
        let bytes = name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return Hex.encode(Array(SHA256.hash(bytes).prefix(4)))
    }()

    /// ".<name>.<tag>-", with <name> shortened (whole characters) so that the whole
    /// temporary name fits the usual 255-byte limit beside a name that itself fits it.
    private static func temporaryPrefix(of path: String, tag: String) -> String {
        var name = Substring(lastComponent(of: path))
        let room = 255 - (2 + tag.utf8.count + 1) - 10 - 1 - 8 - 1 - 12  // dots, tag, dash, pid, dash, machine, dash, random
        while name.utf8.count > room { name = name.dropLast() }
        return "." + name + "." + tag + "-"
    }

    /// Removes temporary siblings of `path` (see `temporarySibling`) whose process no longer
    /// exists: the half-written file or staging folder of a run that was killed (SIGKILL,
    /// power loss). Temporaries of live processes are left alone. Returns what was removed.
    @discardableResult
    static func removeStaleTemporaries(of path: String, tag: String) -> [String] {
        let directory = parent(of: path)
        let prefix = Array(temporaryPrefix(of: path, tag: tag).utf8)
        guard let names = try? listDirectory(directory) else { return [] }
        var removed: [String] = []
        for name in names where name.starts(with: prefix) {
            let rest = name.dropFirst(prefix.count)
            guard let dash = rest.firstIndex(of: UInt8(ascii: "-")),
                  let pid = Int32(String(decoding: rest[rest.startIndex..<dash], as: UTF8.self)), pid > 0 else { continue }
            // "<pid>-<machine>-<random>"; "<pid>-<random>" from before temporaries named their
            // machine counts as this machine's. Another machine's is not ours to judge.
            let after = rest[rest.index(after: dash)...]
            if let next = after.firstIndex(of: UInt8(ascii: "-")), !after[after.startIndex..<next].elementsEqual(machineTag.utf8) { continue }
            if kill(pid, 0) == 0 || errno != ESRCH { continue }
            // Only what this user made: a temporary another user planted (in a shared folder)
            // is left alone.
            guard let info = try? lstatusAt(AT_FDCWD, Array((directory + "/").utf8) + name, path: ""), info.st_uid == geteuid() else { continue }
            let stale = directory + "/" + String(decoding: name, as: UTF8.self)
            removeTree(stale)
            removed.append(stale)
        }
        return removed
    }
}
