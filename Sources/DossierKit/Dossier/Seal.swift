#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Reports progress of long work: bytes done and the total expected (0 when unknown).
/// Called from the working thread, at most every 256 KiB; keep it cheap.
public typealias ProgressHandler = @Sendable (_ done: Int64, _ total: Int64) -> Void

/// Someone who signs a dossier: a signing key, the role it signs in, and a name for people.
public struct DossierSigner: Sendable {
    /// The key that signs; its key id is in the signature's entry name and statement (and,
    /// at sealing, in the manifest's list of signers).
    public let key: SigningKey
    /// The role it signs in, written into the signature's entry name and signed statement.
    public let role: DossierRole
    /// The signer's name for people, in the signed statement (and, at sealing, in the
    /// manifest's list of signers): claimed by the signer, not vouched for by the trust
    /// store. One line; sealing accepts 1…200 characters.
    public let name: String

    /// A signer: `key` signing in `role` under `name`.
    public init(key: SigningKey, role: DossierRole, name: String) {
        self.key = key
        self.role = role
        self.name = name
    }
}

/// Choices for sealing.
public struct SealOptions: Sendable {
    /// The dossier id; by default the source folder's name, or an archive's name without its extension (which must then be a valid id).
    public var dossierID: String?
    /// Metadata to publish in the manifest (visible without a key).
    public var publicMetadata: [String: String]
    /// zstd level for the inner archive, 1…19 (default 3).
    public var compressionLevel: Int
    /// Replace an existing output file (default: refuse).
    public var replaceExisting: Bool
    /// The sealing time; default now.
    public var sealedAt: Date?
    /// The access log that receives the genesis ("sealed") entry; its hash is anchored in
    /// the manifest. Without one the dossier has no anchored history.
    public var log: AccessRecorder?
    /// Progress over the content bytes read.
    public var progress: ProgressHandler?
    /// Stops the seal when cancelled (`DossierCancellation`), with nothing left behind, as
    /// long as the genesis entry is not yet written.
    public var cancellation: DossierCancellation?
    /// The profile the folder must meet; sealing refuses a failing folder unless
    /// `profileOverride` gives a reason (recorded in the manifest and the access log).
    public var profile: DossierProfile?
    /// The reason for sealing a folder that does not meet `profile` (one non-empty line):
    /// recorded in the manifest's profile record (result "overridden") and in the genesis
    /// log entry's `profileOverride` detail. Without it, such a folder is refused with
    /// `.profileNotMet`. Ignored when the folder meets the profile or there is no profile.
    public var profileOverride: String?
    /// Tests only: runs right before the written dossier is renamed into place.
    var beforeRenameForTesting: (@Sendable () -> Void)?
    /// Tests only: the payload size limit instead of format v1's 4 GiB.
    var payloadLimitForTesting: Int64?

    /// Sets each option of the same name; the defaults are those described for each.
    public init(dossierID: String? = nil, publicMetadata: [String: String] = [:], compressionLevel: Int = 3,
                replaceExisting: Bool = false, sealedAt: Date? = nil, log: AccessRecorder? = nil, progress: ProgressHandler? = nil,
                profile: DossierProfile? = nil, profileOverride: String? = nil, cancellation: DossierCancellation? = nil) {
        self.progress = progress
        self.cancellation = cancellation
        self.profile = profile
        self.profileOverride = profileOverride
        self.dossierID = dossierID
        self.publicMetadata = publicMetadata
        self.compressionLevel = compressionLevel
        self.replaceExisting = replaceExisting
        self.sealedAt = sealedAt
        self.log = log
    }
}

/// What sealing produced, after it re-read and verified the written file.
public struct SealReceipt: Sendable {
    /// Where the dossier now is: `output` without trailing slashes.
    public let path: String
    /// The public manifest as written and signed.
    public let manifest: DossierManifest
    /// Size of the written dossier file in bytes (0 if it could not be examined after the rename).
    public let containerBytes: Int64
    /// The verification of the written file (always `.valid` when `seal` returns).
    public let report: VerificationReport
    /// Tests and benchmarks: what the read-ahead of a source folder did (`FolderReadAhead`).
    var sourceReadAhead = FolderReadAhead.Statistics()
}

extension Dossier {
    /// Seals a case folder — or a zip / tar / 7z archive handed in by a case system — into
    /// a `.dossier` file encrypted to `recipients` and signed by `signers`.
    ///
    /// Nothing is lost: the file is written under a temporary name next to `output`,
    /// fsynced, re-read and verified, and only then renamed into place (never over an
    /// existing file unless `options.replaceExisting`). A source file that changes while it
    /// is read, a symlink, a special file or an unsafe or colliding name stops the seal
    /// with a clear error and no output.
    public static func seal(
        _ source: String,
        to recipients: [AgeRecipient],
        signedBy signers: [DossierSigner],
        writingTo output: String,
        options: SealOptions = SealOptions()
    ) throws(DossierError) -> SealReceipt {
        let output = FileSystem.withoutTrailingSlashes(output)
        // Arguments.
        guard !recipients.isEmpty else { throw DossierError(.invalidArgument, "no recipients: nobody could open the dossier", hint: "give at least one recipient") }
        guard !signers.isEmpty else { throw DossierError(.invalidArgument, "no signers: a dossier must be signed", hint: "give at least one signing key") }
        guard (1...19).contains(options.compressionLevel) else { throw DossierError(.invalidArgument, "compression level \(options.compressionLevel) is outside 1…19") }
        for signer in signers {
            guard !signer.name.isEmpty, signer.name.count <= 200, !signer.name.contains(where: { $0.isNewline }) else {
                throw DossierError(.invalidArgument, "signer names must be 1…200 characters on one line")
            }
        }
        guard Set(signers.map(\.key.publicKey.keyID)).count == signers.count else {
            throw DossierError(.invalidArgument, "the same key signs twice")
        }
        guard signers.count <= ContainerFormat.maxSequence else {
            throw DossierError(.invalidArgument, "\(signers.count) signers: a dossier holds at most \(ContainerFormat.maxSequence) signatures",
                               hint: "let fewer keys sign")
        }
        try checkPublicMetadata(options.publicMetadata)
        if let recorder = options.log { try LogEntry.checkPurpose(recorder.purpose) }
        var profileRecord: DossierManifest.ProfileRecord?
        if let profile = options.profile {
            guard isFolderPath(source) else { throw DossierError(.invalidArgument, "profiles check folders; extract the archive first") }
            try profile.checkDisclosure(options.publicMetadata)
            let check = try profile.check(folder: source)
            if !check.passed {
                guard let reason = options.profileOverride, !reason.isEmpty, !reason.contains(where: { $0.isNewline }) else {
                    throw DossierError(.profileNotMet, "the folder does not meet the profile \(profile.id) \(profile.version): \(check.failures.prefix(5).map(\.message).joined(separator: "; "))\(check.failures.count > 5 ? " and \(check.failures.count - 5) more" : "")",
                                       hint: "complete the dossier, or override with a reason (recorded in the manifest and the access log)")
                }
            }
            profileRecord = .init(id: profile.id, version: profile.version, sha256: profile.sha256, result: check.passed ? "passed" : "overridden",
                                  failedRules: check.failures.count, overrideReason: check.passed ? nil : options.profileOverride)
        }
        // The source as given may be a link (to the case folder or archive); what is inside
        // a folder is never followed.
        let info: stat
        do { info = try FileSystem.status(source) } catch { throw DossierError(.source, "\(error)") }
        let isFolder = FileSystem.isDirectory(info)
        guard isFolder || FileSystem.isRegular(info) else {
            throw DossierError(.source, "\(source) is neither a folder nor a zip, tar or 7z archive")
        }
        let id = options.dossierID ?? defaultID(source, isFolder: isFolder)
        guard DossierID.isValid(id) else {
            throw DossierError(.invalidArgument, "\"\(id)\" is not a valid dossier id (1…128 of A-Z a-z 0-9 . _ -, not starting with . or -)", hint: options.dossierID == nil ? "choose an id explicitly (SealOptions.dossierID; --id on the command line)" : nil)
        }
        try checkOutput(output, source: source, isFolder: isFolder, id: id, replaceExisting: options.replaceExisting)
        // A ledger inside the folder would be sealed while it is written to (and get the
        // seal's own entry after it was sealed).
        if isFolder, let log = options.log, isInside(FileSystem.parent(of: log.log.path), source) {
            throw DossierError(.accessLog, "the access log \(log.log.path) is inside the folder being sealed", hint: "keep the access log outside \(source)")
        }
        if let log = options.log, try log.log.head(of: id) != nil {
            throw DossierError(.accessLog, "dossier \(id) already has a history in \(log.log.path)", hint: "an id is sealed once; choose another dossier id (SealOptions.dossierID; --id on the command line)")
        }
        let sealedAt = Int64((options.sealedAt ?? Date()).timeIntervalSince1970)
        FileSystem.removeStaleTemporaries(of: output, tag: "sealing")
        let temporary = FileSystem.temporarySibling(of: output, tag: "sealing")
        do {
            let receipt = try writeSealed(source: source, isFolder: isFolder, id: id, sealedAt: sealedAt, recipients: recipients,
                                          signers: signers, options: options, profile: profileRecord, temporary: temporary, output: output)
            return receipt
        } catch {
            unlink(temporary)
            throw error
        }
    }

    /// Refuses, before anything is written or logged, an output that cannot work: an
    /// existing file (unless replacing), a folder, a missing folder, or a place inside the
    /// folder being sealed (the half-written dossier would be sealed into itself).
    private static func checkOutput(_ output: String, source: String, isFolder: Bool, id: String, replaceExisting: Bool) throws(DossierError) {
        guard !output.isEmpty else { throw DossierError(.output, "the output file name is empty", hint: "give the dossier's file name, e.g. \(id).dossier") }
        do { try FileSystem.requireUsableName(output) } catch { throw DossierError(.output, "\(error)", hint: "choose a shorter name") }
        if let existing = try? FileSystem.lstatus(output) {
            if FileSystem.isDirectory(existing) {
                // Inside the folder being sealed would be refused too: then beside it.
                let inside = isFolder && Self.isInside(output, source)
                let example = (inside ? FileSystem.parent(of: FileSystem.withoutTrailingSlashes(source)) : output) + "/\(id).dossier"
                throw DossierError(.output, "\(output) is a folder; the output is the dossier file", hint: "give a file name, e.g. \(example)")
            }
            if !replaceExisting {
                throw DossierError(.output, "\(output) already exists", hint: "choose another name, or allow replacing it (SealOptions.replaceExisting; --force on the command line)")
            }
        }
        let folder = FileSystem.parent(of: output)
        if let problem = FileSystem.folderProblem(folder) {
            throw DossierError(.output, problem, hint: "give a file name in an existing folder, or create the folder first")
        }
        if isFolder && isInside(folder, source) {
            throw DossierError(.output, "the output \(output) is inside the folder being sealed", hint: "write the dossier outside \(source)")
        }
    }

    /// Whether the folder `path` is `source` or lies below it: by real paths, and by device
    /// and inode of the folders above it (a bind mount of the source elsewhere is the source).
    private static func isInside(_ path: String, _ source: String) -> Bool {
        if let sourceReal = FileSystem.realPath(source), let real = FileSystem.realPath(path), FileSystem.isSameOrBelow(real, sourceReal) {
            return true
        }
        return FileSystem.isSameOrBelowByIdentity(path, source)
    }

    /// The folder's name ("." and ".." resolved), or the archive's name without its extension.
    static func defaultID(_ source: String, isFolder: Bool) -> String {
        var name = FileSystem.lastComponent(of: FileSystem.withoutTrailingSlashes(source))
        if name == "." || name == ".." || name.isEmpty { name = FileSystem.realPath(source).map(FileSystem.lastComponent) ?? name }
        guard !isFolder else { return name }
        for ext in [".tar.gz", ".tar.bz2", ".tar.xz", ".tar.zst", ".tgz", ".tbz2", ".txz", ".tar", ".zip", ".7z"]
        where name.lowercased().hasSuffix(ext) && name.count > ext.count {
            return String(name.dropLast(ext.count))
        }
        return name
    }

    /// True when `path` is a folder (a link to one counts).
    static func isFolderPath(_ path: String) -> Bool {
        (try? FileSystem.status(path)).map(FileSystem.isDirectory) ?? false
    }

    static func checkPublicMetadata(_ metadata: [String: String]) throws(DossierError) {
        if let violation = DossierManifest.Limits.publicMetadataViolation(metadata) {
            throw DossierError(.invalidArgument, "the public metadata has \(violation)")
        }
    }

    private static func writeSealed(source: String, isFolder: Bool, id: String, sealedAt: Int64, recipients: [AgeRecipient],
                                    signers: [DossierSigner], options: SealOptions, profile: DossierManifest.ProfileRecord?,
                                    temporary: String, output: String) throws(DossierError) -> SealReceipt {
        let file: FileSink
        do { file = try FileSink(creating: temporary, mode: 0o644) } catch {
            throw DossierError(.output, "cannot create the output next to \(output): \(error)")
        }
        file.startWritebackEarly()
        let container = try ContainerWriter(sink: file, mtime: sealedAt)
        try container.add(ContainerFormat.mimetypeEntry, Array(ContainerFormat.mimetype.utf8))

        // The payload: pax tar → zstd → age → container entry (streamed, size unknown).
        try container.begin(ContainerFormat.payloadEntry, size: nil)
        let entryStart = file.bytesWritten
        let payloadSink = PayloadDigestSink(forwardingTo: container.entrySink, limit: options.payloadLimitForTesting ?? ContainerFormat.maxContainerBytes)
        let age: AgeEncryptingWriter
        do { age = try AgeEncryptingWriter(to: payloadSink, recipients: recipients) } catch {
            throw DossierError(.invalidArgument, "cannot encrypt to the recipients: \(error)")
        }
        payloadSink.markHeader(length: age.headerByteCount)
        // The verification's read of the payload starts now, behind the writer (if the
        // file cannot be opened a second time, verification reads it at the end instead).
        let readBack = try? ReadBackHasher(path: temporary, crcStart: entryStart, shaStart: entryStart + Int64(age.headerByteCount))
        defer { readBack?.cancel() }
        file.readBack = readBack
        // Encryption, the payload digest and the zip writing run on a second thread.
        let pipeline = PipelinedSink(age, cancellation: options.cancellation)
        // zstd on every core, in 1 MiB jobs: bounded memory whatever the dossier's size.
        let zstd: ZstdSink
        let tar: ArchiveWriter
        do {
            zstd = try ZstdSink(sink: pipeline, level: options.compressionLevel, workers: ProcessInfo.processInfo.activeProcessorCount)
            tar = try ArchiveWriter(format: .paxTar, sink: zstd)
        } catch {
            pipeline.cancel()
            throw DossierError(.output, "cannot start the inner archive: \(error)")
        }
        let content = ContentWriter(tar: tar)
        content.dataObserver = zstd
        if let progress = options.progress {
            content.progress = progress
            content.expectedBytes = isFolder ? ContentWriter.folderSize(source) : Int64((try? FileSystem.lstatus(source).st_size) ?? 0)
        }
        let finished: (manifest: PrivateManifest, sha256: [UInt8])
        do throws(DossierError) {
            if isFolder { try content.addFolder(source) } else { try content.addArchive(source) }
            finished = try content.finish(dossierID: id, mtime: sealedAt)
            do { try zstd.finish() } catch { throw DossierError.cause(of: error) ?? DossierError(.output, "finishing the compression failed: \(error)") }
        } catch {
            tar.abort()
            // The pipeline's own failure comes first: what the walker met may be only its
            // consequence (e.g. "writing scan.bin: …" for a full disk or the payload limit).
            if let failure = pipeline.cancel() {
                throw DossierError.cause(of: failure) ?? DossierError(.output, "writing the payload failed: \(failure)")
            }
            throw error
        }
        let (privateManifest, privateManifestSHA256) = finished
        do { try pipeline.close() } catch {
            throw DossierError.cause(of: error) ?? DossierError(.output, "writing the payload failed: \(error)")
        }
        do { try age.finish() } catch { throw DossierError.cause(of: error) ?? DossierError(.output, "finishing the encryption failed: \(error)") }
        readBack?.setEnd(file.bytesWritten)
        file.readBack = nil
        try container.end()

        // The genesis log entry, anchored in the manifest, stored once the file verified.
        let time = Timestamp.format(sealedAt)
        let bodyDigest = Hex.encode(payloadSink.finishBody())
        let genesis = try options.log.map { (recorder) throws(DossierError) in
            var details = ["files": String(privateManifest.files.count)]
            if let profile {
                details["profile"] = "\(profile.id) \(profile.version) \(profile.result)"
                if let reason = profile.overrideReason { details["profileOverride"] = reason }
            }
            return try LogEntry.make(dossierID: id, sequence: 1, event: .sealed, at: time, actor: recorder.actor, payloadSHA256: bodyDigest,
                                     purpose: recorder.purpose, details: details, previous: LogEntry.zeroHash)
        }

        // The public manifest and the signatures over its exact bytes.
        if let violation = DossierManifest.Limits.violation(
            files: Int64(privateManifest.files.count), directories: Int64(privateManifest.directories.count),
            contentBytes: privateManifest.totalBytes, bodySize: payloadSink.bodySize) {
            throw DossierError(.source, "the content cannot be sealed: it \(violation)",
                               hint: "content this repetitive would be refused when opening; store it compressed (e.g. as a .zst file) or split it")
        }
        let manifest = DossierManifest(
            dossierID: id, sealedAt: time, publicMetadata: options.publicMetadata,
            payloadHeaderSHA256: Hex.encode(payloadSink.headerSHA256), payloadBodySHA256: bodyDigest,
            payloadBodySize: payloadSink.bodySize, fileCount: Int64(privateManifest.files.count),
            directoryCount: Int64(privateManifest.directories.count), contentBytes: privateManifest.totalBytes,
            privateManifestSHA256: Hex.encode(privateManifestSHA256),
            signers: signers.map { .init(keyID: $0.key.publicKey.keyID, role: $0.role, name: $0.name) },
            accessLogGenesisSHA256: genesis?.hash, generator: "swift-dossier \(DossierKit.version)", profile: profile)
        let manifestBytes = manifest.canonicalBytes()
        try container.add(ContainerFormat.manifestEntry, manifestBytes)
        for (index, signer) in signers.enumerated() {
            let statement = SignatureStatement(dossierID: id, role: signer.role, keyID: signer.key.publicKey.keyID, time: time, name: signer.name)
            let signature = try signer.key.sign(manifestBytes, trustedComment: statement.trustedComment)
            let name = ContainerFormat.SignatureName(sequence: index + 1, role: signer.role, keyID: signer.key.publicKey.keyID)
            try container.add(name.entryName, Array(signature.fileText.utf8))
        }
        try container.close()

        // Re-read what was written and verify it before reporting success. The fsync runs
        // at the same time on its own thread (it waits for the device, the verification for
        // the CPU; reading back sees the same bytes before and after it); both must succeed
        // before the file is renamed into place.
        let trust = TrustStore(signers.map { .init(name: $0.name, roles: [$0.role], publicKey: $0.key.publicKey) })
        nonisolated(unsafe) let written = file
        let syncing = BackgroundTask(name: "dossier.fsync") { try written.sync() }
        var report = verify(temporary, trusting: trust, requiringRoles: Set(signers.map(\.role)), identities: [], readBack: readBack)
        do {
            try syncing.wait()
            try file.close()
        } catch { throw DossierError(.output, "writing \(temporary) failed: \(error)") }
        guard report.isValid else {
            throw DossierError(.output, "the written dossier did not verify: \(report.failureSummary)")
        }
        // The last moment a stop asked for can still end the seal with nothing left behind.
        try Interruption.check(options.cancellation)
        if let genesis, let recorder = options.log { try recorder.log.appendGenesis(genesis, cancellation: options.cancellation) }
        // The genesis entry is logged first (a dossier in place always has its history); if
        // the rename then fails — another process made the output meanwhile — the entry
        // stays, naming a dossier that never landed, as after a killed run (SECURITY.md).
        options.beforeRenameForTesting?()
        do {
            if options.replaceExisting { try FileSystem.renameReplacing(temporary, output) } else { try FileSystem.renameNoReplace(temporary, output) }
        } catch {
            throw DossierError(.output, "cannot move the dossier into place: \(error)",
                               hint: options.log == nil ? nil : "its sealed entry is already in the access log; seal again with another id")
        }
        do { try FileSystem.syncDirectory(FileSystem.parent(of: output), renamed: output) } catch {
            throw DossierError(.output, "the dossier is in place at \(output), but its folder could not be made durable: \(error)",
                               hint: "check the file system; the dossier itself was written and verified")
        }
        let size = (try? FileSystem.lstatus(output)).map { Int64($0.st_size) } ?? 0
        report.path = output
        var receipt = SealReceipt(path: output, manifest: manifest, containerBytes: size, report: report)
        receipt.sourceReadAhead = content.readAheadStatistics
        return receipt
    }
}
