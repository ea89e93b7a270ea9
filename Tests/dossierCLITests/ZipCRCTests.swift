import CDossierZipCRC
import CDossierZlib
import Foundation
import Testing
@testable import DossierKit

/// The CLI links its own `crc32` (Sources/CDossierZipCRC): libarchive's zip CRC-32s,
/// computed by libdeflate. The test process links it too (it links the CLI's code), so
/// these tests see what the CLI sees; zlib's `crc32_z` stays zlib's and is the reference.
@Suite("dossier CLI: libarchive's zip CRC-32 computed by libdeflate")
struct ZipCRCTests {
    static func zlib(_ piece: UnsafeRawBufferPointer, _ seed: UInt = 0) -> UInt {
        crc32_z(seed, piece.baseAddress?.assumingMemoryBound(to: Bytef.self), z_size_t(piece.count))
    }

    /// Reproducible noise (SplitMix64).
    static func noise(_ count: Int, seed: UInt64) -> [UInt8] {
        var state = seed
        return (0..<count).map { _ in
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return UInt8(truncatingIfNeeded: z ^ (z >> 31))
        }
    }

    static func ours(_ piece: UnsafeRawBufferPointer, _ seed: UInt = 0) -> UInt {
        dossier_zip_crc32(seed, piece.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt32(piece.count))
    }

    @Test("zlib's contract: a NULL buffer, seeds with high bits, every length and alignment up to 300 bytes, pieces in odd steps")
    func sameAsZlib() {
        #expect(dossier_zip_crc32(0x1234_5678, nil, 10) == 0, "a NULL buffer gives the initial value, as in zlib")
        #expect(dossier_zip_crc32(0, nil, 0) == crc32_z(0, nil, 0))
        let data = Self.noise(2 << 20, seed: 11)
        data.withUnsafeBytes { raw in
            for start in 0..<8 {
                for length in 0...300 {
                    let piece = UnsafeRawBufferPointer(rebasing: raw[start..<(start + length)])
                    #expect(Self.ours(piece) == Self.zlib(piece), "start \(start), length \(length)")
                }
            }
            // Seeds as zlib takes them: an unsigned long whose high 32 bits are ignored.
            for seed: UInt in [0, 1, 0xFFFF_FFFF, 0xDEAD_BEEF_0000_0001, UInt.max] {
                let piece = UnsafeRawBufferPointer(rebasing: raw[3..<1003])
                #expect(Self.ours(piece, seed) == Self.zlib(piece, seed), "seed \(seed)")
            }
            var ours: UInt = 0, reference: UInt = 0, offset = 0, step = 1
            while offset < raw.count {
                let piece = UnsafeRawBufferPointer(rebasing: raw[offset..<min(raw.count, offset + step)])
                ours = Self.ours(piece, ours)
                reference = Self.zlib(piece, reference)
                offset += step
                step = step * 3 + 7
            }
            #expect(ours == reference && ours == Self.zlib(raw))
        }
    }

    // On Linux (ELF): a two-level namespace, as on macOS, binds libarchive to zlib's crc32 whatever the executable defines.
    #if os(Linux)
    @Test("the process's crc32 is this one, and libarchive calls it for the zip it writes: the CRC in the zip is zlib's")
    func libarchiveUsesIt() throws {
        let symbol = try #require(dlsym(UnsafeMutableRawPointer(bitPattern: 0), "crc32"), "no crc32 in the process")  // RTLD_DEFAULT
        #expect(UnsafeRawPointer(symbol) == dossier_zip_crc32_symbol(), "crc32 resolves to another library's (zlib's)")

        let data = Self.noise(300_000, seed: 12)
        let before = dossier_zip_crc32_calls()
        let sink = MemorySink()
        let writer = try ContainerWriter(sink: sink, mtime: 1_700_000_000)
        try writer.add("entry.bin", data)
        try writer.close()
        #expect(dossier_zip_crc32_calls() > before, "libarchive wrote the zip without calling this crc32")
        // The central directory's CRC-32 of the entry (offset 16 of its record).
        let zip = sink.bytes
        let signature: [UInt8] = [0x50, 0x4B, 0x01, 0x02]
        let record = try #require((0...(zip.count - 20)).last { Array(zip[$0..<($0 + 4)]) == signature }, "no central directory")
        let stored = (0..<4).reduce(UInt32(0)) { $0 | UInt32(zip[record + 16 + $1]) << (8 * UInt32($1)) }
        #expect(UInt(stored) == data.withUnsafeBytes { Self.zlib($0) })
    }
    #endif
}
