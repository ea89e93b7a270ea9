/// Strict validation of the zip framing of a `.dossier` container.
///
/// libarchive writes the container; this parser reads its framing back and accounts for
/// every byte that is not entry data: each field is a constant, is derived from the data
/// (sizes, CRC-32, offsets, names), or appears in both the local header and the central
/// directory and must agree there. So any single-byte change to the framing is detected,
/// and entry data is covered by signatures and digests (docs/FORMAT.md §3.1).
struct ZipLayout {
    struct Entry: Sendable, Equatable {
        let name: String
        /// Offset of the entry data in the file.
        let dataOffset: Int64
        let size: Int64
        let crc32: UInt32
        /// The modification time in the entries' extended-timestamp fields.
        let mtime: UInt32
        /// Whether the entry uses the streaming (unknown size, zip64 descriptor) form.
        let streamed: Bool
    }

    let entries: [Entry]

    static let maxEntries = 1000
    static let maxCentralDirectory = 1 << 20

    enum Signature {
        static let local: UInt32 = 0x0403_4b50
        static let central: UInt32 = 0x0201_4b50
        static let end: UInt32 = 0x0605_4b50
        static let descriptor: UInt32 = 0x0807_4b50
    }

    struct LayoutError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// Reads little-endian integers from a byte array with bounds checks.
    struct Cursor {
        let bytes: [UInt8]
        var position = 0
        init(_ bytes: [UInt8]) { self.bytes = bytes }
        var remaining: Int { bytes.count - position }
        mutating func u16() throws(LayoutError) -> UInt16 {
            guard remaining >= 2 else { throw LayoutError("truncated record") }
            defer { position += 2 }
            return UInt16(bytes[position]) | UInt16(bytes[position + 1]) << 8
        }
        mutating func u32() throws(LayoutError) -> UInt32 {
            guard remaining >= 4 else { throw LayoutError("truncated record") }
            defer { position += 4 }
            return (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[position + $1]) << (8 * UInt32($1)) }
        }
        mutating func u64() throws(LayoutError) -> UInt64 {
            guard remaining >= 8 else { throw LayoutError("truncated record") }
            defer { position += 8 }
            return (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[position + $1]) << (8 * UInt64($1)) }
        }
        mutating func take(_ count: Int) throws(LayoutError) -> [UInt8] {
            guard count >= 0, remaining >= count else { throw LayoutError("truncated record") }
            defer { position += count }
            return Array(bytes[position..<(position + count)])
        }
    }

    /// The extra fields libarchive writes: extended timestamp ("UT", flags 1, mtime),
    /// Info-ZIP Unix ids ("ux", version 1, 4-byte uid 0, 4-byte gid 0), and in the local
    /// header of a streamed entry a zip64 field (16 zero bytes, sizes in the descriptor).
    static func expectedExtra(mtime: UInt32, zip64Local: Bool) -> [UInt8] {
        var out: [UInt8] = [0x55, 0x54, 5, 0, 1]
        out += withUnsafeBytes(of: mtime.littleEndian, Array.init)
        out += [0x75, 0x78, 11, 0, 1, 4, 0, 0, 0, 0, 4, 0, 0, 0, 0]
        if zip64Local { out += [0x01, 0x00, 16, 0] + [UInt8](repeating: 0, count: 16) }
        return out
    }

    /// Parses and validates the framing of `file`.
    static func read(_ file: RandomAccessFile) throws -> ZipLayout {
        // End of central directory: exactly the last 22 bytes (no archive comment).
        guard file.size >= 22 else { throw LayoutError("the file is too short to be a zip container (\(file.size) bytes)") }
        var end = Cursor(try file.read(at: file.size - 22, count: 22))
        guard try end.u32() == Signature.end else {
            throw LayoutError("no end-of-central-directory record at the end of the file (truncated, extended or not a zip)")
        }
        let disk = try end.u16(), cdDisk = try end.u16(), countOnDisk = try end.u16(), count = try end.u16()
        let cdSize = try end.u32(), cdOffset = try end.u32(), commentLength = try end.u16()
        guard disk == 0, cdDisk == 0, countOnDisk == count, commentLength == 0 else {
            throw LayoutError("unexpected values in the end-of-central-directory record")
        }
        guard count > 0, Int(count) <= maxEntries else { throw LayoutError("\(count) entries is outside 1…\(maxEntries)") }
        guard cdOffset != 0xFFFF_FFFF, cdSize != 0xFFFF_FFFF, count != 0xFFFF else {
            throw LayoutError("zip64 end records are not supported (containers are limited to 4 GiB)")
        }
        guard Int(cdSize) <= maxCentralDirectory, Int64(cdOffset) + Int64(cdSize) == file.size - 22 else {
            throw LayoutError("the central directory does not end where the end record begins")
        }
        var cd = Cursor(try file.read(at: Int64(cdOffset), count: Int(cdSize)))
        var entries: [Entry] = []
        var expectedOffset: Int64 = 0
        var names = Set<String>()
        for index in 0..<Int(count) {
            guard try cd.u32() == Signature.central else { throw LayoutError("central directory record \(index) has a bad signature") }
            let madeBy = try cd.u16(), needed = try cd.u16(), flags = try cd.u16(), method = try cd.u16()
            let time = try cd.u16(), date = try cd.u16(), crc = try cd.u32()
            let compressed = try cd.u32(), uncompressed = try cd.u32()
            let nameLength = try cd.u16(), extraLength = try cd.u16(), commentLength = try cd.u16()
            let diskStart = try cd.u16(), internalAttributes = try cd.u16(), externalAttributes = try cd.u32(), localOffset = try cd.u32()
            let nameBytes = try cd.take(Int(nameLength))
            let extra = try cd.take(Int(extraLength))
            guard let name = String(validating: nameBytes, as: UTF8.self), nameBytes.allSatisfy({ (0x21...0x7e).contains($0) }) else {
                throw LayoutError("entry \(index) has a name that is not printable ASCII")
            }
            let streamed: Bool
            switch needed {
            case 10: streamed = false
            case 45: streamed = true
            default: throw LayoutError("entry \(name): unexpected 'version needed' \(needed)")
            }
            guard madeBy == 0x0300 | needed else { throw LayoutError("entry \(name): unexpected 'version made by' 0x\(String(madeBy, radix: 16))") }
            guard flags == 0x0008, method == 0 else { throw LayoutError("entry \(name): must be stored (method 0) with a data descriptor (flags 0x0008)") }
            guard compressed == uncompressed, compressed != 0xFFFF_FFFF, localOffset != 0xFFFF_FFFF else {
                throw LayoutError("entry \(name): inconsistent or zip64 sizes in the central directory")
            }
            guard commentLength == 0, diskStart == 0, internalAttributes == 0, externalAttributes == UInt32(0o100644) << 16 else {
                throw LayoutError("entry \(name): unexpected attributes in the central directory")
            }
            guard extra.count == 24, extra[0...4] == [0x55, 0x54, 5, 0, 1] else { throw LayoutError("entry \(name): unexpected extra fields in the central directory") }
            let mtime = UInt32(extra[5]) | UInt32(extra[6]) << 8 | UInt32(extra[7]) << 16 | UInt32(extra[8]) << 24
            guard extra == expectedExtra(mtime: mtime, zip64Local: false) else { throw LayoutError("entry \(name): unexpected extra fields in the central directory") }
            guard names.insert(name).inserted else { throw LayoutError("duplicate entry \(name)") }
            guard Int64(localOffset) == expectedOffset else {
                throw LayoutError("entry \(name) does not start right after the previous one (gap or overlap)")
            }

            // Local header: same fields, a zero CRC, the sizes (or zip64 markers), same name.
            let localExtra = expectedExtra(mtime: mtime, zip64Local: streamed)
            let headerLength = 30 + nameBytes.count + localExtra.count
            var local = Cursor(try file.read(at: Int64(localOffset), count: headerLength))
            guard try local.u32() == Signature.local else { throw LayoutError("entry \(name): bad local header signature") }
            let lNeeded = try local.u16(), lFlags = try local.u16(), lMethod = try local.u16()
            let lTime = try local.u16(), lDate = try local.u16(), lCRC = try local.u32()
            let lCompressed = try local.u32(), lUncompressed = try local.u32()
            let lNameLength = try local.u16(), lExtraLength = try local.u16()
            let sizeMarker: UInt32 = streamed ? 0xFFFF_FFFF : compressed
            guard lNeeded == needed, lFlags == flags, lMethod == method, lTime == time, lDate == date,
                  lCRC == 0, lCompressed == sizeMarker, lUncompressed == sizeMarker,
                  Int(lNameLength) == nameBytes.count, Int(lExtraLength) == localExtra.count else {
                throw LayoutError("entry \(name): the local header disagrees with the central directory")
            }
            guard try local.take(nameBytes.count) == nameBytes, try local.take(localExtra.count) == localExtra else {
                throw LayoutError("entry \(name): the local header name or extra fields disagree with the central directory")
            }
            let dataOffset = Int64(localOffset) + Int64(headerLength)
            let size = Int64(compressed)

            // Data descriptor right after the data.
            let descriptorLength = streamed ? 24 : 16
            var descriptor = Cursor(try file.read(at: dataOffset + size, count: descriptorLength))
            guard try descriptor.u32() == Signature.descriptor, try descriptor.u32() == crc else {
                throw LayoutError("entry \(name): the data descriptor is missing or disagrees with the central directory")
            }
            let dCompressed = streamed ? try descriptor.u64() : UInt64(try descriptor.u32())
            let dUncompressed = streamed ? try descriptor.u64() : UInt64(try descriptor.u32())
            guard dCompressed == UInt64(size), dUncompressed == UInt64(size) else {
                throw LayoutError("entry \(name): the data descriptor sizes disagree with the central directory")
            }
            entries.append(Entry(name: name, dataOffset: dataOffset, size: size, crc32: crc, mtime: mtime, streamed: streamed))
            expectedOffset = dataOffset + size + Int64(descriptorLength)
        }
        guard cd.remaining == 0 else { throw LayoutError("the central directory has trailing bytes") }
        guard expectedOffset == Int64(cdOffset) else { throw LayoutError("bytes between the last entry and the central directory") }
        return ZipLayout(entries: entries)
    }
}
