import Foundation

/// Hands written bytes to a worker thread in bounded blocks, so that the stages before it
/// (walking, hashing, tar, zstd) and after it (encryption, payload digest, zip writing) run
/// on different cores. At most `maxQueued` blocks of `blockSize` bytes wait at any time
/// (constant memory). An error in the worker is thrown by the next `write` or by `close`.
final class PipelinedSink: ByteSink, @unchecked Sendable {
    private let target: ByteSink
    private let blockSize: Int
    private let maxQueued: Int
    private let condition = NSCondition()
    private var queue: [[UInt8]] = []
    private var pending: [UInt8] = []
    private var closing = false
    private var workerDone = false
    private var failure: (any Error)?
    /// No worker thread (the system refused one): writes go straight to the target.
    private(set) var direct = false
    /// The caller's request to stop, looked at by every `write`.
    private let cancellation: DossierCancellation?

    init(_ target: ByteSink, blockSize: Int = 1 << 20, maxQueued: Int = 4, cancellation: DossierCancellation? = nil) {
        self.target = target
        self.cancellation = cancellation
        self.blockSize = blockSize
        self.maxQueued = maxQueued
        do throws(SystemThread.Refused) {
            try SystemThread.start(name: "dossier.pipeline") { [self] in work() }
            pending.reserveCapacity(blockSize)
        } catch {
            direct = true
            workerDone = true
        }
    }

    /// Thrown by `write` after `close`.
    struct ClosedError: Error, CustomStringConvertible {
        var description: String { "write after the pipeline was closed" }
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        // A signal or the caller's cancellation ends the stream here, as a failed stage would.
        try Interruption.check(cancellation)
        if direct {
            if let failure { throw failure }
            if closing { throw ClosedError() }
            do { try target.write(bytes) } catch {
                failure = error
                throw error
            }
            return
        }
        condition.lock()
        let stopped = closing || workerDone
        let failure = self.failure
        condition.unlock()
        if let failure { throw failure }
        if stopped { throw ClosedError() }
        var offset = 0
        while offset < bytes.count {
            let n = min(blockSize - pending.count, bytes.count - offset)
            pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)]))
            offset += n
            if pending.count == blockSize { try enqueue() }
        }
    }

    private func enqueue() throws {
        let block = pending
        pending = []
        pending.reserveCapacity(blockSize)
        condition.lock()
        defer { condition.unlock() }
        while queue.count >= maxQueued && failure == nil && !workerDone { condition.wait() }
        if let failure { throw failure }
        if workerDone { throw ClosedError() }
        queue.append(block)
        condition.broadcast()
    }

    /// Flushes what is pending, waits until the worker has written everything, and
    /// rethrows its error. The target may be used again by the caller afterwards.
    func close() throws {
        if direct {
            closing = true
            if let failure { throw failure }
            return
        }
        if !pending.isEmpty {
            condition.lock()
            let stopped = closing || workerDone
            condition.unlock()
            if !stopped { try enqueue() }
        }
        pending = []
        condition.lock()
        defer { condition.unlock() }
        closing = true
        condition.broadcast()
        while !workerDone { condition.wait() }
        if let failure { throw failure }
    }

    /// Gives up: drops what is pending or queued (never written), waits for the block the
    /// worker has in hand, and returns the worker's error, if any — the cause to report when
    /// the caller's own failure was only its consequence. Writes are refused afterwards.
    @discardableResult
    func cancel() -> (any Error)? {
        pending = []
        if direct {
            closing = true
            return failure
        }
        condition.lock()
        defer { condition.unlock() }
        queue.removeAll()
        closing = true
        condition.broadcast()
        while !workerDone { condition.wait() }
        return failure
    }

    private func work() {
        while true {
            condition.lock()
            while queue.isEmpty && !closing { condition.wait() }
            if queue.isEmpty {
                workerDone = true
                condition.broadcast()
                condition.unlock()
                return
            }
            let block = queue.removeFirst()
            condition.broadcast()
            condition.unlock()
            do {
                try target.write(block)
            } catch {
                condition.lock()
                failure = error
                queue.removeAll()
                workerDone = true
                condition.broadcast()
                condition.unlock()
                return
            }
        }
    }
}
