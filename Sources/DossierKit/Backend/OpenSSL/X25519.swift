import CDossierOpenSSL
import Foundation

/// X25519 Diffie-Hellman (RFC 7748), as age's recipients use it.
package enum X25519 {
    package static let keyByteCount = 32

    /// A 32-byte X25519 public key (u-coordinate, little-endian).
    package struct PublicKey: Sendable, Hashable {
        package let rawRepresentation: [UInt8]

        package init(rawRepresentation: some ContiguousBytes) throws(CryptoError) {
            let bytes = rawRepresentation.withUnsafeBytes { Array($0) }
            guard bytes.count == X25519.keyByteCount else {
                throw CryptoError(.invalidKey, "an X25519 public key is 32 bytes, got \(bytes.count)")
            }
            self.rawRepresentation = bytes
        }
    }

    /// A 32-byte X25519 private key, held in wiping memory.
    package struct PrivateKey: Sendable {
        package let rawRepresentation: SecureBytes

        /// Generates a new random private key.
        package init() throws(CryptoError) {
            rawRepresentation = try SecureRandom.secretBytes(X25519.keyByteCount)
        }

        package init(rawRepresentation: SecureBytes) throws(CryptoError) {
            guard rawRepresentation.count == X25519.keyByteCount else {
                throw CryptoError(.invalidKey, "an X25519 private key is 32 bytes, got \(rawRepresentation.count)")
            }
            self.rawRepresentation = rawRepresentation
        }

        /// The matching public key (scalar multiplication of the base point).
        package func publicKey() throws(CryptoError) -> PublicKey {
            let pkey = try RawKey.privateKey(type: EVP_PKEY_X25519, rawRepresentation)
            defer { EVP_PKEY_free(pkey) }
            return try PublicKey(rawRepresentation: RawKey.publicBytes(of: pkey))
        }

        /// Computes the shared secret with `peer`.
        ///
        /// - Parameter rejectingAllZero: throw `.lowOrderPoint` when the result is all zeros,
        ///   which happens exactly when `peer` is a low-order point (RFC 7748 §6.1). age
        ///   requires this check; it is on by default.
        package func sharedSecret(with peer: PublicKey, rejectingAllZero: Bool = true) throws(CryptoError) -> SecureBytes {
            let pkey = try RawKey.privateKey(type: EVP_PKEY_X25519, rawRepresentation)
            defer { EVP_PKEY_free(pkey) }
            let peerKey = try RawKey.publicKey(type: EVP_PKEY_X25519, peer.rawRepresentation)
            defer { EVP_PKEY_free(peerKey) }
            guard let ctx = EVP_PKEY_CTX_new_from_pkey(nil, pkey, nil) else {
                throw OpenSSL.error(.backendFailure, "EVP_PKEY_CTX_new_from_pkey failed")
            }
            defer { EVP_PKEY_CTX_free(ctx) }
            try OpenSSL.check(EVP_PKEY_derive_init(ctx), .backendFailure, "X25519 derive init failed")
            try OpenSSL.check(EVP_PKEY_derive_set_peer_ex(ctx, peerKey, 0), .invalidKey, "X25519 peer key rejected")
            let secret = try SecureBytes(count: X25519.keyByteCount) { (out) throws(CryptoError) in
                var length = out.count
                let ok = EVP_PKEY_derive(ctx, out.bindMemory(to: UInt8.self).baseAddress, &length)
                if ok != 1 {
                    // OpenSSL refuses to output the all-zero secret of a low-order point.
                    let reasons = OpenSSL.drainErrors()
                    // Its only failure here is that case (ossl_x25519 returns 0 only for it).
                    if !rejectingAllZero {
                        secureWipe(out)
                        return
                    }
                    throw CryptoError(.lowOrderPoint, "X25519 produced the all-zero shared secret: the public key is a low-order point (openssl: \(reasons))")
                }
                guard length == X25519.keyByteCount else {
                    throw CryptoError(.backendFailure, "unexpected X25519 output length \(length)")
                }
                if rejectingAllZero && out.allSatisfy({ $0 == 0 }) {
                    throw CryptoError(.lowOrderPoint, "X25519 produced the all-zero shared secret: the public key is a low-order point")
                }
            }
            return secret
        }
    }
}
