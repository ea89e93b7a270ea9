#if canImport(Glibc)
import Glibc
#endif
import Foundation

extension Dossier {
    /// Adds a signature over the unchanged manifest (a countersignature, e.g. the receiving
    /// archive's) to a sealed dossier. The manifest, payload and earlier signatures keep
    /// their bytes; the container is rewritten under a temporary name, verified, and then
    /// atomically replaces `path` (or is written to `output`).
    ///
    /// A countersignature says "received and accepted": the dossier must verify, and its
    /// `requiredRoles` must carry valid signatures by keys `trust` holds for them, unless
    /// `allowUntrusted` (integrity is required either way).
    ///
    /// With `recorder`, a `countersigned` event (details `keyId`, `role`) is written to its
    /// access log after the new file verified and before it replaces the dossier; if it
    /// cannot be written (no history of the dossier in that ledger, a history that does not
    /// start with the anchored genesis entry, a read-only log) nothing is changed; if the
    /// replacing fails after it was written, the entry stays. Without a recorder the
    /// countersignature is not written to any access log. The `dossier` command always
    /// records it; pass one whenever the dossier's ledger is at hand.
    ///
    /// `cancellation` stops it, with nothing changed, until the entry is written.
    ///
    /// Returns the verification of the new file, trusting `trust` plus `signer` and
    /// requiring no role.
    @discardableResult
    public static func countersign(
        _ path: String,
        as signer: DossierSigner,
        trusting trust: TrustStore = .empty,
        requiringRoles requiredRoles: Set<DossierRole> = [.sealer],
        allowUntrusted: Bool = false,
        writingTo output: String? = nil,
        recordingTo recorder: AccessRecorder? = nil,
        cancellation: DossierCancellation? = nil
    ) throws(DossierError) -> VerificationReport {
        try countersign(path, as: signer, trusting: trust, requiringRoles: requiredRoles, allowUntrusted: allowUntrusted,
                        writingTo: output, recordingTo: recorder, cancellation: cancellation, beforeReplacingForTesting: nil)
    }

    @discardableResult
    static func countersign(
        _ path: String, as signer: DossierSigner, trusting trust: TrustStore = .empty, requiringRoles requiredRoles: Set<DossierRole> = [.sealer],
        allowUntrusted: Bool = false, writingTo output: String? = nil, recordingTo recorder: AccessRecorder? = nil,
        cancellation: DossierCancellation? = nil, beforeReplacingForTesting: (() -> Void)?, syncFolderForTesting: (@Sendable (Int32) -> Int32)? = nil
    ) throws(DossierError) -> VerificationReport {
        // In place through a symlink: the file it names now is the one verified and replaced.
        let path = output == nil ? (FileSystem.realPath(path) ?? path) : path
        var report = VerificationReport(path: path)
        guard let (container, manifest) = checkStructure(path, into: &report) else {
            throw structureFailure(report, "cannot countersign")
        }
        checkSignatures(container, manifest, trust: trust, requiredRoles: requiredRoles, into: &report)
        let chain = checkTransfers(container, manifest, trust: trust, into: &report)
        _ = checkPayload(container, manifest, acceptedHeaders: chain, into: &report)
        guard report.status != .invalid else {
            throw DossierError(.signature, "refusing to countersign a dossier that does not verify: \(report.failureSummary)")
        }
        guard !container.signatures.contains(where: { $0.name.keyID == signer.key.publicKey.keyID && $0.name.role == signer.role }) else {
            throw DossierError(.invalidArgument, "key \(signer.key.publicKey.keyID) has already signed this dossier as \(signer.role)")
        }
        guard container.signatures.count < ContainerFormat.maxSequence else {
            throw DossierError(.invalidArgument, "the dossier already holds \(container.signatures.count) signatures, the most it can hold")
        }
        try refuseUntrusted(report, allowUntrusted: allowUntrusted, doing: "countersign")
        let time = Timestamp.format(Int64(Date().timeIntervalSince1970))
        let statement = SignatureStatement(dossierID: manifest.dossierID, role: signer.role, keyID: signer.key.publicKey.keyID, time: time, name: signer.name)
        let signature = try signer.key.sign(container.manifestBytes, trustedComment: statement.trustedComment)
        let name = ContainerFormat.SignatureName(sequence: container.signatures.count + 1, role: signer.role, keyID: signer.key.publicKey.keyID)
        return try rewrite(container, manifest, newHeader: nil, appending: [(name.entryName, Array(signature.fileText.utf8))],
                           trust: trust, extraSigner: signer, output: output ?? path, replacing: output == nil, logged: recorder != nil,
                           cancellation: cancellation, beforeReplacing: beforeReplacingForTesting,
                           syncFolder: syncFolderForTesting) { () throws(DossierError) in
            try recorder?.record(.countersigned, for: manifest, details: ["keyId": signer.key.publicKey.keyID, "role": signer.role.rawValue],
                                 cancellation: cancellation)
        }
    }

    private static func refuseUntrusted(_ report: VerificationReport, allowUntrusted: Bool, doing what: String) throws(DossierError) {
        guard report.status == .untrusted, !allowUntrusted else { return }
        throw DossierError(.untrusted, "refusing to \(what) a dossier whose signers are not trusted: \(report.failureSummary)",
                           hint: "trust the signers' keys (a trust store; --trust on the command line), or allow untrusted signers (allowUntrusted; --allow-untrusted) to \(what) it anyway")
    }

    /// Re-wraps a dossier for new recipients (a transfer to another archive) without
    /// invalidating its signatures: only the age header changes; the payload body and the
    /// manifest keep their bytes. The transfer is recorded in a signed transfer record
    /// (`META-INF/transfers/NN.json`) that chains the old header digest to the new one.
    /// Like `countersign`, it refuses a dossier whose `requiredRoles` are not signed by
    /// trusted keys unless `allowUntrusted`. `signer` must sign in the role `.transferrer`;
    /// `identities` must include a recipient of the current header (else `.noIdentity`);
    /// `reason` is one line of at most 4096 bytes, stored in the signed transfer record.
    ///
    /// Each transfer is meant to be an access-log event. With `recorder`, a `transferred`
    /// event (details `recipients`, `transfer`, `from`, `reason`) is written to its access
    /// log after the new file verified and before it replaces the dossier; if it cannot be
    /// written, nothing is changed (as for `countersign`). Without a recorder the transfer
    /// is recorded only in the dossier's own transfer record, not in any access log. The
    /// `dossier` command always records it; pass one whenever the dossier's ledger is at hand.
    ///
    /// `cancellation` stops it, with nothing changed, until the entry is written.
    ///
    /// Returns the verification of the new file, trusting `trust` plus `signer` and
    /// requiring no role.
    @discardableResult
    public static func rewrap(
        _ path: String,
        with identities: [AgeIdentity],
        to recipients: [AgeRecipient],
        by signer: DossierSigner,
        reason: String,
        trusting trust: TrustStore = .empty,
        requiringRoles requiredRoles: Set<DossierRole> = [.sealer],
        allowUntrusted: Bool = false,
        writingTo output: String? = nil,
        recordingTo recorder: AccessRecorder? = nil,
        cancellation: DossierCancellation? = nil
    ) throws(DossierError) -> VerificationReport {
        guard signer.role == .transferrer else {
            throw DossierError(.invalidArgument, "a transfer is signed in the role transferrer, not \(signer.role)")
        }
        guard !recipients.isEmpty else { throw DossierError(.invalidArgument, "no recipients for the transfer") }
        guard !reason.contains(where: { $0.isNewline }), reason.utf8.count <= 4096 else {
            throw DossierError(.invalidArgument, "the reason must be one line of at most 4096 bytes")
        }
        guard !identities.isEmpty else {
            throw DossierError(.invalidArgument, "no identities given: a transfer needs the identity of a current recipient", hint: "give the identity file of a recipient")
        }
        let path = output == nil ? (FileSystem.realPath(path) ?? path) : path
        var report = VerificationReport(path: path)
        guard let (container, manifest) = checkStructure(path, into: &report) else {
            throw structureFailure(report, "cannot transfer")
        }
        checkSignatures(container, manifest, trust: trust, requiredRoles: requiredRoles, into: &report)
        let chain = checkTransfers(container, manifest, trust: trust, into: &report)
        guard let payload = checkPayload(container, manifest, acceptedHeaders: chain, into: &report), report.status != .invalid else {
            throw DossierError(.signature, "refusing to transfer a dossier that does not verify: \(report.failureSummary)")
        }
        try refuseUntrusted(report, allowUntrusted: allowUntrusted, doing: "transfer")
        guard container.transfers.count < ContainerFormat.maxSequence else { throw DossierError(.invalidArgument, "a dossier records at most 99 transfers") }
        let fileKey: SecureBytes
        do { fileKey = try AgeFile.unwrap(payload.header, identities: identities) } catch {
            if error.kind == .noMatch { throw DossierError(.noIdentity, "none of the given identities can decrypt this dossier: \(error.reason)") }
            throw DossierError(.payload, "the payload header cannot be opened: \(error)")
        }
        let newHeader: AgeHeader
        do { newHeader = try AgeFile.makeHeader(fileKey: fileKey, recipients: recipients) } catch {
            throw DossierError(.invalidArgument, "cannot encrypt to the new recipients: \(error)")
        }
        let sequence = container.transfers.count + 1
        let time = Timestamp.format(Int64(Date().timeIntervalSince1970))
        let record = TransferRecord(
            dossierID: manifest.dossierID, sequence: sequence, at: time,
            previousHeaderSHA256: chain.last ?? manifest.payloadHeaderSHA256,
            headerSHA256: Hex.encode(SHA256.hash(newHeader.encoded)), bodySHA256: manifest.payloadBodySHA256,
            recipientCount: recipients.count, byKeyID: signer.key.publicKey.keyID, byName: signer.name, reason: reason)
        let recordBytes = record.json().canonicalBytes()
        let statement = SignatureStatement(dossierID: manifest.dossierID, role: .transferrer, keyID: signer.key.publicKey.keyID, time: time, name: signer.name)
        let signature = try signer.key.sign(recordBytes, trustedComment: statement.trustedComment)
        let name = ContainerFormat.transferName(sequence)
        return try rewrite(container, manifest, newHeader: (newHeader.encoded, payload.headerLength),
                           appending: [(name, recordBytes), (name + ".minisig", Array(signature.fileText.utf8))],
                           trust: trust, extraSigner: signer, output: output ?? path, replacing: output == nil,
                           logged: recorder != nil, cancellation: cancellation) { () throws(DossierError) in
            try recorder?.record(.transferred, for: manifest, details: [
                "recipients": recipients.map(\.description).joined(separator: " "), "transfer": String(sequence),
                "from": chain.last ?? manifest.payloadHeaderSHA256, "reason": reason], cancellation: cancellation)
        }
    }

    /// Writes a copy of `container` with an optional new age header and extra entries,
    /// verifies it, and moves it into place.
    private static func rewrite(
        _ container: ContainerReader, _ manifest: DossierManifest, newHeader: (bytes: [UInt8], oldLength: Int)?,
        appending extra: [(String, [UInt8])], trust: TrustStore, extraSigner: DossierSigner, output: String, replacing: Bool, logged: Bool,
        cancellation: DossierCancellation?, beforeReplacing: (() -> Void)? = nil, syncFolder: (@Sendable (Int32) -> Int32)? = nil, beforeCommit: () throws(DossierError) -> Void
    ) throws(DossierError) -> VerificationReport {
        if !replacing && FileSystem.exists(output) {
            throw DossierError(.output, "\(output) already exists", hint: "choose another name")
        }
        // In place (`output` is the verified file, symlinks already resolved): keep its
        // permissions (and, when we may, its owner), and replace it only if it is still
        // the file that was verified — checked and renamed relative to its folder.
        let original: stat? = replacing ? container.file.status : nil
        var folder: Int32 = -1
        if replacing {
            // One amendment of a file at a time: a second one that verified the same file
            // would otherwise replace the first's result (or be logged and then lost). It is
            // refused here, before anything is logged; one that starts after the first has
            // replaced the file finds it replaced (below).
            guard container.file.lockExclusively() else {
                throw DossierError(.output, "\(output) is being amended by another process (or thread) right now; nothing was changed",
                                   hint: "try again when it has finished")
            }
            folder = Glibc.open(FileSystem.parent(of: output), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard folder >= 0 else { throw DossierError(.output, FileError(operation: "open directory", path: FileSystem.parent(of: output), code: errno).description) }
        }
        defer { if folder >= 0 { close(folder) } }
        guard let sealedAt = Timestamp.parse(manifest.sealedAt) else { throw DossierError(.manifest, "invalid sealing time") }
        FileSystem.removeStaleTemporaries(of: output, tag: "amending")
        let temporary = FileSystem.temporarySibling(of: output, tag: "amending")
        var report: VerificationReport
        do throws(DossierError) {
            let file: FileSink
            do { file = try FileSink(creating: temporary, mode: original == nil ? 0o644 : 0o600) } catch { throw DossierError(.output, "\(error)") }
            if let original {
                guard chmod(temporary, original.st_mode & 0o7777) == 0 else {
                    throw DossierError(.output, FileError(operation: "chmod", path: temporary, code: errno).description)
                }
                if getuid() == 0 { _ = chown(temporary, original.st_uid, original.st_gid) }
            }
            let writer = try ContainerWriter(sink: file, mtime: sealedAt)
            try writer.add(ContainerFormat.mimetypeEntry, Array(ContainerFormat.mimetype.utf8))
            // The payload: the (new) header, then the body copied byte for byte.
            let oldHeaderLength = Int64(newHeader?.oldLength ?? 0)
            let headerBytes = newHeader?.bytes ?? []
            let bodyLength = container.payload.size - oldHeaderLength
            try writer.begin(ContainerFormat.payloadEntry, size: Int64(headerBytes.count) + bodyLength)
            if !headerBytes.isEmpty { try withBytes(headerBytes) { (raw) throws(DossierError) in try writer.write(raw) } }
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            var offset = container.payload.dataOffset + oldHeaderLength
            let end = container.payload.dataOffset + container.payload.size
            while offset < end {
                try Interruption.check(cancellation)
                let n = Int(min(Int64(buffer.count), end - offset))
                let got: Int
                do {
                    got = try withMutableBytes(&buffer) { (raw) throws(FileError) in
                        try container.file.read(at: offset, into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<n]))
                    }
                } catch { throw DossierError(.io, "\(error)") }
                guard got == n else { throw DossierError(.io, "\(container.file.path) shrank while it was copied") }
                try withBytes(buffer) { (raw) throws(DossierError) in try writer.write(UnsafeRawBufferPointer(rebasing: raw[0..<n])) }
                offset += Int64(n)
            }
            try writer.end()
            try writer.add(ContainerFormat.manifestEntry, container.manifestBytes)
            for index in 3..<container.layout.entries.count {
                let entry = container.layout.entries[index]
                try writer.add(entry.name, try ContainerReader.read(container.file, entry, limit: ContainerFormat.maxTransferBytes, what: entry.name))
            }
            for (name, bytes) in extra { try writer.add(name, bytes) }
            try writer.close()
            do {
                try file.sync()
                try file.close()
            } catch { throw DossierError(.output, "\(error)") }

            // The amending key in its new role, besides the roles `trust` gives it.
            var entries = trust.entries
            if let index = entries.firstIndex(where: { $0.publicKey.keyID == extraSigner.key.publicKey.keyID }),
               entries[index].publicKey == extraSigner.key.publicKey {
                entries[index] = .init(name: entries[index].name, roles: entries[index].roles.union([extraSigner.role]), publicKey: extraSigner.key.publicKey)
            } else {
                entries.removeAll { $0.publicKey.keyID == extraSigner.key.publicKey.keyID }
                entries.append(.init(name: extraSigner.name, roles: [extraSigner.role], publicKey: extraSigner.key.publicKey))
            }
            report = verify(temporary, trusting: TrustStore(entries), requiringRoles: [])
            guard report.status != .invalid else {
                throw DossierError(.output, "the rewritten dossier did not verify: \(report.failureSummary)")
            }
            beforeReplacing?()
            /// Throws unless `output` is still the file that was read (another process may
            /// have put a new dossier there meanwhile, e.g. `seal --force`).
            func requireOriginal(afterLogging: Bool) throws(DossierError) {
                guard let original else { return }
                var now = stat()
                let name = FileSystem.lastComponent(of: output)
                guard fstatat(folder, name, &now, AT_SYMLINK_NOFOLLOW) == 0, FileSystem.isRegular(now),
                      now.st_dev == original.st_dev, now.st_ino == original.st_ino else {
                    throw DossierError(.output, "\(output) was replaced while it was being amended; "
                                       + (afterLogging ? "the dossier now there was not changed, but an entry for the amendment is already in the access log (it names a change that did not land)"
                                                       : "nothing was changed"),
                                       hint: "check who else writes to that folder, then amend again")
                }
            }
            try requireOriginal(afterLogging: false)
            // The last moment a stop asked for can still end the amendment with nothing changed.
            try Interruption.check(cancellation)
            try beforeCommit()
            // Again right before the rename: the log entry may have waited for a busy ledger,
            // and a dossier put there meanwhile was overwritten by the amended old one (a
            // review of session 20: `countersign` in place racing `seal --force`, 7 in 100).
            try requireOriginal(afterLogging: logged)
            do {
                if replacing {
                    let from = FileSystem.lastComponent(of: temporary), to = FileSystem.lastComponent(of: output)
                    guard renameat(folder, from, folder, to) == 0 else { throw FileError(operation: "rename to", path: output, code: errno) }
                } else {
                    try FileSystem.renameNoReplace(temporary, output)
                }
            } catch { throw DossierError(.output, "cannot move the dossier into place: \(error)") }
        } catch {
            unlink(temporary)
            throw error
        }
        report.path = output
        // In place now (and its event logged): a failure from here on must say so — amending
        // again would be refused ("already signed") or log the event twice.
        do {
            if replacing {
                guard (syncFolder ?? { fsync($0) })(folder) == 0 else { throw FileError(operation: "fsync", path: FileSystem.parent(of: output), code: errno) }
            } else {
                try FileSystem.syncDirectory(FileSystem.parent(of: output), renamed: output)
            }
        } catch {
            throw DossierError(.output, "the amended dossier is in place at \(output), but its folder could not be made durable: \(error)",
                               hint: "check the file system; the dossier was written and verified\(logged ? ", and the change is in the access log" : "")")
        }
        return report
    }
}
