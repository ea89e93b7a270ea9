import CDossierOpenSSL
import Foundation

/// Ed25519 signatures (RFC 8032, pure mode), as minisign uses them.
package enum Ed25519 {
    package static let keyByteCount = 32
    package static let signatureByteCount = 64

    /// A 32-byte Ed25519 public key.
    package struct PublicKey: Sendable, Hashable {
        package let rawRepresentation: [UInt8]

        package init(rawRepresentation: some ContiguousBytes) throws(CryptoError) {
            let bytes = rawRepresentation.withUnsafeBytes { Array($0) }
            guard bytes.count == Ed25519.keyByteCount else {
                throw CryptoError(.invalidKey, "an Ed25519 public key is 32 bytes, got \(bytes.count)")
            }
            self.rawRepresentation = bytes
        }

        /// Whether `signature` is a valid signature of `message` under this key. Rejects
        /// malformed signatures (wrong length, non-canonical S) and invalid keys.
        package func isValidSignature(_ signature: some ContiguousBytes, for message: some ContiguousBytes) -> Bool {
            let sig = signature.withUnsafeBytes { Array($0) }
            guard sig.count == Ed25519.signatureByteCount else { return false }
            guard let pkey = try? RawKey.publicKey(type: EVP_PKEY_ED25519, rawRepresentation) else {
                _ = OpenSSL.drainErrors()
                return false
            }
            defer { EVP_PKEY_free(pkey) }
            guard let ctx = EVP_MD_CTX_new() else { return false }
            defer { EVP_MD_CTX_free(ctx) }
            guard EVP_DigestVerifyInit_ex(ctx, nil, nil, nil, nil, pkey, nil) == 1 else {
                _ = OpenSSL.drainErrors()
                return false
            }
            let ok = message.withUnsafeBytes { message in
                EVP_DigestVerify(ctx, sig, sig.count, message.bindMemory(to: UInt8.self).baseAddress, message.count)
            }
            _ = OpenSSL.drainErrors()
            return ok == 1
        }
    }

    /// An Ed25519 private key: the 32-byte seed of RFC 8032, held in wiping memory.
    package struct PrivateKey: Sendable {
        package let rawRepresentation: SecureBytes

        /// Generates a new random key.
        package init() throws(CryptoError) {
            rawRepresentation = try SecureRandom.secretBytes(Ed25519.keyByteCount)
        }

        package init(rawRepresentation: SecureBytes) throws(CryptoError) {
            guard rawRepresentation.count == Ed25519.keyByteCount else {
                throw CryptoError(.invalidKey, "an Ed25519 private key (seed) is 32 bytes, got \(rawRepresentation.count)")
            }
            self.rawRepresentation = rawRepresentation
        }

        package func publicKey() throws(CryptoError) -> PublicKey {
            let pkey = try RawKey.privateKey(type: EVP_PKEY_ED25519, rawRepresentation)
            defer { EVP_PKEY_free(pkey) }
            return try PublicKey(rawRepresentation: RawKey.publicBytes(of: pkey))
        }

        /// Signs `message` (deterministic, RFC 8032).
        package func signature(for message: some ContiguousBytes) throws(CryptoError) -> [UInt8] {
            let pkey = try RawKey.privateKey(type: EVP_PKEY_ED25519, rawRepresentation)
            defer { EVP_PKEY_free(pkey) }
            guard let ctx = EVP_MD_CTX_new() else { throw OpenSSL.error(.backendFailure, "EVP_MD_CTX_new failed") }
            defer { EVP_MD_CTX_free(ctx) }
            try OpenSSL.check(EVP_DigestSignInit_ex(ctx, nil, nil, nil, nil, pkey, nil), .backendFailure, "Ed25519 sign init failed")
            var signature = [UInt8](repeating: 0, count: Ed25519.signatureByteCount)
            var length = signature.count
            let ok = message.withUnsafeBytes { message in
                signature.withUnsafeMutableBufferPointer {
                    EVP_DigestSign(ctx, $0.baseAddress, &length, message.bindMemory(to: UInt8.self).baseAddress, message.count)
                }
            }
            try OpenSSL.check(ok, .backendFailure, "Ed25519 signing failed")
            return signature
        }
    }
}
