import Foundation

/// Reads back, from the file itself and behind the writer, the payload entry a seal is
/// writing, and hashes it as verification does: CRC-32 of the entry's data, SHA-256 of the
/// age body. The seal's verification then checks these digests — of bytes read back from
/// the written file, over the byte ranges it finds in the finished file — instead of
/// reading 200 MB a second time after the fsync: the read-back overlaps the writing
/// (typical seal: the 0.2 s verification tail becomes ~0.02 s).
///
/// Only ranges the writer reported as written are read (`written(upTo:)` after each
/// `write(2)` returned). If verification finds other ranges in the file, it reads the file
/// again itself.
final class ReadBackHasher: @unchecked Sendable {
    /// What was read back: CRC-32 of [crcStart, end), SHA-256 of [shaStart, end).
    struct Digests: Sendable, Equatable {
        let crcStart: Int64
        let shaStart: Int64
        let end: Int64
        let crc32: UInt32
        let sha256: [UInt8]
    }

    private let file: RandomAccessFile
    private let crcStart: Int64
    private let shaStart: Int64
    private let condition = NSCondition()
    private var available: Int64 = 0
    private var end: Int64?
    private var cancelled = false
    private var outcome: Result<Digests, FileError>?

    /// Starts reading `path` (being written) from `crcStart`; `shaStart` ≥ `crcStart`.
    init(path: String, crcStart: Int64, shaStart: Int64) throws(FileError) {
        precondition(shaStart >= crcStart)
        file = try RandomAccessFile(path: path)
        self.crcStart = crcStart
        self.shaStart = shaStart
        do throws(SystemThread.Refused) { try SystemThread.start(name: "dossier.readback") { [self] in work() } } catch {
            // The seal's verification then reads the file again itself.
            throw FileError(operation: "start a thread to read back", path: path, code: error.code)
        }
    }

    /// The writer has written the file up to `offset` (called after each write).
    func written(upTo offset: Int64) {
        condition.lock()
        available = offset
        condition.signal()
        condition.unlock()
    }

    /// The entry ends at `offset`: nothing past it is read. Set before anything past it is written.
    func setEnd(_ offset: Int64) {
        condition.lock()
        end = offset
        condition.signal()
        condition.unlock()
    }

    /// Waits for the read-back to reach the end and returns its digests.
    func digests() throws(FileError) -> Digests {
        condition.lock()
        defer { condition.unlock() }
        while outcome == nil { condition.wait() }
        return try outcome!.get()
    }

    /// Stops reading (after an error elsewhere); waits for the thread.
    func cancel() {
        condition.lock()
        defer { condition.unlock() }
        cancelled = true
        condition.broadcast()
        while outcome == nil { condition.wait() }
    }

    private func work() {
        var crc = CRC32()
        let sha = DigestContext(.sha256)
        var buffer = [UInt8](repeating: 0, count: 256 << 10)
        var position = crcStart
        var failure: FileError?
        while true {
            condition.lock()
            var limit = min(available, end ?? .max)
            while limit <= position && !cancelled && !(end.map { position >= $0 } ?? false) {
                condition.wait()
                limit = min(available, end ?? .max)
            }
            let stop = cancelled || (end.map { position >= $0 } ?? false)
            condition.unlock()
            if stop { break }
            let n = Int(min(Int64(buffer.count), limit - position))
            do throws(FileError) {
                let got = try withMutableBytes(&buffer) { (raw) throws(FileError) in
                    try file.read(at: position, into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<n]))
                }
                guard got == n else { throw FileError(operation: "read back (file shrank)", path: file.path, code: EIO) }
            } catch {
                failure = error
                break
            }
            buffer.withUnsafeBytes { raw in
                let piece = UnsafeRawBufferPointer(rebasing: raw[0..<n])
                crc.update(piece)
                let shaFrom = Int(max(0, min(Int64(n), shaStart - position)))
                if shaFrom < n { sha.update(UnsafeRawBufferPointer(rebasing: piece[shaFrom...])) }
            }
            position += Int64(n)
        }
        condition.lock()
        if let failure {
            outcome = .failure(failure)
        } else if let end, position == end, !cancelled {
            outcome = .success(Digests(crcStart: crcStart, shaStart: shaStart, end: end, crc32: crc.value, sha256: sha.finalize()))
        } else {
            outcome = .failure(FileError(operation: "read back (cancelled)", path: file.path, code: ECANCELED))
        }
        condition.broadcast()
        condition.unlock()
    }
}
