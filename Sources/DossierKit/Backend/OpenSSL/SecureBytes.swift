import CDossierOpenSSL
import Foundation
import Synchronization

/// An immutable byte buffer for secrets (keys, file keys, shared secrets, passphrases).
///
/// The bytes live in memory this object owns and are overwritten with `OPENSSL_cleanse`
/// when the last reference goes away. Equality compares in constant time. The description
/// never shows the bytes.
package final class SecureBytes: @unchecked Sendable, ContiguousBytes, Equatable, CustomStringConvertible {
    // Immutable after init, so sharing across threads is safe.
    private let storage: UnsafeMutableRawBufferPointer

    /// Allocates `count` bytes and lets `initializer` fill them. If the initializer throws,
    /// the partly written buffer is wiped before the error propagates.
    package init<E: Error>(count: Int, initializer: (UnsafeMutableRawBufferPointer) throws(E) -> Void) throws(E) {
        precondition(count >= 0)
        storage = UnsafeMutableRawBufferPointer.allocate(byteCount: Swift.max(count, 1), alignment: 16)
        storage.initializeMemory(as: UInt8.self, repeating: 0)
        let view = UnsafeMutableRawBufferPointer(rebasing: storage[0..<count])
        do {
            try initializer(view)
        } catch {
            OPENSSL_cleanse(storage.baseAddress, storage.count)
            storage.deallocate()
            throw error
        }
        self.count = count
    }

    /// Copies `bytes` into a new secure buffer. The caller stays responsible for wiping its copy.
    package convenience init(copying bytes: some ContiguousBytes) {
        let count = bytes.withUnsafeBytes { $0.count }
        self.init(count: count) { buffer in
            bytes.withUnsafeBytes { buffer.copyMemory(from: $0) }
        }
    }

    /// Takes ownership of an array's bytes, wiping the array afterwards.
    package convenience init(consuming bytes: inout [UInt8]) {
        let count = bytes.count
        self.init(count: count) { buffer in
            bytes.withUnsafeBytes { buffer.copyMemory(from: $0) }
        }
        bytes.withUnsafeMutableBytes { OPENSSL_cleanse($0.baseAddress, $0.count) }
        bytes = []
    }

    deinit {
        OPENSSL_cleanse(storage.baseAddress, storage.count)
        if let observer = Self.wipeObserver.withLock({ $0 }) { observer(UnsafeRawBufferPointer(storage)) }
        storage.deallocate()
    }

    /// Tests only: sees every buffer after it was wiped, just before it is freed.
    package static let wipeObserver = Mutex<(@Sendable (UnsafeRawBufferPointer) -> Void)?>(nil)

    /// Number of secret bytes.
    package let count: Int

    package func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(rebasing: storage[0..<count]))
    }

    /// A new secure buffer holding the bytes at `range` (a secret's part, or the used prefix of
    /// a buffer read or decrypted into).
    package func copy(_ range: Range<Int>) -> SecureBytes {
        withUnsafeBytes { SecureBytes(copying: UnsafeRawBufferPointer(rebasing: $0[range])) }
    }

    /// A copy of the bytes as an array. Use sparingly: the array is not wiped automatically.
    package var unsafeCopy: [UInt8] { withUnsafeBytes { Array($0) } }

    package static func == (lhs: SecureBytes, rhs: SecureBytes) -> Bool {
        constantTimeEquals(lhs, rhs)
    }

    package var description: String { "SecureBytes(\(count) bytes, redacted)" }
}

/// Compares two byte strings in time that depends only on their lengths (`CRYPTO_memcmp`).
/// Lengths are treated as public: different lengths return `false` at once.
package func constantTimeEquals(_ a: some ContiguousBytes, _ b: some ContiguousBytes) -> Bool {
    a.withUnsafeBytes { a in
        b.withUnsafeBytes { b in
            guard a.count == b.count else { return false }
            if a.isEmpty { return true }
            return CRYPTO_memcmp(a.baseAddress, b.baseAddress, a.count) == 0
        }
    }
}

/// Overwrites memory with zeros in a way the compiler cannot optimise away (`OPENSSL_cleanse`).
package func secureWipe(_ buffer: UnsafeMutableRawBufferPointer) {
    guard let base = buffer.baseAddress, buffer.count > 0 else { return }
    OPENSSL_cleanse(base, buffer.count)
}

/// Wipes an array in place (its storage is zeroed, then the array is emptied).
package func secureWipe(_ bytes: inout [UInt8]) {
    bytes.withUnsafeMutableBytes { secureWipe($0) }
    bytes.removeAll()
}
