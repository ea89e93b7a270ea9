#if canImport(Glibc)
import Glibc
#endif

/// Entry points for the fuzz harness (`Fuzz/`, see docs/FUZZING.md): one function per
/// parser that reads outside input. Each takes arbitrary bytes, must never crash, hang
/// or allocate without bound, and checks the round-trip properties a parser promises.
/// `package` access: visible to the harness in this package, not part of the public API.
package enum FuzzEntryPoints {
    /// A failed property: the harness turns it into a crash so that libFuzzer keeps the input.
    package struct PropertyViolation: Error, CustomStringConvertible {
        package let description: String
    }

    /// Fixed, public test keys so that seeds can reach past the key checks. Never use them for data.
    package enum Keys {
        /// The age identity the seeds are encrypted to (raw key 0x01 × 32).
        package static let identity: AgeIdentity = {
            var raw = [UInt8](repeating: 1, count: 32)
            let x = try! AgeX25519.Identity(privateKey: X25519.PrivateKey(rawRepresentation: SecureBytes(consuming: &raw)))
            return AgeIdentity(type: x, description: "fuzz identity")
        }()
        /// A passphrase identity that accepts the seeds' scrypt stanzas (work factor capped low for speed).
        package static let passphrase = try! AgeIdentity.passphrase("fuzz", maxWorkFactor: 10)
        /// The signing key that signed the seed dossiers, log exports and checkpoints (raw seed 0x02 × 32).
        package static let signer: SigningKey = {
            var raw = [UInt8](repeating: 2, count: 32)
            return try! SigningKey(privateKey: Ed25519.PrivateKey(rawRepresentation: SecureBytes(consuming: &raw)),
                                   keyID: [1, 2, 3, 4, 5, 6, 7, 8], name: "Fuzz Signer")
        }()
        /// A second signer (raw seed 0x03 × 32), for approvals.
        package static let approver: SigningKey = {
            var raw = [UInt8](repeating: 3, count: 32)
            return try! SigningKey(privateKey: Ed25519.PrivateKey(rawRepresentation: SecureBytes(consuming: &raw)),
                                   keyID: [2, 3, 4, 5, 6, 7, 8, 9], name: "Fuzz Approver")
        }()
        package static var trust: TrustStore {
            TrustStore([.init(name: "Fuzz Signer", roles: [.sealer, .countersigner, .transferrer, .ledger], publicKey: signer.publicKey),
                        .init(name: "Fuzz Approver", roles: [.approver], publicKey: approver.publicKey)])
        }
    }

    /// The names of the targets (scripts/fuzz, corpus folders, regression inputs).
    package static let targets = ["age-header", "age-file", "key-files", "container", "manifest", "signature",
                                  "trust-file", "log-export", "checkpoint", "inner-archive", "input-archive"]

    /// Runs one input through one target. `isKnownDossier` tells the container target which
    /// inputs are seed dossiers (the only containers allowed to verify as valid); the
    /// container target writes the input to `scratchPath` first.
    package static func run(_ target: String, _ data: [UInt8], scratchPath: String,
                            isKnownDossier: ([UInt8]) -> Bool) throws(PropertyViolation) {
        switch target {
        case "age-header": try ageHeader(data)
        case "age-file": ageFile(data)
        case "key-files": keyFiles(data)
        case "container":
            try writeScratch(data, scratchPath)
            if container(atPath: scratchPath) == .valid, !isKnownDossier(data) {
                throw PropertyViolation(description: "a container the seed generator did not write verified as valid (forgery)")
            }
        case "manifest": try manifest(data)
        case "signature": signature(data)
        case "trust-file": trustFile(data)
        case "log-export": logExport(data)
        case "checkpoint": checkpoint(data)
        case "inner-archive": innerArchive(data)
        case "input-archive":
            try writeScratch(data, scratchPath)
            inputArchive(atPath: scratchPath)
        default: throw PropertyViolation(description: "unknown fuzz target \(target)")
        }
    }

    /// Writes `data` as the file at `scratchPath` (the targets that read a file by its path).
    private static func writeScratch(_ data: [UInt8], _ scratchPath: String) throws(PropertyViolation) {
        unlink(scratchPath)
        do {
            let sink = try FileSink(creating: scratchPath, mode: 0o600)
            try sink.write(data)
            try sink.close()
        } catch {
            throw PropertyViolation(description: "cannot write \(scratchPath): \(error)")
        }
    }

    /// The age header: parse, and re-encoding what parsed gives the same bytes.
    package static func ageHeader(_ data: [UInt8]) throws(PropertyViolation) {
        guard let header = try? AgeHeader.parse(from: BufferedReader(MemorySource(data))) else { return }
        guard data.starts(with: header.encoded) else {
            throw PropertyViolation(description: "a parsed age header does not re-encode to its own bytes")
        }
        guard let again = try? AgeHeader.parse(from: BufferedReader(MemorySource(header.encoded))), again.encoded == header.encoded else {
            throw PropertyViolation(description: "a re-encoded age header does not parse to itself")
        }
    }

    /// A whole age file, binary or armored, with the fixed identities.
    package static func ageFile(_ data: [UInt8]) {
        _ = try? Age.decrypt(data, with: [Keys.identity, Keys.passphrase])
    }

    /// Identity files, recipients and signing-key files.
    package static func keyFiles(_ data: [UInt8]) {
        let text = String(decoding: data, as: UTF8.self)
        _ = try? AgeIdentity.parseIdentityFile(text)
        _ = try? AgeRecipient(text)
        _ = try? AgeIdentity(text)
        _ = try? SigningKey(secretFileText: text)
        _ = try? SignerPublicKey(text)
    }

    /// A sealed container at `path` (the harness writes the input there): verify, and deep
    /// verify with the fixed identity. A report saying "valid" for bytes the seed generator
    /// did not write would be a forgery, which the harness checks separately.
    package static func container(atPath path: String) -> VerificationReport.Status {
        let report = Dossier.verify(path, trusting: Keys.trust, requiringRoles: [.sealer], identities: [Keys.identity])
        return report.status
    }

    /// The public and private manifests and the canonical JSON they are written in.
    package static func manifest(_ data: [UInt8]) throws(PropertyViolation) {
        if let value = try? JSONValue.parse(data) {
            let canonical = value.canonicalBytes()
            guard let again = try? JSONValue.parse(canonical), again.canonicalBytes() == canonical else {
                throw PropertyViolation(description: "canonical JSON does not round-trip")
            }
        }
        if let manifest = try? DossierManifest(canonical: data), manifest.canonicalBytes() != data {
            throw PropertyViolation(description: "an accepted public manifest is not its own canonical form")
        }
        if let privateManifest = try? PrivateManifest(canonical: data) { try walkedComparison(data, privateManifest) }
        _ = try? DossierProfile(json: data)
    }

    /// Opening's comparison of a private manifest walked in place (`checkPrivateManifest`)
    /// against the entries it lists gives the verdict of decoding and comparing: it accepts
    /// them, and refuses them once a size is changed.
    private static func walkedComparison(_ data: [UInt8], _ privateManifest: PrivateManifest) throws(PropertyViolation) {
        let files = privateManifest.files.map(\.path)
        let directories = privateManifest.directories.map(\.path)
        // A tar's paths are unique (the collision rules); a manifest listing one twice is
        // refused by the decoded comparison, which such a list would take here.
        var seen = Set<[UInt8]>()
        guard (files + directories).allSatisfy({ seen.insert(Array($0.utf8)).inserted }) else { return }
        // Accepted manifests hold 64 lower-case hex digits per digest.
        var facts = privateManifest.files.map { (size: $0.size, sha256: Digest32(hexBytes($0.sha256) ?? [])) }
        let manifest = DossierManifest(
            dossierID: privateManifest.dossierID, sealedAt: "", publicMetadata: [:], payloadHeaderSHA256: "", payloadBodySHA256: "",
            payloadBodySize: 0, fileCount: Int64(files.count), directoryCount: Int64(directories.count),
            contentBytes: privateManifest.totalBytes, privateManifestSHA256: "", signers: [], accessLogGenesisSHA256: nil, generator: "")
        do { try ContentReader.checkPrivateManifest(data, files: files, facts, directories: directories, against: manifest) } catch {
            throw PropertyViolation(description: "a private manifest was refused against its own entries: \(error)")
        }
        guard !facts.isEmpty else { return }
        facts[0].size = facts[0].size == 0 ? 1 : facts[0].size - 1
        if (try? ContentReader.checkPrivateManifest(data, files: files, facts, directories: directories, against: manifest)) != nil {
            throw PropertyViolation(description: "a private manifest was accepted against an entry of another size")
        }
    }

    /// Minisign signature files and public keys, verified against the fixed key.
    package static func signature(_ data: [UInt8]) {
        let text = String(decoding: data, as: UTF8.self)
        if let signature = try? MinisignSignature(parsing: text) {
            _ = try? signature.verify(Array("fuzz".utf8), publicKey: Keys.signer.publicKey.minisign, allowLegacy: true)
        }
        _ = try? MinisignPublicKey(fileText: text)
        _ = SignatureStatement(trustedComment: text)
    }

    /// Trust files.
    package static func trustFile(_ data: [UInt8]) {
        _ = try? TrustStore(parsing: String(decoding: data, as: UTF8.self))
    }

    /// Access-log exports (JSON Lines), verified against the fixed trust.
    package static func logExport(_ data: [UInt8]) {
        _ = AccessLog.verifyExport(String(decoding: data, as: UTF8.self), trusting: Keys.trust)
    }

    /// Signed checkpoints (C2SP signed notes).
    package static func checkpoint(_ data: [UInt8]) {
        if let checkpoint = try? Checkpoint(parsing: String(decoding: data, as: UTF8.self)) {
            _ = checkpoint.isSigned(by: Keys.signer.publicKey)
        }
    }

    /// The inner tar of a payload (after decryption): the same strict walk as opening.
    package static func innerArchive(_ data: [UInt8]) {
        // As opening reads it: zstd decompressed to its last byte, then a plain tar (a seed
        // that is a plain tar goes straight to the tar parser).
        let source: ByteSource = data.starts(with: ZstdSource.frameMagic) ? ((try? ZstdSource(MemorySource(data))) ?? MemorySource([])) : MemorySource(data)
        guard let reader = try? ArchiveReader(.stream(source), tarOnly: true, zstd: false) else { return }
        var collisions = DossierPath.CollisionDetector()
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var total = 0
        while let entry = try? reader.nextEntry() {
            if let path = try? DossierPath.validate(entry.pathBytes) { try? collisions.insert(path, isFolder: entry.kind == .directory) }
            while let n = try? withMutableBytes(&buffer, { (raw) throws(ArchiveError) in try reader.readData(into: raw) }), n > 0 {
                total += n
                if total > 64 << 20 { return }  // the signed size bounds this when opening
            }
        }
        if let zstd = source as? ZstdSource { _ = try? zstd.drainTrailing(after: reader.uncompressedBytesRead, limit: ContentReader.trailingPaddingLimit) }
    }

    /// An archive handed in for sealing (zip, 7z, tar plain or through gzip, bzip2, xz,
    /// zstd), read as sealing reads it: its kind, the reader, every entry's data (bounded),
    /// a zip's central directory, a tar's end.
    package static func inputArchive(atPath path: String) {
        guard let (reader, tarStream) = try? ContentWriter.openInputArchive(path, kind: InputArchiveKind(path: path)) else { return }
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var total = 0, entries = 0
        while let entry = try? reader.nextEntry() {
            entries += 1
            if entries == 1 && reader.isZip { _ = try? InputZipDirectory.check(path) }
            _ = try? DossierPath.validate(entry.pathBytes)
            while let n = try? withMutableBytes(&buffer, { (raw) throws(ArchiveError) in try reader.readData(into: raw) }), n > 0 {
                total += n
                if total > 64 << 20 { return }  // sealing bounds this by the 1,000:1 rule
            }
            if entries > 70_000 { return }
        }
        _ = try? tarStream?.endProblem(consumed: reader.uncompressedBytesRead, lastEntryEnd: reader.lastEntryEnd)
    }

    /// Seeds for `input-archive`: a small folder as a pax tar, a zip, a 7z, and the tar as a
    /// gzip of stored blocks (two members) — each a valid archive handed in.
    package static func inputArchiveSeeds() throws -> [(name: String, bytes: [UInt8])] {
        let files: [(String, [UInt8])] = [("case/a.txt", Array("alpha\n".utf8)), ("case/sub/b.bin", [UInt8](repeating: 0x42, count: 3000))]
        func archive(_ format: ArchiveWriter.Format) throws -> [UInt8] {
            let sink = MemorySink()
            let writer = try ArchiveWriter(format: format, sink: sink)
            for folder in ["case", "case/sub"] {
                try writer.writeHeader(path: folder, isDirectory: true, size: 0, permissions: 0o755, mtime: 1_700_000_000)
                try writer.finishEntry()
            }
            for (path, data) in files {
                try writer.writeHeader(path: path, isDirectory: false, size: Int64(data.count), permissions: 0o644, mtime: 1_700_000_000)
                try withBytes(data) { (raw) throws(ArchiveError) in try writer.writeData(raw) }
                try writer.finishEntry()
            }
            try writer.close()
            return sink.bytes
        }
        /// One gzip member (RFC 1952) of stored deflate blocks.
        func gzipMember(_ data: ArraySlice<UInt8>) -> [UInt8] {
            var out: [UInt8] = [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3]
            var chunks = stride(from: data.startIndex, to: data.endIndex, by: 65_535).map { data[$0..<min($0 + 65_535, data.endIndex)] }
            if chunks.isEmpty { chunks = [data] }
            for (index, chunk) in chunks.enumerated() {
                let length = UInt16(chunk.count)
                out += [index == chunks.count - 1 ? 1 : 0, UInt8(length & 0xFF), UInt8(length >> 8), UInt8(~length & 0xFF), UInt8(~length >> 8)]
                out += chunk
            }
            let crc = CRC32.checksum(Array(data)), size = UInt32(truncatingIfNeeded: data.count)
            out += (0..<4).map { UInt8(truncatingIfNeeded: crc >> (8 * $0)) } + (0..<4).map { UInt8(truncatingIfNeeded: size >> (8 * $0)) }
            return out
        }
        let tar = try archive(.paxTar)
        let half = tar.count / 2
        return [("tar", tar), ("zip", try archive(.zipStored)), ("7z", try archive(.sevenZip)),
                ("tar-gz", gzipMember(tar[...])), ("tar-gz-two-members", gzipMember(tar[..<half]) + gzipMember(tar[half...]))]
    }

    /// The parts of a sealed dossier other targets read (for seeds): public manifest,
    /// private manifest, decrypted inner archive, signature files.
    package static func containerParts(atPath path: String, identity: AgeIdentity)
        throws -> (manifest: [UInt8], privateManifest: [UInt8], innerArchive: [UInt8], plainInnerArchive: [UInt8], signatures: [[UInt8]]) {
        let container = try ContainerReader(path: path)
        let payload = try container.file.read(at: container.payload.dataOffset, count: Int(container.payload.size))
        let inner = try Age.decrypt(payload, with: [identity])
        let reader = try ArchiveReader(.stream(MemorySource(inner)), tarOnly: true)
        var privateManifest: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        // The same entries as an uncompressed tar, so that mutations reach the tar parser
        // and the path rules instead of stopping in the zstd decoder.
        let plainSink = MemorySink()
        let plain = try ArchiveWriter(format: .paxTar, sink: plainSink)
        while let entry = try reader.nextEntry() {
            var data: [UInt8] = []
            while true {
                let n = try withMutableBytes(&buffer) { (raw) throws(ArchiveError) in try reader.readData(into: raw) }
                if n == 0 { break }
                data += buffer[0..<n]
            }
            if entry.pathBytes == Array(ContentWriter.manifestEntry.utf8) { privateManifest = data }
            try plain.writeHeader(path: String(decoding: entry.pathBytes, as: UTF8.self), isDirectory: entry.kind == .directory,
                                  size: Int64(data.count), permissions: entry.mode & 0o777, mtime: entry.mtime)
            if !data.isEmpty { try withBytes(data) { (raw) throws(ArchiveError) in try plain.writeData(raw) } }
            try plain.finishEntry()
        }
        try plain.close()
        return (container.manifestBytes, privateManifest, inner, plainSink.bytes, container.signatures.map(\.text))
    }
}
