import Foundation
import Testing
@testable import DossierKit

/// The signature rules of FORMAT.md §5, each broken alone by a signature that is otherwise
/// a real one over the real manifest: the dossier is invalid and the signature's problem
/// names the rule.
@Suite("Signature rules (FORMAT.md §5)")
struct SignatureRulesTests {
    struct Sealed {
        let fx: DossierFixture
        let base: [(String, [UInt8])]
        let manifest: DossierManifest
        let manifestBytes: [UInt8]
        let mtime: Int64

        init(id: String? = nil) throws {
            fx = try DossierFixture()
            let receipt = try fx.seal(try fx.folder("signed", ["a.txt": [1]]), id: id)
            let container = try ContainerReader(path: receipt.path)
            mtime = Int64(container.payload.mtime)
            manifestBytes = container.manifestBytes
            manifest = receipt.manifest
            let payload = try container.file.read(at: container.payload.dataOffset, count: Int(container.payload.size))
            base = [("mimetype", Array(ContainerFormat.mimetype.utf8)), ("payload.age", payload), ("META-INF/manifest.json", manifestBytes)]
        }

        /// The sealer's and the approver's signature entries, the sealer's made by `sign`.
        func verify(_ name: String, sealerEntry: String? = nil, sealerText: String) throws -> VerificationReport {
            let path = fx.dir.path(name)
            let file = try FileSink(creating: path)
            let writer = try ContainerWriter(sink: file, mtime: mtime)
            for (entry, bytes) in base { try writer.add(entry, bytes) }
            try writer.add(sealerEntry ?? entryName(1, .sealer, fx.sealer), Array(sealerText.utf8))
            try writer.add(entryName(2, .approver, fx.approver), Array(try signature(fx.approver, role: .approver).fileText.utf8))
            try writer.close()
            try file.close()
            return Dossier.verify(path, trusting: fx.trust, requiringRoles: [.sealer, .approver])
        }

        func entryName(_ sequence: Int, _ role: DossierRole, _ key: SigningKey) -> String {
            ContainerFormat.SignatureName(sequence: sequence, role: role, keyID: key.publicKey.keyID).entryName
        }

        func signature(_ key: SigningKey, role: DossierRole, dossierID: String? = nil) throws -> MinisignSignature {
            let statement = SignatureStatement(dossierID: dossierID ?? manifest.dossierID, role: role, keyID: key.publicKey.keyID,
                                               time: manifest.sealedAt, name: role == .sealer ? "Anna Archivist" : "Otto Officer")
            return try key.sign(manifestBytes, trustedComment: statement.trustedComment)
        }
    }

    static func expectBroken(_ report: VerificationReport, _ problem: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(report.status == .invalid, sourceLocation: sourceLocation)
        let sealer = report.signatures.first { $0.entry.contains("01-") }
        #expect(sealer?.isBroken == true && sealer?.problem?.contains(problem) == true,
                "\(sealer?.problem ?? "no signature reported")", sourceLocation: sourceLocation)
    }

    @Test("the control: a rebuilt container with fresh signatures verifies")
    func control() throws {
        let sealed = try Sealed()
        let report = try sealed.verify("control.dossier", sealerText: try sealed.signature(sealed.fx.sealer, role: .sealer).fileText)
        #expect(report.status == .valid, "\(report.failureSummary)")
    }

    @Test("the entry name's role or key id differs from the signed statement")
    func entryNameDisagrees() throws {
        let sealed = try Sealed()
        let text = try sealed.signature(sealed.fx.sealer, role: .sealer).fileText
        let asApprover = try sealed.verify("role.dossier", sealerEntry: sealed.entryName(1, .approver, sealed.fx.sealer), sealerText: text)
        Self.expectBroken(asApprover, "the entry name, the signed statement and the key id disagree")
        let otherKey = try sealed.verify("key.dossier", sealerEntry: sealed.entryName(1, .sealer, sealed.fx.approver), sealerText: text)
        Self.expectBroken(otherKey, "the entry name, the signed statement and the key id disagree")
    }

    @Test("the signed statement names another dossier")
    func otherDossier() throws {
        let sealed = try Sealed()
        let text = try sealed.signature(sealed.fx.sealer, role: .sealer, dossierID: "another-dossier").fileText
        Self.expectBroken(try sealed.verify("dossier.dossier", sealerText: text), "the entry name, the signed statement and the key id disagree")
        // Equal only by canonical equivalence: "K" written as U+212A KELVIN SIGN (review of
        // session 15; the ids are compared by bytes).
        let kelvin = try Sealed(id: "K-2024")
        #expect("\u{212A}-2024" == "K-2024", "String's == is by canonical equivalence")
        let relabelled = try kelvin.signature(kelvin.fx.sealer, role: .sealer, dossierID: "\u{212A}-2024").fileText
        Self.expectBroken(try kelvin.verify("kelvin.dossier", sealerText: relabelled), "the entry name, the signed statement and the key id disagree")
    }

    @Test("an untrusted comment that is not \"dossier signature KEYID PUBLICKEY\"")
    func untrustedComment() throws {
        let sealed = try Sealed()
        let text = try sealed.signature(sealed.fx.sealer, role: .sealer).fileText
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let keyID = sealed.fx.sealer.publicKey.keyID
        for comment in ["untrusted comment: signature from minisign secret key",
                        "untrusted comment: dossier signature \(keyID)",
                        "untrusted comment: dossier signature 0000000000000000 \(sealed.fx.sealer.publicKey.base64)",
                        "untrusted comment: dossier signature \(keyID) \(sealed.fx.approver.publicKey.base64)"] {
            lines[0] = comment
            Self.expectBroken(try sealed.verify("comment.dossier", sealerText: lines.joined(separator: "\n")),
                              "the untrusted comment is not \"dossier signature KEYID PUBLICKEY\"")
            try FileManager.default.removeItem(atPath: sealed.fx.dir.path("comment.dossier"))
        }
    }

    @Test("a key with the trusted key's id but another public key")
    func impostorKey() throws {
        let sealed = try Sealed()
        // Same key id, another Ed25519 key: its signature verifies under the key it embeds.
        let impostor = try SigningKey(privateKey: Ed25519.PrivateKey(), keyID: sealed.fx.sealer.keyID, name: "Mallory")
        let text = try sealed.signature(impostor, role: .sealer).fileText
        Self.expectBroken(try sealed.verify("impostor.dossier", sealerText: text),
                          "differs from the trusted key with the same id \(sealed.fx.sealer.publicKey.keyID)")
    }

    @Test("a legacy (\"Ed\", not prehashed) signature inside a dossier")
    func legacySignature() throws {
        let sealed = try Sealed()
        let text = try sealed.signature(sealed.fx.sealer, role: .sealer).fileText
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var bytes = try #require(Data(base64Encoded: lines[1]))
        try #require(bytes.prefix(2) == Data("ED".utf8))
        bytes.replaceSubrange(0..<2, with: Data("Ed".utf8))
        lines[1] = bytes.base64EncodedString()
        Self.expectBroken(try sealed.verify("legacy.dossier", sealerText: lines.joined(separator: "\n")), "legacy (non-prehashed) signatures are not accepted")
    }

    /// Review of session 15: the 100th signature got the entry name "100-…", which the
    /// format (two digits) refuses — the seal wrote everything, then failed its own check.
    @Test("at most 99 signatures: a seal with 100 signers and a countersignature beyond 99 are refused up front, nothing written")
    func ninetyNineSignatures() throws {
        let fx = try DossierFixture()
        let source = try fx.folder("many", ["a.txt": [1]])
        var signers = fx.signers
        for index in 0..<98 { signers.append(DossierSigner(key: try SigningKey.generate(), role: .approver, name: "Signer \(index)")) }
        let before = HostileInputTests.snapshot(fx.dir.url.path)
        var options = SealOptions()
        options.log = fx.recorder
        let recipients = [try AgeRecipient(fx.recipient.recipient)]
        do throws(DossierError) {
            _ = try Dossier.seal(source, to: recipients, signedBy: signers, writingTo: fx.dir.path("100.dossier"),
                                 options: options)
            Issue.record("sealed with 100 signers")
        } catch {
            #expect(error.kind == .invalidArgument && error.reason.contains("at most 99 signatures"), "\(error.reason)")
        }
        #expect(HostileInputTests.snapshot(fx.dir.url.path) == before, "files were left behind")
        #expect(try fx.log.history(of: "many").isEmpty)
        // 99 signers seal; a 100th countersignature is refused, the dossier unchanged.
        signers.removeLast()
        let receipt = try Dossier.seal(source, to: [AgeRecipient(fx.recipient.recipient)], signedBy: signers, writingTo: fx.dir.path("99.dossier"),
                                       options: options)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: receipt.path))
        let extra = DossierSigner(key: try SigningKey.generate(), role: .countersigner, name: "One too many")
        do throws(DossierError) {
            _ = try Dossier.countersign(receipt.path, as: extra, allowUntrusted: true)
            Issue.record("a 100th signature was added")
        } catch {
            #expect(error.reason.contains("99 signatures, the most it can hold"), "\(error.reason)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: receipt.path)) == bytes)
    }
}
