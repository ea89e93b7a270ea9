import CDossierOpenSSL
import Foundation

/// Hash functions used by the formats: SHA-256 (manifests, payload digests, age),
/// SHA-512 and BLAKE2b-512 (minisign's prehash).
package enum DigestAlgorithm: Sendable, CaseIterable {
    case sha256, sha512, blake2b512

    /// Output length in bytes.
    package var byteCount: Int {
        switch self {
        case .sha256: 32
        case .sha512, .blake2b512: 64
        }
    }

    /// The OpenSSL algorithm name.
    package var openSSLName: String {
        switch self {
        case .sha256: "SHA256"
        case .sha512: "SHA512"
        case .blake2b512: "BLAKE2B-512"
        }
    }

    /// The fetched implementation, looked up once per process.
    var md: OpaquePointer {
        switch self {
        case .sha256: FetchedDigests.sha256
        case .sha512: FetchedDigests.sha512
        case .blake2b512: FetchedDigests.blake2b512
        }
    }

    /// Hashes `data` in one call.
    package func hash(_ data: some ContiguousBytes) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: byteCount)
        var length: UInt32 = 0
        let ok = data.withUnsafeBytes { input in
            out.withUnsafeMutableBytes { output in
                EVP_Digest(input.baseAddress, input.count, output.baseAddress, &length, md, nil)
            }
        }
        precondition(ok == 1 && Int(length) == byteCount, "EVP_Digest(\(openSSLName)) failed: \(OpenSSL.drainErrors())")
        return out
    }
}

private enum FetchedDigests {
    // EVP_MD objects are immutable and thread-safe once fetched.
    nonisolated(unsafe) static let sha256 = fetch("SHA256")
    nonisolated(unsafe) static let sha512 = fetch("SHA512")
    nonisolated(unsafe) static let blake2b512 = fetch("BLAKE2B-512")

    static func fetch(_ name: String) -> OpaquePointer {
        guard let md = EVP_MD_fetch(nil, name, nil) else {
            fatalError("libcrypto has no \(name): \(OpenSSL.drainErrors())")
        }
        return md
    }
}

/// An incremental hash computation (`EVP_MD_CTX`). Not thread-safe; use one per task.
package final class DigestContext {
    package let algorithm: DigestAlgorithm
    private let ctx: OpaquePointer

    package init(_ algorithm: DigestAlgorithm) {
        self.algorithm = algorithm
        guard let ctx = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new failed") }
        self.ctx = ctx
        let ok = EVP_DigestInit_ex2(ctx, algorithm.md, nil)
        precondition(ok == 1, "EVP_DigestInit_ex2 failed: \(OpenSSL.drainErrors())")
    }

    deinit { EVP_MD_CTX_free(ctx) }

    /// Feeds bytes to the hash.
    package func update(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        let ok = EVP_DigestUpdate(ctx, bytes.baseAddress, bytes.count)
        precondition(ok == 1, "EVP_DigestUpdate failed: \(OpenSSL.drainErrors())")
    }

    /// Feeds bytes to the hash.
    package func update(_ bytes: some ContiguousBytes) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// Starts a new computation with the same algorithm (cheaper than a new context).
    package func reset() {
        let ok = EVP_DigestInit_ex2(ctx, algorithm.md, nil)
        precondition(ok == 1, "EVP_DigestInit_ex2 failed: \(OpenSSL.drainErrors())")
    }

    /// Returns the digest. The context cannot be updated afterwards (until `reset`).
    package func finalize() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: algorithm.byteCount)
        var length: UInt32 = 0
        let ok = out.withUnsafeMutableBytes { EVP_DigestFinal_ex(ctx, $0.baseAddress, &length) }
        precondition(ok == 1 && Int(length) == algorithm.byteCount, "EVP_DigestFinal_ex failed: \(OpenSSL.drainErrors())")
        return out
    }
}

/// A 32-byte digest held inline (a `[UInt8]` costs a heap block of its own: for the
/// 65,536 files a dossier may hold, that is 4 MB more to open one).
package struct Digest32: Equatable, Sendable {
    private var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    /// `bytes` must be exactly 32 bytes.
    package init(_ bytes: [UInt8]) {
        precondition(bytes.count == 32, "a Digest32 holds 32 bytes")
        bytes.withUnsafeBytes { source in withUnsafeMutableBytes(of: &words) { $0.copyMemory(from: source) } }
    }

    package var bytes: [UInt8] { withUnsafeBytes(of: words) { Array($0) } }

    package static func == (a: Digest32, b: Digest32) -> Bool { a.words == b.words }

    /// Whether `hex` is the lower-case hex encoding of these bytes (without building a string).
    func matches(hex: String) -> Bool {
        withUnsafeBytes(of: words) { Hex.matches($0, hex) }
    }

    /// Whether `hex` (bytes) is the lower-case hex encoding of these bytes.
    func matches(hex: UnsafeRawBufferPointer) -> Bool {
        withUnsafeBytes(of: words) { Hex.matches($0, hex) }
    }
}

/// SHA-256 (FIPS 180-4).
package enum SHA256 {
    package static let byteCount = 32
    package static func hash(_ data: some ContiguousBytes) -> [UInt8] { DigestAlgorithm.sha256.hash(data) }
}

/// SHA-512 (FIPS 180-4).
package enum SHA512 {
    package static let byteCount = 64
    package static func hash(_ data: some ContiguousBytes) -> [UInt8] { DigestAlgorithm.sha512.hash(data) }
}

/// BLAKE2b with a 64-byte output and no key (RFC 7693), as minisign's prehash uses it.
package enum BLAKE2b512 {
    package static let byteCount = 64
    package static func hash(_ data: some ContiguousBytes) -> [UInt8] { DigestAlgorithm.blake2b512.hash(data) }
}
