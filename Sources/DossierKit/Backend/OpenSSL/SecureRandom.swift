import CDossierOpenSSL

/// OpenSSL's CSPRNG (`RAND_bytes` for public values, `RAND_priv_bytes` for secrets).
package enum SecureRandom {
    /// Random bytes for public values (salts, nonces, identifiers).
    package static func bytes(_ count: Int) throws(CryptoError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        if count == 0 { return out }
        let ok = out.withUnsafeMutableBytes { RAND_bytes($0.baseAddress, Int32($0.count)) }
        try OpenSSL.check(ok, .randomFailure, "RAND_bytes failed")
        return out
    }

    /// Random bytes for secrets, from OpenSSL's private generator, in a wiping container.
    package static func secretBytes(_ count: Int) throws(CryptoError) -> SecureBytes {
        try SecureBytes(count: count) { (buffer) throws(CryptoError) in
            guard count > 0 else { return }
            let ok = RAND_priv_bytes(buffer.baseAddress, Int32(buffer.count))
            try OpenSSL.check(ok, .randomFailure, "RAND_priv_bytes failed")
        }
    }
}
