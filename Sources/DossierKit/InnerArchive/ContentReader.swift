
/// Where decrypted content goes: a disk extractor, or nowhere (a deep verification).
protocol ContentSink: AnyObject {
    func directory(_ path: String, permissions: UInt32, mtime: Int64) throws(DossierError)
    /// Returns false to skip the file's data (it is still hashed).
    func beginFile(_ path: String, size: Int64, permissions: UInt32, mtime: Int64) throws(DossierError) -> Bool
    func fileData(_ bytes: UnsafeRawBufferPointer) throws(DossierError)
    func endFile() throws(DossierError)
}

/// Decrypts a dossier payload and walks its inner tar strictly, checking every entry
/// against the signed public manifest's bounds and, at the end, against the private
/// manifest. Releases plaintext only to the sink, which writes into a staging area.
enum ContentReader {
    struct Result {
        let filesChecked: Int
        let bytesChecked: Int64
        /// The private manifest's bytes (checked against the content and the signed digest).
        var privateManifest: [UInt8] = []
    }

    /// A byte source that hashes (SHA-256) and CRCs everything read through it. (Hashing on a
    /// third queue was measured: no gain on 2 cores, where decryption already runs beside
    /// the extraction.)
    final class HashingSource: ByteSource {
        let source: ByteSource
        private let digest = DigestContext(.sha256)
        private var crc: CRC32
        private(set) var count: Int64 = 0

        init(_ source: ByteSource, crc: CRC32) {
            self.source = source
            self.crc = crc
        }

        func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
            let n = try source.read(into: buffer)
            if n > 0 {
                let piece = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
                digest.update(piece)
                crc.update(piece)
                count += Int64(n)
            }
            return n
        }

        /// The SHA-256 of what was read and the CRC-32 (seeded in init).
        func finish() -> (sha256: [UInt8], crc32: UInt32) {
            (digest.finalize(), crc.value)
        }
    }

    /// The file key of the (already checked) payload header, unwrapped with one of `identities`.
    static func fileKey(_ header: AgeHeader, identities: [AgeIdentity]) throws(DossierError) -> SecureBytes {
        do { return try AgeFile.unwrap(header, identities: identities) } catch {
            if error.kind == .noMatch {
                throw DossierError(.noIdentity, "none of the given identities can decrypt this dossier: \(error.reason)",
                                   hint: "use an identity of one of its recipients")
            }
            throw DossierError(.payload, "the payload header cannot be opened: \(error)")
        }
    }

    /// What one entry may take besides its data: a header (512 bytes), a pax header and its
    /// records (a path of up to 4,096 bytes, times, sizes) and the padding of both, with room.
    static let headerAllowancePerEntry: Int64 = 8 * 1024

    static func read(
        _ container: ContainerReader, _ manifest: DossierManifest, header: AgeHeader, headerLength: Int,
        identities: [AgeIdentity], into sink: ContentSink, progress: ProgressHandler? = nil
    ) throws(DossierError) -> Result {
        try read(container, manifest, header: header, headerLength: headerLength, fileKey: fileKey(header, identities: identities),
                 into: sink, progress: progress)
    }

    /// Decrypts the payload with `fileKey`, checks every file against the private manifest and
    /// hands the content to `sink`.
    static func read(
        _ container: ContainerReader, _ manifest: DossierManifest, header: AgeHeader, headerLength: Int,
        fileKey: SecureBytes, into sink: ContentSink, progress: ProgressHandler? = nil,
        cancellation: DossierCancellation? = nil
    ) throws(DossierError) -> Result {
        // Decrypt the body, hashing exactly the body bytes on the way.
        var crc = CRC32()
        header.encoded.withUnsafeBytes { crc.update($0) }
        let body = HashingSource(container.file.source(offset: container.payload.dataOffset + Int64(headerLength),
                                                       length: container.payload.size - Int64(headerLength)), crc: crc)
        let plaintext: AgeDecryptingReader
        do {
            plaintext = try AgeDecryptingReader(opened: .init(header: header, fileKey: fileKey, reader: BufferedReader(body)))
        } catch { throw DossierError(.payload, "the payload cannot be decrypted: \(error)") }
        // Decryption (with the body digest) runs ahead on a second thread; only
        // authenticated plaintext enters the queue.
        let prefetched = PrefetchingSource(plaintext, cancellation: cancellation)
        defer { prefetched.cancel() }
        // FORMAT.md §2: the inner archive is a tar through zstd, and nothing else: the stream
        // is decompressed here, to its last byte (ZstdSource), and read as a plain tar.
        let decompressed: ZstdSource
        do { decompressed = try ZstdSource(prefetched) } catch { throw DossierError(.io, "\(error)") }
        let tar: ArchiveReader
        do { tar = try ArchiveReader(.stream(decompressed), tarOnly: true, zstd: false) } catch { throw payloadFailure(error) }

        // 3. Walk the entries.
        var collisions = DossierPath.CollisionDetector()
        // Every explicit path is unique (the collision rules refuse a second one), so these
        // lists are sets in the order of the tar.
        var fileFacts: [(size: Int64, sha256: Digest32)] = []
        var seenDirectories: [String] = []
        var checkedFolders: [[UInt8]: DossierPath.Parent] = [:]
        var fileOrder: [String] = []
        var totalBytes: Int64 = 0
        var privateBytes: [UInt8]?
        var progressDone: Int64 = 0
        var buffer = [UInt8](repeating: 0, count: 256 * 1024)
        // Everything libarchive decompresses is content, headers or the private manifest. A
        // tar that decompresses to more hides data nobody hashes — in special headers (up to
        // 1 MB each, before any entry) or in entries whose data libarchive skips — and would
        // otherwise get past the 1,000:1 expansion limit (a decompression bomb).
        let entries = manifest.fileCount + manifest.directoryCount + 1
        let decompressionLimit = manifest.contentBytes + entries * Self.headerAllowancePerEntry + Int64(PrivateManifest.maxBytes) + (1 << 20)
        func checkDecompressed() throws(DossierError) {
            guard tar.uncompressedBytesRead <= decompressionLimit else {
                throw DossierError(.content, "the inner archive decompresses to more than its content, headers and private manifest can take (possible decompression bomb)")
            }
        }
        while true {
            let entry: ArchiveEntryInfo?
            do { entry = try tar.nextEntry() } catch { throw payloadFailure(error) }
            try checkDecompressed()
            guard let entry else { break }
            guard privateBytes == nil else { throw DossierError(.content, "the payload has entries after the private manifest") }
            if entry.pathBytes == Array(ContentWriter.manifestEntry.utf8) {
                guard entry.kind == .file, let size = entry.size, size <= Int64(PrivateManifest.maxBytes) else {
                    throw DossierError(.content, "the private manifest entry is not a file of at most \(PrivateManifest.maxBytes) bytes")
                }
                // The last entry: what only the walk needed goes first (memory; anything
                // after this entry is refused without it).
                collisions = DossierPath.CollisionDetector()
                checkedFolders = [:]
                var bytes: [UInt8] = []
                bytes.reserveCapacity(Int(size))  // exactly, not doubling (~14 MB for 65,536 files)
                while true {
                    let n: Int
                    do { n = try withMutableBytes(&buffer) { (raw) throws(ArchiveError) in try tar.readData(into: raw) } } catch { throw payloadFailure(error) }
                    if n == 0 { break }
                    bytes += buffer[0..<n]
                    guard bytes.count <= PrivateManifest.maxBytes else { throw DossierError(.content, "the private manifest is too large") }
                }
                privateBytes = bytes
                continue
            }
            let prefix = Array(ContentWriter.contentPrefix.utf8)
            guard entry.pathBytes.starts(with: prefix) else {
                throw DossierError(.unsafePath, "the payload has an entry outside content/: \(AgeHeader.printable(entry.pathBytes))")
            }
            var relative = Array(entry.pathBytes.dropFirst(prefix.count))
            if entry.kind == .directory, relative.last == UInt8(ascii: "/") { relative.removeLast() }
            let path: String
            var depth = 0
            // The last "/" of a path below a folder that had no entry before it.
            var orphan: Array<UInt8>.Index?
            do {
                // Below a folder already checked (the usual order), only the new name is
                // checked; anything else gets the whole-path rules (same verdicts, tested).
                if let slash = relative.lastIndex(of: UInt8(ascii: "/")), slash > 0,
                   let parent = checkedFolders[Array(relative[..<slash])] {
                    let name = Array(relative[(slash + 1)...])
                    path = try DossierPath.validate(appending: name, to: parent)
                    try collisions.insert(name, below: parent, path: path, isFolder: entry.kind == .directory)
                    depth = parent.depth + 1
                } else {
                    path = try DossierPath.validate(relative)
                    try collisions.insert(path, isFolder: entry.kind == .directory)
                    depth = relative.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).count
                    orphan = relative.lastIndex(of: UInt8(ascii: "/"))
                }
            } catch { throw DossierError(.unsafePath, "the payload has an unsafe entry: \(error)") }
            // A sealer writes every folder as an entry before what it holds (FORMAT.md §2). A
            // folder a path only implies would be made by the opening without being counted,
            // listed in the private manifest or limited (65,536 entries could make millions).
            // (Checked after the path rules, so that their verdicts and messages come first.)
            if let slash = orphan {
                throw DossierError(.content, "\(path) comes before its folder \(AgeHeader.printable(Array(relative[..<slash]))) (or the payload has no entry for that folder): a sealer writes every folder before what it holds")
            }
            if entry.kind == .directory { checkedFolders[relative] = DossierPath.Parent(bytes: relative, path: path, depth: depth) }
            guard entry.mode & 0o7000 == 0 else {
                throw DossierError(.unsafePath, "\(path) has setuid, setgid or sticky bits")
            }
            switch entry.kind {
            case .directory:
                // A GNU dumpdir ('D') is read as a folder whose data libarchive skips: data nobody hashes.
                if let size = entry.size, size != 0 {
                    throw DossierError(.content, "the folder entry \(path) carries data (\(size) bytes): a dossier's folders hold none")
                }
                seenDirectories.append(path)
                guard Int64(seenDirectories.count) <= manifest.directoryCount else {
                    throw DossierError(.content, "the payload has more folders than the manifest declares")
                }
                try sink.directory(path, permissions: entry.mode & 0o777, mtime: entry.mtime)
            case .file:
                guard let size = entry.size, size >= 0 else { throw DossierError(.content, "\(path) has no size") }
                // Compare before adding: a hostile size must not overflow the total.
                guard size <= manifest.contentBytes - totalBytes, Int64(fileOrder.count + 1) <= manifest.fileCount else {
                    throw DossierError(.content, "the payload holds more files or bytes than the manifest declares (possible decompression bomb)")
                }
                totalBytes += size
                let keep = try sink.beginFile(path, size: size, permissions: entry.mode & 0o777, mtime: entry.mtime)
                let hash = DigestContext(.sha256)
                var read: Int64 = 0
                // The data is hashed and written where libarchive decompressed it (no copy).
                while true {
                    let block: (offset: Int64, bytes: UnsafeRawBufferPointer)?
                    do { block = try tar.readDataBlock() } catch { throw payloadFailure(error) }
                    guard let (offset, piece) = block else { break }
                    // A sealer writes no sparse entries: a hole would be data nobody hashed.
                    guard offset == read else { throw DossierError(.content, "\(path) is a sparse entry; dossiers hold plain files") }
                    let n = piece.count
                    if n == 0 { continue }
                    read += Int64(n)
                    guard read <= size else { throw DossierError(.content, "\(path) holds more data than its size") }
                    hash.update(piece)
                    if keep { try sink.fileData(piece) }
                    progressDone += Int64(n)
                    progress?(progressDone, manifest.contentBytes)
                }
                guard read == size else { throw DossierError(.content, "\(path) is shorter than its size") }
                try checkDecompressed()
                if keep { try sink.endFile() }
                fileFacts.append((size, Digest32(hash.finalize())))
                fileOrder.append(path)
            case .symlink, .hardlink:
                throw DossierError(.unsafePath, "\(path) is a link; dossiers hold only files and folders")
            case .other:
                throw DossierError(.unsafePath, "\(path) is a device or other special file")
            }
        }
        // After the tar's end only zero padding (some tar writers pad to a 10,240-byte record;
        // ours writes none), in the tar's own last block as in anything after it: signed bytes
        // nobody reads are refused, and so is a bomb hidden there.
        let trailing: (bytes: Int64, allZero: Bool)
        do { trailing = try decompressed.drainTrailing(after: tar.uncompressedBytesRead, limit: Self.trailingPaddingLimit) } catch {
            throw Self.payloadFailure(error)
        }
        guard trailing.allZero else {
            throw DossierError(.content, "the inner archive has data after its end (bytes nobody reads, though signed)")
        }
        guard trailing.bytes <= Self.trailingPaddingLimit else {
            throw DossierError(.content, "the inner archive has more than \(Self.trailingPaddingLimit >> 10) KiB of zeros after its end")
        }
        // 4. Read the plaintext to its authenticated end, so the whole body is hashed.
        do {
            while try buffer.withUnsafeMutableBytes({ try prefetched.read(into: $0) }) > 0 {}
        } catch { throw payloadFailure(error) }
        let (bodySHA256, entryCRC) = body.finish()
        guard body.count == manifest.payloadBodySize, Hex.encode(bodySHA256) == manifest.payloadBodySHA256 else {
            throw DossierError(.payload, "the payload body does not match the signed SHA-256 and size")
        }
        guard entryCRC == container.payload.crc32 else { throw DossierError(.container, "payload.age does not match its CRC-32") }

        // 5. The private manifest: signed digest, then every entry.
        guard let privateBytes else { throw DossierError(.content, "the payload has no private manifest") }
        guard Hex.encode(SHA256.hash(privateBytes)) == manifest.privateManifestSHA256 else {
            throw DossierError(.content, "the private manifest does not match the signed SHA-256")
        }
        try checkPrivateManifest(privateBytes, files: fileOrder, fileFacts, directories: seenDirectories, against: manifest)
        return Result(filesChecked: fileOrder.count, bytesChecked: totalBytes, privateManifest: privateBytes)
    }

    /// Checks the private manifest's `bytes` (whose signed digest was checked) against what
    /// the tar held and the public manifest's counts. A manifest as the sealer writes it —
    /// canonical layout, the tar's paths in the tar's order — is compared record by record
    /// while it is walked, without decoding it into values (for 65,536 entries that would be
    /// ~14 MB more at the peak of an opening); anything else is decoded and compared by
    /// `compare`, which names every difference.
    static func checkPrivateManifest(_ bytes: [UInt8], files: [String], _ facts: [(size: Int64, sha256: Digest32)],
                                     directories: [String], against manifest: DossierManifest) throws(DossierError) {
        var fileIndex = 0
        var directoryIndex = 0
        var declaredBytes: Int64 = 0
        let outcome = bytes.withUnsafeBufferPointer { buffer in
            PrivateManifest.walkLayout(buffer, directory: { directory in
                guard directoryIndex < directories.count, directory.path.elementsEqual(directories[directoryIndex].utf8) else { return false }
                directoryIndex += 1
                return true
            }, file: { file in
                guard fileIndex < files.count, file.path.elementsEqual(files[fileIndex].utf8), file.size == facts[fileIndex].size,
                      facts[fileIndex].sha256.matches(hex: UnsafeRawBufferPointer(file.sha256)) else { return false }
                fileIndex += 1
                let (sum, overflow) = declaredBytes.addingReportingOverflow(file.size)
                declaredBytes = overflow ? Int64.max : sum
                return true
            })
        }
        let dossierID: String
        var problems: [String] = []
        let counts: (files: Int, directories: Int, bytes: Int64)
        if case .complete(let id) = outcome, fileIndex == files.count, directoryIndex == directories.count {
            // Pairwise equal: what `compare` would find is nothing.
            dossierID = id
            counts = (fileIndex, directoryIndex, declaredBytes)
        } else {
            let privateManifest = try PrivateManifest(canonical: bytes)
            dossierID = privateManifest.dossierID
            problems = compare(files: files, facts, directories: directories, with: privateManifest)
            counts = (privateManifest.files.count, privateManifest.directories.count, privateManifest.totalBytes)
        }
        guard dossierID.utf8.elementsEqual(manifest.dossierID.utf8) else {
            throw DossierError(.content, "the private manifest names a different dossier (\(dossierID))")
        }
        if Int64(counts.files) != manifest.fileCount || Int64(counts.directories) != manifest.directoryCount || counts.bytes != manifest.contentBytes {
            problems.append("the counts in the public manifest disagree with the private manifest")
        }
        guard problems.isEmpty else {
            throw DossierError(.content, "the content disagrees with the private manifest: \(problems.prefix(10).joined(separator: ", "))\(problems.count > 10 ? " and \(problems.count - 10) more" : "")")
        }
    }

    /// What differs between the entries read (in tar order) and the private manifest:
    /// "missing:", "changed:", "extra:", "missing folder:", "extra folder:" lines. The usual
    /// case — the manifest lists the same paths in the same order, as the sealer writes
    /// them — is checked pairwise; anything else by path.
    static func compare(files: [String], _ facts: [(size: Int64, sha256: Digest32)], directories: [String],
                        with privateManifest: PrivateManifest) -> [String] {
        var problems: [String] = []
        let declaredFiles = privateManifest.files
        let declaredDirectories = privateManifest.directories
        let sameFiles = declaredFiles.count == files.count && zip(declaredFiles, files).allSatisfy({ $0.path.utf8.elementsEqual($1.utf8) })
        let sameDirectories = declaredDirectories.count == directories.count
            && zip(declaredDirectories, directories).allSatisfy({ $0.path.utf8.elementsEqual($1.utf8) })
        // Every path once: a path listed twice would make one file in the tar count for two in
        // the signed totals. When both lists are exactly the tar's paths, in its order, no
        // path can be listed twice (the tar's are unique by the collision rules, files and
        // folders alike), and the set of every path is not built.
        if !(sameFiles && sameDirectories) {
            var listed = Set<[UInt8]>()
            for path in declaredFiles.map(\.path) + declaredDirectories.map(\.path) where !listed.insert(Array(path.utf8)).inserted {
                problems.append("listed twice: \(path)")
            }
        }
        if sameFiles {
            for (index, file) in declaredFiles.enumerated() where facts[index].size != file.size || !facts[index].sha256.matches(hex: file.sha256) {
                problems.append("changed: \(file.path)")
            }
        } else {
            // By path, as bytes: Swift's String equality would take an NFD name for its NFC
            // form, and they are different files.
            var seen: [[UInt8]: Int] = [:]
            for (index, path) in files.enumerated() { seen[Array(path.utf8)] = index }
            var declared = Set<[UInt8]>()
            for file in declaredFiles {
                declared.insert(Array(file.path.utf8))
                guard let index = seen[Array(file.path.utf8)] else { problems.append("missing: \(shown(file.path))"); continue }
                if facts[index].size != file.size || !facts[index].sha256.matches(hex: file.sha256) { problems.append("changed: \(file.path)") }
            }
            for path in files where !declared.contains(Array(path.utf8)) { problems.append("extra: \(shown(path))") }
        }
        if !sameDirectories {
            let declared = Set(declaredDirectories.map { Array($0.path.utf8) })
            let seen = Set(directories.map { Array($0.utf8) })
            let text = { (bytes: [UInt8]) in shown(String(decoding: bytes, as: UTF8.self)) }
            for path in declared.subtracting(seen).sorted(by: { $0.lexicographicallyPrecedes($1) }) { problems.append("missing folder: \(text(path))") }
            for path in seen.subtracting(declared).sorted(by: { $0.lexicographicallyPrecedes($1) }) { problems.append("extra folder: \(text(path))") }
        }
        return problems
    }

    /// A path for a "missing"/"extra" line: one that is not in NFC looks like its NFC twin
    /// on the other line, so it says so and spells out its scalars (e.g. "cafe<U+0301>.txt").
    static func shown(_ path: String) -> String {
        let bytes = Array(path.utf8)
        guard DossierPath.nfc(bytes) != bytes else { return path }
        let spelled = path.unicodeScalars.map { $0.isASCII ? String($0) : String(format: "<U+%04X>", $0.value) }.joined()
        return "\(path) (not in Unicode NFC: \(spelled))"
    }

    /// Zero bytes allowed after the tar's end-of-archive blocks (FORMAT.md §2).
    static let trailingPaddingLimit: Int64 = 64 << 10

    /// An error met reading the payload, directly or through the tar reader: a damaged chunk
    /// is the payload's, a malformed zstd stream or tar the content's, a stop asked for
    /// (`Interruption`) met directly stays what it is, anything else met directly is I/O.
    private static func payloadFailure(_ error: any Error) -> DossierError {
        if let archive = error as? ArchiveError {
            // What the reader's source threw (decryption, decompression, a stop asked for)
            // is not the inner archive's fault.
            if let underlying = archive.underlying, underlying is AgeError || underlying is ZstdSource.Failure || underlying is DossierError {
                return payloadFailure(underlying)
            }
            return DossierError(.content, "the inner archive is malformed: \(archive)")
        }
        if let error = error as? DossierError { return error }
        if let age = error as? AgeError { return DossierError(.payload, "the payload failed to decrypt: \(age)") }
        if let zstd = error as? ZstdSource.Failure {
            return DossierError(.content, "the inner archive is not a zstd stream as a sealer writes it: \(zstd)")
        }
        return DossierError(.io, "\(error)")
    }
}

/// Hashes content without writing it anywhere (deep verification).
final class DiscardingContentSink: ContentSink {
    func directory(_ path: String, permissions: UInt32, mtime: Int64) throws(DossierError) {}
    func beginFile(_ path: String, size: Int64, permissions: UInt32, mtime: Int64) throws(DossierError) -> Bool { false }
    func fileData(_ bytes: UnsafeRawBufferPointer) throws(DossierError) {}
    func endFile() throws(DossierError) {}
}

extension Dossier {
    static func checkContent(_ container: ContainerReader, _ manifest: DossierManifest, payload: PayloadFacts,
                             identities: [AgeIdentity], into report: inout VerificationReport) {
        do {
            let result = try ContentReader.read(container, manifest, header: payload.header, headerLength: payload.headerLength,
                                                identities: identities, into: DiscardingContentSink())
            report.content = .init(filesChecked: result.filesChecked, bytesChecked: result.bytesChecked, problems: [])
            report.pass("content", "\(result.filesChecked) files (\(result.bytesChecked) bytes) match the private manifest")
        } catch {
            report.content = .init(filesChecked: 0, bytesChecked: 0, problems: [error.reason])
            // Not being able to decrypt is not evidence of tampering; everything else is.
            report.fail("content", error.reason, trust: error.kind == .noIdentity)
        }
    }
}
