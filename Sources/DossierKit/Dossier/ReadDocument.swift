/// One document of a dossier, read into memory by `Dossier.read`.
public struct OpenedDocument: Sendable {
    /// The document's path inside the dossier (as asked for).
    public let path: String
    /// Its content, released only after the whole payload authenticated and every file
    /// matched the private manifest. Plaintext: keep it no longer than needed (DossierKit
    /// wipes its own copies; this one is the caller's).
    public let bytes: [UInt8]
    /// Its modification time as sealed (seconds since 1970).
    public let modificationTime: Int64
    /// The verification done before decrypting, with the content check's result.
    public let report: VerificationReport
}

extension Dossier {
    /// The most `read` holds in memory unless told otherwise: 256 MiB.
    public static let defaultMaxDocumentBytes = 256 << 20

    /// Opens one document of a dossier into memory instead of into a folder: for an
    /// application that shows or forwards a document without writing its plaintext to disk.
    ///
    /// Everything `open` does happens in the same order: signatures, transfer records and
    /// trust are checked first (`options.requiredRoles`, `options.allowUntrusted`); the
    /// opening is recorded in the access log — an `opened` entry naming the document, signed
    /// by `recorder.actor` — before a byte is decrypted, and nothing is read when the log
    /// cannot be written; then the whole payload is decrypted and checked against the
    /// private manifest and the signed digests. The document's bytes are returned only when
    /// all of that passed; on any failure they are wiped and nothing is returned.
    ///
    /// A path no dossier can hold is refused before anything is logged; a document the
    /// dossier does not hold, or one larger than `maxBytes`, is found only while decrypting
    /// (its size is inside the encryption): the `opened` entry then stays on record and the
    /// call throws `.invalidArgument` — once the whole payload authenticated (damage is
    /// reported as damage). `options.only` must be nil or `document`.
    ///
    /// The returned buffer is the caller's; DossierKit wipes the one it filled when it
    /// returns nothing. The decompressor's and the tar reader's working buffers (as in every
    /// opening) are freed without being wiped.
    /// - Throws: as `open` (`.container`, `.signature`, `.untrusted`, `.noIdentity`,
    ///   `.accessLog`, `.payload`, `.content`, `.interrupted`, `.io`), and
    ///   `.invalidArgument` for the document's path or size.
    public static func read(
        _ document: String,
        from path: String,
        with identities: [AgeIdentity],
        trusting trust: TrustStore,
        recordingTo recorder: AccessRecorder,
        options: OpenOptions = OpenOptions(),
        maxBytes: Int = Dossier.defaultMaxDocumentBytes
    ) throws(DossierError) -> OpenedDocument {
        try checkDocumentPath(document, "the document to read")
        if let only = options.only, only != document {
            throw DossierError(.invalidArgument, "OpenOptions.only names \(only), not the document to read (\(document))",
                               hint: "leave OpenOptions.only empty when reading a document")
        }
        guard maxBytes >= 0 else { throw DossierError(.invalidArgument, "the most bytes to read is negative (\(maxBytes))") }
        return try read(document, from: path, with: identities, trusting: trust, recordingTo: recorder, options: options,
                        into: DocumentSink(document: document, maxBytes: maxBytes))
    }

    /// `read` into a given sink (tests look at it after a failure).
    static func read(
        _ document: String, from path: String, with identities: [AgeIdentity], trusting trust: TrustStore,
        recordingTo recorder: AccessRecorder, options: OpenOptions = OpenOptions(), into sink: DocumentSink
    ) throws(DossierError) -> OpenedDocument {
        do throws(DossierError) {
            let (report, _) = try decryptRecorded(path, with: identities, trusting: trust, recordingTo: recorder, options: options,
                                                  document: document, listing: false, into: sink)
            try sink.finish()
            return OpenedDocument(path: document, bytes: sink.take(), modificationTime: sink.modificationTime, report: report)
        } catch {
            sink.wipe()
            throw error
        }
    }
}

/// Keeps one document's decrypted bytes in memory (`Dossier.read`).
final class DocumentSink: ContentSink {
    private let document: String
    private let maxBytes: Int
    private var bytes: [UInt8] = []
    private(set) var found = false
    private(set) var modificationTime: Int64 = 0
    /// The size of the document when it is larger than `maxBytes` (its data is skipped).
    private var tooLarge: Int64?

    init(document: String, maxBytes: Int) {
        self.document = document
        self.maxBytes = maxBytes
    }

    func directory(_ path: String, permissions: UInt32, mtime: Int64) throws(DossierError) {}

    func beginFile(_ path: String, size: Int64, permissions: UInt32, mtime: Int64) throws(DossierError) -> Bool {
        guard path == document else { return false }
        found = true
        modificationTime = mtime
        // Refused only once the whole payload authenticated (`finish`): a damaged dossier
        // is reported as damaged. Its data is skipped (the reader still hashes it).
        guard size <= Int64(maxBytes) else {
            tooLarge = size
            return false
        }
        // The signed bounds and the tar reader hold the data to `size`; reserved once, never
        // grown (a grown array would leave copies of the plaintext behind unwiped).
        bytes.reserveCapacity(Int(size))
        return true
    }

    func fileData(_ data: UnsafeRawBufferPointer) throws(DossierError) {
        try checkSize(Int64(bytes.count) + Int64(data.count))
        bytes.append(contentsOf: data)
    }

    func endFile() throws(DossierError) {}

    private func checkSize(_ size: Int64) throws(DossierError) {
        guard size > Int64(maxBytes) else { return }
        throw DossierError(.invalidArgument, "the document \(document) holds \(size) bytes, more than the \(maxBytes) this reading may keep in memory",
                           hint: "open it into a folder instead (Dossier.open with OpenOptions.only; --only with a folder on the command line)")
    }

    /// After the whole payload authenticated: throws unless the document was found and kept.
    func finish() throws(DossierError) {
        guard found else { throw DossierError(.invalidArgument, "the dossier has no document \"\(document)\"") }
        if let tooLarge { try checkSize(tooLarge) }
    }

    /// The document's bytes (the sink keeps none).
    func take() -> [UInt8] {
        defer { bytes = [] }
        return bytes
    }

    /// Overwrites what was read (a failed reading releases nothing).
    func wipe() {
        secureWipe(&bytes)
    }
}
