/// Writes a `.dossier` container through libarchive's zip writer: stored entries, in order.
final class ContainerWriter {
    private let archive: ArchiveWriter
    private let mtime: Int64
    private var open = false

    init(sink: ByteSink, mtime: Int64) throws(DossierError) {
        self.mtime = mtime
        do {
            archive = try ArchiveWriter(format: .zipStored, sink: sink)
        } catch {
            throw DossierError(.output, "cannot start the container: \(error)")
        }
    }

    /// Adds a whole entry of known content.
    func add(_ name: String, _ bytes: [UInt8]) throws(DossierError) {
        try begin(name, size: Int64(bytes.count))
        try withBytes(bytes) { (raw) throws(DossierError) in try write(raw) }
        try end()
    }

    /// Starts an entry; `size` nil streams it (the size is not known yet).
    func begin(_ name: String, size: Int64?) throws(DossierError) {
        precondition(!open)
        do {
            try archive.writeHeader(path: name, isDirectory: false, size: size, permissions: 0o644, mtime: mtime)
        } catch {
            throw DossierError(.output, "writing container entry \(name) failed: \(error)")
        }
        open = true
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws(DossierError) {
        do { try archive.writeData(bytes) } catch {
            if let underlying = error.underlying as? DossierError { throw underlying }
            throw DossierError(.output, "writing the container failed: \(error)")
        }
    }

    func end() throws(DossierError) {
        precondition(open)
        open = false
        do { try archive.finishEntry() } catch { throw DossierError(.output, "finishing a container entry failed: \(error)") }
    }

    func close() throws(DossierError) {
        do { try archive.close() } catch { throw DossierError(.output, "closing the container failed: \(error)") }
    }

    /// The current entry as a byte sink.
    var entrySink: ByteSink { EntrySink(self) }

    private final class EntrySink: ByteSink {
        let writer: ContainerWriter
        init(_ writer: ContainerWriter) { self.writer = writer }
        func write(_ bytes: UnsafeRawBufferPointer) throws { try writer.write(bytes) }
    }
}

/// Forwards the age payload into the container while hashing the header and the body
/// separately and enforcing the size limit.
final class PayloadDigestSink: ByteSink {
    private let target: ByteSink
    private var first: [UInt8]?
    private let body = DigestContext(.sha256)
    private(set) var headerSHA256: [UInt8] = []
    private(set) var bodySize: Int64 = 0
    private var total: Int64 = 0
    private let limit: Int64

    init(forwardingTo target: ByteSink, limit: Int64 = ContainerFormat.maxContainerBytes) {
        self.target = target
        self.limit = limit
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        total += Int64(bytes.count)
        guard total <= limit else {
            throw DossierError(.invalidArgument, "the sealed payload would exceed 4 GiB, the limit of format v1",
                               hint: "split the case folder into several dossiers")
        }
        if headerSHA256.isEmpty && first == nil {
            first = Array(bytes)
        } else {
            body.update(bytes)
            bodySize += Int64(bytes.count)
        }
        try target.write(bytes)
    }

    /// Called once the age writer has written its header (the first write): splits it.
    func markHeader(length: Int) {
        let first = self.first ?? []
        precondition(first.count >= length)
        headerSHA256 = SHA256.hash(Array(first[0..<length]))
        body.update(Array(first[length...]))
        bodySize += Int64(first.count - length)
        self.first = nil
    }

    func finishBody() -> [UInt8] { body.finalize() }
}
