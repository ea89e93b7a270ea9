import Dispatch
#if canImport(Glibc)
import Glibc
#endif
import Synchronization
/// Transfer records, `META-INF/transfers/NN.json`: who re-wrapped the payload for new
/// recipients, chaining the age header digests from the sealed one to the current one.
struct TransferRecord: Sendable, Equatable {
    static let format = "dossier-transfer/1"
    let dossierID: String
    let sequence: Int
    let at: String
    let previousHeaderSHA256: String
    let headerSHA256: String
    let bodySHA256: String
    let recipientCount: Int
    let byKeyID: String
    let byName: String
    let reason: String

    func json() -> JSONValue {
        .object([
            "format": .string(Self.format), "dossierId": .string(dossierID), "sequence": .integer(Int64(sequence)),
            "at": .string(at), "previousHeaderSHA256": .string(previousHeaderSHA256), "headerSHA256": .string(headerSHA256),
            "bodySHA256": .string(bodySHA256), "recipients": .integer(Int64(recipientCount)),
            "by": .object(["keyId": .string(byKeyID), "name": .string(byName)]), "reason": .string(reason),
        ])
    }

    init(dossierID: String, sequence: Int, at: String, previousHeaderSHA256: String, headerSHA256: String, bodySHA256: String,
         recipientCount: Int, byKeyID: String, byName: String, reason: String) {
        self.dossierID = dossierID
        self.sequence = sequence
        self.at = at
        self.previousHeaderSHA256 = previousHeaderSHA256
        self.headerSHA256 = headerSHA256
        self.bodySHA256 = bodySHA256
        self.recipientCount = recipientCount
        self.byKeyID = byKeyID
        self.byName = byName
        self.reason = reason
    }

    init(canonical bytes: [UInt8]) throws(DossierError) {
        let value: JSONValue
        do { value = try JSONValue.parseCanonical(bytes, maxDepth: 4, maxBytes: ContainerFormat.maxTransferBytes) } catch {
            throw DossierError(.manifest, "a transfer record is not canonical JSON: \(error)")
        }
        guard let o = value.objectValue,
              Set(o.keys) == ["format", "dossierId", "sequence", "at", "previousHeaderSHA256", "headerSHA256", "bodySHA256", "recipients", "by", "reason"],
              o["format"]?.stringValue == Self.format, let id = o["dossierId"]?.stringValue,
              let sequence = o["sequence"]?.integerValue, sequence >= 1, sequence <= 99,
              let at = o["at"]?.stringValue, Timestamp.isValid(at),
              let previous = o["previousHeaderSHA256"]?.stringValue, Hex.isSHA256(previous),
              let header = o["headerSHA256"]?.stringValue, Hex.isSHA256(header),
              let body = o["bodySHA256"]?.stringValue, Hex.isSHA256(body),
              let recipients = o["recipients"]?.integerValue, recipients >= 1, recipients <= 10_000,
              let by = o["by"]?.objectValue, Set(by.keys) == ["keyId", "name"],
              let keyID = by["keyId"]?.stringValue, Hex.isKeyID(keyID), let name = by["name"]?.stringValue,
              let reason = o["reason"]?.stringValue
        else { throw DossierError(.manifest, "a transfer record is malformed") }
        // As a re-wrap writes it (`Dossier.rewrap`): one line of at most 4096 bytes.
        guard !reason.contains(where: \.isNewline), reason.utf8.count <= 4096 else {
            throw DossierError(.manifest, "a transfer record's reason is not one line of at most 4096 bytes")
        }
        self.init(dossierID: id, sequence: Int(sequence), at: at, previousHeaderSHA256: previous, headerSHA256: header,
                  bodySHA256: body, recipientCount: Int(recipients), byKeyID: keyID, byName: name, reason: reason)
    }
}

extension Dossier {
    /// Verifies a sealed dossier with public keys only and reports every check.
    ///
    /// Checks, in order: the container is well-formed (every framing byte accounted for);
    /// the public manifest is canonical JSON of a known version; each signature verifies
    /// over the exact manifest bytes and whether its key is trusted for its role; the
    /// required roles are present; the age header is well-formed and is the sealed one or
    /// the last recorded transfer's; the payload body has the signed SHA-256 and size.
    /// With `identities`, the payload is also decrypted and every file is checked against
    /// the private manifest (nothing missing, nothing extra, nothing changed).
    ///
    /// Never throws: a dossier that cannot even be read gives a report with failed checks.
    public static func verify(
        _ path: String,
        trusting trust: TrustStore,
        requiringRoles requiredRoles: Set<DossierRole> = [.sealer],
        identities: [AgeIdentity] = []
    ) -> VerificationReport {
        verify(path, trusting: trust, requiringRoles: requiredRoles, identities: identities, readBack: nil)
    }

    /// `verify`, taking the payload digests from `readBack` (the seal's read-back of the
    /// file it wrote) when they cover exactly the ranges found in the file.
    static func verify(_ path: String, trusting trust: TrustStore, requiringRoles requiredRoles: Set<DossierRole>,
                       identities: [AgeIdentity], readBack: ReadBackHasher?) -> VerificationReport {
        var report = VerificationReport(path: path)
        report.requiredRoles = requiredRoles.sorted()
        guard let (container, manifest) = checkStructure(path, into: &report) else { return report }
        checkSignatures(container, manifest, trust: trust, requiredRoles: requiredRoles, into: &report)
        let headerChain = checkTransfers(container, manifest, trust: trust, into: &report)
        guard let payload = checkPayload(container, manifest, acceptedHeaders: headerChain, readBack: readBack, into: &report) else { return report }
        if !identities.isEmpty {
            checkContent(container, manifest, payload: payload, identities: identities, into: &report)
        }
        return report
    }

    /// The error of an opening or an amendment whose file failed `checkStructure`: `.io` when
    /// it could not be read at all (missing, a folder, no permission), else `.container`.
    static func structureFailure(_ report: VerificationReport, _ what: String) -> DossierError {
        if let unreadable = report.unreadable { return DossierError(.io, "\(what): \(unreadable)") }
        return DossierError(.container, "\(what): \(report.failureSummary)")
    }

    /// Container framing, entries, manifest. Returns nil (after recording the failure) when unreadable.
    static func checkStructure(_ path: String, into report: inout VerificationReport) -> (ContainerReader, DossierManifest)? {
        let container: ContainerReader
        do {
            container = try ContainerReader(path: path)
            report.containerBytes = container.file.size
            report.pass("container", "well-formed: \(container.layout.entries.count) entries, \(container.file.size) bytes")
        } catch {
            if error.kind == .io { report.unreadable = error.reason }
            report.fail("container", error.reason)
            return nil
        }
        let manifest: DossierManifest
        do {
            manifest = try DossierManifest(canonical: container.manifestBytes)
            report.manifest = manifest
            report.pass("manifest", "canonical \(DossierManifest.format), dossier \(manifest.dossierID), sealed \(manifest.sealedAt)")
        } catch {
            report.fail("manifest", error.reason)
            return nil
        }
        if let sealedAt = Timestamp.parse(manifest.sealedAt), UInt32(truncatingIfNeeded: sealedAt) == container.payload.mtime {
            report.pass("timestamps", "container timestamps match the sealing time")
        } else {
            report.fail("timestamps", "the container timestamps do not match the sealing time in the manifest")
        }
        return (container, manifest)
    }

    /// Verifies one minisign signature over `message` and looks its key up in `trust`.
    static func checkSignature(
        entry: String, text: [UInt8], message: [UInt8], expectedRole: DossierRole?, expectedKeyID: String?,
        dossierID: String, trust: TrustStore
    ) -> VerificationReport.Signature {
        func broken(_ problem: String, keyID: String = expectedKeyID ?? "", role: DossierRole = expectedRole ?? .sealer) -> VerificationReport.Signature {
            .init(entry: entry, keyID: keyID, role: role, signerName: "", signedAt: "", isValid: false, isTrusted: false,
                  trustedName: nil, isRoleAllowed: false, problem: problem, isBroken: true)
        }
        guard let string = String(validating: text, as: UTF8.self) else { return broken("not UTF-8 text") }
        let signature: MinisignSignature
        do { signature = try MinisignSignature(parsing: string) } catch { return broken("malformed: \(error)") }
        guard signature.algorithm == .prehashed else { return broken("legacy (non-prehashed) signatures are not accepted") }
        guard let statement = SignatureStatement(trustedComment: signature.trustedComment) else {
            return broken("the trusted comment is not a dossier signature statement", keyID: signature.keyIDHex)
        }
        // The untrusted comment carries the signer's public key, so integrity can be checked
        // even without a trust store; trust comes only from the trust store.
        let commentFields = signature.untrustedComment.split(separator: " ", omittingEmptySubsequences: false)
        guard commentFields.count == 4, commentFields[0] == "dossier", commentFields[1] == "signature",
              commentFields[2] == signature.keyIDHex,
              let embedded = try? MinisignPublicKey(base64: String(commentFields[3])), embedded.keyID == signature.keyID else {
            return broken("the untrusted comment is not \"dossier signature KEYID PUBLICKEY\"", keyID: signature.keyIDHex)
        }
        guard statement.keyID == signature.keyIDHex, expectedKeyID.map({ $0 == statement.keyID }) ?? true,
              // The id by bytes: String's == takes "\u{212A}" (Kelvin) for "K".
              expectedRole.map({ $0 == statement.role }) ?? true, statement.dossierID.utf8.elementsEqual(dossierID.utf8) else {
            return broken("the entry name, the signed statement and the key id disagree", keyID: signature.keyIDHex, role: statement.role)
        }
        let trusted = trust.entry(forKeyID: statement.keyID)
        if let trusted, trusted.publicKey.minisign != embedded {
            return broken("the public key in the signature differs from the trusted key with the same id \(statement.keyID)",
                          keyID: statement.keyID, role: statement.role)
        }
        var valid = false
        var problem: String?
        do {
            try signature.verify(message, publicKey: trusted?.publicKey.minisign ?? embedded)
            valid = true
        } catch {
            problem = "does not verify: \(error)"
        }
        let roleAllowed = trusted?.roles.contains(statement.role) ?? false
        if valid {
            if trusted == nil {
                problem = "intact, but key \(statement.keyID) (\"\(statement.name)\") is not in the trust store"
            } else if !roleAllowed {
                problem = "key \(statement.keyID) (\(trusted?.name ?? "")) is not trusted to sign as \(statement.role)"
            }
        }
        return .init(entry: entry, keyID: statement.keyID, role: statement.role, signerName: statement.name, signedAt: statement.time,
                     isValid: valid, isTrusted: trusted != nil, trustedName: trusted?.name, isRoleAllowed: roleAllowed, problem: problem,
                     isBroken: !valid)
    }

    static func checkSignatures(_ container: ContainerReader, _ manifest: DossierManifest, trust: TrustStore,
                                requiredRoles: Set<DossierRole>, into report: inout VerificationReport) {
        for (name, _, text) in container.signatures {
            let result = checkSignature(entry: name.entryName, text: text, message: container.manifestBytes, expectedRole: name.role,
                                        expectedKeyID: name.keyID, dossierID: manifest.dossierID, trust: trust)
            report.signatures.append(result)
            let label = "signature \(name.entryName)"
            if result.isValid && result.isRoleAllowed {
                report.pass(label, "valid, \(result.role) \(result.trustedName ?? result.signerName) (\(result.keyID))")
            } else {
                // An untrusted key cannot be checked; a valid key outside its roles is a trust problem.
                report.fail(label, result.problem ?? result.outcome, trust: !result.isBroken)
            }
        }
        // Everyone the signed manifest names as a signer must have a valid signature here.
        let missingSigners = manifest.signers.filter { signer in
            !report.signatures.contains { $0.keyID == signer.keyID && $0.role == signer.role && $0.isValid }
        }
        if missingSigners.isEmpty {
            report.pass("signers", "every signer named in the manifest signed")
        } else {
            report.fail("signers", "the manifest names \(missingSigners.map { "\($0.role) \($0.name) (\($0.keyID))" }.joined(separator: ", ")) but that signature is missing or invalid: it was removed")
        }
        let present = Set(report.signatures.filter { $0.isValid && $0.isRoleAllowed }.map(\.role))
        report.missingRoles = requiredRoles.subtracting(present).sorted()
        if report.missingRoles.isEmpty {
            report.pass("required roles", requiredRoles.isEmpty ? "none required" : "present: \(requiredRoles.sorted().map(\.rawValue).joined(separator: ", "))")
        } else {
            report.fail("required roles", "no valid trusted signature for: \(report.missingRoles.map(\.rawValue).joined(separator: ", "))", trust: true)
        }
    }

    /// Checks transfer records; returns the header digests in chain order (sealed first).
    static func checkTransfers(_ container: ContainerReader, _ manifest: DossierManifest, trust: TrustStore,
                               into report: inout VerificationReport) -> [String] {
        var chain = [manifest.payloadHeaderSHA256]
        for transfer in container.transfers {
            let name = ContainerFormat.transferName(transfer.sequence)
            let record: TransferRecord
            do { record = try TransferRecord(canonical: transfer.record) } catch {
                report.fail("transfer \(transfer.sequence)", error.reason)
                return chain
            }
            guard record.sequence == transfer.sequence, record.dossierID.utf8.elementsEqual(manifest.dossierID.utf8),
                  record.previousHeaderSHA256 == chain.last, record.bodySHA256 == manifest.payloadBodySHA256 else {
                report.fail("transfer \(transfer.sequence)", "the record does not continue the chain of headers of this dossier")
                return chain
            }
            let signature = checkSignature(entry: name + ".minisig", text: transfer.signature, message: transfer.record,
                                           expectedRole: .transferrer, expectedKeyID: record.byKeyID,
                                           dossierID: manifest.dossierID, trust: trust)
            report.transfers.append(.init(sequence: record.sequence, at: record.at, byKeyID: record.byKeyID, byName: record.byName,
                                          reason: record.reason, recipientCount: record.recipientCount, signature: signature))
            if signature.isValid && signature.isRoleAllowed {
                report.pass("transfer \(transfer.sequence)", "re-wrapped for \(record.recipientCount) recipient(s) by \(signature.trustedName ?? record.byName) at \(record.at)")
            } else {
                report.fail("transfer \(transfer.sequence)", signature.problem ?? signature.outcome, trust: !signature.isBroken)
            }
            chain.append(record.headerSHA256)
        }
        return chain
    }

    /// Facts about the payload established by `checkPayload`.
    struct PayloadFacts {
        let header: AgeHeader
        let headerLength: Int
    }

    /// Parses the age header strictly, checks it against the header chain, and hashes the
    /// body (with the entry CRC). Returns nil after recording a failure.
    static func checkPayload(_ container: ContainerReader, _ manifest: DossierManifest, acceptedHeaders: [String],
                             hashBody: Bool = true, readBack: ReadBackHasher? = nil, into report: inout VerificationReport) -> PayloadFacts? {
        let header: AgeHeader
        do {
            header = try AgeHeader.parse(from: BufferedReader(container.payloadSource()))
        } catch {
            report.fail("payload header", "the age header is malformed: \(error)")
            return nil
        }
        report.recipientTypes = header.stanzas.map(\.type)
        let headerBytes = header.encoded
        let headerDigest = Hex.encode(SHA256.hash(headerBytes))
        if headerDigest == acceptedHeaders.last, acceptedHeaders.count > 1, let last = report.transfers.last,
           last.recipientCount != header.stanzas.count {
            // The last record describes the current header (earlier headers are gone).
            report.fail("payload header", "the last transfer record says \(last.recipientCount) recipient(s), but its age header has \(header.stanzas.count) stanza(s)")
        } else if headerDigest == acceptedHeaders.last {
            report.pass("payload header", acceptedHeaders.count == 1 ? "the age header is the sealed one (\(header.stanzas.count) recipient stanza(s))"
                                                                      : "the age header is the one recorded by transfer \(acceptedHeaders.count - 1)")
        } else {
            report.fail("payload header", "the age header is neither the sealed one nor the last transferred one: recipients were changed without a signed transfer record")
        }
        guard hashBody else { return PayloadFacts(header: header, headerLength: headerBytes.count) }
        let bodyLength = container.payload.size - Int64(headerBytes.count)
        let bodyStart = container.payload.dataOffset + Int64(headerBytes.count)
        let end = container.payload.dataOffset + container.payload.size
        let file = container.file, entryStart = container.payload.dataOffset
        // At sealing, the read-back already read these exact ranges from the file.
        let digestValue: [UInt8]?, crcValue: UInt32?, readError: FileError?
        if let readBack, let digests = try? readBack.digests(),
           digests.crcStart == entryStart, digests.shaStart == bodyStart, digests.end == end {
            (digestValue, crcValue, readError) = (digests.sha256, digests.crc32, nil)
            report.payloadReadBack = true
        } else {
            (digestValue, crcValue, readError) = scanPayload(file, entryStart: entryStart, bodyStart: bodyStart, end: end)
        }
        if let readError {
            report.fail("payload body", "reading the payload failed: \(readError)")
            return nil
        }
        guard let digestValue, let crcValue else { return nil }
        let bodyDigest = Hex.encode(digestValue)
        guard crcValue == container.payload.crc32 else {
            report.fail("payload body", "payload.age does not match its CRC-32")
            return nil
        }
        if bodyDigest == manifest.payloadBodySHA256 && bodyLength == manifest.payloadBodySize {
            report.pass("payload body", "SHA-256 and size (\(bodyLength) bytes) match the manifest")
        } else {
            report.fail("payload body", "the payload body does not match the signed SHA-256 and size: it was modified, truncated or replaced")
            return nil
        }
        return PayloadFacts(header: header, headerLength: headerBytes.count)
    }

    /// The SHA-256 of the body [bodyStart, end) and the CRC-32 of the whole entry
    /// [entryStart, end), from one read of the (cached) file: a second thread reads it
    /// ahead and computes the CRC-32 (`PrefetchingSource`, 256 KiB blocks that stay in the
    /// cache), the calling thread only hashes. The pass costs the SHA-256 alone: reading the
    /// file on the hashing thread cost ~0.03 s of the ~0.15 s on 223 MB.
    static func scanPayload(_ file: RandomAccessFile, entryStart: Int64, bodyStart: Int64, end: Int64)
        -> (digest: [UInt8]?, crc: UInt32?, error: FileError?) {
        // Offsets come from the file; a reader never traps on them.
        guard entryStart <= bodyStart, bodyStart <= end else {
            return (nil, nil, FileError(operation: "read (the payload's body lies outside its entry)", path: file.path, code: EINVAL))
        }
        let checksummed = CRCSource(file.source(offset: entryStart, length: end - entryStart))
        let ahead = PrefetchingSource(checksummed, blockSize: 256 << 10, maxQueued: 4)
        let digest = DigestContext(.sha256)
        var position = entryStart
        do {
            while true {
                let block = try ahead.nextBlock()
                if block.isEmpty { break }
                let from = Int(max(0, min(Int64(block.count), bodyStart - position)))
                if from < block.count { digest.update(UnsafeRawBufferPointer(rebasing: block[from...])) }
                position += Int64(block.count)
            }
        } catch {
            ahead.cancel()
            return (nil, nil, error as? FileError ?? FileError(operation: "read", path: file.path, code: EIO))
        }
        // An empty block means the reading thread has stopped (PrefetchingSource sets that under
        // its lock after the last read): its CRC is complete.
        ahead.cancel()
        guard position == end else { return (nil, nil, FileError(operation: "read (file shrank)", path: file.path, code: EIO)) }
        return (digest.finalize(), checksummed.value, nil)
    }

    /// CRC-32s what is read through it (on the thread that reads).
    private final class CRCSource: ByteSource, @unchecked Sendable {
        private let source: ByteSource
        private var crc = CRC32()
        init(_ source: ByteSource) { self.source = source }
        func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
            let n = try source.read(into: buffer)
            if n > 0 { crc.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n])) }
            return n
        }
        /// Read only once the reading thread has stopped.
        var value: UInt32 { crc.value }
    }
}
