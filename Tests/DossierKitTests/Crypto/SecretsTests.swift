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

    @Test("core dumps can be switched off for a process that holds keys")
    func coreDumps() {
        #expect(ProcessHardening.protectSecrets(keepCrashReports: true))
        #expect(ProcessHardening.coreDumpsDisabled)
    }
}
