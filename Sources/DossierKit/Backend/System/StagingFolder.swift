import CDossierSystem
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The folder an opening extracts into: made (0700) beside the destination and held by a
/// descriptor from the moment it exists, so that nobody who can write in the destination's
/// folder can make the extraction land elsewhere by swapping the name.
///
/// - Made with `mkdirat` relative to the destination's folder, then opened with
///   `openat(O_NOFOLLOW)` and checked to be that same folder (device and inode of an
///   `fstatat` right after `mkdirat`) and empty. The caller writes through `descriptor`
///   (or below `root`, its real path, also checked to be the same folder).
/// - `moveIntoPlace` renames it only while its name still refers to it, without replacing
///   anything; `remove` empties it through the descriptor (wherever the name now points)
///   and removes the name only if it still refers to it.
final class StagingFolder {
    /// The path it was made at (`.NAME.TAG-PID-RANDOM` beside the destination).
    let path: String
    /// Its real path (for writers that need absolute paths).
    let root: String
    /// An open descriptor of the folder (O_RDONLY | O_DIRECTORY), valid until `close`.
    let descriptor: Int32
    private let parent: Int32
    private let name: String
    private let device: UInt64
    private let inode: UInt64
    private var closed = false

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private static func errorText(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }

    /// Makes and opens a staging folder beside `destination`. `afterCreatingForTesting`
    /// runs between `mkdirat` and `openat` (tests swap the name there).
    init(beside destination: String, tag: String, afterCreatingForTesting: (@Sendable (String) -> Void)? = nil) throws(Failure) {
        let folder = FileSystem.parent(of: destination)
        let parent = Glibc.open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard parent >= 0 else { throw Failure(description: "cannot open the folder \(folder): \(Self.errorText())") }
        let path = FileSystem.temporarySibling(of: destination, tag: tag)
        let name = FileSystem.lastComponent(of: path)
        guard mkdirat(parent, name, 0o700) == 0 else {
            let text = Self.errorText()
            Glibc.close(parent)
            throw Failure(description: "cannot create \(path): \(text)")
        }
        var made = stat()
        let statted = fstatat(parent, name, &made, AT_SYMLINK_NOFOLLOW) == 0 && FileSystem.isDirectory(made)
        afterCreatingForTesting?(path)
        let fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        var opened = stat()
        var problem: String?
        if !statted || fd < 0 || fstat(fd, &opened) != 0 || opened.st_dev != made.st_dev || opened.st_ino != made.st_ino {
            problem = "\(path) was replaced right after it was made"
        } else if let entries = try? FileSystem.listDirectory(fd: fd, path: path), !entries.isEmpty {
            problem = "\(path) is not empty right after it was made"
        }
        var root = ""
        if problem == nil {
            if let real = realpath(path, nil) {
                root = String(cString: real)
                free(real)
            }
            var atRoot = stat()
            if root.isEmpty || stat(root, &atRoot) != 0 || atRoot.st_dev != made.st_dev || atRoot.st_ino != made.st_ino {
                problem = "\(path) was replaced right after it was made"
            }
        }
        if let problem {
            // Remove only what is verifiably ours: the folder made, if the name still is it and it is empty.
            var now = stat()
            if statted, fstatat(parent, name, &now, AT_SYMLINK_NOFOLLOW) == 0, now.st_dev == made.st_dev, now.st_ino == made.st_ino {
                unlinkat(parent, name, AT_REMOVEDIR)
            }
            if fd >= 0 { Glibc.close(fd) }
            Glibc.close(parent)
            throw Failure(description: problem + "; nothing was written")
        }
        self.path = path
        self.root = root
        self.descriptor = fd
        self.parent = parent
        self.name = name
        self.device = UInt64(made.st_dev)
        self.inode = UInt64(made.st_ino)
    }

    deinit { close() }

    /// Whether the name it was made at still refers to it.
    var isInPlace: Bool {
        var now = stat()
        return fstatat(parent, name, &now, AT_SYMLINK_NOFOLLOW) == 0 && UInt64(now.st_dev) == device && UInt64(now.st_ino) == inode
    }

    /// Renames it to `destination` (a sibling), never replacing anything, and makes the
    /// rename durable. Refused if the name no longer refers to this folder.
    func moveIntoPlace(as destination: String) throws(Failure) {
        guard isInPlace else { throw Failure(description: "\(path) was replaced while it was being filled; nothing was moved into place") }
        let target = FileSystem.lastComponent(of: destination)
        guard dossier_renameat_noreplace(parent, name, parent, target) == 0 else {
            throw Failure(description: "cannot rename to \(destination): \(Self.errorText())")
        }
        guard fsync(parent) == 0 else { throw Failure(description: "fsync of \(FileSystem.parent(of: destination)) failed: \(Self.errorText())") }
    }

    /// Empties the folder through its descriptor (wherever its name now is) and removes the
    /// name if it still refers to it. Then closes it.
    func remove() {
        guard !closed else { return }
        Self.removeContents(of: descriptor)
        if isInPlace { unlinkat(parent, name, AT_REMOVEDIR) }
        close()
    }

    func close() {
        guard !closed else { return }
        closed = true
        Glibc.close(descriptor)
        Glibc.close(parent)
    }

    /// Removes everything below the open folder `fd`, without following symlinks.
    private static func removeContents(of fd: Int32) {
        guard let entries = try? FileSystem.listDirectory(fd: fd, path: "") else { return }
        for entry in entries {
            let child = FileSystem.openAt(fd, entry.name, flags: O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            let name = entry.name + [0]
            if child >= 0 {
                removeContents(of: child)
                Glibc.close(child)
                name.withUnsafeBytes { _ = unlinkat(fd, $0.baseAddress!.assumingMemoryBound(to: CChar.self), AT_REMOVEDIR) }
            } else {
                name.withUnsafeBytes { _ = unlinkat(fd, $0.baseAddress!.assumingMemoryBound(to: CChar.self), 0) }
            }
        }
    }
}
