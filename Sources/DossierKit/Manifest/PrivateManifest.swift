#if canImport(Glibc)
import Glibc
#endif

/// The private manifest: inside the encryption, the last entry of the inner archive
/// (`manifest.json`). It lists every file with path, size, SHA-256 and media type, and
/// every directory, so opening can check that nothing is missing, extra or changed.
struct PrivateManifest: Sendable, Equatable {
    static let format = "dossier-private/1"
    static let maxBytes = 64 << 20

    struct File: Sendable, Equatable {
        var path: String
        var size: Int64
        var sha256: String
        var mediaType: String
        var mode: UInt32
        var mtime: Int64
    }

    struct Directory: Sendable, Equatable {
        var path: String
        var mode: UInt32
        var mtime: Int64
    }

    var dossierID: String
    var files: [File]
    var directories: [Directory]

    /// The total size of the files, saturating at Int64.max (hostile manifests cannot overflow it).
    var totalBytes: Int64 {
        files.reduce(Int64(0)) { total, file in
            let (sum, overflow) = total.addingReportingOverflow(file.size)
            return overflow ? Int64.max : sum
        }
    }

    func json() -> JSONValue {
        .object([
            "format": .string(Self.format),
            "dossierId": .string(dossierID),
            "files": .array(files.map { file in
                .object([
                    "path": .string(file.path), "size": .integer(file.size), "sha256": .string(file.sha256),
                    "mediaType": .string(file.mediaType), "mode": .integer(Int64(file.mode)), "mtime": .integer(file.mtime),
                ])
            }),
            "directories": .array(directories.map { dir in
                .object(["path": .string(dir.path), "mode": .integer(Int64(dir.mode)), "mtime": .integer(dir.mtime)])
            }),
        ])
    }

    /// `json().canonicalBytes()`, written straight in the canonical layout (keys in their
    /// sorted order) without building the value tree (tested equal).
    func canonicalBytes() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(canonicalByteCount())
        writeCanonical { out.append(contentsOf: $0) }
        return out
    }

    /// The exact length of `canonicalBytes()`, counted without keeping the bytes.
    func canonicalByteCount() -> Int {
        var count = 0
        writeCanonical { count += $0.count }
        return count
    }

    /// Produces `canonicalBytes()` in pieces of about `pieceSize` bytes, so that the private
    /// manifest of a dossier with many files (65,536 entries: ~14 MB) is never held whole.
    func writeCanonical<E: Error>(pieceSize: Int = 64 << 10,
                                  _ emit: (UnsafeRawBufferPointer) throws(E) -> Void) throws(E) {
        var out: [UInt8] = []
        out.reserveCapacity(min(pieceSize, 1 << 20) + 8192)
        func key(_ text: StaticString) {
            out.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
        }
        func flush(atLeast threshold: Int) throws(E) {
            guard out.count >= threshold, !out.isEmpty else { return }
            try withBytes(out, emit)
            out.removeAll(keepingCapacity: true)
        }
        key(#"{"directories":["#)
        for (index, directory) in directories.enumerated() {
            key(index == 0 ? #"{"mode":"# : #",{"mode":"#)
            JSONValue.appendCanonical(Int64(directory.mode), to: &out)
            key(#","mtime":"#)
            JSONValue.appendCanonical(directory.mtime, to: &out)
            key(#","path":"#)
            JSONValue.appendCanonical(directory.path, to: &out)
            key("}")
            try flush(atLeast: pieceSize)
        }
        key(#"],"dossierId":"#)
        JSONValue.appendCanonical(dossierID, to: &out)
        key(#","files":["#)
        for (index, file) in files.enumerated() {
            key(index == 0 ? #"{"mediaType":"# : #",{"mediaType":"#)
            JSONValue.appendCanonical(file.mediaType, to: &out)
            key(#","mode":"#)
            JSONValue.appendCanonical(Int64(file.mode), to: &out)
            key(#","mtime":"#)
            JSONValue.appendCanonical(file.mtime, to: &out)
            key(#","path":"#)
            JSONValue.appendCanonical(file.path, to: &out)
            key(#","sha256":"#)
            JSONValue.appendCanonical(file.sha256, to: &out)
            key(#","size":"#)
            JSONValue.appendCanonical(file.size, to: &out)
            key("}")
            try flush(atLeast: pieceSize)
        }
        key(#"],"format":"#)
        JSONValue.appendCanonical(Self.format, to: &out)
        key("}")
        try flush(atLeast: 0)
    }

    /// Parses the canonical bytes of a private manifest.
    ///
    /// A manifest as this library writes it (strings without escapes) is read by a decoder
    /// for exactly that layout; anything else — escapes, unexpected bytes, any rule broken —
    /// goes through the general canonical-JSON parser, which gives the verdict and the error.
    init(canonical bytes: [UInt8]) throws(DossierError) {
        if let fast = Self.decodeLayout(bytes) {
            self = fast
            return
        }
        try self.init(general: bytes)
    }

    /// The general path: parse as canonical JSON, then check fields and types.
    init(general bytes: [UInt8]) throws(DossierError) {
        let value: JSONValue
        do {
            value = try JSONValue.parseCanonical(bytes, maxDepth: 8, maxBytes: Self.maxBytes)
        } catch {
            throw DossierError(.manifest, "the private manifest is not valid canonical JSON: \(error)")
        }
        func fail(_ what: String) -> DossierError { DossierError(.manifest, "the private manifest \(what)") }
        guard let object = value.objectValue, Set(object.keys) == ["format", "dossierId", "files", "directories"] else {
            throw fail("does not have exactly the fields format, dossierId, files, directories")
        }
        guard value["format"]?.stringValue == Self.format else { throw fail("has an unknown format (expected \(Self.format))") }
        guard let id = value["dossierId"]?.stringValue, let files = value["files"]?.arrayValue,
              let directories = value["directories"]?.arrayValue else { throw fail("has fields of the wrong type") }
        dossierID = id
        self.files = []
        self.directories = []
        for item in files {
            guard let o = item.objectValue, Set(o.keys) == ["path", "size", "sha256", "mediaType", "mode", "mtime"],
                  let path = o["path"]?.stringValue, let size = o["size"]?.integerValue, size >= 0,
                  let sha = o["sha256"]?.stringValue, sha.count == 64, sha.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }),
                  let type = o["mediaType"]?.stringValue, let mode = o["mode"]?.integerValue, Self.fileModes.contains(mode),
                  let mtime = o["mtime"]?.integerValue
            else { throw fail("has a malformed file record (exactly path, size, sha256 of 64 hex digits, mediaType, mode 420 or 493, mtime)") }
            self.files.append(File(path: path, size: size, sha256: sha, mediaType: type, mode: UInt32(mode), mtime: mtime))
        }
        for item in directories {
            guard let o = item.objectValue, Set(o.keys) == ["path", "mode", "mtime"],
                  let path = o["path"]?.stringValue, let mode = o["mode"]?.integerValue, mode == Self.folderMode,
                  let mtime = o["mtime"]?.integerValue
            else { throw fail("has a malformed directory record (exactly path, mode 493, mtime)") }
            self.directories.append(Directory(path: path, mode: UInt32(mode), mtime: mtime))
        }
    }

    /// Reads `bytes` if they are exactly the canonical encoding of a valid private manifest
    /// whose strings need no escapes; nil otherwise (then the general path decides). Every
    /// manifest it accepts, the general path accepts with the same value (tested, also on
    /// mutated manifests): the keys are the sorted literals, integers `-?(0|[1-9][0-9]*)`
    /// within ±(2^53 − 1) and not "-0", strings valid UTF-8 without control characters,
    /// quotes or backslashes, and nothing follows the closing brace.
    static func decodeLayout(_ bytes: [UInt8]) -> PrivateManifest? {
        var directories: [Directory] = []
        var files: [File] = []
        // The walk has checked every string: valid UTF-8 without escapes.
        func text(_ bytes: UnsafeBufferPointer<UInt8>) -> String { String(decoding: bytes, as: UTF8.self) }
        let outcome = bytes.withUnsafeBufferPointer { buffer in
            walkLayout(buffer, directory: { directory in
                directories.append(Directory(path: text(directory.path), mode: directory.mode, mtime: directory.mtime))
                return true
            }, file: { file in
                files.append(File(path: text(file.path), size: file.size, sha256: text(file.sha256), mediaType: text(file.mediaType),
                                  mode: file.mode, mtime: file.mtime))
                return true
            })
        }
        guard case .complete(let id) = outcome else { return nil }
        return PrivateManifest(dossierID: id, files: files, directories: directories)
    }

    /// A directory record of the canonical layout; its path is a range of the manifest's bytes.
    struct LayoutDirectory {
        let path: UnsafeBufferPointer<UInt8>
        let mode: UInt32
        let mtime: Int64
    }

    /// A file record of the canonical layout; its strings are ranges of the manifest's bytes.
    struct LayoutFile {
        let mediaType: UnsafeBufferPointer<UInt8>
        let mode: UInt32
        let mtime: Int64
        let path: UnsafeBufferPointer<UInt8>
        /// 64 lower-case hex digits.
        let sha256: UnsafeBufferPointer<UInt8>
        let size: Int64
    }

    enum LayoutOutcome: Equatable {
        /// The bytes are a whole manifest in the layout, every record was visited (and
        /// accepted); the dossier id.
        case complete(String)
        /// A visitor returned false: the walk stopped there.
        case stopped
        /// The bytes are not a manifest in the layout (the general parser decides).
        case notLayout
    }

    /// Walks `bytes` as `decodeLayout` reads them, handing every record to the visitors
    /// without making strings of it (opening compares a manifest of 65,536 entries this
    /// way, instead of holding it twice, as bytes and as values). The records are checked as
    /// `decodeLayout` checks them; `.complete` means `decodeLayout` returns a manifest of
    /// exactly the records visited.
    /// The modes a sealer writes (FORMAT.md §2): files 0644 or 0755 (any execute bit), folders 0755.
    static let fileModes: Set<Int64> = [0o644, 0o755]
    static let folderMode: Int64 = 0o755

    static func walkLayout(_ buffer: UnsafeBufferPointer<UInt8>, directory: (LayoutDirectory) -> Bool,
                           file: (LayoutFile) -> Bool) -> LayoutOutcome {
        guard buffer.count <= maxBytes else { return .notLayout }
        var reader = LayoutReader(text: buffer)
        guard reader.literal(#"{"directories":["#) else { return .notLayout }
        if !reader.literal("]") {
            repeat {
                guard reader.literal(#"{"mode":"#), let mode = reader.integer(), mode == Self.folderMode,
                      reader.literal(#","mtime":"#), let mtime = reader.integer(),
                      reader.literal(#","path":"#), let path = reader.stringBytes(), reader.literal("}") else { return .notLayout }
                guard directory(LayoutDirectory(path: path, mode: UInt32(mode), mtime: mtime)) else { return .stopped }
            } while reader.literal(",")
            guard reader.literal("]") else { return .notLayout }
        }
        guard reader.literal(#","dossierId":"#), let id = reader.stringBytes(), reader.literal(#","files":["#) else { return .notLayout }
        if !reader.literal("]") {
            repeat {
                guard reader.literal(#"{"mediaType":"#), let type = reader.stringBytes(),
                      reader.literal(#","mode":"#), let mode = reader.integer(), Self.fileModes.contains(mode),
                      reader.literal(#","mtime":"#), let mtime = reader.integer(),
                      reader.literal(#","path":"#), let path = reader.stringBytes(),
                      reader.literal(#","sha256":"#), let sha = reader.stringBytes(), sha.count == 64,
                      sha.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }),
                      reader.literal(#","size":"#), let size = reader.integer(), size >= 0, reader.literal("}") else { return .notLayout }
                guard file(LayoutFile(mediaType: type, mode: UInt32(mode), mtime: mtime, path: path, sha256: sha, size: size)) else { return .stopped }
            } while reader.literal(",")
            guard reader.literal("]") else { return .notLayout }
        }
        guard reader.literal(#","format":"#), reader.literal("\"" + format + "\""), reader.literal("}"), reader.atEnd else { return .notLayout }
        return .complete(String(decoding: id, as: UTF8.self))
    }

    /// A cursor over canonical bytes for `decodeLayout`: every read returns nil/false on
    /// anything outside the expected layout.
    private struct LayoutReader {
        let text: UnsafeBufferPointer<UInt8>
        var position = 0

        var atEnd: Bool { position == text.count }

        mutating func literal(_ expected: StaticString) -> Bool {
            let length = expected.utf8CodeUnitCount
            guard text.count - position >= length,
                  memcmp(text.baseAddress! + position, expected.utf8Start, length) == 0 else { return false }
            position += length
            return true
        }

        mutating func literal(_ expected: String) -> Bool {
            var expected = expected
            return expected.withUTF8 { bytes in
                guard text.count - position >= bytes.count, bytes.elementsEqual(text[position..<(position + bytes.count)]) else { return false }
                position += bytes.count
                return true
            }
        }

        /// `-?(0|[1-9][0-9]*)`, at most 16 digits, within ±(2^53 − 1), not "-0".
        mutating func integer() -> Int64? {
            var i = position
            let negative = i < text.count && text[i] == UInt8(ascii: "-")
            if negative { i += 1 }
            let start = i
            var magnitude: Int64 = 0
            while i < text.count, text[i] >= 0x30, text[i] <= 0x39, i - start < 16 {
                magnitude = magnitude * 10 + Int64(text[i] - 0x30)
                i += 1
            }
            let digits = i - start
            guard digits > 0, !(text[start] == 0x30 && (digits > 1 || negative)), magnitude <= JSONValue.maxSafeInteger,
                  i == text.count || !(text[i] >= 0x30 && text[i] <= 0x39 || text[i] == 0x2E || text[i] == 0x65 || text[i] == 0x45) else { return nil }
            position = i
            return negative ? -magnitude : magnitude
        }

        /// A string whose bytes stand for themselves (valid UTF-8, no control characters, no
        /// quote or backslash inside): its bytes, without the quotes.
        mutating func stringBytes() -> UnsafeBufferPointer<UInt8>? {
            guard position < text.count, text[position] == UInt8(ascii: "\"") else { return nil }
            let start = position + 1
            var i = start
            var ascii = true
            while i < text.count {
                let byte = text[i]
                if byte == 0x22 { break }
                if byte < 0x20 || byte == 0x5C { return nil }
                if byte >= 0x80 { ascii = false }
                i += 1
            }
            guard i < text.count else { return nil }
            let bytes = UnsafeBufferPointer(rebasing: text[start..<i])
            if !ascii {
                // What the full parser refuses, this path must not accept (the full parser,
                // taking over, then says why).
                guard String(validating: bytes, as: UTF8.self) != nil, JSONValue.isStreamSafe(bytes) else { return nil }
            }
            position = i + 1
            return bytes
        }
    }

    init(dossierID: String, files: [File], directories: [Directory]) {
        self.dossierID = dossierID
        self.files = files
        self.directories = directories
    }
}
