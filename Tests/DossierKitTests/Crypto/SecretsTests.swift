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
