#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Files that hold secret keys (signing keys, age identities), handled as bytes in wiping
/// memory from the read to the parsed key: no Swift string, no growing array and no
/// lower-cased copy ever holds a secret line, so nothing secret is freed unwiped.
enum SecretFile {
    /// Why a secret key file was refused; each caller words it as its own error.
    enum Failure: Error {
        /// open, fstat or read failed.
        case system(FileError)
        case notRegularFile
        case tooLarge
        /// The file grew while it was read.
        case changed
        /// The file holds a public key (e.g. "an age recipient (a public key)").
        case publicKey(String)
        /// Group or others may access the file (its permission bits).
        case exposed(mode: mode_t)
    }

    static let sizeLimit = 1 << 20

    /// Reads a secret key file into wiping memory. Refuses what is not a regular file, more
    /// than 1 MiB, a public key given by mistake (checked first: that is the usual mix-up),
    /// and files that group or others may access.
    static func read(_ path: String) throws(Failure) -> SecureBytes {
        // O_NONBLOCK: a FIFO without a writer would block the open for ever; it is refused
        // below as not a regular file.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw .system(FileError(operation: "open", path: path, code: errno)) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .system(FileError(operation: "stat", path: path, code: errno)) }
        guard info.st_mode & Glibc.S_IFMT == Glibc.S_IFREG else { throw .notRegularFile }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        guard info.st_size <= sizeLimit else { throw .tooLarge }
        // One byte more than announced, to see a file that grew.
        var length = 0
        let buffer = try SecureBytes(count: Int(info.st_size) + 1) { (buffer) throws(Failure) in
            while length < buffer.count {
                let n = Glibc.read(fd, buffer.baseAddress! + length, buffer.count - length)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw .system(FileError(operation: "read", path: path, code: errno))
                }
                if n == 0 { break }
                length += n
            }
        }
        guard length <= Int(info.st_size) else { throw .changed }
        let contents = buffer.copy(0..<length)
        if let kind = withBytes(contents, { publicKind(of: $0) }) { throw .publicKey(kind) }
        guard info.st_mode & 0o077 == 0 else { throw .exposed(mode: info.st_mode & 0o777) }
        return contents
    }

    /// Writes a secret key file with mode 0600, never overwriting, fsynced; a failed write
    /// removes the file.
    static func write(_ bytes: some ContiguousBytes, to path: String) throws {
        let sink = try FileSink(creating: path, mode: 0o600)
        do {
            try bytes.withUnsafeBytes { try sink.write($0) }
            try sink.sync()
            try sink.close()
        } catch {
            unlink(path)
            throw error
        }
    }

    /// `head`, then `secret`, then `tail`, in wiping memory (a key file's comment lines, its
    /// secret line and the line end).
    static func assemble(_ head: String, _ secret: SecureBytes, _ tail: String) -> SecureBytes {
        let first = Array(head.utf8), last = Array(tail.utf8)
        return SecureBytes(count: first.count + secret.count + last.count) { out in
            let middle = first.count..<(first.count + secret.count)
            first.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: out[..<middle.lowerBound]).copyMemory(from: $0) }
            secret.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: out[middle]).copyMemory(from: $0) }
            last.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: out[middle.upperBound...]).copyMemory(from: $0) }
        }
    }

    /// The lines of a key file, without their line end (`\n`, `\r\n`, `\r\r\n` as before) and with spaces and
    /// tabs trimmed at both ends, as ranges of `bytes` (empty lines included, so that
    /// `index + 1` is the line number).
    static func lines(_ bytes: UnsafeRawBufferPointer) -> [Range<Int>] {
        var lines: [Range<Int>] = []
        var start = 0
        while start <= bytes.count {
            var end = start
            while end < bytes.count && bytes[end] != UInt8(ascii: "\n") { end += 1 }
            var last = end
            while last > start && bytes[last - 1] == UInt8(ascii: "\r") { last -= 1 }
            var first = start
            while first < last && (bytes[first] == 0x20 || bytes[first] == 0x09) { first += 1 }
            while last > first && (bytes[last - 1] == 0x20 || bytes[last - 1] == 0x09) { last -= 1 }
            if end < bytes.count || start < bytes.count { lines.append(first..<last) }
            start = end + 1
        }
        return lines
    }

    /// Whether `bytes` are valid UTF-8, checked without making a string of them.
    static func isUTF8(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var iterator = bytes.makeIterator()
        var decoder = Unicode.UTF8()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }

    /// What public key a file given as a secret one holds ("an age recipient", "a minisign
    /// public key"), or nil. Public keys are the usual mix-up (keys/anna.pub for keys/anna.sign).
    /// Looks at the first 4 KiB, byte by byte: no copy of a secret file is made.
    static func publicKind(of file: UnsafeRawBufferPointer) -> String? {
        let bytes = UnsafeRawBufferPointer(rebasing: file[0..<Swift.min(file.count, 4096)])
        func contains(_ text: String) -> Bool {
            let needle = Array(text.utf8)
            guard bytes.count >= needle.count else { return false }
            return (0...(bytes.count - needle.count)).contains { at in
                needle.indices.allSatisfy { bytes[at + $0] == needle[$0] }
            }
        }
        guard !contains("SECRET-KEY"), !contains("secret key"), !bytes.starts(with: "age-encryption.org/".utf8),
              !bytes.starts(with: "-----BEGIN".utf8) else { return nil }
        let lines = self.lines(bytes).filter { !$0.isEmpty && bytes[$0.lowerBound] != UInt8(ascii: "#") }
        if let first = lines.first, bytes[first].starts(with: "age1".utf8) { return "an age recipient (a public key)" }
        if bytes.starts(with: "untrusted comment:".utf8) && contains("public key") { return "a minisign public key" }
        if lines.count == 1, let only = lines.first, bytes[only].starts(with: "RW".utf8), only.count == 56 {
            return "a minisign public key"
        }
        return nil
    }
}
