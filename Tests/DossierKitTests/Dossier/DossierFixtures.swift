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

    /// Flips the lowest bit of the payload's byte `fromEnd` bytes before its end (in its last
    /// chunk: met after everything before it was decrypted).
    static func flipPayloadByte(_ path: String, fromEnd: Int64) throws {
        let container = try ContainerReader(path: path)
        let offset = UInt64(container.payload.dataOffset + container.payload.size - fromEnd)
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seek(toOffset: offset)
        let byte = try #require(try handle.read(upToCount: 1)).first!
        try handle.seek(toOffset: offset)
        try handle.write(contentsOf: [byte ^ 0x01])
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

    /// Whether this process may mount file systems: root with CAP_SYS_ADMIN (a container's
    /// root often has not). Tests that need a mount are enabled only then, and say so when not.
    static let canMount: Bool = {
        guard getuid() == 0, let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("CapEff:") }),
              let caps = UInt64(line.dropFirst("CapEff:".count).trimmingCharacters(in: .whitespaces), radix: 16) else { return false }
        return caps & (1 << 21) != 0  // CAP_SYS_ADMIN
    }()

    /// A tmpfs with `options` (e.g. "size=1m") mounted at the new folder `name` (tests that
    /// call it are enabled only where `canMount`; a failure is then recorded). Unmount it
    /// with `unmount`.
    func smallFileSystem(_ name: String, options: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String? {
        let path = dir.path(name)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        let mount = try Subprocess.run("/bin/mount", ["-t", "tmpfs", "-o", options, "tmpfs", path])
        guard mount.status == 0 else {
            Issue.record("mount failed: \(mount.stderr)", sourceLocation: sourceLocation)
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
