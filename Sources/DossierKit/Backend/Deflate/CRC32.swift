import CDossierDeflate

/// Incremental CRC-32 (ISO 3309, as zip uses it) from libdeflate, the same function as
/// zlib's `crc32` (checked against zlib's `crc32_z` in the tests) at ~3.4× its speed. Not a security
/// check: the container's integrity rests on SHA-256 and signatures; the CRC keeps the zip
/// well-formed.
struct CRC32 {
    private(set) var value: UInt32 = 0

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        value = libdeflate_crc32(value, base, bytes.count)
    }

    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var crc = CRC32()
        bytes.withUnsafeBytes { crc.update($0) }
        return crc.value
    }
}
