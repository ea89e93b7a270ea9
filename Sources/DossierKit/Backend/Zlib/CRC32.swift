import CDossierZlib

/// Incremental CRC-32 (ISO 3309, as zip uses it) from zlib. Not a security check: the
/// container's integrity rests on SHA-256 and signatures; the CRC keeps the zip well-formed.
struct CRC32 {
    private(set) var value: UInt32 = 0

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var offset = 0
        while offset < bytes.count {
            let n = Swift.min(bytes.count - offset, Int(UInt32.max))
            value = UInt32(crc32(uLong(value), bytes.baseAddress!.assumingMemoryBound(to: Bytef.self) + offset, uInt(n)))
            offset += n
        }
    }

    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var crc = CRC32()
        bytes.withUnsafeBytes { crc.update($0) }
        return crc.value
    }
}
