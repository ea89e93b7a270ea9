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

    /// Parses the canonical bytes of a private manifest.
    init(canonical bytes: [UInt8]) throws(DossierError) {
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
                  let type = o["mediaType"]?.stringValue, let mode = o["mode"]?.integerValue, (0...0o777).contains(mode),
                  let mtime = o["mtime"]?.integerValue
            else { throw fail("has a malformed file record") }
            self.files.append(File(path: path, size: size, sha256: sha, mediaType: type, mode: UInt32(mode), mtime: mtime))
        }
        for item in directories {
            guard let o = item.objectValue, Set(o.keys) == ["path", "mode", "mtime"],
                  let path = o["path"]?.stringValue, let mode = o["mode"]?.integerValue, (0...0o777).contains(mode),
                  let mtime = o["mtime"]?.integerValue
            else { throw fail("has a malformed directory record") }
            self.directories.append(Directory(path: path, mode: UInt32(mode), mtime: mtime))
        }
    }

    init(dossierID: String, files: [File], directories: [Directory]) {
        self.dossierID = dossierID
        self.files = files
        self.directories = directories
    }
}
