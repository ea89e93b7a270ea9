import CDossierOpenSSL
import Foundation

/// HMAC (RFC 2104) over SHA-256, through OpenSSL's EVP_MAC.
package enum HMACSHA256 {
    package static let byteCount = 32

    /// Computes HMAC-SHA-256 of `message` under `key`.
    package static func authenticate(_ message: some ContiguousBytes, key: some ContiguousBytes) throws(CryptoError) -> [UInt8] {
        let mac = try HMACContext(key: key)
        mac.update(message)
        return try mac.finalize()
    }

    /// Checks `tag` against HMAC-SHA-256 of `message` in constant time.
    package static func isValid(_ tag: some ContiguousBytes, for message: some ContiguousBytes, key: some ContiguousBytes) throws(CryptoError) -> Bool {
        let expected = try authenticate(message, key: key)
        return constantTimeEquals(expected, tag)
    }
}

/// An incremental HMAC-SHA-256 computation.
package final class HMACContext {
    private let ctx: OpaquePointer

    package init(key: some ContiguousBytes) throws(CryptoError) {
        guard let mac = EVP_MAC_fetch(nil, "HMAC", nil) else {
            throw OpenSSL.error(.backendFailure, "EVP_MAC_fetch(HMAC) failed")
        }
        defer { EVP_MAC_free(mac) }
        guard let ctx = EVP_MAC_CTX_new(mac) else {
            throw OpenSSL.error(.backendFailure, "EVP_MAC_CTX_new failed")
        }
        self.ctx = ctx
        let ok = key.withUnsafeBytes { key in
            dossier_hmac_init(ctx, key.bindMemory(to: UInt8.self).baseAddress, key.count, "SHA256")
        }
        try OpenSSL.check(ok, .invalidKey, "HMAC init failed")
    }

    deinit { EVP_MAC_CTX_free(ctx) }

    package func update(_ bytes: some ContiguousBytes) {
        bytes.withUnsafeBytes { bytes in
            guard bytes.count > 0 else { return }
            let ok = EVP_MAC_update(ctx, bytes.bindMemory(to: UInt8.self).baseAddress, bytes.count)
            precondition(ok == 1, "EVP_MAC_update failed: \(OpenSSL.drainErrors())")
        }
    }

    package func finalize() throws(CryptoError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: HMACSHA256.byteCount)
        var length = 0
        let ok = out.withUnsafeMutableBytes {
            EVP_MAC_final(ctx, $0.bindMemory(to: UInt8.self).baseAddress, &length, $0.count)
        }
        try OpenSSL.check(ok, .backendFailure, "EVP_MAC_final failed")
        return out
    }
}
