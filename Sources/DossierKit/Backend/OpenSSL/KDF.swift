import CDossierOpenSSL
import Foundation

/// HKDF with SHA-256 (RFC 5869), extract and expand in one call.
package enum HKDFSHA256 {
    /// Derives `outputByteCount` bytes (at most 255 × 32). An empty `salt` means the RFC's
    /// default salt (32 zero bytes).
    package static func deriveKey(
        inputKeyMaterial ikm: some ContiguousBytes,
        salt: some ContiguousBytes,
        info: some ContiguousBytes,
        outputByteCount: Int
    ) throws(CryptoError) -> SecureBytes {
        guard outputByteCount > 0, outputByteCount <= 255 * SHA256.byteCount else {
            throw CryptoError(.invalidParameter, "HKDF-SHA-256 output of \(outputByteCount) bytes is outside 1...\(255 * SHA256.byteCount)")
        }
        return try SecureBytes(count: outputByteCount) { (out) throws(CryptoError) in
            let ok = ikm.withUnsafeBytes { ikm in
                salt.withUnsafeBytes { salt in
                    info.withUnsafeBytes { info in
                        dossier_hkdf(
                            "SHA256",
                            ikm.bindMemory(to: UInt8.self).baseAddress, ikm.count,
                            salt.bindMemory(to: UInt8.self).baseAddress, salt.count,
                            info.bindMemory(to: UInt8.self).baseAddress, info.count,
                            out.bindMemory(to: UInt8.self).baseAddress, out.count)
                    }
                }
            }
            try OpenSSL.check(ok, .backendFailure, "HKDF-SHA-256 derivation failed")
        }
    }
}

/// scrypt (RFC 7914).
package enum Scrypt {
    /// Derives `outputByteCount` bytes from `password` and `salt` with cost `n` (a power of
    /// two greater than 1), block size `r` and parallelism `p`. `maxMemory` bounds what
    /// OpenSSL may allocate (about 128 · r · (N + p) bytes are needed); exceeding it is an
    /// error. `nil` allows exactly what the parameters need: callers bound the cost by
    /// bounding `n` (age's maximum work factor).
    package static func deriveKey(
        password: some ContiguousBytes,
        salt: some ContiguousBytes,
        n: UInt64, r: UInt32, p: UInt32,
        outputByteCount: Int,
        maxMemory: UInt64? = nil
    ) throws(CryptoError) -> SecureBytes {
        guard n > 1, n & (n - 1) == 0 else {
            throw CryptoError(.invalidParameter, "scrypt cost N=\(n) is not a power of two greater than 1")
        }
        guard r > 0, p > 0, outputByteCount > 0 else {
            throw CryptoError(.invalidParameter, "scrypt parameters r=\(r) p=\(p) length=\(outputByteCount) must be positive")
        }
        let (needed, overflow) = (n + 2 + UInt64(p)).multipliedReportingOverflow(by: 128 * UInt64(r))
        guard !overflow else { throw CryptoError(.invalidParameter, "scrypt parameters N=\(n) r=\(r) p=\(p) overflow") }
        let maxMemory = maxMemory ?? needed + (1 << 20)
        return try SecureBytes(count: outputByteCount) { (out) throws(CryptoError) in
            let ok = password.withUnsafeBytes { password in
                salt.withUnsafeBytes { salt in
                    dossier_scrypt(
                        password.bindMemory(to: UInt8.self).baseAddress, password.count,
                        salt.bindMemory(to: UInt8.self).baseAddress, salt.count,
                        n, r, p, maxMemory,
                        out.bindMemory(to: UInt8.self).baseAddress, out.count)
                }
            }
            try OpenSSL.check(ok, .invalidParameter, "scrypt derivation failed (N=\(n), r=\(r), p=\(p), memory limit \(maxMemory) bytes)")
        }
    }
}
