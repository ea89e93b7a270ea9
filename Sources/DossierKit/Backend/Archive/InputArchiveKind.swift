/// What an archive handed in for sealing is, by its first bytes: how it is read
/// (`ContentWriter.openInputArchive`) and what a message calls it when it cannot be.
enum InputArchiveKind: Equatable {
    case gzip, bzip2, xz, zstd, zip, emptyZip, sevenZip, tar

    /// As people call it: "a gzip-compressed archive".
    var name: String {
        switch self {
        case .gzip: return "gzip-compressed archive"
        case .bzip2: return "bzip2-compressed archive"
        case .xz: return "xz-compressed archive"
        case .zstd: return "zstd-compressed archive"
        case .zip: return "zip archive"
        case .emptyZip: return "empty zip archive"
        case .sevenZip: return "7z archive"
        case .tar: return "tar archive"
        }
    }

    /// The kind of the file at `path`, or nil for anything else (a self-extractor, not an
    /// archive). A tar is known by the ustar mark or, for an old v7 tar (no mark), by a
    /// first header whose checksum is right.
    init?(path: String) {
        let bytes = Self.head(path)
        func starts(_ magic: [UInt8]) -> Bool { bytes.starts(with: magic) }
        if starts([0x1F, 0x8B]) { self = .gzip }
        else if starts([0x42, 0x5A, 0x68]) { self = .bzip2 }
        else if starts([0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00]) { self = .xz }
        // A zstd frame, or a skippable frame first (pzstd, the seekable format).
        else if starts([0x28, 0xB5, 0x2F, 0xFD]) || (bytes.count >= 4 && bytes[0] & 0xF0 == 0x50 && Array(bytes[1..<4]) == [0x2A, 0x4D, 0x18]) { self = .zstd }
        else if starts([0x50, 0x4B, 0x03, 0x04]) { self = .zip }
        else if starts([0x50, 0x4B, 0x05, 0x06]) { self = .emptyZip }
        else if starts([0x37, 0x7A, 0xBC, 0xAF, 0x27, 0x1C]) { self = .sevenZip }
        else if bytes.count >= 262, Array(bytes[257..<262]) == Array("ustar".utf8) { self = .tar }
        else if Self.isV7TarHeader(bytes) { self = .tar }
        else { return nil }
    }

    /// Whether `bytes` start with a tar header of the v7 kind: a name, and a checksum field
    /// (octal, ended by NUL or space) equal to the sum of the header's 512 bytes with that
    /// field counted as spaces (as unsigned or, as some old tars wrote it, signed bytes).
    static func isV7TarHeader(_ bytes: [UInt8]) -> Bool {
        guard bytes.count >= 512, bytes[0] != 0 else { return false }
        // Leading spaces, then the digits, then NULs or spaces.
        let field = bytes[148..<156].drop { $0 == 0x20 }
        let digits = field.prefix { $0 != 0 && $0 != 0x20 }
        guard !digits.isEmpty, digits.allSatisfy({ (0x30...0x37).contains($0) }),
              field.dropFirst(digits.count).allSatisfy({ $0 == 0 || $0 == 0x20 }),
              let stored = Int(String(decoding: digits, as: UTF8.self), radix: 8) else { return false }
        var unsigned = 8 * 0x20, signed = 8 * 0x20
        for (index, byte) in bytes[0..<512].enumerated() where !(148..<156).contains(index) {
            unsigned += Int(byte)
            signed += Int(Int8(bitPattern: byte))
        }
        return stored == unsigned || stored == signed
    }

    /// A compression sealing does not read, by the first bytes of `path`, for the message.
    static func unreadCompression(_ path: String) -> String? {
        let bytes = head(path)
        let known: [([UInt8], String)] = [([0x04, 0x22, 0x4D, 0x18], "lz4"), (Array("LZIP".utf8), "lzip"), ([0x1F, 0x9D], "compress (.Z)"),
                                          ([0x5D, 0x00, 0x00], "lzma"), (Array("begin ".utf8), "uuencode"), (Array("LRZI".utf8), "lrzip"),
                                          ([0x89, 0x4C, 0x5A, 0x4F], "lzop")]
        return known.first { bytes.starts(with: $0.0) }?.1
    }

    /// The first 512 bytes of `path` (fewer when it is shorter or cannot be read).
    private static func head(_ path: String) -> [UInt8] {
        guard let source = try? FileSource(path: path) else { return [] }
        var head = [UInt8](repeating: 0, count: 512)
        var count = 0
        while count < head.count, let n = try? head.withUnsafeMutableBytes({ try source.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[count...])) }), n > 0 {
            count += n
        }
        return Array(head[0..<count])
    }
}
