/// What a dossier holds, as its private manifest lists it (`Dossier.list`).
public struct DossierContents: Sendable {
    /// One document (a file of the sealed folder).
    public struct Document: Sendable, Equatable {
        /// Its path inside the dossier (what `Dossier.read` and `OpenOptions.only` take).
        public let path: String
        /// Its size in bytes.
        public let size: Int64
        /// Its SHA-256, lowercase hex (checked against its content while listing).
        public let sha256: String
        /// Its media type as the sealer recorded it (e.g. `application/pdf`; FORMAT.md §2.1:
        /// informational, not checked).
        public let mediaType: String
        /// Its modification time as its tar entry holds it (what `open` gives the file and
        /// `read` returns; seconds since 1970).
        public let modificationTime: Int64
        /// Whether it is opened executable (0755 rather than 0644: its tar entry has an
        /// execute bit, as `open` decides).
        public let isExecutable: Bool
    }

    /// The documents, in the private manifest's order (the order they were sealed in).
    public let documents: [Document]
    /// The folders, empty ones included.
    public let folders: [String]
    /// The verification done before decrypting, with the content check's result.
    public let report: VerificationReport
}

extension Dossier {
    /// Lists a dossier's documents — paths, sizes, media types, digests — without releasing
    /// any of them: for choosing the one to `read` or to open alone.
    ///
    /// The names are inside the encryption, so listing is an access: it is checked and
    /// recorded as `open` is (signatures, transfer records and trust first, as `options`
    /// asks; then an `opened` entry with the detail `contents: listed`, signed by
    /// `recorder.actor`, before anything is decrypted; nothing when the log cannot be
    /// written). The whole payload is then
    /// decrypted and every file checked against the private manifest (the list is what was
    /// sealed and signed, not what a damaged payload claims); no content is kept.
    /// `options.only` must be nil.
    /// - Throws: as `open` (`.container`, `.signature`, `.untrusted`, `.noIdentity`,
    ///   `.accessLog`, `.payload`, `.content`, `.interrupted`, `.io`), `.invalidArgument`.
    public static func list(
        _ path: String,
        with identities: [AgeIdentity],
        trusting trust: TrustStore,
        recordingTo recorder: AccessRecorder,
        options: OpenOptions = OpenOptions()
    ) throws(DossierError) -> DossierContents {
        guard options.only == nil else {
            throw DossierError(.invalidArgument, "OpenOptions.only has no meaning when listing", hint: "leave it empty")
        }
        let entries = EntrySink()
        let (report, result) = try decryptRecorded(path, with: identities, trusting: trust, recordingTo: recorder, options: options,
                                                   document: nil, listing: true, into: entries)
        let listed = try PrivateManifest(canonical: result.privateManifest)
        return DossierContents(
            // Mode and time from the tar, as `open` uses them (the private manifest's are the
            // sealer's word: FORMAT.md §2); size and digest were checked against both.
            documents: listed.files.map {
                let entry = entries.files[$0.path]
                return .init(path: $0.path, size: $0.size, sha256: $0.sha256, mediaType: $0.mediaType,
                             modificationTime: entry?.mtime ?? $0.mtime, isExecutable: (entry?.permissions ?? $0.mode) & 0o111 != 0)
            },
            folders: listed.directories.map(\.path), report: report)
    }
}

/// Keeps each file's permissions and time as its tar entry gives them, and no data (`Dossier.list`).
final class EntrySink: ContentSink {
    private(set) var files: [String: (permissions: UInt32, mtime: Int64)] = [:]

    func directory(_ path: String, permissions: UInt32, mtime: Int64) throws(DossierError) {}
    func beginFile(_ path: String, size: Int64, permissions: UInt32, mtime: Int64) throws(DossierError) -> Bool {
        files[path] = (permissions, mtime)
        return false
    }
    func fileData(_ bytes: UnsafeRawBufferPointer) throws(DossierError) {}
    func endFile() throws(DossierError) {}
}
