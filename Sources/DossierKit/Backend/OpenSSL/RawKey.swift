import CDossierOpenSSL
import Foundation

/// Helpers for OpenSSL's raw-key EVP_PKEY types (X25519, Ed25519).
enum RawKey {
    /// Creates an EVP_PKEY from 32 raw private bytes. The caller frees it.
    static func privateKey(type: Int32, _ raw: SecureBytes) throws(CryptoError) -> OpaquePointer {
        let pkey = raw.withUnsafeBytes { raw in
            EVP_PKEY_new_raw_private_key(type, nil, raw.bindMemory(to: UInt8.self).baseAddress, raw.count)
        }
        guard let pkey else { throw OpenSSL.error(.invalidKey, "invalid private key") }
        return pkey
    }

    /// Creates an EVP_PKEY from raw public bytes. The caller frees it.
    static func publicKey(type: Int32, _ raw: [UInt8]) throws(CryptoError) -> OpaquePointer {
        let pkey = raw.withUnsafeBufferPointer { EVP_PKEY_new_raw_public_key(type, nil, $0.baseAddress, $0.count) }
        guard let pkey else { throw OpenSSL.error(.invalidKey, "invalid public key") }
        return pkey
    }

    /// Reads the 32-byte public key of a private key.
    static func publicBytes(of pkey: OpaquePointer) throws(CryptoError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length = out.count
        let ok = out.withUnsafeMutableBufferPointer { EVP_PKEY_get_raw_public_key(pkey, $0.baseAddress, &length) }
        try OpenSSL.check(ok, .invalidKey, "deriving the public key failed")
        guard length == 32 else { throw CryptoError(.invalidKey, "unexpected public key length \(length)") }
        return out
    }
}
