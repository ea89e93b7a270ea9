import Foundation
import Testing
@testable import DossierKit

/// Keys, folders and sealed dossiers for the dossier tests.
struct DossierFixture {
    let dir: TemporaryDirectory
    let recipient: AgeX25519.GeneratedKey
    let sealer: SigningKey
    let approver: SigningKey
    var trust: TrustStore {
        TrustStore([
            .init(name: "Anna Archivist", roles: [.sealer], publicKey: sealer.publicKey),
            .init(name: "Otto Officer", roles: [.approver], publicKey: approver.publicKey),
        ])
    }
    var signers: [DossierSigner] {
        [DossierSigner(key: sealer, role: .sealer, name: "Anna Archivist"),
         DossierSigner(key: approver, role: .approver, name: "Otto Officer")]
    }

    let log: AccessLog
    /// Records as the sealer (tests of the log itself use their own actors).
    var recorder: AccessRecorder {
        AccessRecorder(log: log, actor: DossierSigner(key: sealer, role: .sealer, name: "Anna Archivist"), purpose: "test")
    }

    init() throws {
        dir = try TemporaryDirectory()
        recipient = try AgeX25519.generate()
        sealer = try SigningKey.generate(name: "Anna Archivist")
        approver = try SigningKey.generate(name: "Otto Officer")
        log = try AccessLog(path: dir.path("ledger.sqlite"), createIfMissing: true)
    }

    /// Writes files (path → content) under a new folder and returns its path.
    func folder(_ name: String, _ files: [String: [UInt8]], emptyDirectories: [String] = []) throws -> String {
        let root = dir.path(name)
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        for (path, content) in files {
            let url = URL(fileURLWithPath: root).appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(content).write(to: url)
        }
        for path in emptyDirectories {
            try FileManager.default.createDirectory(atPath: root + "/" + path, withIntermediateDirectories: true)
        }
        return root
    }

    func seal(_ source: String, id: String? = nil, to output: String? = nil, options: SealOptions? = nil) throws -> SealReceipt {
        var options = options ?? SealOptions()
        if let id { options.dossierID = id }
        if options.log == nil { options.log = recorder }
        return try Dossier.seal(source, to: [AgeRecipient(recipient.recipient)], signedBy: signers,
                                writingTo: output ?? dir.path(FileSystem.lastComponent(of: source) + ".dossier"), options: options)
    }

    /// A tmpfs with `options` (e.g. "size=1m") mounted at the new folder `name`, or nil where
    /// it cannot be made: only root can mount (as root, a failure is recorded). Unmount it
    /// with `unmount`.
    func smallFileSystem(_ name: String, options: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String? {
        let path = dir.path(name)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        let mount = try Subprocess.run("/bin/mount", ["-t", "tmpfs", "-o", options, "tmpfs", path])
        guard mount.status == 0 else {
            #expect(getuid() != 0, "mount failed as root: \(mount.stderr)", sourceLocation: sourceLocation)
            return nil
        }
        return path
    }

    static func unmount(_ path: String) { _ = try? Subprocess.run("/bin/umount", [path]) }

    /// Every regular file below `root` as relative path → content.
    static func contents(of root: String) throws -> [String: [UInt8]] {
        var out: [String: [UInt8]] = [:]
        let enumerator = FileManager.default.enumerator(atPath: root)
        while let path = enumerator?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: root + "/" + path, isDirectory: &isDirectory)
            if !isDirectory.boolValue { out[path] = Array(try Data(contentsOf: URL(fileURLWithPath: root + "/" + path))) }
        }
        return out
    }

    /// Every folder below `root`.
    static func folders(of root: String) -> Set<String> {
        var out = Set<String>()
        let enumerator = FileManager.default.enumerator(atPath: root)
        while let path = enumerator?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: root + "/" + path, isDirectory: &isDirectory)
            if isDirectory.boolValue { out.insert(path) }
        }
        return out
    }
}
