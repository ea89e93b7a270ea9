import Foundation

/// Reads a source ahead on a worker thread into a bounded queue of blocks, so that the
/// stages behind it (reading, hashing, decryption) and the stages after it (decompression,
/// tar parsing, per-file hashing, writing) run on different cores. At most `maxQueued`
/// blocks wait (constant memory). The source's error is thrown where the reader reaches it.
/// Call `cancel()` when the reader stops early; it waits for the worker to finish.
final class PrefetchingSource: ByteSource, @unchecked Sendable {
    private let source: ByteSource
    private let blockSize: Int
    private let maxQueued: Int
    private let condition = NSCondition()
    private var queue: [[UInt8]] = []
    private var current: [UInt8] = []
    private var offset = 0
    private var ended = false
    private var failure: (any Error)?
    private var cancelled = false
    private var workerDone = false

    init(_ source: ByteSource, blockSize: Int = 1 << 20, maxQueued: Int = 4) {
        self.source = source
        self.blockSize = blockSize
        self.maxQueued = maxQueued
        let thread = Thread { [self] in work() }
        thread.name = "dossier.prefetch"
        thread.start()
    }

    private func work() {
        var buffer = [UInt8](repeating: 0, count: blockSize)
        while true {
            let n: Int
            do {
                n = try buffer.withUnsafeMutableBytes { raw in
                    var filled = 0
                    while filled < raw.count {
                        let got = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[filled...]))
                        if got == 0 { break }
                        filled += got
                    }
                    return filled
                }
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
            queue.append(Array(buffer[0..<n]))
            condition.broadcast()
            condition.unlock()
        }
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard buffer.count > 0 else { return 0 }
        if offset == current.count {
            condition.lock()
            while queue.isEmpty && !workerDone { condition.wait() }
            if queue.isEmpty {
                let failure = self.failure
                condition.unlock()
                if let failure { throw failure }
                return 0
            }
            current = queue.removeFirst()
            offset = 0
            condition.broadcast()
            condition.unlock()
        }
        let n = min(buffer.count, current.count - offset)
        current.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<(offset + n)])) }
        offset += n
        return n
    }

    /// Stops the worker (if it is still reading) and waits for it.
    func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        while !workerDone { condition.wait() }
        queue.removeAll()
        condition.unlock()
    }
}
