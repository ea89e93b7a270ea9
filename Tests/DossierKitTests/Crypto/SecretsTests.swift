import Synchronization
import Testing
@testable import DossierKit

@Suite("CSPRNG and secret containers")
struct SecretsTests {
    @Test("random bytes have the requested size and differ between calls")
    func random() throws {
        let a = try SecureRandom.bytes(32), b = try SecureRandom.bytes(32)
        #expect(a.count == 32 && b.count == 32)
        #expect(a != b)
        #expect(try SecureRandom.bytes(0).isEmpty)
        let s = try SecureRandom.secretBytes(16)
        #expect(s.count == 16)
        #expect(s != (try SecureRandom.secretBytes(16)))
    }

    @Test("SecureBytes never prints its contents and compares by value")
    func secureBytes() {
        let secret = SecureBytes(copying: "hunter2-secret".bytes)
        #expect(!"\(secret)".contains("hunter2"))
        #expect("\(secret)".contains("redacted"))
        #expect(secret == SecureBytes(copying: "hunter2-secret".bytes))
        #expect(secret != SecureBytes(copying: "hunter2-secreT".bytes))
    }

    @Test("consuming an array wipes the array")
    func consuming() {
        var bytes: [UInt8] = [1, 2, 3, 4]
        let secret = SecureBytes(consuming: &bytes)
        #expect(bytes.isEmpty)
        #expect(secret.unsafeCopy == [1, 2, 3, 4])
    }

    @Test("secureWipe zeroes memory")
    func wipe() {
        var buffer: [UInt8] = [9, 9, 9]
        buffer.withUnsafeMutableBytes { secureWipe($0) }
        #expect(buffer == [0, 0, 0])
    }

    @Test("key files split into lines as before: LF, CRLF and CR CR LF endings, blanks trimmed, numbering kept")
    func keyFileLines() throws {
        let generated = try AgeX25519.generate()
        for ending in ["\n", "\r\n", "\r\r\n"] {
            let text = generated.identityFile.replacingOccurrences(of: "\n", with: ending)
            #expect(try AgeIdentity.parseIdentityFile(text).count == 1, "\(ending.debugDescription)")
        }
        let text = Array(" a \t\r\n\n#c\r\r\nlast".utf8)
        let lines = text.withUnsafeBytes { bytes in SecretFile.lines(bytes).map { String(decoding: bytes[$0], as: UTF8.self) } }
        #expect(lines == ["a", "", "#c", "last"])
        #expect(Array("é".utf8).withUnsafeBytes { SecretFile.isUTF8($0) })
        #expect(![0xC3, 0x28].withUnsafeBytes { SecretFile.isUTF8($0) })
    }

    @Test("a throwing initializer leaves no SecureBytes behind")
    func throwingInit() {
        struct Boom: Error {}
        #expect(throws: Boom.self) { try SecureBytes(count: 8) { (_) throws(Boom) in throw Boom() } }
    }
}

@Suite("Secret hygiene", .serialized)
struct SecretHygieneTests {
    @Test("secret buffers are zeroed before their memory is freed")
    func wipedOnRelease() throws {
        let seen = Mutex<[[UInt8]]>([])
        SecureBytes.wipeObserver.withLock { $0 = { buffer in seen.withLock { $0.append(Array(buffer)) } } }
        defer { SecureBytes.wipeObserver.withLock { $0 = nil } }
        do {
            let key = SecureBytes(copying: [UInt8](repeating: 0xA5, count: 4096))
            #expect(key.count == 4096)
            // Keys made and used the usual ways (X25519 identity, file key, passphrase).
            let identity = try AgeX25519.generate()
            _ = try Age.decrypt(try Age.encrypt(Array("x".utf8), to: [AgeRecipient(identity.recipient)]), with: [identity.identity])
            _ = try AgeIdentity.passphrase("a passphrase")
        }
        let buffers = seen.withLock { $0 }
        #expect(buffers.contains { $0.count >= 4096 }, "the 4 KiB key was released")
        #expect(buffers.allSatisfy { $0.allSatisfy { $0 == 0 } }, "a released secret buffer still held data")
        #expect(buffers.count >= 3)
    }

    @Test("the memory search finds a planted copy, and nothing once it is wiped")
    func residueSearchFindsPlantedCopy() throws {
        var planted = try SecureRandom.bytes(48)
        let pattern = MemoryResidue.Pattern(name: "planted", count: 32) { planted[$0 + 8] }
        let found = try MemoryResidue.search([pattern])
        let address = planted.withUnsafeBytes { UInt(bitPattern: $0.baseAddress) }
        #expect(found.count == 1, "\(found); the copy: \(MemoryResidue.describe(address))")
        secureWipe(&planted)
        let after = try MemoryResidue.search([pattern])
        #expect(after.isEmpty, "\(after)")
    }

    /// Catches copies that survive until the next step; a short-lived copy whose memory the
    /// allocator hands out again at once can escape it (the planted-copy test above shows
    /// the search itself finds what is there).
    @Test("writing and loading key files leaves no copy of the secret key in memory")
    func keyFilesLeaveNoResidue() throws {
        let dir = try TemporaryDirectory()
        let passphrase = "residue passphrase"
        // Searched after every step, before the allocator hands the memory out again; the
        // key's own bytes only once the key is gone (the live key holds them, wiped on release).
        var encoded: [MemoryResidue.Pattern] = [], raw: [MemoryResidue.Pattern] = []
        do {
            let key = try SigningKey.generate(name: "residue")
            let keyID = key.keyID
            key.privateKey.rawRepresentation.withUnsafeBytes { seed in
                let patterns = Self.residuePatterns(of: "signing key", count: 40) { $0 < 8 ? keyID[$0] : seed[$0 - 8] }
                encoded += patterns.encoded
                // The seed alone (the 40 bytes with the key id exist only inside Bech32).
                raw.append(MemoryResidue.Pattern(name: "signing key seed", count: 24) { seed[$0 + 4] })
            }
            try key.write(toPath: dir.path("plain.sign"))
            try Self.expectNoResidue(encoded, after: "writing a signing key")
            try key.write(toPath: dir.path("locked.sign"), passphrase: passphrase)
            try Self.expectNoResidue(encoded, after: "writing a passphrase-protected signing key")
            for name in ["plain.sign", "locked.sign"] {
                do {
                    let loaded = try SigningKey.load(path: dir.path(name), passphrase: { passphrase })
                    #expect(loaded.publicKey == key.publicKey)
                    _ = try loaded.sign(Array("message".utf8), trustedComment: "residue")
                }
                try Self.expectNoResidue(encoded, after: "loading \(name)")
            }
        }
        do {
            let generated = try AgeX25519.generate()
            let identity = try #require(generated.identity.type as? AgeX25519.Identity)
            identity.privateKey.rawRepresentation.withUnsafeBytes { secret in
                let patterns = Self.residuePatterns(of: "age identity", count: 32) { secret[$0] }
                encoded += patterns.encoded
                raw.append(patterns.raw)
            }
            try Self.expectNoResidue(encoded, after: "generating an age identity", ignoring: generated.identityFileBytes)
            try generated.writeIdentityFile(toPath: dir.path("plain.age"))
            try Self.expectNoResidue(encoded, after: "writing an identity file", ignoring: generated.identityFileBytes)
            try generated.writeIdentityFile(toPath: dir.path("locked.age"), passphrase: passphrase)
            try Self.expectNoResidue(encoded, after: "writing a passphrase-protected identity file", ignoring: generated.identityFileBytes)
            let ciphertext = try Age.encrypt(Array("x".utf8), to: [AgeRecipient(generated.recipient)])
            for name in ["plain.age", "locked.age"] {
                do {
                    let loaded = try AgeIdentity.loadIdentityFile(atPath: dir.path(name), passphrase: { passphrase })
                    #expect(try Age.decrypt(ciphertext, with: loaded) == Array("x".utf8))
                }
                try Self.expectNoResidue(encoded, after: "loading \(name)", ignoring: generated.identityFileBytes)
            }
        }
        try Self.expectNoResidue(encoded + raw, after: "releasing the keys")
    }

    /// The same for the passphrase itself: given as bytes (`Passphrase(consuming:)`), it is
    /// never copied outside wiping memory while keys are protected with it and opened again.
    @Test("a passphrase given as bytes leaves no copy in memory after protecting and loading key files")
    func passphraseLeavesNoResidue() throws {
        let dir = try TemporaryDirectory()
        // Random letters, never a string; the search patterns hold them masked.
        let letters = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".utf8)
        var bytes = try SecureRandom.bytes(40).map { letters[Int($0) % letters.count] }
        let pattern = [MemoryResidue.Pattern(name: "passphrase", count: 32) { bytes[$0 + 4] }]
        do {
            let passphrase = Passphrase(consuming: &bytes)
            #expect(bytes.isEmpty)
            let live = passphrase.secret
            try Self.expectNoResidue(pattern, after: "making the passphrase", ignoring: live)
            let key = try SigningKey.generate(name: "residue")
            try key.write(toPath: dir.path("locked.sign"), passphrase: passphrase)
            try Self.expectNoResidue(pattern, after: "protecting a signing key", ignoring: live)
            let generated = try AgeX25519.generate()
            try generated.writeIdentityFile(toPath: dir.path("locked.age"), passphrase: passphrase)
            try Self.expectNoResidue(pattern, after: "protecting an identity file", ignoring: live)
            #expect(try SigningKey.load(path: dir.path("locked.sign"), passphrase: { passphrase }).publicKey == key.publicKey)
            try Self.expectNoResidue(pattern, after: "loading the signing key", ignoring: live)
            let identities = try AgeIdentity.loadIdentityFile(atPath: dir.path("locked.age"), passphrase: { passphrase })
            #expect(identities.first?.recipient?.description == generated.recipient)
            try Self.expectNoResidue(pattern, after: "loading the identity file", ignoring: live)
        }
        try Self.expectNoResidue(pattern, after: "releasing the passphrase")
    }

    /// Searches memory for `patterns`, except inside `live` (a buffer that holds the secret on purpose).
    private static func expectNoResidue(_ patterns: [MemoryResidue.Pattern], after step: String, ignoring live: SecureBytes? = nil,
                                        sourceLocation: SourceLocation = #_sourceLocation) throws {
        let findings = try live.map { live in try live.withUnsafeBytes { try MemoryResidue.search(patterns, ignoring: [$0]) } }
            ?? MemoryResidue.search(patterns)
        #expect(findings.isEmpty, "copies of a secret were left in memory after \(step): \(findings)", sourceLocation: sourceLocation)
    }

    /// Masked search patterns for the secret `bytes` (given one by one) and the forms a key
    /// file's secret line takes: Bech32's 5-bit words, its characters in lower and in upper
    /// case. Windows from the middle, so allocator metadata over a buffer's start hides nothing.
    private static func residuePatterns(of name: String, count: Int, byte: (Int) -> UInt8)
        -> (raw: MemoryResidue.Pattern, encoded: [MemoryResidue.Pattern]) {
        func word(_ index: Int) -> UInt8 {
            var value: UInt8 = 0
            for bit in (5 * index)..<(5 * index + 5) {
                let set = bit / 8 < count ? (byte(bit / 8) >> UInt8(7 - bit % 8)) & 1 : 0
                value = value << 1 | set
            }
            return value
        }
        let alphabet = Array("qpzry9x8gf2tvdw0s3jn54khce6mua7l".utf8)
        let upper = Array("QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L".utf8)
        return (MemoryResidue.Pattern(name: "\(name) bytes", count: 24) { byte($0 + 4) }, [
            MemoryResidue.Pattern(name: "\(name) Bech32 words", count: 32) { word($0 + 8) },
            MemoryResidue.Pattern(name: "\(name) Bech32 text", count: 32) { alphabet[Int(word($0 + 8))] },
            MemoryResidue.Pattern(name: "\(name) Bech32 text (upper case)", count: 32) { upper[Int(word($0 + 8))] },
        ])
    }

    @Test("core dumps can be switched off for a process that holds keys")
    func coreDumps() {
        #expect(ProcessHardening.protectSecrets(keepCrashReports: true))
        #expect(ProcessHardening.coreDumpsDisabled)
    }
}
