/// Checks that a zip handed in for sealing says one thing: its central directory (what
/// `unzip`, 7-Zip and Python list) names every entry as the entry's own local header does.
/// libarchive reads the central directory for where entries are, but takes each name from
/// the local header: a zip whose two disagreed (`a.txt` listed, `x.txt` in the header) was
/// sealed as `x.txt` (review of session 18).
///
/// Only the names and offsets are read (PKWARE APPNOTE 4.3.12–4.3.16, zip64 4.3.14–4.3.15);
/// libarchive still reads everything else, and checks sizes and CRC-32s.
enum InputZipDirectory {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// At most this many bytes of central directory are read (65,536 entries — the most a
    /// dossier holds — of names averaging 900 bytes).
    static let maxDirectoryBytes: Int64 = 64 << 20

    /// A name for a message: as text when it is printable UTF-8, else by its bytes.
    private static func shown(_ name: [UInt8]) -> String {
        if let text = String(validating: name, as: UTF8.self), name.count <= 200,
           !text.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) || TrustStore.hidesText($0) }) {
            return "\"" + text + "\""
        }
        return AgeHeader.printable(name)
    }

    /// Checks the zip at `path` and returns its entries' names (bytes) as the central
    /// directory lists them, for the caller to compare with what libarchive reads.
    @discardableResult
    static func check(_ path: String) throws(Failure) -> [[UInt8]] {
        let file: RandomAccessFile
        do { file = try RandomAccessFile(path: path) } catch { throw Failure(description: "\(error)") }
        func read(_ offset: Int64, _ count: Int) throws(Failure) -> [UInt8] {
            // (No sum that can overflow: offsets come from the file.)
            guard offset >= 0, count >= 0, offset <= file.size, Int64(count) <= file.size - offset else {
                throw Failure(description: "the zip points beyond its end")
            }
            do { return try file.read(at: offset, count: count) } catch { throw Failure(description: "\(error)") }
        }
        func u16(_ b: [UInt8], _ at: Int) -> Int { Int(b[at]) | Int(b[at + 1]) << 8 }
        func u32(_ b: [UInt8], _ at: Int) -> Int64 { (0..<4).reduce(Int64(0)) { $0 | Int64(b[at + $1]) << (8 * $1) } }
        func u64(_ b: [UInt8], _ at: Int) -> Int64 { Int64(clamping: (0..<8).reduce(UInt64(0)) { $0 | UInt64(b[at + $1]) << (8 * $1) }) }

        // The end record: the last "PK\5\6" in the file's last 64 KiB + 22 bytes, as Python's
        // zipfile and unzip take it (bytes after it are not content).
        let tailLength = Int(min(file.size, 22 + 65_535))
        let tail = try read(file.size - Int64(tailLength), tailLength)
        var endAt: Int?
        var index = tailLength - 22
        while index >= 0 {
            if tail[index] == 0x50, tail[index + 1] == 0x4B, tail[index + 2] == 0x05, tail[index + 3] == 0x06 {
                endAt = index
                break
            }
            index -= 1
        }
        guard let endAt else { throw Failure(description: "the zip has no end-of-central-directory record: it is cut short") }
        let endOffset = file.size - Int64(tailLength) + Int64(endAt)
        var count = Int64(u16(tail, endAt + 10))
        var directorySize = u32(tail, endAt + 12)
        var directoryOffset = u32(tail, endAt + 16)
        var directoryEnd = endOffset
        var zip64 = false
        // zip64: a locator right before the end record points to the zip64 end record
        // (written also when no field of the end record overflows: Info-ZIP from a pipe).
        if endOffset >= 20 {
            let locator = try read(endOffset - 20, 20)
            if locator.starts(with: [0x50, 0x4B, 0x06, 0x07]) {
                let recordOffset = u64(locator, 8)
                let record = try read(recordOffset, 56)
                guard record.starts(with: [0x50, 0x4B, 0x06, 0x06]) else { throw Failure(description: "the zip64 end record is not where its locator says") }
                count = u64(record, 32)
                directorySize = u64(record, 40)
                directoryOffset = u64(record, 48)
                directoryEnd = recordOffset
                zip64 = true
            }
        }
        guard directorySize <= maxDirectoryBytes, directorySize <= directoryEnd else {
            throw Failure(description: "the zip's central directory is larger than the file or than \(maxDirectoryBytes >> 20) MiB")
        }
        // Bytes before the zip proper (a self-extractor's stub) shift every offset.
        let base = directoryEnd - directorySize - directoryOffset
        guard base >= 0 else { throw Failure(description: "the zip's central directory is not where its end record says") }
        let directory = try read(directoryEnd - directorySize, Int(directorySize))
        var at = 0
        var seen: Int64 = 0
        var names: [[UInt8]] = []
        var offsets = Set<Int64>()
        while at < directory.count {
            guard at + 46 <= directory.count, directory[at..<(at + 4)].elementsEqual([0x50, 0x4B, 0x01, 0x02]) else {
                throw Failure(description: "the zip's central directory is damaged at entry \(seen + 1)")
            }
            let nameLength = u16(directory, at + 28), extraLength = u16(directory, at + 30), commentLength = u16(directory, at + 32)
            guard at + 46 + nameLength + extraLength + commentLength <= directory.count else {
                throw Failure(description: "the zip's central directory is damaged at entry \(seen + 1)")
            }
            let name = Array(directory[(at + 46)..<(at + 46 + nameLength)])
            var localOffset = u32(directory, at + 42)
            if localOffset == 0xFFFF_FFFF {
                // The zip64 extra field (0x0001): the 64-bit values present, in order.
                var extra = at + 46 + nameLength
                let extraEnd = extra + extraLength
                while extra + 4 <= extraEnd {
                    let id = u16(directory, extra), size = u16(directory, extra + 2)
                    guard extra + 4 + size <= extraEnd else { break }
                    if id == 0x0001 {
                        var field = extra + 4
                        if u32(directory, at + 24) == 0xFFFF_FFFF { field += 8 }  // uncompressed size
                        if u32(directory, at + 20) == 0xFFFF_FFFF { field += 8 }  // compressed size
                        if field + 8 <= extra + 4 + size { localOffset = u64(directory, field) }
                    }
                    extra += 4 + size
                }
            }
            let (at0, overflow) = base.addingReportingOverflow(localOffset)
            guard !overflow else { throw Failure(description: "the zip points beyond its end") }
            let header = try read(at0, 30)
            guard header.starts(with: [0x50, 0x4B, 0x03, 0x04]) else {
                throw Failure(description: "the zip's entry \(shown(name)) is not where its central directory says")
            }
            let localName = try read(at0 + 30, u16(header, 26))
            guard localName == name else {
                throw Failure(description: "the zip names an entry \(shown(name)) in its central directory but \(shown(localName)) in the entry itself (which one would be opened depends on the tool)")
            }
            // Two entries of one local header: the directory could list one entry twice and
            // leave another unlisted, with the same count.
            guard offsets.insert(at0).inserted else {
                throw Failure(description: "the zip's central directory lists the entry at offset \(at0) twice")
            }
            names.append(name)
            seen += 1
            at += 46 + nameLength + extraLength + commentLength
        }
        // Without zip64 the count is 16 bits (old writers let it wrap).
        guard zip64 ? seen == count : seen & 0xFFFF == count else {
            throw Failure(description: "the zip's end record counts \(count) entries, its central directory holds \(seen)")
        }
        return names
    }
}
