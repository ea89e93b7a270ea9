import Foundation

/// A source whose reader can borrow its bytes in place instead of copying them out.
protocol BlockSource: ByteSource {
    /// The next bytes of the stream, valid until the next call to `nextBlock` or `read`;
    /// empty only at the end of the stream.
    func nextBlock() throws -> UnsafeRawBufferPointer
}

/// Reads a source ahead on a worker thread into a bounded queue of blocks, so that the
/// stages behind it (reading, hashing, decryption) and the stages after it (decompression,
/// tar parsing, per-file hashing, writing) run on different cores. At most `maxQueued`
/// blocks wait (constant memory); blocks are filled in place and recycled, and a reader
/// that borrows them (`nextBlock`, used by `ArchiveReader`) copies nothing. The source's
/// error is thrown where the reader reaches it. Call `cancel()` when the reader stops
/// early; it waits for the worker to finish.
final class PrefetchingSource: BlockSource, @unchecked Sendable {
    private let source: ByteSource
    private let blockSize: Int
    private let maxQueued: Int
    private let condition = NSCondition()
    private var queue: [(block: [UInt8], count: Int)] = []
    /// Consumed blocks, for the worker to fill again.
    private var spare: [[UInt8]] = []
    private var current: [UInt8] = []
    private var currentCount = 0
    private var offset = 0
    private var ended = false
    private var failure: (any Error)?
    private var cancelled = false
    private var workerDone = false

    /// The caller's request to stop, looked at before every block.
    private let cancellation: DossierCancellation?

    init(_ source: ByteSource, blockSize: Int = 1 << 20, maxQueued: Int = 4, cancellation: DossierCancellation? = nil) {
        self.source = source
        self.cancellation = cancellation
        self.blockSize = blockSize
        self.maxQueued = maxQueued
        do throws(SystemThread.Refused) {
            try SystemThread.start(name: "dossier.prefetch") { [self] in work() }
        } catch {
            // No worker thread: the reader reads each block itself, when it needs it.
            direct = true
            workerDone = true
        }
    }

    /// No worker thread (the system refused one): `advance` reads the next block.
    private(set) var direct = false

    /// Fills `buffer` from the source (fewer bytes only at its end).
    private func fill(_ buffer: inout [UInt8]) throws -> Int {
        // A signal or the caller's cancellation ends the stream here, as a read error would.
        try Interruption.check(cancellation)
        if buffer.count != blockSize { buffer = [UInt8](repeating: 0, count: blockSize) }
        return try buffer.withUnsafeMutableBytes { raw in
            var filled = 0
            while filled < raw.count {
                let got = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[filled...]))
                if got == 0 { break }
                filled += got
            }
            return filled
        }
    }

    private func work() {
        while true {
            condition.lock()
            var buffer = spare.popLast() ?? []
            condition.unlock()
            let n: Int
            do {
                n = try fill(&buffer)
            } catch {
                condition.lock()
                failure = error
                workerDone = true
                condition.broadcast()
                condition.unlock()
                return
            }
            condition.lock()
            while queue.count >= maxQueued && !cancelled { condition.wait() }
            if cancelled || n == 0 {
                if n == 0 { ended = true }
                workerDone = true
                condition.broadcast()
                condition.unlock()
                return
            }
            queue.append((buffer, n))
            condition.broadcast()
            condition.unlock()
        }
    }

    /// Makes the next queued block current (recycling the consumed one); false at the end.
    private func advance() throws -> Bool {
        if direct {
            guard !ended, !cancelled else { return false }
            var buffer = current
            current = []
            currentCount = 0
            offset = 0
            let n = try fill(&buffer)
            if n == 0 {
                ended = true
                return false
            }
            (current, currentCount) = (buffer, n)
            return true
        }
        condition.lock()
        defer { condition.unlock() }
        if !current.isEmpty { spare.append(current) }
        current = []
        currentCount = 0
        offset = 0
        while queue.isEmpty && !workerDone { condition.wait() }
        if queue.isEmpty {
            if let failure { throw failure }
            return false
        }
        (current, currentCount) = queue.removeFirst()
        condition.broadcast()
        return true
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard buffer.count > 0 else { return 0 }
        if offset == currentCount, try !advance() { return 0 }
        let n = min(buffer.count, currentCount - offset)
        current.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<(offset + n)])) }
        offset += n
        return n
    }

    func nextBlock() throws -> UnsafeRawBufferPointer {
        if offset == currentCount, try !advance() { return UnsafeRawBufferPointer(start: nil, count: 0) }
        // `current` is not mutated until the next call, so its storage stays where it is.
        let block = current.withUnsafeBytes { UnsafeRawBufferPointer(rebasing: $0[offset..<currentCount]) }
        offset = currentCount
        return block
    }

    /// Stops the worker (if it is still reading) and waits for it.
    func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        while !workerDone { condition.wait() }
        queue.removeAll()
        spare.removeAll()
        condition.unlock()
    }
}
