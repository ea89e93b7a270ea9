import Foundation
@testable import DossierKit

/// Builds dossiers that are correctly signed by the fixture's keys but whose inner archive
/// holds whatever a hostile (or buggy) sealer put there. Open must refuse them.
enum HostileDossier {
    struct Entry {
        var path: String
        var type: UInt32 = 0o100000
        var mode: UInt32 = 0o644
        var data: [UInt8] = []
        var symlink: String?
        var hardlink: String?

        static func file(_ path: String, _ data: [UInt8] = Array("x".utf8), mode: UInt32 = 0o644) -> Entry {
            Entry(path: path, mode: mode, data: data)
        }
        static func directory(_ path: String) -> Entry { Entry(path: path, type: 0o040000, mode: 0o755) }
        static func symlink(_ path: String, to target: String) -> Entry { Entry(path: path, type: 0o120000, mode: 0o777, symlink: target) }
        static func hardlink(_ path: String, to target: String) -> Entry { Entry(path: path, type: 0o100000, hardlink: target) }
        static func device(_ path: String) -> Entry { Entry(path: path, type: 0o020000, mode: 0o666) }
    }

    /// Writes the dossier and returns its path. `privateManifest` nil means: a manifest
    /// listing the regular files as they are (so only the path rules can object).
    static func build(_ fx: DossierFixture, name: String, entries: [Entry], privateManifest: [UInt8]? = nil,
                      declaredFiles: Int64? = nil, declaredBytes: Int64? = nil, declaredDirectories: Int64? = nil,
                      innerArchive: [UInt8]? = nil, changingInner: (([UInt8]) throws -> [UInt8])? = nil) throws -> String {
        let sealedAt: Int64 = 1_767_225_600
        let tarSink = MemorySink()
        let tar = try ArchiveWriter(format: .paxTarZstd(level: 1, threads: 1), sink: tarSink)
        var files: [PrivateManifest.File] = []
        for entry in entries {
            try tar.writeRawHeader(path: entry.path, fileType: entry.type, mode: entry.mode, size: Int64(entry.data.count),
                                   symlink: entry.symlink, hardlink: entry.hardlink)
            if !entry.data.isEmpty { try entry.data.withUnsafeBytes { try tar.writeData($0) } }
            try tar.finishEntry()
            if entry.type == 0o100000, entry.hardlink == nil, entry.path.hasPrefix("content/") {
                files.append(.init(path: String(entry.path.dropFirst(8)), size: Int64(entry.data.count),
                                   sha256: Hex.encode(SHA256.hash(entry.data)), mediaType: "text/plain", mode: 0o644, mtime: 0))
            }
        }
        let privateBytes = privateManifest ?? PrivateManifest(dossierID: name, files: files, directories: []).json().canonicalBytes()
        try tar.writeHeader(path: "manifest.json", isDirectory: false, size: Int64(privateBytes.count), permissions: 0o644, mtime: 0)
        try privateBytes.withUnsafeBytes { try tar.writeData($0) }
        try tar.finishEntry()
        try tar.close()

        // `innerArchive` replaces the generated tar.zst (e.g. one made by GNU tar).
        // `changingInner` changes the generated one (bytes appended after the tar's end).
        let inner = try innerArchive ?? changingInner.map { try $0(tarSink.bytes) } ?? tarSink.bytes
        let payload = try Age.encrypt(inner, to: [AgeRecipient(fx.recipient.recipient)])
        let headerLength = try AgeHeader.parse(from: BufferedReader(MemorySource(payload))).encoded.count
        let time = Timestamp.format(sealedAt)
        let manifest = DossierManifest(
            dossierID: name, sealedAt: time, publicMetadata: [:],
            payloadHeaderSHA256: Hex.encode(SHA256.hash(Array(payload[0..<headerLength]))),
            payloadBodySHA256: Hex.encode(SHA256.hash(Array(payload[headerLength...]))),
            payloadBodySize: Int64(payload.count - headerLength),
            fileCount: declaredFiles ?? Int64(files.count), directoryCount: declaredDirectories ?? 100,
            contentBytes: declaredBytes ?? files.reduce(0) { $0 + $1.size },
            privateManifestSHA256: Hex.encode(SHA256.hash(privateBytes)),
            signers: [.init(keyID: fx.sealer.publicKey.keyID, role: .sealer, name: "Anna Archivist")],
            accessLogGenesisSHA256: nil, generator: "hostile test")
        let manifestBytes = manifest.canonicalBytes()
        let path = fx.dir.path(name + ".dossier")
        let file = try FileSink(creating: path)
        let writer = try ContainerWriter(sink: file, mtime: sealedAt)
        try writer.add("mimetype", Array(ContainerFormat.mimetype.utf8))
        try writer.add("payload.age", payload)
        try writer.add("META-INF/manifest.json", manifestBytes)
        let statement = SignatureStatement(dossierID: name, role: .sealer, keyID: fx.sealer.publicKey.keyID, time: time, name: "Anna Archivist")
        let signature = try fx.sealer.sign(manifestBytes, trustedComment: statement.trustedComment)
        try writer.add(ContainerFormat.SignatureName(sequence: 1, role: .sealer, keyID: fx.sealer.publicKey.keyID).entryName,
                       Array(signature.fileText.utf8))
        try writer.close()
        try file.sync()
        try file.close()
        // Sealed without a log: register it so that opening has a history to extend.
        try fx.log.record(.registered, dossierID: name, payloadSHA256: manifest.payloadBodySHA256,
                          actor: DossierSigner(key: fx.sealer, role: .sealer, name: "Anna Archivist"), purpose: "hostile fixture")
        return path
    }
}
