import Benchmark
import DossierKit
import Foundation

/// Discards what is written, counting bytes.
final class NullSink: ByteSink {
    var count = 0
    func write(_ bytes: UnsafeRawBufferPointer) throws { count += bytes.count }
}

/// Produces `total` bytes of a fixed pattern without holding them in memory.
final class PatternSource: ByteSource {
    private let total: Int
    private var produced = 0
    init(total: Int) { self.total = total }
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = min(buffer.count, total - produced)
        for i in 0..<n { buffer[i] = UInt8(truncatingIfNeeded: produced &+ i) }
        produced += n
        return n
    }
}

let gib = 1 << 30
let piece = [UInt8](repeating: 0x5a, count: 1 << 20)

nonisolated(unsafe) var key: AgeX25519.GeneratedKey!
nonisolated(unsafe) var ciphertextPath = ""

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .peakMemoryResident, .throughput],
        timeUnits: .milliseconds,
        warmupIterations: 1,
        maxDuration: .seconds(60),
        maxIterations: 5
    )

    Benchmark("age.encrypt 1 GiB (X25519, streaming)") { benchmark in
        let key = try AgeX25519.generate()
        let sink = NullSink()
        benchmark.startMeasurement()
        let writer = try AgeEncryptingWriter(to: sink, recipients: [AgeRecipient(key.recipient)])
        var written = 0
        while written < gib {
            try piece.withUnsafeBytes { try writer.write($0) }
            written += piece.count
        }
        try writer.finish()
        benchmark.stopMeasurement()
        blackHole(sink.count)
    }

    Benchmark("age.decrypt 1 GiB (X25519, streaming)",
              configuration: .init(setup: {
                  key = try AgeX25519.generate()
                  ciphertextPath = NSTemporaryDirectory() + "/dossier-bench-\(getpid()).age"
                  unlink(ciphertextPath)
                  let file = try FileSink(creating: ciphertextPath)
                  let writer = try AgeEncryptingWriter(to: file, recipients: [AgeRecipient(key.recipient)])
                  var written = 0
                  while written < gib {
                      try piece.withUnsafeBytes { try writer.write($0) }
                      written += piece.count
                  }
                  try writer.finish()
                  try file.close()
              }, teardown: {
                  unlink(ciphertextPath)
              })) { benchmark in
        let reader = try AgeDecryptingReader(from: FileSource(path: ciphertextPath), identities: [key.identity])
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var total = 0
        while true {
            let n = try buffer.withUnsafeMutableBytes { try reader.read(into: $0) }
            if n == 0 { break }
            total += n
        }
        precondition(total == gib)
        blackHole(total)
    }
}
