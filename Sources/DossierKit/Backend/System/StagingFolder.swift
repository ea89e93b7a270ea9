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
///   `fstatat` right after `mkdirat`), a private folder of this user (owner, no group or
///   other bits: a folder swapped in before the `fstatat` is someone else's or open) and
///   empty. The caller writes through `descriptor`
///   (or below `root`, its real path, also checked to be the same folder).
/// - `moveIntoPlace` renames it only while its name still refers to it, without replacing
///   anything; `remove` empties it through the descriptor (wherever the name now points)
///   and removes the name only if it still refers to it.
final class StagingFolder {
    /// The system calls that put an opening in place durably. Tests replace them to inject
    /// the failures a failing disk or an NFS server produces, and to act between the last
    /// check and the rename.
    struct Calls: Sendable {
        var renameNoReplace: @Sendable (Int32, String, Int32, String) -> Int32 = { dossier_renameat_noreplace($0, $1, $2, $3) }
        var rename: @Sendable (Int32, String, Int32, String) -> Int32 = { renameat($0, $1, $2, $3) }
        /// `fsync` of the destination's folder after the rename.
        var syncFolder: @Sendable (Int32) -> Int32 = { fsync($0) }
        /// `syncfs` of the file system the content was extracted to.
        var syncFileSystem: @Sendable (Int32) -> Int32 = { dossier_syncfs($0) }
        /// `fchdir` of the extraction thread into the staging folder.
        var enterFolder: @Sendable (Int32) -> Int32 = { fchdir($0) }
        /// Runs after the in-place check, right before the rename (given the staging folder's path).
        var beforeRename: @Sendable (String) -> Void = { _ in }

        static let system = Calls()
    }

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
    private let calls: Calls
    private var closed = false

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private static func errorText(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }

    /// Makes and opens a staging folder beside `destination`. `afterCreatingForTesting`
    /// runs between `mkdirat` and `openat` (tests swap the name there).
    init(beside destination: String, tag: String, calls: Calls = .system,
         afterCreatingForTesting: (@Sendable (String) -> Void)? = nil) throws(Failure) {
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
        afterCreatingForTesting?(path)
        var made = stat()
        let statted = fstatat(parent, name, &made, AT_SYMLINK_NOFOLLOW) == 0 && FileSystem.isDirectory(made)
        let fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        var opened = stat()
        var problem: String?
        /// The folder is the one made, and private: ours to remove if something else is wrong.
        var ours = false
        if !statted || fd < 0 || fstat(fd, &opened) != 0 || opened.st_dev != made.st_dev || opened.st_ino != made.st_ino {
            problem = "\(path) was replaced right after it was made"
        } else if opened.st_uid != geteuid() || opened.st_mode & 0o077 != 0 {
            // Also what a folder swapped in between mkdirat and fstatat looks like (someone
            // else's, or open to others); and what file systems without owners and modes
            // (some network shares, FAT) give.
            problem = "\(path) is not a private folder of this user (owner \(opened.st_uid), mode \(String(opened.st_mode & 0o777, radix: 8))); it was replaced, or this file system does not keep owners and modes"
        } else {
            ours = true
            // mkdirat's mode is cut by the umask: a umask such as 0277 left the folder
            // unwritable for its owner ("extraction refused … Permission denied").
            if opened.st_mode & 0o700 != 0o700 && fchmod(fd, 0o700) != 0 {
                problem = "cannot make \(path) writable for its owner: \(Self.errorText())"
            }
            do {
                if try !FileSystem.listDirectory(fd: fd, path: path).isEmpty { problem = "\(path) is not empty right after it was made" }
            } catch { problem = "\(path) cannot be read: \(error)" }
        }
        var root = ""
        if problem == nil {
            if let real = realpath(path, nil) {
                root = String(cString: real)
                free(real)
            } else {
                // E.g. a path beyond PATH_MAX: say so, not that the folder was replaced.
                problem = "cannot resolve \(path): \(Self.errorText())"
            }
            var atRoot = stat()
            if problem == nil, root.isEmpty || stat(root, &atRoot) != 0 || atRoot.st_dev != made.st_dev || atRoot.st_ino != made.st_ino {
                problem = "\(path) was replaced right after it was made"
            }
        }
        if let problem {
            // Remove only what is verifiably ours (the private folder made, if the name still
            // is it; rmdir leaves it if something was put in it). A swapped-in folder or link
            // is not ours to remove; our own folder was moved away by whoever swapped it.
            var now = stat()
            if ours, fstatat(parent, name, &now, AT_SYMLINK_NOFOLLOW) == 0, now.st_dev == made.st_dev, now.st_ino == made.st_ino {
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
        self.calls = calls
    }

    deinit { close() }

    /// Whether the name it was made at still refers to it.
    var isInPlace: Bool {
        var now = stat()
        return fstatat(parent, name, &now, AT_SYMLINK_NOFOLLOW) == 0 && UInt64(now.st_dev) == device && UInt64(now.st_ino) == inode
    }

    /// Set once the folder has been renamed to the destination (it is then no longer ours to remove).
    private(set) var moved = false

    /// Renames it to `destination` (a sibling) without replacing anything, checks that the
    /// destination is then this folder, and makes the rename durable. Refused if the name
    /// no longer refers to this folder. After a failed fsync the content is in place
    /// (`moved`) but the rename may not survive a power loss.
    func moveIntoPlace(as destination: String) throws(Failure) {
        guard isInPlace else { throw Failure(description: "\(path) was replaced while it was being filled; nothing was moved into place") }
        let target = FileSystem.lastComponent(of: destination)
        calls.beforeRename(path)
        if calls.renameNoReplace(parent, name, parent, target) != 0 {
            // File systems without RENAME_NOREPLACE (NFS, older FUSE): a plain rename, which
            // for a folder can replace at most an empty folder made since the check.
            guard errno == EINVAL || errno == ENOSYS else { throw Failure(description: "cannot rename to \(destination): \(Self.errorText())") }
            guard calls.rename(parent, name, parent, target) == 0 else { throw Failure(description: "cannot rename to \(destination): \(Self.errorText())") }
        }
        var now = stat()
        guard fstatat(parent, target, &now, AT_SYMLINK_NOFOLLOW) == 0, UInt64(now.st_dev) == device, UInt64(now.st_ino) == inode else {
            throw Failure(description: "\(path) was replaced while it was being moved to \(destination); what is there now is not the opened content")
        }
        moved = true
        guard calls.syncFolder(parent) == 0 else {
            throw Failure(description: "the content is at \(destination), but the rename could not be made durable (fsync of \(FileSystem.parent(of: destination)): \(Self.errorText()))")
        }
    }

    /// Empties the folder through its descriptor (wherever its name now is) and removes the
    /// name if it still refers to it; nothing once it was moved into place. Then closes it.
    /// Returns what could not be removed ("" when everything was).
    @discardableResult
    func remove() -> String {
        guard !closed, !moved else { close(); return "" }
        var failures = FileSystem.removeContents(of: descriptor, path: path)
        if isInPlace && unlinkat(parent, name, AT_REMOVEDIR) != 0 { failures.append("\(path): \(Self.errorText())") }
        close()
        return failures.joined(separator: "; ")
    }

    func close() {
        guard !closed else { return }
        closed = true
        Glibc.close(descriptor)
        Glibc.close(parent)
    }
}
