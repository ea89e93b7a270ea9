#if canImport(Glibc)
import Glibc
#endif

/// A file read at explicit offsets (pread), for the container, which is parsed from its end.
final class RandomAccessFile: Sendable {
    let path: String
    let size: Int64
    /// fstat of the opened file: which file was read (device and inode), its mode and owner.
    let status: stat
    private let fd: Int32

    init(path: String) throws(FileError) {
        // O_NONBLOCK: opening a FIFO without a writer would wait for one for ever (a folder of
        // dossiers verified by an application); it is refused below as not a regular file.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw FileError(operation: "open", path: path, code: errno) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let code = errno
            close(fd)
            throw FileError(operation: "stat", path: path, code: code)
        }
        guard info.st_mode & Glibc.S_IFMT == Glibc.S_IFREG else {
            close(fd)
            throw FileError(operation: "read (not a regular file)", path: path, code: EINVAL)
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        self.fd = fd
        self.path = path
        self.size = Int64(info.st_size)
        self.status = info
    }

    deinit { close(fd) }

    /// Takes an exclusive advisory lock (`flock`) on the open file without waiting; false
    /// only when another open of it holds one (a file system without locks, e.g. NFS
    /// without its lock daemon, counts as unlocked). Released when this file is closed.
    func lockExclusively() -> Bool { flock(fd, LOCK_EX | LOCK_NB) == 0 || errno != EWOULDBLOCK }

    /// Reads exactly `count` bytes at `offset`; fewer only at the end of the file.
    func read(at offset: Int64, count: Int) throws(FileError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        let n = try withMutableBytes(&out) { (raw) throws(FileError) in try read(at: offset, into: raw) }
        if n < count { out.removeLast(count - n) }
        return out
    }

    /// Fills `buffer` from `offset`; returns the count read (short only at the end of the file).
    func read(at offset: Int64, into buffer: UnsafeMutableRawBufferPointer) throws(FileError) -> Int {
        var done = 0
        while done < buffer.count {
            let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw FileError(operation: "read", path: path, code: errno)
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// A byte source over `[offset, offset + length)`.
    func source(offset: Int64, length: Int64) -> ByteSource {
        RangeSource(file: self, offset: offset, end: offset + length)
    }

    private final class RangeSource: ByteSource {
        let file: RandomAccessFile
        var offset: Int64
        let end: Int64
        init(file: RandomAccessFile, offset: Int64, end: Int64) {
            self.file = file
            self.offset = offset
            self.end = end
        }
        func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
            let n = Int(Swift.min(Int64(buffer.count), end - offset))
            guard n > 0 else { return 0 }
            let got = try file.read(at: offset, into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<n]))
            guard got == n else { throw FileError(operation: "read (file shrank)", path: file.path, code: EIO) }
            offset += Int64(n)
            return n
        }
    }
}
