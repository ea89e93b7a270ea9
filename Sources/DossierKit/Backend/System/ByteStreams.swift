import CDossierSystem
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A source of bytes read in pieces: a file, a pipe, memory, or a decoding layer.
public protocol ByteSource: AnyObject {
    /// Reads up to `buffer.count` bytes into `buffer` and returns how many were read.
    /// Returns 0 only at the end of the stream.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

/// A destination for bytes written in pieces.
public protocol ByteSink: AnyObject {
    /// Writes all of `bytes`.
    func write(_ bytes: UnsafeRawBufferPointer) throws
}

extension ByteSink {
    /// Writes all of `bytes`.
    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }
}

extension ByteSource {
    /// Reads everything up to the end. Use only for data known to be small.
    public func readAll(limit: Int = .max) throws -> [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = try chunk.withUnsafeMutableBytes { try read(into: $0) }
            if n == 0 { return out }
            guard out.count + n <= limit else { throw FileError(operation: "read", path: nil, code: EFBIG) }
            out.append(contentsOf: chunk[0..<n])
        }
    }
}

/// Bytes in memory, read front to back.
public final class MemorySource: ByteSource {
    private let bytes: [UInt8]
    private var offset = 0

    /// A source that yields `bytes`, then its end.
    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// Copies the next bytes into `buffer`; 0 once all were read. Never throws.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = Swift.min(buffer.count, bytes.count - offset)
        guard n > 0 else { return 0 }
        bytes.withUnsafeBytes { source in
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[offset..<(offset + n)]))
        }
        offset += n
        return n
    }
}

/// Collects written bytes in memory.
public final class MemorySink: ByteSink {
    /// Everything written so far.
    public private(set) var bytes: [UInt8] = []

    /// An empty sink.
    public init() {}

    /// Appends what is written to `bytes`. Never throws.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        self.bytes.append(contentsOf: bytes)
    }
}

/// A failed system call on a file, with the path (when known) and the errno text.
public struct FileError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What was attempted: "open", "read", "write", "fsync", "rename", ...
    public let operation: String
    /// The file concerned, when known.
    public let path: String?
    /// The errno value.
    public let code: Int32

    /// A failure of `operation` on `path` (nil when unknown) with the errno value `code`.
    public init(operation: String, path: String?, code: Int32) {
        self.operation = operation
        self.path = path
        self.code = code
    }

    /// "cannot OPERATION PATH: ERRNO TEXT", e.g. "cannot open /cases/x: No such file or directory".
    public var description: String {
        let message = String(cString: strerror(code))
        if let path { return "cannot \(operation) \(path): \(message)" }
        return "cannot \(operation): \(message)"
    }
}

/// Reads a file descriptor with read(2).
public final class FileSource: ByteSource {
    private let fd: Int32
    private let ownsDescriptor: Bool
    private let path: String?

    /// Opens `path` for reading.
    public init(path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileError(operation: "open", path: path, code: errno) }
        self.fd = fd
        self.ownsDescriptor = true
        self.path = path
    }

    /// Reads from an open descriptor (e.g. standard input), which stays open afterwards.
    public init(fileDescriptor: Int32) {
        self.fd = fileDescriptor
        self.ownsDescriptor = false
        self.path = nil
    }

    deinit { if ownsDescriptor { close(fd) } }

    /// One read(2) into `buffer` (retried on EINTR): may return fewer bytes than asked,
    /// 0 at the end. Throws `FileError`.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard buffer.count > 0 else { return 0 }
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw FileError(operation: "read", path: path, code: errno)
        }
    }
}

/// Writes to a file descriptor with write(2).
public final class FileSink: ByteSink {
    private let fd: Int32
    private let ownsDescriptor: Bool
    private let path: String?
    private var closed = false
    /// With early write-back, a helper thread flushes what has been written so far every
    /// `step` bytes (see `startWritebackEarly`).
    private var writeback: EarlyWriteback?
    /// Bytes written through this sink.
    private(set) var bytesWritten: Int64 = 0
    /// Told the written length after every write (the seal's read-back verification).
    var readBack: ReadBackHasher? {
        didSet { readBack?.written(upTo: bytesWritten) }
    }

    /// Creates `path` (which must not exist) with `mode`, for writing.
    public init(creating path: String, mode: mode_t = 0o644) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw FileError(operation: "create", path: path, code: errno) }
        self.fd = fd
        self.ownsDescriptor = true
        self.path = path
    }

    /// Writes to an open descriptor (e.g. standard output), which stays open afterwards.
    public init(fileDescriptor: Int32) {
        self.fd = fileDescriptor
        self.ownsDescriptor = false
        self.path = nil
    }

    deinit {
        try? writeback?.stop()
        if ownsDescriptor && !closed { Glibc.close(fd) }
    }

    /// Writes all of `bytes`, calling write(2) until they are written (retried on EINTR).
    /// Throws `FileError`.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw FileError(operation: "write", path: path, code: errno)
            }
            offset += n
        }
        bytesWritten += Int64(bytes.count)
        writeback?.wrote(bytes.count)
        readBack?.written(upTo: bytesWritten)
    }

    /// Flushes the data written so far to stable storage on a helper thread every `step`
    /// bytes while the file is being written, so that the final `sync()` waits for the last
    /// few MiB instead of the whole file. On this kind of VM the device cache flush at
    /// fsync costs ~1.3 ms per MiB written since the previous one (0.28–0.38 s for a 220 MiB
    /// file; 0.02–0.05 s after flushes every 16–32 MiB). The final `sync()` still runs
    /// and reports any error a helper flush saw. Call before the first write.
    func startWritebackEarly(every step: Int = 16 << 20) {
        precondition(writeback == nil, "early write-back is already on")
        writeback = EarlyWriteback(fd: fd, path: path, step: step)
    }

    /// How many flushes the early write-back helper has finished (for tests).
    var earlyFlushes: Int { writeback?.flushes ?? 0 }
    /// Whether the early write-back helper thread is still running (for tests).
    var earlyWritebackRunning: Bool { writeback?.isRunning ?? false }

    /// Flushes the file's data to stable storage (fsync).
    public func sync() throws {
        // A helper's failed flush may have consumed the error fsync would report (Linux
        // reports a write-back error once per file description), so its error counts too.
        try writeback?.stop()
        guard fsync(fd) == 0 else { throw FileError(operation: "fsync", path: path, code: errno) }
    }

    /// Closes the descriptor (only one this sink opened).
    public func close() throws {
        // The helper ends even for a descriptor the caller owns: it must not flush
        // whatever file reuses the number after the caller closes it.
        try? writeback?.stop()
        guard ownsDescriptor, !closed else { return }
        closed = true
        guard Glibc.close(fd) == 0 else { throw FileError(operation: "close", path: path, code: errno) }
    }
}

/// The helper thread of `FileSink.startWritebackEarly` (and of opening's extraction): one
/// flush at a time — `fdatasync` of the file, or `syncfs` of its file system — started when
/// another `step` bytes have been written; the first error is kept for `stop()`.
final class EarlyWriteback: @unchecked Sendable {
    enum Flush {
        case fileData
        case fileSystem
    }

    private let fd: Int32
    private let path: String?
    private let step: Int
    private let flush: Flush
    private let condition = NSCondition()
    private var unflushed = 0
    private var requested = false
    private var stopping = false
    private var started = false
    private var running = false
    private var failure: FileError?
    private var finishedFlushes = 0

    var flushes: Int {
        condition.lock()
        defer { condition.unlock() }
        return finishedFlushes
    }

    var isRunning: Bool {
        condition.lock()
        defer { condition.unlock() }
        return running
    }

    private let syncFileSystem: @Sendable (Int32) -> Int32

    /// `syncFileSystem` is the `syncfs` call (replaced by tests to inject a write-back error).
    /// `startNow: false` leaves the thread to `start()` (after threads that matter more,
    /// where the system gives few).
    init(fd: Int32, path: String?, step: Int, flush: Flush = .fileData, startNow: Bool = true,
         syncFileSystem: @escaping @Sendable (Int32) -> Int32 = { dossier_syncfs($0) }) {
        self.fd = fd
        self.path = path
        self.step = step
        self.flush = flush
        self.syncFileSystem = syncFileSystem
        if startNow { start() }
    }

    /// Starts the flushing thread (once, and not after `stop`). Without a thread there are
    /// no early flushes; the final sync still writes everything.
    func start() {
        condition.lock()
        guard !started && !stopping else { return condition.unlock() }
        started = true
        running = true
        condition.unlock()
        do throws(SystemThread.Refused) { try SystemThread.start(name: "dossier.writeback") { [self] in work() } } catch {
            condition.lock()
            running = false
            condition.broadcast()
            condition.unlock()
        }
    }

    /// Called by the writers (any threads) after each write.
    func wrote(_ count: Int) {
        condition.lock()
        defer { condition.unlock() }
        unflushed += count
        guard unflushed >= step else { return }
        unflushed = 0
        requested = true
        condition.signal()
    }

    /// Waits for the flush in progress or requested, ends the thread and throws the first flush error.
    func stop() throws(FileError) {
        condition.lock()
        defer { condition.unlock() }
        stopping = true
        condition.broadcast()
        while running { condition.wait() }
        if let failure { throw failure }
    }

    private func work() {
        condition.lock()
        while true {
            while !requested && !stopping { condition.wait() }
            // A flush requested before `stop` still runs (so its error is not lost).
            if !requested { break }
            requested = false
            condition.unlock()
            let result = flush == .fileData ? fdatasync(fd) : syncFileSystem(fd)
            let code = errno
            condition.lock()
            finishedFlushes += 1
            if result != 0 && failure == nil { failure = FileError(operation: flush == .fileData ? "fdatasync" : "syncfs", path: path, code: code) }
        }
        running = false
        condition.broadcast()
        condition.unlock()
    }
}

/// A reading buffer over a `ByteSource` with line and exact-length reads, used by parsers.
final class BufferedReader: ByteSource {
    private let source: ByteSource
    private var buffer: [UInt8]
    private var start = 0
    private var end = 0
    private var reachedEnd = false

    /// The smallest `readFully` request whose bytes beyond the buffered ones are read straight from the source.
    static let bypassThreshold = 4096

    init(_ source: ByteSource, capacity: Int = 64 * 1024) {
        self.source = source
        self.buffer = [UInt8](repeating: 0, count: capacity)
    }

    /// Bytes buffered and not yet consumed.
    var buffered: Int { end - start }

    /// Reads more from the source; returns false at its end.
    private func fill() throws -> Bool {
        if reachedEnd { return false }
        if start > 0 {
            if start < end {
                buffer.withUnsafeMutableBytes { raw in
                    raw.baseAddress!.copyMemory(from: raw.baseAddress! + start, byteCount: end - start)
                }
            }
            end -= start
            start = 0
        }
        if end == buffer.count { buffer.append(contentsOf: [UInt8](repeating: 0, count: buffer.count)) }
        let n = try buffer.withUnsafeMutableBytes { raw in
            try source.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[end...]))
        }
        if n == 0 { reachedEnd = true; return false }
        end += n
        return true
    }

    /// Returns the next line including its "\n", or the rest of the stream if it ends
    /// without one, or nil at the end. Throws `tooLong()` when no "\n" comes within `maxLength` bytes.
    func readLine<E: Error>(maxLength: Int, tooLong: () -> E) throws -> [UInt8]? {
        var scanned = 0
        while true {
            if let newline = buffer[(start + scanned)..<end].firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(buffer[start...newline])
                guard line.count <= maxLength else { throw tooLong() }
                start = newline + 1
                return line
            }
            scanned = end - start
            guard scanned <= maxLength else { throw tooLong() }
            if try !fill() {
                if start == end { return nil }
                let line = Array(buffer[start..<end])
                start = end
                guard line.count <= maxLength else { throw tooLong() }
                return line
            }
        }
    }

    /// Looks at the next byte without consuming it; nil at the end.
    func peek() throws -> UInt8? {
        if start == end, try !fill() { return nil }
        return buffer[start]
    }

    /// Looks at up to `count` next bytes without consuming them (fewer only at the end).
    func peek(_ count: Int) throws -> [UInt8] {
        while end - start < count, try fill() {}
        return Array(buffer[start..<Swift.min(end, start + count)])
    }

    /// Consumes one byte.
    func skip() { if start < end { start += 1 } }

    /// Reads until `buffer` is full or the stream ends; returns the count read.
    func readFully(into out: UnsafeMutableRawBufferPointer) throws -> Int {
        var filled = 0
        while filled < out.count {
            if start == end {
                // A request of 4 KiB or more reads what the buffer did not hold straight
                // from the source, however little that is: a stream of large reads (age: a
                // header line by line, then chunks of 64 KiB + 16) is then in step with the
                // source after one short read, instead of being copied through the buffer.
                if out.count >= BufferedReader.bypassThreshold {
                    let n = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: out[filled...]))
                    if n == 0 { reachedEnd = true; break }
                    filled += n
                    continue
                }
                if try !fill() { break }
            }
            let n = Swift.min(end - start, out.count - filled)
            buffer.withUnsafeBytes { raw in
                UnsafeMutableRawBufferPointer(rebasing: out[filled..<(filled + n)])
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[start..<(start + n)]))
            }
            start += n
            filled += n
        }
        return filled
    }

    func read(into out: UnsafeMutableRawBufferPointer) throws -> Int {
        guard out.count > 0 else { return 0 }
        if start == end, try !fill() { return 0 }
        let n = Swift.min(end - start, out.count)
        buffer.withUnsafeBytes { raw in
            UnsafeMutableRawBufferPointer(rebasing: out[0..<n]).copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[start..<(start + n)]))
        }
        start += n
        return n
    }
}
