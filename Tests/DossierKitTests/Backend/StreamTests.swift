import CDossierZlib
import CDossierZstd
import Foundation
import Testing
@testable import DossierKit

@Suite("Streams: zstd with stored runs, early write-back")
struct StreamTests {
    /// Deterministic bytes that do not compress.
    static func noise(_ count: Int, seed: Int = 0) -> [UInt8] {
        var bytes = [UInt8]()
        bytes.reserveCapacity(count + 32)
        var i = 0
        while bytes.count < count {
            bytes += SHA256.hash(withUnsafeBytes(of: (seed, i)) { Array($0) })
            i += 1
        }
        return Array(bytes[0..<count])
    }

    static func text(_ count: Int) -> [UInt8] {
        let line = Array("Bericht 17: Die Akte wurde am 3. März vollständig übergeben und geprüft.\n".utf8)
        return (0..<count).map { line[$0 % line.count] }
    }

    /// Decodes a zstd stream with libzstd; returns the content and the number of frames.
    static func decode(_ stream: [UInt8]) throws -> (content: [UInt8], frames: Int) {
        var frames = 0
        var offset = 0
        while offset < stream.count {
            let size = stream.withUnsafeBytes { ZSTD_findFrameCompressedSize($0.baseAddress! + offset, stream.count - offset) }
            try #require(ZSTD_isError(size) == 0, "frame \(frames) at \(offset): \(String(cString: ZSTD_getErrorName(size)))")
            offset += size
            frames += 1
        }
        let dctx = try #require(ZSTD_createDCtx())
        defer { ZSTD_freeDCtx(dctx) }
        var content = [UInt8]()
        var output = [UInt8](repeating: 0, count: 1 << 17)
        try stream.withUnsafeBytes { raw in
            var input = ZSTD_inBuffer(src: raw.baseAddress, size: raw.count, pos: 0)
            while input.pos < input.size {
                let produced = try output.withUnsafeMutableBytes { out in
                    var buffer = ZSTD_outBuffer(dst: out.baseAddress, size: out.count, pos: 0)
                    let result = ZSTD_decompressStream(dctx, &buffer, &input)
                    try #require(ZSTD_isError(result) == 0, "\(String(cString: ZSTD_getErrorName(result)))")
                    return buffer.pos
                }
                content += output[0..<produced]
            }
        }
        return (content, frames)
    }

    /// Writes `files` (header, data) through a ZstdSink, telling it where file data begins.
    static func compress(_ parts: [(header: [UInt8], data: [UInt8])], trailer: [UInt8], finishWhileStoring: Bool = false) throws -> (stream: [UInt8], sink: ZstdSink) {
        let memory = MemorySink()
        let zstd = try ZstdSink(sink: memory, level: 3, workers: 2)
        for (index, part) in parts.enumerated() {
            try zstd.write(part.header)
            var offset = 0
            while offset < part.data.count {
                let piece = Array(part.data[offset..<min(part.data.count, offset + ContentWriter.pieceSize)])
                if offset == 0 { try piece.withUnsafeBytes { try zstd.fileDataBegins(size: Int64(part.data.count), sample: $0) } }
                try zstd.write(piece)
                offset += piece.count
            }
            if !(finishWhileStoring && index == parts.count - 1) { try zstd.fileDataEnds() }
        }
        if !finishWhileStoring { try zstd.write(trailer) }
        try zstd.finish()
        return (memory.bytes, zstd)
    }

    @Test("incompressible file data is stored in a raw frame of its own; the stream decodes exactly (libzstd and zstd -d)")
    func storedRun() throws {
        let parts: [(header: [UInt8], data: [UInt8])] = [(Self.text(1_000), Self.noise(1_000_005)), (Self.text(700), Self.text(30_000)), (Self.text(512), Self.noise(600_000, seed: 1))]
        let trailer = Self.text(5_000)
        let (stream, sink) = try Self.compress(parts, trailer: trailer)
        let expected = parts.flatMap { $0.header + $0.data } + trailer
        let decoded = try Self.decode(stream)
        #expect(decoded.content == expected)
        #expect(sink.storedFrames == 2)
        #expect(sink.storedBytes == 1_600_005)
        // compressed, stored, compressed (text between them), stored, compressed trailer
        #expect(decoded.frames == 5)
        // Stored costs 3 bytes per 128 KiB block plus 6 per frame, nothing more.
        #expect(stream.count < 1_600_005 + 8 * 3 + 2 * 6 + 20_000)

        let directory = try TemporaryDirectory()
        let path = directory.path("stream.zst")
        try Data(stream).write(to: URL(fileURLWithPath: path))
        let zstd = try #require(Subprocess.which("zstd"), "zstd is not installed: run scripts/setup")
        let cli = try Subprocess.run(zstd, ["-d", "-c", "-q", path])
        #expect(cli.status == 0, "\(cli.stderr)")
        #expect(Array(cli.stdout) == expected)
    }

    @Test("compressible or small file data stays compressed")
    func compressedRuns() throws {
        let parts: [(header: [UInt8], data: [UInt8])] = [(Self.text(100), Self.text(2_000_000)), (Self.text(100), Self.noise(400_000))]
        let (stream, sink) = try Self.compress(parts, trailer: [])
        #expect(sink.storedFrames == 0)
        #expect(try Self.decode(stream).content == parts.flatMap { $0.header + $0.data })
        #expect(try Self.decode(stream).frames == 1)
    }

    @Test("a stored run of whole blocks ends with a full last block; finishing while storing ends the frame")
    func storedEdges() throws {
        for finishWhileStoring in [false, true] {
            let parts: [(header: [UInt8], data: [UInt8])] = [(Self.text(10), Self.noise(8 * ZstdSink.rawBlockSize))]
            let (stream, sink) = try Self.compress(parts, trailer: Self.text(10), finishWhileStoring: finishWhileStoring)
            #expect(sink.storedFrames == 1)
            let decoded = try Self.decode(stream)
            #expect(decoded.content == parts.flatMap { $0.header + $0.data } + (finishWhileStoring ? [] : Self.text(10)))
            // The stream then ends with the stored frame's last block: a full raw block whose
            // header is (131072 << 3) | last = 0x100001, little-endian.
            if finishWhileStoring {
                let header = stream.count - ZstdSink.rawBlockSize - 3
                #expect(Array(stream[header..<(header + 3)]) == [0x01, 0x00, 0x10])
            }
        }
    }

    @Test("an empty stream is one valid empty frame")
    func emptyStream() throws {
        let memory = MemorySink()
        let zstd = try ZstdSink(sink: memory, level: 3, workers: 2)
        try zstd.finish()
        let decoded = try Self.decode(memory.bytes)
        #expect(decoded.content.isEmpty)
        #expect(decoded.frames == 1)
    }

    @Test("closing a sink over a descriptor it does not own still ends its write-back thread")
    func writebackEndsOnClose() throws {
        let directory = try TemporaryDirectory()
        let fd = open(directory.path("borrowed.bin"), O_WRONLY | O_CREAT | O_EXCL, 0o600)
        try #require(fd >= 0)
        defer { Glibc.close(fd) }
        let sink = FileSink(fileDescriptor: fd)
        sink.startWritebackEarly(every: 4096)
        try sink.write(StreamTests.noise(64 << 10))
        #expect(sink.earlyWritebackRunning)
        try sink.close()
        // Otherwise the helper could fdatasync whatever file later reuses the descriptor.
        #expect(!sink.earlyWritebackRunning)
    }

    @Test("a flush requested right before stop still runs, and its error is thrown by stop")
    func requestedFlushRunsAtStop() throws {
        let directory = try TemporaryDirectory()
        let fd = open(directory.path("f.bin"), O_WRONLY | O_CREAT | O_EXCL, 0o600)
        try #require(fd >= 0)
        defer { Glibc.close(fd) }
        for failing in [false, true] {
            let writeback = EarlyWriteback(fd: fd, path: "f.bin", step: 1, flush: .fileSystem,
                                           syncFileSystem: { _ in if failing { errno = EIO; return -1 }; return 0 })
            writeback.wrote(1)
            if failing {
                #expect(throws: FileError.self) { try writeback.stop() }
            } else {
                try writeback.stop()
            }
            #expect(writeback.flushes == 1)
        }
    }

    @Test("early write-back flushes while writing; the file is complete after sync")
    func earlyWriteback() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("out.bin")
        let sink = try FileSink(creating: path)
        sink.startWritebackEarly(every: 256 << 10)
        let data = Self.noise(4 << 20)
        for start in stride(from: 0, to: data.count, by: 100_000) {
            try sink.write(Array(data[start..<min(data.count, start + 100_000)]))
        }
        // The helper flushes asynchronously: wait (up to 30 s) until it has flushed once.
        let deadline = Date().addingTimeInterval(30)
        while sink.earlyFlushes == 0 && Date() < deadline {
            try sink.write([])
            Thread.sleep(forTimeInterval: 0.01)
        }
        #expect(sink.earlyFlushes > 0)
        try sink.sync()
        try sink.close()
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: path))) == data)
    }
}

@Suite("BufferedReader")
struct BufferedReaderTests {
    /// A source that records the size of every read asked of it.
    final class RecordingSource: ByteSource {
        let inner: MemorySource
        var requests: [Int] = []
        init(_ bytes: [UInt8]) { inner = MemorySource(bytes) }
        func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
            requests.append(buffer.count)
            return try inner.read(into: buffer)
        }
    }

    @Test("after a line leaves the buffer out of step, large readFully requests go straight to the source, with the same bytes")
    func largeReadsBypass() throws {
        let record = 65_552  // an age chunk with its tag
        let bytes = Array("header line\n".utf8) + (0..<(6 * record + 100)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 9) }
        let source = RecordingSource(bytes)
        let reader = BufferedReader(source)
        #expect(try reader.readLine(maxLength: 100) { DossierError(.invalidArgument, "long") } == Array("header line\n".utf8))
        var out = Array("header line\n".utf8)
        var chunk = [UInt8](repeating: 0, count: record)
        for index in 0..<7 {
            let n = try chunk.withUnsafeMutableBytes { try reader.readFully(into: $0) }
            out += chunk[0..<n]
            if index >= 1 && index < 6 {
                // Once the leftover is used up, each record is one read of its own size.
                #expect(source.requests.last == record, "record \(index): \(source.requests.suffix(3))")
            }
        }
        #expect(out == bytes)
        #expect(try reader.peek() == nil)
    }
}

@Suite("Seal read-back: digests of the bytes in the file, over the ranges verification finds")
struct ReadBackTests {
    @Test("the read-back hashes what the file holds, not what was handed to write")
    func readsTheFile() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("out.bin")
        let sink = try FileSink(creating: path)
        let data = StreamTests.noise(3 << 20)
        try sink.write(Array(data[0..<100]))
        let hasher = try ReadBackHasher(path: path, crcStart: 10, shaStart: 50)
        // Another writer changes a byte of the file before the sink reports it written.
        try sink.write(Array(data[100...]))
        let other = try #require(FileHandle(forUpdatingAtPath: path))
        try other.seek(toOffset: 2_000_000)
        try other.write(contentsOf: [data[2_000_000] ^ 0xFF])
        try other.close()
        sink.readBack = hasher
        hasher.setEnd(Int64(data.count))
        let digests = try hasher.digests()
        var onDisk = data
        onDisk[2_000_000] ^= 0xFF
        #expect(digests.sha256 == SHA256.hash(Array(onDisk[50...])))
        #expect(digests.crc32 == CRC32.checksum(Array(onDisk[10...])))
        #expect(digests.sha256 != SHA256.hash(Array(data[50...])))
        #expect((digests.crcStart, digests.shaStart, digests.end) == (10, 50, Int64(data.count)))
        try sink.close()
    }

    @Test("verification reads the file itself when the read-back covers other ranges; a tampered file still fails")
    func otherRanges() throws {
        let fx = try DossierFixture()
        let receipt = try fx.seal(try fx.folder("ranges", ["a.txt": Array("Akte".utf8), "scan.bin": StreamTests.noise(700_000)]))
        let container = try ContainerReader(path: receipt.path)
        let start = container.payload.dataOffset
        let end = start + container.payload.size
        // A read-back that starts one byte late: not used.
        let late = try ReadBackHasher(path: receipt.path, crcStart: start + 1, shaStart: start + 200)
        late.written(upTo: end)
        late.setEnd(end)
        let report = Dossier.verify(receipt.path, trusting: fx.trust, requiringRoles: [.sealer], identities: [], readBack: late)
        #expect(report.status == .valid, "\(report.failureSummary)")
        #expect(!report.payloadReadBack)
        // A read-back that was cancelled before the end: not used either.
        let cancelled = try ReadBackHasher(path: receipt.path, crcStart: start, shaStart: start + 200)
        cancelled.cancel()
        #expect(!Dossier.verify(receipt.path, trusting: fx.trust, requiringRoles: [.sealer], identities: [], readBack: cancelled).payloadReadBack)

        // Flip a payload byte: a read-back taken of the tampered file reports what it read.
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: receipt.path)))
        bytes[Int(end) - 10] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: receipt.path))
        let header = try AgeHeader.parse(from: BufferedReader(container.payloadSource()))
        let tampered = try ReadBackHasher(path: receipt.path, crcStart: start, shaStart: start + Int64(header.encoded.count))
        tampered.written(upTo: end)
        tampered.setEnd(end)
        let failed = Dossier.verify(receipt.path, trusting: fx.trust, requiringRoles: [.sealer], identities: [], readBack: tampered)
        #expect(failed.payloadReadBack)
        #expect(failed.status == .invalid)
    }

    @Test("verification's own read of the payload: both digests of one read; ranges outside the entry and a file shorter than the entry are read failures")
    func scanPayloadRanges() throws {
        let dir = try TemporaryDirectory()
        let data = StreamTests.noise(1_000_000, seed: 3)
        let path = dir.path("payload.bin")
        try Data(data).write(to: URL(fileURLWithPath: path))
        let file = try RandomAccessFile(path: path)
        let whole = Dossier.scanPayload(file, entryStart: 7, bodyStart: 300_001, end: 999_999)
        #expect(whole.error == nil)
        #expect(whole.digest == SHA256.hash(Array(data[300_001..<999_999])))
        #expect(whole.crc == CRC32.checksum(Array(data[7..<999_999])))
        let empty = Dossier.scanPayload(file, entryStart: 10, bodyStart: 10, end: 10)
        #expect(empty.digest == SHA256.hash([]) && empty.crc == 0 && empty.error == nil)
        let inverted = Dossier.scanPayload(file, entryStart: 100, bodyStart: 50, end: 200)
        #expect(inverted.digest == nil && inverted.crc == nil && inverted.error?.operation.contains("outside its entry") == true)
        let beyond = Dossier.scanPayload(file, entryStart: 0, bodyStart: 10, end: 1_000_100)
        #expect(beyond.digest == nil && beyond.crc == nil && beyond.error?.operation.contains("shrank") == true, "\(String(describing: beyond.error))")
    }
}

@Suite("CRC-32 (libdeflate) is zlib's CRC-32")
struct CRC32Tests {
    @Test("known values, and zlib's result for every length and alignment up to 300 bytes and for large pieces fed in odd steps")
    func matchesZlib() {
        #expect(CRC32.checksum([]) == 0)
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)  // the CRC-32 check value
        #expect(CRC32.checksum(Array("The quick brown fox jumps over the lazy dog".utf8)) == 0x414F_A339)
        let data = StreamTests.noise(3 << 20, seed: 7)
        data.withUnsafeBytes { raw in
            func zlib(_ piece: UnsafeRawBufferPointer, _ seed: UInt32 = 0) -> UInt32 {
                // crc32_z: the dossier CLI, linked into the test process, replaces zlib's crc32 (CDossierZipCRC).
                UInt32(crc32_z(uLong(seed), piece.baseAddress?.assumingMemoryBound(to: Bytef.self), z_size_t(piece.count)))
            }
            for start in 0..<8 {
                for length in 0...300 {
                    let piece = UnsafeRawBufferPointer(rebasing: raw[start..<(start + length)])
                    var crc = CRC32()
                    crc.update(piece)
                    #expect(crc.value == zlib(piece), "start \(start), length \(length)")
                }
            }
            var crc = CRC32()
            var offset = 0, step = 1
            while offset < raw.count {
                let end = min(raw.count, offset + step)
                crc.update(UnsafeRawBufferPointer(rebasing: raw[offset..<end]))
                offset = end
                step = step * 3 + 1
            }
            #expect(crc.value == zlib(raw))
        }
    }
}
