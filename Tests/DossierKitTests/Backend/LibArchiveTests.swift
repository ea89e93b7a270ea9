import Testing
@testable import DossierKit

@Suite("C backends are linked and usable")
struct BackendTests {
    @Test("OpenSSL is version 3 and libarchive at least 3.6 with zstd")
    func versions() {
        #expect(OpenSSLInfo.versionNumber >= 0x3000_0000)
        #expect(OpenSSLInfo.version.hasPrefix("OpenSSL 3"))
        #expect(LibArchive.versionNumber >= 3_006_000)
        #expect(LibArchive.versionDetails.contains("libzstd"))
        #expect(DossierKit.backendVersions.keys.sorted() == ["libarchive", "openssl"])
    }

    @Test("OpenSSL errors become typed errors carrying OpenSSL's reason")
    func openSSLErrorsAreTyped() {
        do {
            // N = 2^20, r = 8 needs 1 GiB; a 1 MiB limit makes OpenSSL itself refuse.
            _ = try Scrypt.deriveKey(password: [UInt8](), salt: [UInt8](), n: 1 << 20, r: 8, p: 1, outputByteCount: 32, maxMemory: 1 << 20)
            Issue.record("scrypt ignored the memory limit")
        } catch {
            #expect(error.code == .invalidParameter)
            #expect(error.reason.contains("openssl:"), "reason: \(error.reason)")
        }
    }
}
