#if canImport(Glibc)
import Glibc
#endif

/// Choices for opening.
public struct OpenOptions: Sendable {
    /// Roles that must have valid trusted signatures (default: sealer).
    public var requiredRoles: Set<DossierRole>
    /// Open even when signatures are untrusted or required roles are missing. Integrity
    /// failures are never overridden.
    public var allowUntrusted: Bool
    /// Extract only this document (a path as listed in the private manifest).
    public var only: String?
    /// Progress over the content bytes decrypted (total: the signed content size).
    public var progress: ProgressHandler?
    /// Stops the opening when cancelled (`DossierCancellation`): nothing of the content stays
    /// behind; the `opened` entry stays if it was already written.
    public var cancellation: DossierCancellation?
    /// Space left free on the destination's file system after the content's signed size
    /// (opening is refused up front when it would not fit).
    public static let freeSpaceReserve: Int64 = 64 << 20
    /// Tests only: pretend the destination has this many bytes free.
    var availableBytesForTesting: Int64?
    /// Tests only: pretend the destination's file system can still make this many files and folders.
    var availableInodesForTesting: Int64?
    /// Tests only: extract with absolute paths, as where threads cannot have a working directory of their own.
    var absolutePathsForTesting = false
    /// Tests only: runs between making the staging folder and opening it (to swap it).
    var afterCreatingStagingForTesting: (@Sendable (String) -> Void)?
    /// Tests only: the rename, fsync and syncfs calls that put the content in place (to inject failures).
    var placementCallsForTesting = StagingFolder.Calls.system
    /// Tests only: syncfs while extracting after every this many bytes.
    var writebackStepForTesting = ExtractionThread.defaultWritebackStep
    /// Tests only: this many extraction workers (by default two for small files where there are two cores).
    var extractionThreadsForTesting: Int?

    /// Sets each option of the same name: by default a valid trusted sealer signature is
    /// required, untrusted dossiers are refused, everything is extracted, and no progress
    /// is reported.
    public init(requiredRoles: Set<DossierRole> = [.sealer], allowUntrusted: Bool = false, only: String? = nil,
                progress: ProgressHandler? = nil, cancellation: DossierCancellation? = nil) {
        self.progress = progress
        self.cancellation = cancellation
        self.requiredRoles = requiredRoles
        self.allowUntrusted = allowUntrusted
        self.only = only
    }
}

/// What opening produced.
public struct OpenReceipt: Sendable {
    /// The folder that now holds the content.
    public let destination: String
    /// The verification done before decrypting.
    public let report: VerificationReport
    /// Files written (one with `only`).
    public let filesWritten: Int
    /// Content bytes written into those files.
    public let bytesWritten: Int64
    /// Tests: whether the files were written relative to the staging folder (see `ExtractionThread`).
    let extractedRelative: Bool
    /// Tests: how many extraction workers wrote the files.
    var extractionWorkers = 1
}

extension Dossier {
    /// `text` cut at a character boundary to at most `limit` bytes of UTF-8 (with "…").
    static func clipped(_ text: String, toBytes limit: Int) -> String {
        guard text.utf8.count > limit else { return text }
        // The last character boundary at or before limit − 3 bytes ("…" is 3).
        var end = text.utf8.index(text.utf8.startIndex, offsetBy: limit - 3)
        while end.samePosition(in: text) == nil { end = text.utf8.index(before: end) }
        return text[..<end] + "…"
    }

    /// Opens a dossier with `identities` into the new folder `destination`.
    ///
    /// Signatures are authenticated first (untrusted ones are refused unless
    /// `options.allowUntrusted`); then the payload is decrypted and extracted into a staging
    /// folder beside `destination`, with libarchive's safety flags and this library's own
    /// path rules (no "..", absolute paths, links, devices, setuid bits, duplicate or
    /// colliding names). Every file is checked against the private manifest and the
    /// payload against the signed digests; only then is the staging folder renamed to
    /// `destination`. On any failure nothing is left behind. The folder is mode 0700.
    ///
    /// The opening is recorded in the access log — signed by `recorder.actor`, written to
    /// disk — after the signatures are checked and before a single byte is decrypted. If the
    /// log cannot be written (missing, read-only, history that does not match the dossier's
    /// anchor), nothing is opened.
    public static func open(
        _ path: String,
        with identities: [AgeIdentity],
        into destination: String,
        trusting trust: TrustStore,
        recordingTo recorder: AccessRecorder,
        options: OpenOptions = OpenOptions()
    ) throws(DossierError) -> OpenReceipt {
        guard !identities.isEmpty else { throw DossierError(.invalidArgument, "no identities given", hint: "give the identity file of a recipient") }
        let destination = FileSystem.withoutTrailingSlashes(destination)
        guard !destination.isEmpty else { throw DossierError(.output, "the destination folder's name is empty", hint: "give the name of a new folder to open into") }
        guard !FileSystem.exists(destination) else {
            throw DossierError(.output, "\(destination) already exists", hint: "open into a new folder")
        }
        do { try FileSystem.requireUsableName(destination) } catch { throw DossierError(.output, "\(error)", hint: "choose a shorter name") }
        if let only = options.only { try checkDocumentPath(only, "the document to open (OpenOptions.only; --only on the command line)") }
        // 1. Authenticate before decrypting anything.
        let (container, manifest, payload, report) = try authenticate(path, trusting: trust, options: options)

        // Room for the content (with its signed size and counts) before anything is logged or written.
        let needed = options.only == nil ? manifest.contentBytes : 0
        let at = FileSystem.parent(of: destination)
        if let available = options.availableBytesForTesting ?? FileSystem.availableBytes(at: at),
           needed > available - min(available, OpenOptions.freeSpaceReserve) {
            throw DossierError(.output, "opening needs \(needed) bytes and keeps \(OpenOptions.freeSpaceReserve >> 20) MiB free, but only \(available) bytes are free at \(at)",
                               hint: "free space or open into another folder")
        }
        // One inode per file and folder, and the staging folder (one document: it and its folders).
        let entries = options.only.map { Int64(FileSystem.components(of: $0).count + 1) } ?? manifest.fileCount + manifest.directoryCount + 1
        if let inodes = options.availableInodesForTesting ?? FileSystem.availableInodes(at: at), entries > inodes {
            throw DossierError(.output, "opening makes \(entries) files and folders, but the file system at \(at) can only make \(inodes) more",
                               hint: "free inodes (remove files) or open into another file system")
        }

        // Nothing that is sure to fail is logged: the key must fit (the file key is only
        // unwrapped, nothing is decrypted) and the (empty, private) staging folder must exist.
        let fileKey = try ContentReader.fileKey(payload.header, identities: identities)
        let folder = FileSystem.parent(of: destination)
        if let problem = FileSystem.folderProblem(folder) {
            throw DossierError(.output, problem, hint: "open into a new folder inside an existing one, or create that folder first")
        }
        // Without a working directory of its own, the extraction workers write by absolute
        // paths through the staging folder's name, which anyone who can rename entries in
        // its folder could redirect: then only into a folder nobody else can change.
        let absolutePathsAllowed = options.absolutePathsForTesting || !ExtractionThread.privateWorkingDirectoryAvailable
        if absolutePathsAllowed { try Dossier.requireUnsharedFolder(folder) }
        FileSystem.removeStaleTemporaries(of: destination, tag: "opening")
        let staging: StagingFolder
        do {
            staging = try StagingFolder(beside: destination, tag: "opening", calls: options.placementCallsForTesting,
                                        afterCreatingForTesting: options.afterCreatingStagingForTesting)
        } catch {
            throw DossierError(.output, "cannot create a staging folder beside \(destination): \(error)")
        }
        do throws(DossierError) {
            // 2. On record before any plaintext exists (fail closed).
            try recordOpening(manifest, report, document: options.only, recorder: recorder, cancellation: options.cancellation)

            // 3. Decrypt into the staging folder; move it into place only when everything checked out.
            // One document needs one worker; many small files get more, unless the workers may
            // write by absolute paths (they would take turns: one is as fast).
            let threads = options.extractionThreadsForTesting
                ?? (options.only == nil && !absolutePathsAllowed
                    ? ExtractionThread.threads(entries: manifest.fileCount + manifest.directoryCount, bytes: manifest.contentBytes) : 1)
            let sink = ExtractingSink(root: staging.root, descriptor: staging.descriptor, only: options.only,
                                      privateWorkingDirectory: !options.absolutePathsForTesting, absolutePathsAllowed: absolutePathsAllowed,
                                      threads: threads, writebackStep: options.writebackStepForTesting, calls: options.placementCallsForTesting)
            defer { sink.cancel() }
            let result = try ContentReader.read(container, manifest, header: payload.header, headerLength: payload.headerLength,
                                                fileKey: fileKey, into: sink, progress: options.progress,
                                                cancellation: options.cancellation)
            try sink.close()
            if let only = options.only, !sink.wroteOnly {
                throw DossierError(.invalidArgument, "the dossier has no document \"\(only)\"")
            }
            do { try staging.moveIntoPlace(as: destination) } catch {
                throw DossierError(.output, staging.moved ? "\(error)" : "cannot move the opened content into place: \(error)")
            }
            staging.close()
            return OpenReceipt(destination: destination, report: contentChecked(report, result), filesWritten: sink.filesWritten, bytesWritten: sink.bytesWritten,
                               extractedRelative: sink.usedPrivateWorkingDirectory, extractionWorkers: sink.workers)
        } catch {
            let left = staging.remove()
            guard left.isEmpty else {
                throw DossierError(error.kind, "\(error.reason) (and the staging folder could not be removed completely: \(left))", hint: error.hint)
            }
            throw error
        }
    }

    /// Refuses a document path (`what` names where it came from) that no dossier can hold.
    static func checkDocumentPath(_ document: String, _ what: String) throws(DossierError) {
        do { _ = try DossierPath.validate(Array(document.utf8)) } catch { throw DossierError(.invalidArgument, "\(what): \(error)") }
    }

    /// Step 1 of every opening: the container's structure, the signatures, the transfer
    /// records and the payload header are checked, and trust as `options` asks, before
    /// anything is logged or decrypted.
    static func authenticate(_ path: String, trusting trust: TrustStore, options: OpenOptions)
        throws(DossierError) -> (ContainerReader, DossierManifest, PayloadFacts, VerificationReport) {
        var report = VerificationReport(path: path)
        report.requiredRoles = options.requiredRoles.sorted()
        guard let (container, manifest) = checkStructure(path, into: &report) else {
            throw structureFailure(report, "verification failed")
        }
        checkSignatures(container, manifest, trust: trust, requiredRoles: options.requiredRoles, into: &report)
        let chain = checkTransfers(container, manifest, trust: trust, into: &report)
        guard let payload = checkPayload(container, manifest, acceptedHeaders: chain, hashBody: false, into: &report) else {
            throw DossierError(.payload, "verification failed: \(report.failureSummary)")
        }
        switch report.status {
        case .invalid:
            throw DossierError(.signature, "verification failed: \(report.failureSummary)")
        case .untrusted where !options.allowUntrusted:
            throw DossierError(.untrusted, "the dossier is intact but not trusted: \(report.failureSummary)",
                               hint: "add the signer's key to the trust file, or allow untrusted signers explicitly")
        default:
            return (container, manifest, payload, report)
        }
    }

    /// Step 2 of every opening: the `opened` entry, before any plaintext exists (fail
    /// closed). `listing`: only the documents' names are listed (`contents: listed`).
    static func recordOpening(_ manifest: DossierManifest, _ report: VerificationReport, document: String?,
                              recorder: AccessRecorder, cancellation: DossierCancellation?,
                              listing: Bool = false) throws(DossierError) {
        var details: [String: String] = [:]
        if let document { details["document"] = document }
        if listing { details["contents"] = "listed" }
        // Bounded: whoever can write the file can add any number of untrusted signatures.
        if report.status == .untrusted { details["untrustedAllowed"] = Self.clipped(report.failureSummary, toBytes: 2_000) }
        // A stop asked for before now ends the opening unlogged (nothing was decrypted).
        try Interruption.check(cancellation)
        try recorder.record(.opened, for: manifest, details: details, cancellation: cancellation)
    }

    /// `report` with the content check an opening made (`result`) passed.
    static func contentChecked(_ report: VerificationReport, _ result: ContentReader.Result) -> VerificationReport {
        var checked = report
        checked.content = .init(filesChecked: result.filesChecked, bytesChecked: result.bytesChecked, problems: [])
        checked.pass("content", "\(result.filesChecked) files (\(result.bytesChecked) bytes) match the private manifest")
        return checked
    }

    /// An opening that writes no folder (`read`, `list`): authenticated, the file key
    /// unwrapped (what is sure to fail is not logged), the `opened` entry recorded, then the
    /// whole payload decrypted into `sink` and checked against the private manifest.
    static func decryptRecorded(_ path: String, with identities: [AgeIdentity], trusting trust: TrustStore,
                                recordingTo recorder: AccessRecorder, options: OpenOptions, document: String?,
                                listing: Bool, into sink: ContentSink) throws(DossierError) -> (VerificationReport, ContentReader.Result) {
        guard !identities.isEmpty else { throw DossierError(.invalidArgument, "no identities given", hint: "give the identity file of a recipient") }
        let (container, manifest, payload, report) = try authenticate(path, trusting: trust, options: options)
        let fileKey = try ContentReader.fileKey(payload.header, identities: identities)
        try recordOpening(manifest, report, document: document, recorder: recorder, cancellation: options.cancellation, listing: listing)
        let result = try ContentReader.read(container, manifest, header: payload.header, headerLength: payload.headerLength,
                                            fileKey: fileKey, into: sink, progress: options.progress, cancellation: options.cancellation)
        return (contentChecked(report, result), result)
    }

    /// Refuses a folder others could rename entries in: not owned by this user or root,
    /// or writable by group or others without the sticky bit.
    static func requireUnsharedFolder(_ folder: String) throws(DossierError) {
        let info: stat
        do { info = try FileSystem.status(folder) } catch { throw DossierError(.output, "\(error)") }
        let ownerOK = info.st_uid == geteuid() || info.st_uid == 0
        let sticky = info.st_mode & mode_t(S_ISVTX) != 0
        guard ownerOK, info.st_mode & 0o022 == 0 || sticky else {
            throw DossierError(.output, "cannot open safely into \(folder): others can rename entries there, and this system does not let the extraction thread have a working directory of its own (unshare refused)",
                               hint: "open into a folder only you can write, or allow unshare(CLONE_FS) in the container's seccomp profile")
        }
    }
}

/// Hands decrypted content to an `ExtractionThread` (its workers) writing below the staging folder.
final class ExtractingSink: ContentSink {
    private let only: String?
    private let writer: ExtractionThread
    private(set) var filesWritten = 0
    private(set) var bytesWritten: Int64 = 0
    private(set) var wroteOnly = false

    init(root: String, descriptor: Int32, only: String?, privateWorkingDirectory: Bool, absolutePathsAllowed: Bool,
         threads: Int = 1, writebackStep: Int = ExtractionThread.defaultWritebackStep,
         calls: StagingFolder.Calls = .system) {
        self.only = only
        writer = ExtractionThread(root: root, descriptor: descriptor, privateWorkingDirectory: privateWorkingDirectory,
                                  absolutePathsAllowed: absolutePathsAllowed, threads: threads, writebackStep: writebackStep, calls: calls)
    }

    /// Whether the files were written relative to the extraction workers' own working directories.
    var usedPrivateWorkingDirectory: Bool { writer.usedPrivateWorkingDirectory }
    /// How many extraction workers write.
    var workers: Int { writer.threads }

    func directory(_ path: String, permissions: UInt32, mtime: Int64) throws(DossierError) {
        guard only == nil else { return }
        // FORMAT.md §2: what the tar says is a sealer's word, not the reader's: folders 0755.
        try writer.directory(path, permissions: ContentWriter.permissions(permissions, directory: true), mtime: mtime)
    }

    func beginFile(_ path: String, size: Int64, permissions: UInt32, mtime: Int64) throws(DossierError) -> Bool {
        guard only == nil || only == path else { return false }
        // Files 0644, or 0755 with any execute bit (FORMAT.md §2).
        try writer.beginFile(path, size: size, permissions: ContentWriter.permissions(permissions, directory: false), mtime: mtime)
        if only != nil { wroteOnly = true }
        return true
    }

    func fileData(_ bytes: UnsafeRawBufferPointer) throws(DossierError) {
        try writer.fileData(bytes)
        bytesWritten += Int64(bytes.count)
    }

    func endFile() throws(DossierError) {
        try writer.endFile()
        filesWritten += 1
    }

    /// Waits until everything is on disk; throws what the extraction workers met.
    func close() throws(DossierError) {
        try writer.finish()
    }

    /// Stops the extraction workers and waits for them (before the staging folder is removed).
    func cancel() {
        writer.cancel()
    }
}
