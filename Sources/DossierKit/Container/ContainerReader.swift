/// Reads a `.dossier` container: validates the zip framing and the entry rules, and gives
/// access to the entries. It trusts nothing: signatures and digests are checked by `verify`.
final class ContainerReader {
    let file: RandomAccessFile
    let layout: ZipLayout
    let payload: ZipLayout.Entry
    let manifestBytes: [UInt8]
    /// Signature entries in container order.
    let signatures: [(name: ContainerFormat.SignatureName, entry: ZipLayout.Entry, text: [UInt8])]
    /// Transfer records in order: the JSON and its signature.
    let transfers: [(sequence: Int, record: [UInt8], signature: [UInt8], entries: [ZipLayout.Entry])]

    init(path: String) throws(DossierError) {
        do { file = try RandomAccessFile(path: path) } catch { throw DossierError(.io, "\(error)") }
        guard file.size <= ContainerFormat.maxContainerBytes + (64 << 20) else {
            throw DossierError(.container, "\(path) is larger than format v1 allows (4 GiB)")
        }
        do { layout = try ZipLayout.read(file) } catch {
            throw DossierError(.container, "\(path) is not a well-formed dossier container: \(error)")
        }
        let entries = layout.entries
        func fail(_ reason: String) -> DossierError { DossierError(.container, reason) }
        guard entries.count >= 4 else { throw fail("the container has \(entries.count) entries; a sealed dossier has at least 4 (mimetype, payload, manifest, a signature)") }
        guard entries[0].name == ContainerFormat.mimetypeEntry else { throw fail("the first entry is \"\(entries[0].name)\", not \"mimetype\"") }
        guard entries[1].name == ContainerFormat.payloadEntry else { throw fail("the second entry is \"\(entries[1].name)\", not \"payload.age\"") }
        guard entries[2].name == ContainerFormat.manifestEntry else { throw fail("the third entry is \"\(entries[2].name)\", not \"META-INF/manifest.json\"") }
        let mimetype = try Self.read(file, entries[0], limit: 256, what: "mimetype")
        guard mimetype == Array(ContainerFormat.mimetype.utf8) else { throw fail("the mimetype entry is not \"\(ContainerFormat.mimetype)\"") }
        guard entries[0].mtime == entries[1].mtime, entries[1].mtime == entries[2].mtime else {
            throw fail("the first three entries have different timestamps")
        }
        payload = entries[1]
        manifestBytes = try Self.read(file, entries[2], limit: DossierManifest.maxBytes, what: "META-INF/manifest.json")

        var signatures: [(ContainerFormat.SignatureName, ZipLayout.Entry, [UInt8])] = []
        var transfers: [(Int, [UInt8], [UInt8], [ZipLayout.Entry])] = []
        var index = 3
        while index < entries.count {
            let entry = entries[index]
            if let name = ContainerFormat.SignatureName(entryName: entry.name) {
                guard name.sequence == signatures.count + 1 else {
                    throw fail("signature \(entry.name) is out of sequence (expected number \(signatures.count + 1))")
                }
                signatures.append((name, entry, try Self.read(file, entry, limit: ContainerFormat.maxSignatureBytes, what: entry.name)))
                index += 1
            } else if entry.name == ContainerFormat.transferName(transfers.count + 1) {
                guard index + 1 < entries.count, entries[index + 1].name == entry.name + ".minisig" else {
                    throw fail("transfer record \(entry.name) is not followed by its signature \(entry.name).minisig")
                }
                let record = try Self.read(file, entry, limit: ContainerFormat.maxTransferBytes, what: entry.name)
                let signature = try Self.read(file, entries[index + 1], limit: ContainerFormat.maxSignatureBytes, what: entries[index + 1].name)
                transfers.append((transfers.count + 1, record, signature, [entry, entries[index + 1]]))
                index += 2
            } else {
                throw fail("unexpected entry \"\(entry.name)\" (only signatures META-INF/signatures/NN-ROLE-KEYID.minisig and transfer records META-INF/transfers/NN.json may follow the manifest)")
            }
        }
        guard !signatures.isEmpty else { throw DossierError(.signature, "the dossier has no signatures") }
        self.signatures = signatures.map { (name: $0.0, entry: $0.1, text: $0.2) }
        self.transfers = transfers.map { (sequence: $0.0, record: $0.1, signature: $0.2, entries: $0.3) }
    }

    /// Reads a small entry whole, checking its CRC-32.
    static func read(_ file: RandomAccessFile, _ entry: ZipLayout.Entry, limit: Int, what: String) throws(DossierError) -> [UInt8] {
        guard entry.size <= Int64(limit) else { throw DossierError(.container, "\(what) is larger than \(limit) bytes") }
        let bytes: [UInt8]
        do { bytes = try file.read(at: entry.dataOffset, count: Int(entry.size)) } catch { throw DossierError(.io, "\(error)") }
        guard bytes.count == Int(entry.size) else { throw DossierError(.container, "\(what) is truncated") }
        guard CRC32.checksum(bytes) == entry.crc32 else { throw DossierError(.container, "\(what) does not match its CRC-32") }
        return bytes
    }

    /// The payload entry as a byte source (the CRC is checked by whoever reads it to the end).
    func payloadSource() -> ByteSource { file.source(offset: payload.dataOffset, length: payload.size) }
}
