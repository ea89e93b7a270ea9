import DossierKit
import Foundation

/// Seed inputs for every target, made with the fixed fuzz keys so that mutations start
/// from inputs that reach deep into each parser; plus the bundled test vectors.
enum Seeds {
    nonisolated(unsafe) private static var known: Set<[UInt8]> = []

    /// Loads the digests of the seed dossiers (DOSSIER_FUZZ_KNOWN, one hex SHA-256 per line).
    static func prepareKnownDossiers() {
        guard let path = ProcessInfo.processInfo.environment["DOSSIER_FUZZ_KNOWN"],
              let text = try? String(contentsOfFile: path, encoding: .utf8) else { return }
        known = Set(text.split(separator: "\n").map { hexDecode(String($0)) })
    }

    static func isKnownDossier(_ data: [UInt8]) -> Bool { known.contains(SHA256.hash(data)) }

    /// Writes seeds into `dir/<target>/` and the known-dossier list into `dir/known.txt`.
    static func write(to dir: String, vectors: String?) throws {
        func put(_ target: String, _ name: String, _ bytes: [UInt8]) throws {
            let folder = "\(dir)/\(target)"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try Data(bytes).write(to: URL(fileURLWithPath: "\(folder)/\(name)"))
        }
        let keys = FuzzEntryPoints.Keys.self
        let work = NSTemporaryDirectory() + "dossier-fuzz-seeds-\(getpid())"
        try FileManager.default.createDirectory(atPath: work + "/case/sub", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }

        // age files.
        let recipient = keys.identity.recipient!
        let plain = Array("a case file\n".utf8)
        for (name, file) in [
            ("x25519", try Age.encrypt(plain, to: [recipient])),
            ("x25519-armored", try Age.encrypt(plain, to: [recipient], armored: true)),
            ("x25519-empty", try Age.encrypt([], to: [recipient])),
            ("x25519-two-chunks", try Age.encrypt([UInt8](repeating: 0x61, count: 70_000), to: [recipient])),
            ("scrypt", try Age.encrypt(plain, to: [try AgeRecipient.passphrase("fuzz", workFactor: 10)])),
        ] {
            try put("age-file", name, file)
            try put("age-header", name, Array(file.prefix(400)))
        }
        if let vectors {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: vectors)) ?? [] where !name.hasSuffix(".md") {
                guard let data = FileManager.default.contents(atPath: "\(vectors)/\(name)") else { continue }
                // A CCTV vector is a textual header, an empty line, then the age file.
                let bytes = Array(data)
                guard let split = bytes.indices.dropLast().first(where: { bytes[$0] == 0x0a && bytes[$0 + 1] == 0x0a }) else { continue }
                let file = Array(bytes[(split + 2)...])
                try put("age-file", "cctv-" + name, file)
                try put("age-header", "cctv-" + name, file)
            }
        }

        // Key files.
        let generated = try AgeX25519.generate()
        try put("key-files", "identity", Array(generated.identityFile.utf8))
        try put("key-files", "recipient", Array(generated.recipient.utf8))
        try put("key-files", "signing-key", Array(keys.signer.secretFileText.utf8))
        try put("key-files", "public-key", Array(keys.signer.publicKey.fileText.utf8))

        // Dossiers: sealed by the fuzz signer, with a log (genesis in the manifest) and without.
        try Data("alpha\n".utf8).write(to: URL(fileURLWithPath: work + "/case/a.txt"))
        try Data([UInt8](repeating: 0x42, count: 3000)).write(to: URL(fileURLWithPath: work + "/case/sub/b.bin"))
        let log = try AccessLog(path: work + "/ledger.sqlite", createIfMissing: true)
        let signer = DossierSigner(key: keys.signer, role: .sealer, name: "Fuzz Signer")
        let approver = DossierSigner(key: keys.approver, role: .approver, name: "Fuzz Approver")
        var known: [String] = []
        for (name, signers, logged) in [("sealed", [signer], false), ("approved", [signer, approver], true)] {
            var options = SealOptions(dossierID: "fuzz-\(name)", publicMetadata: ["case": "2026-0001"])
            if logged { options.log = AccessRecorder(log: log, actor: signer, purpose: "fuzz seed") }
            let path = "\(work)/\(name).dossier"
            _ = try Dossier.seal(work + "/case", to: [recipient], signedBy: signers, writingTo: path, options: options)
            let bytes = Array(FileManager.default.contents(atPath: path)!)
            try put("container", name, bytes)
            known.append(hex(SHA256.hash(bytes)))
            // The parts other targets read.
            let parts = try FuzzEntryPoints.containerParts(atPath: path, identity: keys.identity)
            try put("manifest", "public-\(name)", parts.manifest)
            try put("manifest", "private-\(name)", parts.privateManifest)
            try put("inner-archive", name, parts.innerArchive)
            try put("inner-archive", name + "-plain", parts.plainInnerArchive)
            try put("input-archive", name + "-tar-zst", parts.innerArchive)
            for (index, signature) in parts.signatures.enumerated() { try put("signature", "\(name)-\(index)", signature) }
        }
        try Data(known.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: "\(dir)/known.txt"))
        if let profile = FileManager.default.contents(atPath: "Examples/profiles/community-corrections.json") {
            try put("manifest", "profile", Array(profile))
        }
        if let vectors, let minisign = Optional(vectors + "/../minisign") {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: minisign)) ?? [] where name.hasSuffix(".minisig") || name.hasSuffix(".pub") {
                if let data = FileManager.default.contents(atPath: "\(minisign)/\(name)") { try put("signature", name, Array(data)) }
            }
        }

        for (name, bytes) in try FuzzEntryPoints.inputArchiveSeeds() { try put("input-archive", name, bytes) }

        // Trust file, log export, checkpoint.
        try put("trust-file", "trust", Array(keys.trust.fileText.utf8))
        let export = try log.export(dossierID: "fuzz-approved", actor: signer, purpose: "fuzz seed")
        try put("log-export", "export", Array(export.utf8))
        let checkpoint = try log.checkpoint(origin: "fuzz.example/ledger", signedBy: keys.signer)
        try put("checkpoint", "checkpoint", Array(checkpoint.note.utf8))
        let exportWithProof = try log.export(dossierID: "fuzz-approved")
        try put("log-export", "export-with-proofs", Array(exportWithProof.utf8))
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    static func hexDecode(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex, let next = text.index(index, offsetBy: 2, limitedBy: text.endIndex) {
            out.append(UInt8(text[index..<next], radix: 16) ?? 0)
            index = next
        }
        return out
    }
}
