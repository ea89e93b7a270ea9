import CDossierOpenSSL

/// An error from a cryptographic primitive.
///
/// `code` says which kind of failure it was, so callers and tests can tell a wrong key from
/// a failed authentication; `reason` is a human explanation that includes OpenSSL's own
/// reason string when OpenSSL reported the failure. Reasons never contain secret bytes.
package struct CryptoError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of failure. New codes may be added; switch with a `default`.
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        package var description: String { name }

        /// A key has the wrong size or is not a valid key for the algorithm.
        package static let invalidKey = Code(name: "invalid key")
        /// A nonce / IV has a size the algorithm does not accept.
        package static let invalidNonce = Code(name: "invalid nonce")
        /// A parameter (size, cost, length) is out of the accepted range.
        package static let invalidParameter = Code(name: "invalid parameter")
        /// AEAD decryption failed: wrong key, wrong nonce, or modified ciphertext, tag or data.
        package static let authenticationFailure = Code(name: "authentication failure")
        /// A signature did not verify.
        package static let invalidSignature = Code(name: "invalid signature")
        /// An X25519 exchange produced the all-zero secret (a low-order public key).
        package static let lowOrderPoint = Code(name: "low-order point")
        /// The CSPRNG could not deliver bytes.
        package static let randomFailure = Code(name: "random failure")
        /// OpenSSL failed for another reason (see `reason`).
        package static let backendFailure = Code(name: "backend failure")
    }

    package let code: Code
    package let reason: String

    package init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    package var description: String { "\(code): \(reason)" }
}

/// The funnel between OpenSSL's return codes / error queue and `CryptoError`.
enum OpenSSL {
    /// Drains this thread's OpenSSL error queue and returns its reason strings, oldest first.
    static func drainErrors() -> String {
        var reasons: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            if let cString = ERR_reason_error_string(code) {
                reasons.append(String(cString: cString))
            } else {
                reasons.append("error 0x" + String(code, radix: 16))
            }
        }
        return reasons.joined(separator: "; ")
    }

    /// Makes a `CryptoError` for a failed call, attaching OpenSSL's reasons (and clearing the queue).
    static func error(_ code: CryptoError.Code, _ what: String) -> CryptoError {
        let reasons = drainErrors()
        return CryptoError(code, reasons.isEmpty ? what : "\(what) (openssl: \(reasons))")
    }

    /// Throws `error(code, what)` unless `result` is 1 (OpenSSL's success value).
    @inline(__always)
    static func check(_ result: Int32, _ code: CryptoError.Code = .backendFailure, _ what: @autoclosure () -> String) throws(CryptoError) {
        if result != 1 { throw error(code, what()) }
    }
}
