import CDossierOpenSSL
import Foundation

/// The AEAD ciphers the formats use: ChaCha20-Poly1305 (RFC 8439; age's payload and
/// stanzas) and AES-GCM (NIST SP 800-38D) with 128-, 192- or 256-bit keys.
package enum AEADAlgorithm: Sendable {
    case chaCha20Poly1305
    case aesGCM

    /// Tag length in bytes (both ciphers use full 16-byte tags).
    package static let tagByteCount = 16
}

/// An AEAD key bound to an OpenSSL cipher context, reusable for many messages.
///
/// Plaintext produced by `open` is written to the caller's buffer only as the cipher runs;
/// if the tag does not verify, the buffer is wiped before the error is thrown, so no
/// unauthenticated byte is ever released. Not thread-safe: use one instance per task.
package final class AEADKey {
    package let algorithm: AEADAlgorithm
    private let key: SecureBytes
    private let cipher: OpaquePointer
    private let ctx: OpaquePointer
    private var direction: Int32 = -1  // -1 none, 1 encrypt, 0 decrypt
    private var nonceLength = -1

    /// Binds `key` (32 bytes for ChaCha20-Poly1305; 16, 24 or 32 for AES-GCM).
    package init(_ algorithm: AEADAlgorithm, key: some ContiguousBytes) throws(CryptoError) {
        self.algorithm = algorithm
        let keyCount = key.withUnsafeBytes { $0.count }
        switch algorithm {
        case .chaCha20Poly1305:
            guard keyCount == 32 else {
                throw CryptoError(.invalidKey, "ChaCha20-Poly1305 needs a 32-byte key, got \(keyCount) bytes")
            }
            cipher = FetchedCiphers.chaCha20Poly1305
        case .aesGCM:
            switch keyCount {
            case 16: cipher = FetchedCiphers.aes128GCM
            case 24: cipher = FetchedCiphers.aes192GCM
            case 32: cipher = FetchedCiphers.aes256GCM
            default: throw CryptoError(.invalidKey, "AES-GCM needs a 16-, 24- or 32-byte key, got \(keyCount) bytes")
            }
        }
        self.key = SecureBytes(copying: key)
        guard let ctx = EVP_CIPHER_CTX_new() else { throw OpenSSL.error(.backendFailure, "EVP_CIPHER_CTX_new failed") }
        self.ctx = ctx
    }

    deinit { EVP_CIPHER_CTX_free(ctx) }

    private func checkNonce(_ count: Int) throws(CryptoError) {
        switch algorithm {
        case .chaCha20Poly1305:
            guard count == 12 else {
                throw CryptoError(.invalidNonce, "ChaCha20-Poly1305 needs a 12-byte nonce, got \(count) bytes")
            }
        case .aesGCM:
            guard count > 0 else { throw CryptoError(.invalidNonce, "AES-GCM needs a non-empty IV") }
        }
    }

    /// EVP handles IVs up to 128 bytes; longer GCM IVs go through OpenSSL's GCM128 functions.
    private func usesLongIVPath(_ nonceCount: Int) -> Bool {
        algorithm == .aesGCM && nonceCount > 128
    }

    private func start(encrypt: Int32, nonce: UnsafeRawBufferPointer) throws(CryptoError) {
        if direction != encrypt || nonceLength != nonce.count {
            // Full (re)initialisation: cipher, IV length, key.
            try OpenSSL.check(EVP_CipherInit_ex2(ctx, cipher, nil, nil, encrypt, nil), .backendFailure, "cipher init failed")
            if nonce.count != 12 {
                try OpenSSL.check(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, Int32(nonce.count), nil), .invalidNonce, "IV length \(nonce.count) rejected")
            }
            let ok = key.withUnsafeBytes { key in
                EVP_CipherInit_ex2(ctx, nil, key.bindMemory(to: UInt8.self).baseAddress, nonce.bindMemory(to: UInt8.self).baseAddress, encrypt, nil)
            }
            try OpenSSL.check(ok, .backendFailure, "cipher key setup failed")
            direction = encrypt
            nonceLength = nonce.count
        } else {
            // Same key and direction: only the nonce changes.
            let ok = EVP_CipherInit_ex2(ctx, nil, nil, nonce.bindMemory(to: UInt8.self).baseAddress, encrypt, nil)
            try OpenSSL.check(ok, .backendFailure, "cipher nonce setup failed")
        }
    }

    private func addAAD(_ aad: UnsafeRawBufferPointer) throws(CryptoError) {
        guard aad.count > 0 else { return }
        var outLength: Int32 = 0
        try OpenSSL.check(
            EVP_CipherUpdate(ctx, nil, &outLength, aad.bindMemory(to: UInt8.self).baseAddress, Int32(aad.count)),
            .backendFailure, "AAD update failed")
    }

    /// Encrypts `plaintext` into `output`, which must hold `plaintext.count + 16` bytes
    /// (ciphertext followed by the tag).
    package func seal(
        _ plaintext: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer,
        into output: UnsafeMutableRawBufferPointer
    ) throws(CryptoError) {
        try checkNonce(nonce.count)
        precondition(output.count == plaintext.count + AEADAlgorithm.tagByteCount, "output must be plaintext + tag")
        guard plaintext.count <= Int(Int32.max) else { throw CryptoError(.invalidParameter, "message too large for one AEAD call") }
        let out = output.bindMemory(to: UInt8.self)
        if usesLongIVPath(nonce.count) {
            let ok = key.withUnsafeBytes { key in
                dossier_gcm_long_iv(1, key.bindMemory(to: UInt8.self).baseAddress, key.count,
                                    nonce.bindMemory(to: UInt8.self).baseAddress, nonce.count,
                                    aad.bindMemory(to: UInt8.self).baseAddress, aad.count,
                                    plaintext.bindMemory(to: UInt8.self).baseAddress, plaintext.count,
                                    out.baseAddress, out.baseAddress! + plaintext.count)
            }
            try OpenSSL.check(ok, .backendFailure, "AES-GCM (long IV) encryption failed")
            return
        }
        do throws(CryptoError) {
            try start(encrypt: 1, nonce: nonce)
            try addAAD(aad)
            var written: Int32 = 0
            if plaintext.count > 0 {
                try OpenSSL.check(
                    EVP_CipherUpdate(ctx, out.baseAddress, &written, plaintext.bindMemory(to: UInt8.self).baseAddress, Int32(plaintext.count)),
                    .backendFailure, "encryption failed")
            }
            var finalLength: Int32 = 0
            try OpenSSL.check(EVP_CipherFinal_ex(ctx, out.baseAddress! + Int(written), &finalLength), .backendFailure, "encryption final failed")
            try OpenSSL.check(
                EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, Int32(AEADAlgorithm.tagByteCount), out.baseAddress! + plaintext.count),
                .backendFailure, "reading the tag failed")
        } catch {
            // The context is in an unknown state: the next call initialises it fully (as `open` does).
            direction = -1
            throw error
        }
    }

    /// Decrypts and authenticates `sealed` (ciphertext followed by the 16-byte tag) into
    /// `output`, which must hold `sealed.count - 16` bytes. On any failure `output` is wiped.
    package func open(
        _ sealed: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer,
        into output: UnsafeMutableRawBufferPointer
    ) throws(CryptoError) {
        try checkNonce(nonce.count)
        guard sealed.count >= AEADAlgorithm.tagByteCount else {
            throw CryptoError(.authenticationFailure, "ciphertext of \(sealed.count) bytes is shorter than the tag")
        }
        let ciphertextCount = sealed.count - AEADAlgorithm.tagByteCount
        precondition(output.count == ciphertextCount, "output must be ciphertext length")
        guard ciphertextCount <= Int(Int32.max) else { throw CryptoError(.invalidParameter, "message too large for one AEAD call") }
        let input = sealed.bindMemory(to: UInt8.self)
        let out = output.bindMemory(to: UInt8.self)
        if usesLongIVPath(nonce.count) {
            let ok = key.withUnsafeBytes { key in
                dossier_gcm_long_iv(0, key.bindMemory(to: UInt8.self).baseAddress, key.count,
                                    nonce.bindMemory(to: UInt8.self).baseAddress, nonce.count,
                                    aad.bindMemory(to: UInt8.self).baseAddress, aad.count,
                                    input.baseAddress, ciphertextCount,
                                    out.baseAddress, UnsafeMutablePointer(mutating: input.baseAddress! + ciphertextCount))
            }
            if ok != 1 {
                secureWipe(output)
                throw OpenSSL.error(.authenticationFailure, "AES-GCM authentication failed")
            }
            return
        }
        do throws(CryptoError) {
            try start(encrypt: 0, nonce: nonce)
            try addAAD(aad)
            var written: Int32 = 0
            if ciphertextCount > 0 {
                try OpenSSL.check(
                    EVP_CipherUpdate(ctx, out.baseAddress, &written, input.baseAddress, Int32(ciphertextCount)),
                    .backendFailure, "decryption failed")
            }
            try OpenSSL.check(
                EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, Int32(AEADAlgorithm.tagByteCount),
                                    UnsafeMutableRawPointer(mutating: input.baseAddress! + ciphertextCount)),
                .backendFailure, "setting the tag failed")
            var finalLength: Int32 = 0
            var scratch = [UInt8](repeating: 0, count: 16)
            let ok = scratch.withUnsafeMutableBufferPointer { EVP_CipherFinal_ex(ctx, $0.baseAddress, &finalLength) }
            if ok != 1 {
                _ = OpenSSL.drainErrors()
                throw CryptoError(.authenticationFailure, "\(algorithm == .aesGCM ? "AES-GCM" : "ChaCha20-Poly1305") authentication failed: wrong key or modified data")
            }
        } catch {
            secureWipe(output)
            direction = -1
            throw error
        }
    }

    /// Encrypts and returns ciphertext followed by the tag.
    package func seal(_ plaintext: some ContiguousBytes, nonce: some ContiguousBytes, aad: some ContiguousBytes = [UInt8]()) throws(CryptoError) -> [UInt8] {
        let count = plaintext.withUnsafeBytes { $0.count }
        var out = [UInt8](repeating: 0, count: count + AEADAlgorithm.tagByteCount)
        try withBytes(plaintext, nonce, aad) { (p, n, a) throws(CryptoError) in
            try withMutableBytes(&out) { (o) throws(CryptoError) in try seal(p, nonce: n, aad: a, into: o) }
        }
        return out
    }

    /// Decrypts ciphertext-and-tag and returns the authenticated plaintext.
    package func open(_ sealed: some ContiguousBytes, nonce: some ContiguousBytes, aad: some ContiguousBytes = [UInt8]()) throws(CryptoError) -> [UInt8] {
        // The parameters first: a nonce of the wrong size is that, whatever the data.
        try checkNonce(nonce.withUnsafeBytes { $0.count })
        let count = sealed.withUnsafeBytes { $0.count }
        guard count >= AEADAlgorithm.tagByteCount else {
            throw CryptoError(.authenticationFailure, "ciphertext of \(count) bytes is shorter than the tag")
        }
        var out = [UInt8](repeating: 0, count: count - AEADAlgorithm.tagByteCount)
        try withBytes(sealed, nonce, aad) { (s, n, a) throws(CryptoError) in
            try withMutableBytes(&out) { (o) throws(CryptoError) in try open(s, nonce: n, aad: a, into: o) }
        }
        return out
    }
}

/// Runs `body` with raw views of three byte collections.
func withBytes<R, E: Error>(
    _ a: some ContiguousBytes, _ b: some ContiguousBytes, _ c: some ContiguousBytes,
    _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws(E) -> R
) throws(E) -> R {
    let result: Result<R, E> = a.withUnsafeBytes { a in
        b.withUnsafeBytes { b in
            c.withUnsafeBytes { c in
                do throws(E) { return .success(try body(a, b, c)) } catch { return .failure(error) }
            }
        }
    }
    return try result.get()
}

private enum FetchedCiphers {
    // EVP_CIPHER objects are immutable and thread-safe once fetched.
    nonisolated(unsafe) static let chaCha20Poly1305 = fetch("ChaCha20-Poly1305")
    nonisolated(unsafe) static let aes128GCM = fetch("AES-128-GCM")
    nonisolated(unsafe) static let aes192GCM = fetch("AES-192-GCM")
    nonisolated(unsafe) static let aes256GCM = fetch("AES-256-GCM")

    static func fetch(_ name: String) -> OpaquePointer {
        guard let cipher = EVP_CIPHER_fetch(nil, name, nil) else {
            fatalError("libcrypto has no \(name): \(OpenSSL.drainErrors())")
        }
        return cipher
    }
}

/// ChaCha20-Poly1305 (RFC 8439) one-shot helpers.
package enum ChaChaPoly {
    package static let keyByteCount = 32
    package static let nonceByteCount = 12
    package static let tagByteCount = 16

    package static func seal(_ plaintext: some ContiguousBytes, key: some ContiguousBytes, nonce: some ContiguousBytes, aad: some ContiguousBytes = [UInt8]()) throws(CryptoError) -> [UInt8] {
        try AEADKey(.chaCha20Poly1305, key: key).seal(plaintext, nonce: nonce, aad: aad)
    }

    package static func open(_ sealed: some ContiguousBytes, key: some ContiguousBytes, nonce: some ContiguousBytes, aad: some ContiguousBytes = [UInt8]()) throws(CryptoError) -> [UInt8] {
        try AEADKey(.chaCha20Poly1305, key: key).open(sealed, nonce: nonce, aad: aad)
    }
}

/// AES-GCM one-shot helpers (AES-256-GCM when given a 32-byte key).
package enum AESGCM {
    package static func seal(_ plaintext: some ContiguousBytes, key: some ContiguousBytes, nonce: some ContiguousBytes, aad: some ContiguousBytes = [UInt8]()) throws(CryptoError) -> [UInt8] {
        try AEADKey(.aesGCM, key: key).seal(plaintext, nonce: nonce, aad: aad)
    }

    package static func open(_ sealed: some ContiguousBytes, key: some ContiguousBytes, nonce: some ContiguousBytes, aad: some ContiguousBytes = [UInt8]()) throws(CryptoError) -> [UInt8] {
        try AEADKey(.aesGCM, key: key).open(sealed, nonce: nonce, aad: aad)
    }
}
