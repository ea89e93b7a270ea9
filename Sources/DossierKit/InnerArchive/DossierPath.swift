import Foundation

/// The rules every path inside a dossier obeys, at sealing and again at opening
/// (docs/FORMAT.md §2), so that a dossier opens the same on Linux, macOS and Windows.
///
/// A path is relative, UTF-8, "/"-separated, without empty, "." or ".." components (also
/// not after Unicode compatibility mapping, e.g. fullwidth "．．", nor percent-encoded),
/// without control characters, backslashes or the characters Windows reserves
/// (`< > : " | ? *`), without Windows device names (CON, PRN, AUX, NUL, COM1–9, LPT1–9,
/// with or without an extension) and without components ending in a dot or a space;
/// at most 64 levels deep, 255 bytes per component and 4,096 bytes in all. Two paths in
/// one dossier may not be equal after Unicode canonical equivalence and case folding
/// (they would collide on macOS and Windows).
enum DossierPath {
    static let maxDepth = 64
    static let maxComponentBytes = 255
    static let maxPathBytes = 4096

    struct Violation: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// Validates `bytes` as a dossier path and returns it as a string.
    static func validate(_ bytes: [UInt8]) throws(Violation) -> String {
        var shown: String { AgeHeader.printable(bytes) }  // only when refusing
        guard !bytes.isEmpty else { throw Violation("empty path") }
        guard bytes.count <= maxPathBytes else { throw Violation("path \(shown) is longer than \(maxPathBytes) bytes") }
        guard let string = String(validating: bytes, as: UTF8.self) else { throw Violation("path \(shown) is not valid UTF-8") }
        guard bytes.first != UInt8(ascii: "/") else { throw Violation("absolute path \(shown)") }
        if let bad = bytes.first(where: { $0 < 0x20 || $0 == 0x7f }) {
            throw Violation("path \(shown) contains the control character 0x\(String(bad, radix: 16))")
        }
        guard !bytes.contains(UInt8(ascii: "\\")) else { throw Violation("path \(shown) contains a backslash") }
        let components = bytes.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        guard components.count <= maxDepth else { throw Violation("path \(shown) is deeper than \(maxDepth) levels") }
        for component in components {
            guard !component.isEmpty else { throw Violation("path \(shown) has an empty component") }
            guard component.count <= maxComponentBytes else { throw Violation("path \(shown) has a component longer than \(maxComponentBytes) bytes") }
            guard !component.elementsEqual([0x2e]), !component.elementsEqual([0x2e, 0x2e]) else {
                throw Violation("path \(shown) contains a '.' or '..' component")
            }
            try checkPortable(component, shown)
        }
        return string
    }

    /// `name` in Unicode NFC, the form paths are stored in (libarchive writes tar names in
    /// NFC, so the manifest must too; macOS hands out NFD names). Invalid UTF-8 is returned
    /// as it is, for `validate` to refuse. Names of scalars that NFC never changes (ASCII,
    /// Latin-1, CJK ideographs, kana, Hangul syllables: the usual case) skip the work.
    static func nfc(_ name: [UInt8]) -> [UInt8] {
        guard let string = String(validating: name, as: UTF8.self) else { return name }
        if string.unicodeScalars.allSatisfy(isNFCStable) { return name }
        return Array(string.precomposedStringWithCanonicalMapping.utf8)
    }

    /// Scalars that are their own NFC and never combine with a neighbour.
    private static func isNFCStable(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0..<0x300, 0x3041...0x3096, 0x309B...0x309F, 0x30A0...0x30FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xAC00...0xD7A3,
             0xFF01...0xFF5E: return true
        default: return false
        }
    }

    /// A path already validated, as the parent of the next one (see `validate(appending:to:)`).
    struct Parent {
        let bytes: [UInt8]
        let path: String
        let depth: Int
    }

    /// `validate(parent.bytes + "/" + name)` for a parent that passed `validate`: checks
    /// only what the new last component adds (a folder walk would otherwise check every
    /// parent again for each of its files). Same rules, same order, same messages.
    static func validate(appending name: [UInt8], to parent: Parent) throws(Violation) -> String {
        var shown: String { AgeHeader.printable(parent.bytes + [UInt8(ascii: "/")] + name) }  // only when refusing
        guard !name.contains(UInt8(ascii: "/")) else { return try validate(parent.bytes + [UInt8(ascii: "/")] + name) }
        guard parent.bytes.count + 1 + name.count <= maxPathBytes else { throw Violation("path \(shown) is longer than \(maxPathBytes) bytes") }
        guard let string = String(validating: name, as: UTF8.self) else { throw Violation("path \(shown) is not valid UTF-8") }
        if let bad = name.first(where: { $0 < 0x20 || $0 == 0x7f }) {
            throw Violation("path \(shown) contains the control character 0x\(String(bad, radix: 16))")
        }
        guard !name.contains(UInt8(ascii: "\\")) else { throw Violation("path \(shown) contains a backslash") }
        guard parent.depth + 1 <= maxDepth else { throw Violation("path \(shown) is deeper than \(maxDepth) levels") }
        guard !name.isEmpty else { throw Violation("path \(shown) has an empty component") }
        guard name.count <= maxComponentBytes else { throw Violation("path \(shown) has a component longer than \(maxComponentBytes) bytes") }
        guard name != [0x2e], name != [0x2e, 0x2e] else { throw Violation("path \(shown) contains a '.' or '..' component") }
        try checkPortable(name[...], shown)
        return parent.path + "/" + string
    }

    static let windowsReservedCharacters = Set("<>:\"|?*")
    /// Characters that NFKC or Windows' best-fit mapping turn into "/" or "\\" inside a name:
    /// fullwidth and small (reverse) solidus, division slash, set minus, fraction slash, the
    /// big solidi, and the ℀ ℁ ℅ ℆ ligatures. (Dot-like characters only matter when the whole
    /// component becomes "." or "..", which the two-scalar check catches.)
    static let separatorLike: Set<Unicode.Scalar> = [
        "\u{FF0F}", "\u{FF3C}", "\u{FE68}", "\u{2215}", "\u{2216}", "\u{2044}",
        "\u{29F5}", "\u{29F8}", "\u{29F9}", "\u{2100}", "\u{2101}", "\u{2105}", "\u{2106}",
    ]
    static let windowsDeviceNames: Set<String> = {
        var names: Set<String> = ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"]
        for n in ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "\u{B9}", "\u{B2}", "\u{B3}"] {
            names.insert("COM" + n)
            names.insert("LPT" + n)
        }
        return names
    }()

    /// The rules that keep a component safe on every file system a dossier may be opened on.
    /// Byte-level first (this runs for every component of every file when sealing and opening).
    static func checkPortable(_ bytes: ArraySlice<UInt8>, _ shownPath: @autoclosure () -> String) throws(Violation) {
        var shown: String { shownPath() }
        // Names are stored in NFC (sealing converts them); any other form is not a sealer's.
        if bytes.contains(where: { $0 >= 0x80 }), case let name = Array(bytes), nfc(name) != name {
            throw Violation("path \(shown) has a name that is not in Unicode NFC (sealing stores names in NFC)")
        }
        // < > : " | ? *
        if let bad = bytes.first(where: { $0 == 0x3C || $0 == 0x3E || $0 == 0x3A || $0 == 0x22 || $0 == 0x7C || $0 == 0x3F || $0 == 0x2A }) {
            throw Violation("path \(shown) contains \"\(Character(Unicode.Scalar(bad)))\", which Windows does not allow in names")
        }
        if bytes.last == 0x2E || bytes.last == 0x20 {
            throw Violation("path \(shown) has a component ending in a dot or a space (Windows drops them)")
        }
        // Device names: the part before the first dot, without trailing spaces, is at most
        // 7 characters ("CONOUT$"; "COM¹" is 5 bytes), so longer stems need no look.
        var stem = bytes.prefix { $0 != 0x2E }
        while stem.last == 0x20 { stem = stem.dropLast() }
        if stem.count <= 7 {
            let upper = String(decoding: stem, as: UTF8.self).uppercased()
            if windowsDeviceNames.contains(upper) {
                throw Violation("path \(shown) uses the Windows device name \(String(decoding: stem, as: UTF8.self))")
            }
        }
        let isASCII = bytes.allSatisfy { $0 < 0x80 }
        let hasPercent = bytes.contains(0x25)
        guard !isASCII || hasPercent else { return }
        let component = String(decoding: bytes, as: UTF8.self)
        // ".." and separators in other encodings: compatibility forms that NFKC (or Windows'
        // "best fit" code-page mapping) turns into "/", "\\" or "..". ASCII maps to itself,
        // so only names with other characters are looked at, and cheaply: a component can
        // only map to "." or ".." if it has at most two scalars.
        if !isASCII {
            if let bad = component.unicodeScalars.first(where: { separatorLike.contains($0) }) {
                throw Violation("path \(shown) contains U+\(String(bad.value, radix: 16, uppercase: true)), which some systems turn into a path separator or dot")
            }
            if component.unicodeScalars.count <= 2 {
                let compatible = component.precomposedStringWithCompatibilityMapping
                if compatible == "." || compatible == ".." {
                    throw Violation("path \(shown) has a component that reads as \"\(compatible)\" after Unicode compatibility mapping")
                }
            }
        }
        // By bytes: "/" followed by a combining mark is one Character, so String's contains
        // would not see the separator (review of session 15).
        if hasPercent, let decoded = component.removingPercentEncoding,
           decoded.utf8.elementsEqual([0x2E]) || decoded.utf8.elementsEqual([0x2E, 0x2E]) || decoded.utf8.contains(0x2F) || decoded.utf8.contains(0x5C) {
            throw Violation("path \(shown) has a percent-encoded \"\(decoded)\" component")
        }
    }

    /// Detects paths that collide under Unicode canonical equivalence or case folding.
    /// Finds paths that would land on the same file on a case-insensitive or normalising
    /// file system (macOS, Windows): equal when case and Unicode normalisation are ignored.
    ///
    /// Two such paths differ first in some component whose parents are byte-identical, so
    /// comparing each name with its siblings finds every collision, provided every parent is
    /// known: parents never inserted are added implicitly (a hostile tar may omit them).
    /// Folding only the last component, not the whole path, keeps sealing 20,000 files with
    /// Chinese folder names fast (Swift's `lowercased()` and normalising hash are per scalar).
    struct CollisionDetector {
        /// Raw bytes, hashed in one call (an `[UInt8]` hashes byte by byte).
        private struct Bytes: Hashable {
            let bytes: [UInt8]
            func hash(into hasher: inout Hasher) { bytes.withUnsafeBytes { hasher.combine(bytes: $0) } }
        }
        private struct Key: Hashable {
            let parent: Bytes
            /// The name lower-cased and in NFC, as bytes: two names are equal here exactly
            /// when their lower-cased forms are canonically equivalent (hashing bytes avoids
            /// Swift's normalising String hash).
            let folded: Folded
        }
        /// Folded name bytes, held inline up to 31 bytes (most names) and in an array beyond.
        /// An array per name is a heap block per entry, and 65,536 of them stay resident
        /// between the paths still in use after the check is dropped (the end of an opening,
        /// when the private manifest is read, is its peak of memory).
        private struct Folded: Hashable {
            /// The bytes, zero-padded, and their count in the last byte; all zero when long.
            private var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
            private var long: [UInt8]?

            init(_ bytes: [UInt8]) {
                if bytes.count < 32 {
                    withUnsafeMutableBytes(of: &words) { raw in
                        bytes.withUnsafeBytes { raw.copyMemory(from: $0) }
                        raw[31] = UInt8(bytes.count)
                    }
                } else {
                    long = bytes
                }
            }

            static func == (a: Folded, b: Folded) -> Bool { a.words == b.words && a.long == b.long }

            func hash(into hasher: inout Hasher) {
                if let long {
                    long.withUnsafeBytes { hasher.combine(bytes: $0) }
                } else {
                    withUnsafeBytes(of: words) { hasher.combine(bytes: $0) }
                }
            }
        }
        /// What a name stands for: a folder only implied by a path below it, a folder entry,
        /// or a file. A file may not share its path with a folder of either kind (libarchive
        /// would skip the file and give the folder its mode).
        private enum Kind { case impliedFolder, folder, file }
        /// The path first seen for a key (its last component is the name as given).
        private var seen: [Key: (path: String, kind: Kind)] = [:]
        /// Raw bytes of every folder path inserted, explicitly or as a parent.
        private var knownFolders = Set<Bytes>()

        mutating func insert(_ path: String, isFolder: Bool) throws(Violation) {
            try insert(Array(path.utf8), path: path, kind: isFolder ? .folder : .file)
        }

        /// Inserts `name` below `parent`, a folder inserted before (a folder walk, where every
        /// folder comes before what it holds). Same verdict as `insert(path)`, less work.
        mutating func insert(_ name: [UInt8], below parent: Parent, path: String, isFolder: Bool) throws(Violation) {
            let key = Key(parent: Bytes(bytes: parent.bytes), folded: Self.folded(name, String(decoding: name, as: UTF8.self)))
            let kind: Kind = isFolder ? .folder : .file
            if let other = seen[key] {
                guard Self.lastComponent(of: other.path).elementsEqual(name) else {
                    throw Violation("paths \"\(other.path)\" and \"\(path)\" collide when case and Unicode normalisation are ignored")
                }
                try Self.again(other.kind, kind, path: path)
            }
            // Not added to `knownFolders`: a later `insert(path)` below it finds its key in
            // `seen` when it adds the parent implicitly, which ends the same way.
            seen[key] = (path, kind)
        }

        /// The bytes after the last "/" of `path` (all of it when there is none).
        private static func lastComponent(of path: String) -> Substring.UTF8View {
            let utf8 = path[...].utf8
            return utf8[(utf8.lastIndex(of: UInt8(ascii: "/")).map { utf8.index(after: $0) } ?? utf8.startIndex)...]
        }

        /// The same name inserted again (`other` first): only a folder implied before and then
        /// given as an entry, or implied again, is fine.
        private static func again(_ other: Kind, _ kind: Kind, path: String) throws(Violation) {
            switch (other, kind) {
            case (.impliedFolder, .folder), (.impliedFolder, .impliedFolder), (.folder, .impliedFolder): return
            case (.file, .file), (.folder, .folder): throw Violation("duplicate path \"\(path)\"")
            default: throw Violation("path \"\(path)\" is both a file and a folder")
            }
        }

        /// The name case-folded — lower-cased, upper-cased, lower-cased again (full Unicode
        /// mappings), so that σ/ς, ß/ẞ/ss, ﬁ/fi and ı/i fold alike as some file system folds
        /// them (lower-casing alone kept them apart: review of session 17) — in NFC, as bytes.
        /// Names of ASCII and scalars without case that
        /// are their own NFC and never combine (CJK ideographs, kana, Hangul syllables — the
        /// names of Chinese, Japanese and Korean case files) only need A–Z folded.
        private static func folded(_ bytes: [UInt8], _ name: String) -> Folded {
            Folded(foldedBytes(bytes, name))
        }

        static func foldedBytes(_ bytes: [UInt8], _ name: String) -> [UInt8] {
            guard bytes.allSatisfy({ $0 < 0x80 }) || name.unicodeScalars.allSatisfy(isCaselessStable) else {
                return DossierPath.nfc(Array(name.lowercased().uppercased().lowercased().utf8))
            }
            return bytes.map { (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 }
        }

        /// ASCII, or a scalar with no case mapping that is its own NFC and never composes with
        /// a neighbour (the combining kana voicing marks U+3099/U+309A are left out).
        private static func isCaselessStable(_ scalar: Unicode.Scalar) -> Bool {
            switch scalar.value {
            case 0..<0x80, 0x3041...0x3096, 0x309B...0x309F, 0x30A0...0x30FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xAC00...0xD7A3: return true
            default: return false
            }
        }

        private mutating func insert(_ bytes: [UInt8], path: String, kind: Kind) throws(Violation) {
            let slash = bytes.lastIndex(of: UInt8(ascii: "/"))
            let parent = slash.map { Array(bytes[..<$0]) } ?? []
            if !parent.isEmpty && !knownFolders.contains(Bytes(bytes: parent)) {
                try insert(parent, path: String(decoding: parent, as: UTF8.self), kind: .impliedFolder)
            }
            let name = slash.map { String(decoding: bytes[($0 + 1)...], as: UTF8.self) } ?? path
            let key = Key(parent: Bytes(bytes: parent), folded: Self.folded(Array(name.utf8), name))
            if let other = seen[key] {
                guard Self.lastComponent(of: other.path).elementsEqual(name.utf8) else {
                    throw Violation("paths \"\(other.path)\" and \"\(path)\" collide when case and Unicode normalisation are ignored")
                }
                try Self.again(other.kind, kind, path: path)
                // A folder entry replaces the implied one (its path names it in messages).
                if other.kind == .impliedFolder && kind == .folder { seen[key] = (path, kind) }
            } else {
                seen[key] = (path, kind)
            }
            if kind != .file { knownFolders.insert(Bytes(bytes: bytes)) }
        }
    }
}

/// Media types by file extension, refined by a look at the first bytes for common scans.
enum MediaType {
    static let byExtension: [String: String] = [
        "pdf": "application/pdf", "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png",
        "tif": "image/tiff", "tiff": "image/tiff", "gif": "image/gif", "webp": "image/webp",
        "txt": "text/plain", "csv": "text/csv", "json": "application/json", "xml": "application/xml",
        "html": "text/html", "htm": "text/html", "md": "text/markdown", "rtf": "application/rtf",
        "doc": "application/msword", "xls": "application/vnd.ms-excel", "ppt": "application/vnd.ms-powerpoint",
        "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "odt": "application/vnd.oasis.opendocument.text", "ods": "application/vnd.oasis.opendocument.spreadsheet",
        "zip": "application/zip", "mp3": "audio/mpeg", "wav": "audio/wav", "mp4": "video/mp4",
        "eml": "message/rfc822", "ofd": "application/ofd",
    ]

    private static let signatures: [(magic: [UInt8], type: String)] = [
        (Array("%PDF-".utf8), "application/pdf"), ([0xff, 0xd8, 0xff], "image/jpeg"),
        ([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], "image/png"),
        ([0x49, 0x49, 0x2a, 0x00], "image/tiff"), ([0x4d, 0x4d, 0x00, 0x2a], "image/tiff"),
    ]

    /// The media type of `path` whose content starts with `head`.
    static func detect(path: String, head: [UInt8]) -> String {
        for (magic, type) in signatures where head.starts(with: magic) { return type }
        // The extension after the last dot of the last component, ASCII letters and digits
        // only (every known extension is), compared without case.
        let utf8 = path.utf8
        let nameStart = utf8.lastIndex(of: UInt8(ascii: "/")).map { utf8.index(after: $0) } ?? utf8.startIndex
        guard let dot = utf8[nameStart...].lastIndex(of: UInt8(ascii: ".")) else { return "application/octet-stream" }
        var ext = [UInt8]()
        for byte in utf8[utf8.index(after: dot)...] {
            guard ext.count < 8, byte < 0x80 else { return "application/octet-stream" }
            ext.append((0x41...0x5A).contains(byte) ? byte | 0x20 : byte)
        }
        return byExtension[String(decoding: ext, as: UTF8.self)] ?? "application/octet-stream"
    }
}
