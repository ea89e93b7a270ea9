import Foundation

// minisign (0.11) detached signatures over the OpenSSL Ed25519 and BLAKE2b-512 wrappers.
//
// Public key file:  "untrusted comment: <text>\n" + base64("Ed" || key id(8) || Ed25519 pk(32)) + "\n"
// Signature file:   "untrusted comment: <text>\n"
//                   base64(algorithm(2) || key id(8) || signature(64)) "\n"
//                   "trusted comment: <text>\n"
//                   base64(global signature(64)) "\n"
// where signature = Ed25519(BLAKE2b-512(message)) for "ED" (prehashed, what we write) or
// Ed25519(message) for "Ed" (legacy, read only), and global signature =
// Ed25519(signature || trusted comment bytes).
//
// Parsing is strict (see `MinisignFormat`): LF line ends only, exact line counts, exact
// comment prefixes, canonical padded base64, exact byte lengths, at most 8 KiB per file.

/// An error from reading or checking a minisign key or signature.
///
/// `kind` separates a malformed file from a signature that does not verify, and a bad
/// message signature from a bad trusted-comment (global) signature, so callers and tests
/// can tell them apart; `reason` explains in words.
package struct MinisignError: Error, Sendable, Equatable, CustomStringConvertible {
    package enum Kind: String, Sendable {
        /// The key or signature text breaks the format (lines, prefixes, base64, lengths, algorithm).
        case malformed
        /// The signature names a different key id than the public key.
        case keyIDMismatch = "key id mismatch"
        /// The signature over the message does not verify.
        case invalidSignature = "invalid signature"
        /// The global signature over the signature and the trusted comment does not verify.
        case invalidTrustedComment = "invalid trusted comment signature"
        /// A legacy ("Ed", not prehashed) signature where only prehashed ones are accepted.
        case legacyNotAllowed = "legacy signature not allowed"
    }

    package let kind: Kind
    package let reason: String

    package init(_ kind: Kind, _ reason: String) {
        self.kind = kind
        self.reason = reason
    }

    package var description: String { "\(kind.rawValue): \(reason)" }
}

/// A minisign public key: an Ed25519 key and the 8-byte key id that signatures name.
package struct MinisignPublicKey: Sendable, Hashable {
    /// The key id, 8 bytes as stored (a little-endian 64-bit number; see `keyIDHex`).
    package let keyID: [UInt8]
    package let key: Ed25519.PublicKey

    /// A key from its parts. `keyID` must be 8 bytes (a programming error otherwise).
    package init(keyID: [UInt8], key: Ed25519.PublicKey) {
        precondition(keyID.count == MinisignFormat.keyIDByteCount, "a minisign key id is 8 bytes, got \(keyID.count)")
        self.keyID = keyID
        self.key = key
    }

    /// Parses the key line of a public key file (`RW…`, as `minisign -P` takes it).
    package init(base64 line: String) throws(MinisignError) {
        let bytes = try MinisignFormat.decodeBase64(Array(line.utf8), byteCount: 42, "public key")
        guard bytes.starts(with: MinisignFormat.publicKeyAlgorithm) else {
            throw MinisignError(.malformed, "unknown public key algorithm (expected \"Ed\")")
        }
        guard let key = try? Ed25519.PublicKey(rawRepresentation: bytes[10...]) else {
            throw MinisignError(.malformed, "the public key is not a 32-byte Ed25519 key")
        }
        self.init(keyID: Array(bytes[2..<10]), key: key)
    }

    /// Parses a whole public key file: an "untrusted comment: " line, then the key line,
    /// with an optional final newline.
    package init(fileText: String) throws(MinisignError) {
        let lines = try MinisignFormat.lines(fileText, count: 2, "public key file")
        _ = try MinisignFormat.comment(lines[0], prefix: MinisignFormat.untrustedPrefix, "first line")
        try self.init(base64: String(decoding: lines[1], as: UTF8.self))
    }

    /// The key line, `RW…`.
    package var base64: String {
        Data(MinisignFormat.publicKeyAlgorithm + keyID + key.rawRepresentation).base64EncodedString()
    }

    /// The key id as minisign prints it: 16 uppercase hex digits of the little-endian number.
    package var keyIDHex: String { MinisignFormat.keyIDHex(keyID) }

    /// The public key file. LF, CR and NUL in `comment` (which neither minisign nor
    /// `init(fileText:)` could read back) become spaces; the default is minisign's own "minisign public key <keyIDHex>".
    package func fileText(comment: String? = nil) -> String {
        let text = comment ?? "minisign public key \(keyIDHex)"
        let oneLine = String(decoding: text.utf8.map { $0 == 0x0A || $0 == 0x0D || $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
        return "\(MinisignFormat.untrustedPrefix)\(oneLine)\n\(base64)\n"
    }
}

/// A minisign detached signature (the 4-line `.minisig` file).
package struct MinisignSignature: Sendable, Equatable {
    package enum Algorithm: String, Sendable {
        /// "ED": Ed25519 over BLAKE2b-512 of the message (minisign's default since 0.8).
        case prehashed = "ED"
        /// "Ed": Ed25519 over the message itself (older minisign); verified only on request.
        case legacy = "Ed"
    }

    package let algorithm: Algorithm
    /// The key id of the signing key, 8 bytes as stored.
    package let keyID: [UInt8]
    /// The Ed25519 signature over the (prehashed) message, 64 bytes.
    package let signature: [UInt8]
    /// The text after "untrusted comment: " (not covered by any signature).
    package let untrustedComment: String
    /// The text after "trusted comment: " (covered by the global signature).
    package let trustedComment: String
    /// The Ed25519 signature over `signature || trustedComment`, 64 bytes.
    package let globalSignature: [UInt8]

    /// Assembles a signature from its parts without checks (signing and tests).
    init(algorithm: Algorithm, keyID: [UInt8], signature: [UInt8], untrustedComment: String, trustedComment: String, globalSignature: [UInt8]) {
        self.algorithm = algorithm
        self.keyID = keyID
        self.signature = signature
        self.untrustedComment = untrustedComment
        self.trustedComment = trustedComment
        self.globalSignature = globalSignature
    }

    /// Parses a `.minisig` file strictly: exactly 4 lines with LF ends (the last newline
    /// optional), no CR or NUL anywhere, the exact comment prefixes, canonical padded base64
    /// of exactly 74 and 64 bytes, algorithm "ED" or "Ed", at most 8 KiB.
    package init(parsing text: String) throws(MinisignError) {
        let lines = try MinisignFormat.lines(text, count: 4, "signature file")
        let untrusted = try MinisignFormat.comment(lines[0], prefix: MinisignFormat.untrustedPrefix, "first line")
        let blob = try MinisignFormat.decodeBase64(lines[1], byteCount: 74, "signature line")
        guard let algorithm = Algorithm(rawValue: String(decoding: blob[0..<2], as: UTF8.self)) else {
            let hex = blob[0..<2].map { String($0, radix: 16, uppercase: true) }.joined(separator: " ")
            throw MinisignError(.malformed, "unknown signature algorithm (bytes \(hex); expected \"ED\" or \"Ed\")")
        }
        let trusted = try MinisignFormat.comment(lines[2], prefix: MinisignFormat.trustedPrefix, "third line")
        let global = try MinisignFormat.decodeBase64(lines[3], byteCount: 64, "global signature line")
        self.init(algorithm: algorithm, keyID: Array(blob[2..<10]), signature: Array(blob[10...]),
                  untrustedComment: untrusted, trustedComment: trusted, globalSignature: global)
    }

    /// Signs (prehashed "ED") `message` with `key` and `keyID`.
    ///
    /// Throws `MinisignError.malformed` when `keyID` is not 8 bytes, when a comment contains
    /// a line break, CR or NUL (minisign could not read it back), or when the file would
    /// exceed 8 KiB; throws `CryptoError` when signing fails.
    package static func sign(_ message: some ContiguousBytes, key: Ed25519.PrivateKey, keyID: [UInt8], trustedComment: String, untrustedComment: String) throws -> MinisignSignature {
        guard keyID.count == MinisignFormat.keyIDByteCount else {
            throw MinisignError(.malformed, "a minisign key id is 8 bytes, got \(keyID.count)")
        }
        try MinisignFormat.checkComment(trustedComment, "trusted comment")
        try MinisignFormat.checkComment(untrustedComment, "untrusted comment")
        let signature = try key.signature(for: BLAKE2b512.hash(message))
        let global = try key.signature(for: signature + Array(trustedComment.utf8))
        let result = MinisignSignature(algorithm: .prehashed, keyID: keyID, signature: signature,
                                       untrustedComment: untrustedComment, trustedComment: trustedComment, globalSignature: global)
        guard result.fileText.utf8.count <= MinisignFormat.maxFileSize else {
            throw MinisignError(.malformed, "the signature file would exceed \(MinisignFormat.maxFileSize) bytes")
        }
        return result
    }

    /// The key id as minisign prints it (see `MinisignPublicKey.keyIDHex`).
    package var keyIDHex: String { MinisignFormat.keyIDHex(keyID) }

    /// The `.minisig` file: the 4 lines, each ending "\n".
    package var fileText: String {
        let blob = Array(algorithm.rawValue.utf8) + keyID + signature
        return "\(MinisignFormat.untrustedPrefix)\(untrustedComment)\n\(Data(blob).base64EncodedString())\n"
            + "\(MinisignFormat.trustedPrefix)\(trustedComment)\n\(Data(globalSignature).base64EncodedString())\n"
    }

    /// Verifies against `publicKey`: key ids must match, then the signature, then the global signature over the trusted comment. Legacy "Ed" signatures are accepted only when allowLegacy is true.
    ///
    /// As in minisign, the legacy check comes first (it needs no key), so a legacy signature
    /// with `allowLegacy == false` is `.legacyNotAllowed` whatever else is wrong with it.
    package func verify(_ message: [UInt8], publicKey: MinisignPublicKey, allowLegacy: Bool = false) throws(MinisignError) {
        if algorithm == .legacy && !allowLegacy {
            throw MinisignError(.legacyNotAllowed, "legacy (non-prehashed) signature from key \(keyIDHex); only prehashed \"ED\" signatures are accepted")
        }
        guard keyID == publicKey.keyID else {
            throw MinisignError(.keyIDMismatch, "the signature is from key \(keyIDHex), the public key is \(publicKey.keyIDHex)")
        }
        let signed = algorithm == .prehashed ? BLAKE2b512.hash(message) : message
        guard publicKey.key.isValidSignature(signature, for: signed) else {
            throw MinisignError(.invalidSignature, "the \(algorithm == .prehashed ? "prehashed" : "legacy") signature does not verify for this message and key \(keyIDHex)")
        }
        guard publicKey.key.isValidSignature(globalSignature, for: signature + Array(trustedComment.utf8)) else {
            throw MinisignError(.invalidTrustedComment, "the global signature over the trusted comment does not verify")
        }
    }
}

/// The text rules shared by minisign key and signature files.
///
/// Base64 is RFC 4648 with the standard alphabet and padding. It is decoded with Foundation
/// and then re-encoded; the text must equal the re-encoding exactly. This rejects everything
/// Foundation tolerates but minisign would never write: missing or extra padding, non-zero
/// unused bits, whitespace and other characters outside the alphabet.
enum MinisignFormat {
    static let keyIDByteCount = 8
    static let maxFileSize = 8 * 1024
    static let publicKeyAlgorithm = Array("Ed".utf8)
    static let untrustedPrefix = "untrusted comment: "
    static let trustedPrefix = "trusted comment: "

    /// 16 uppercase hex digits of the key id read as a little-endian UInt64.
    static func keyIDHex(_ keyID: [UInt8]) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        return String(decoding: keyID.reversed().flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] }, as: UTF8.self)
    }

    /// Splits `text` into exactly `count` LF-terminated lines (the final LF optional),
    /// working on UTF-8 bytes so that no Unicode rule joins or compares characters.
    static func lines(_ text: String, count: Int, _ what: String) throws(MinisignError) -> [ArraySlice<UInt8>] {
        let bytes = Array(text.utf8)
        guard bytes.count <= maxFileSize else {
            throw MinisignError(.malformed, "\(what) is \(bytes.count) bytes, more than \(maxFileSize)")
        }
        guard !bytes.contains(UInt8(ascii: "\r")) else { throw MinisignError(.malformed, "\(what) contains a CR (only LF line ends are accepted)") }
        guard !bytes.contains(0) else { throw MinisignError(.malformed, "\(what) contains a NUL byte") }
        var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if lines.count > 1, lines.last?.isEmpty == true { lines.removeLast() }
        guard lines.count == count else {
            throw MinisignError(.malformed, "\(what) has \(lines.count) lines, expected \(count)")
        }
        return lines
    }

    /// The text after `prefix`, which the line must start with byte for byte.
    static func comment(_ line: ArraySlice<UInt8>, prefix: String, _ what: String) throws(MinisignError) -> String {
        guard line.starts(with: prefix.utf8) else {
            throw MinisignError(.malformed, "the \(what) does not start with \"\(prefix)\"")
        }
        return String(decoding: line.dropFirst(prefix.utf8.count), as: UTF8.self)
    }

    /// Rejects comments minisign could not read back: line breaks and NUL (C strings).
    static func checkComment(_ comment: String, _ what: String) throws(MinisignError) {
        if comment.utf8.contains(where: { $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") || $0 == 0 }) {
            throw MinisignError(.malformed, "the \(what) must not contain LF, CR or NUL")
        }
    }

    /// Canonical padded base64 of exactly `byteCount` bytes (see the type comment).
    static func decodeBase64(_ text: some Collection<UInt8>, byteCount: Int, _ what: String) throws(MinisignError) -> [UInt8] {
        // Bytes, not String ==, which would equate canonically equivalent Unicode.
        guard let data = Data(base64Encoded: String(decoding: text, as: UTF8.self)),
              Array(data.base64EncodedString().utf8).elementsEqual(text) else {
            throw MinisignError(.malformed, "the \(what) is not canonical padded base64")
        }
        guard data.count == byteCount else {
            throw MinisignError(.malformed, "the \(what) decodes to \(data.count) bytes, expected \(byteCount)")
        }
        return Array(data)
    }
}
