#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// age's X25519 recipient type (`age1…` / `AGE-SECRET-KEY-1…`, stanza `X25519`).
public enum AgeX25519 {
    static let label = Array("age-encryption.org/v1/X25519".utf8)

    struct Recipient: AgeRecipientType {
        let publicKey: X25519.PublicKey
        var mustBeAlone: Bool { false }

        init(publicKey: X25519.PublicKey) { self.publicKey = publicKey }

        init(parsing string: String) throws(AgeError) {
            // Never echo the input: it may be a secret key given by mistake.
            if string.uppercased().hasPrefix("AGE-SECRET-KEY-") {
                throw AgeError(.invalidKey, "an identity (AGE-SECRET-KEY-1…) was given where a recipient (age1…) is expected; did you mean -i?")
            }
            guard string.hasPrefix("age1") else {
                throw AgeError(.invalidKey, "not an X25519 age recipient: it must start with \"age1\" (lower case)")
            }
            let decoded: (hrp: String, bytes: [UInt8])
            do {
                decoded = try Bech32.decodeBytes(string, maxLength: nil)
            } catch {
                throw AgeError(.invalidKey, "not an age recipient: \(error)")
            }
            guard decoded.hrp == "age", decoded.bytes.count == 32,
                  let key = try? X25519.PublicKey(rawRepresentation: decoded.bytes) else {
                throw AgeError(.invalidKey, "not an X25519 age recipient (age1… with 32 bytes)")
            }
            publicKey = key
        }

        /// `age1…`, lower case.
        var encoded: String {
            (try? Bech32.encode(hrp: "age", bytes: publicKey.rawRepresentation, maxLength: nil)) ?? "age1?"
        }

        func wrap(_ fileKey: SecureBytes) throws(AgeError) -> [AgeStanza] {
            do {
                let ephemeral = try X25519.PrivateKey()
                let share = try ephemeral.publicKey().rawRepresentation
                let secret = try ephemeral.sharedSecret(with: publicKey)
                let key = try HKDFSHA256.deriveKey(inputKeyMaterial: secret, salt: share + publicKey.rawRepresentation, info: AgeX25519.label, outputByteCount: 32)
                let body = try AgeWrap.seal(fileKey, key: key)
                return [AgeStanza(type: "X25519", arguments: [AgeBase64.encodeString(share)], body: body)]
            } catch let error as AgeError {
                throw error
            } catch {
                throw AgeError(.invalidKey, "wrapping to \(encoded) failed: \(error)")
            }
        }
    }

    struct Identity: AgeIdentityType {
        let privateKey: X25519.PrivateKey
        let recipient: Recipient

        init(privateKey: X25519.PrivateKey) throws(AgeError) {
            self.privateKey = privateKey
            do {
                recipient = Recipient(publicKey: try privateKey.publicKey())
            } catch {
                throw AgeError(.invalidKey, "invalid X25519 identity: \(error)")
            }
        }

        /// Parses one `AGE-SECRET-KEY-1…` line, kept in wiping memory by the caller.
        init(parsing line: UnsafeRawBufferPointer) throws(AgeError) {
            guard line.starts(with: "AGE-SECRET-KEY-1".utf8) else {
                throw AgeError(.invalidKey, "not an age identity: it must start with AGE-SECRET-KEY-1 (upper case)")
            }
            let decoded: (hrp: String, bytes: SecureBytes)
            do {
                decoded = try Bech32.decodeSecret(line)
            } catch {
                // Never echo the line: it may be a mistyped secret key.
                throw AgeError(.invalidKey, "not an age identity (expected AGE-SECRET-KEY-1…): \(error)")
            }
            guard decoded.hrp == "age-secret-key-", decoded.bytes.count == 32 else {
                throw AgeError(.invalidKey, "not an X25519 age identity (expected AGE-SECRET-KEY-1… with 32 bytes)")
            }
            do {
                try self.init(privateKey: X25519.PrivateKey(rawRepresentation: decoded.bytes))
            } catch {
                throw AgeError(.invalidKey, "invalid X25519 identity: \(error)")
            }
        }

        /// `AGE-SECRET-KEY-1…`, upper case, in wiping memory.
        func encodedSecret() throws(AgeError) -> SecureBytes {
            do {
                return try withBytes(privateKey.rawRepresentation) { (key) throws(Bech32.DecodingError) in
                    try Bech32.encodeSecret(hrp: "age-secret-key-", bytes: key, uppercase: true)
                }
            } catch {
                throw AgeError(.invalidKey, "encoding the identity failed: \(error)")
            }
        }

        func unwrap(_ stanzas: [AgeStanza]) throws(AgeError) -> SecureBytes? {
            for stanza in stanzas where stanza.type == "X25519" {
                guard stanza.arguments.count == 1 else {
                    throw AgeError(.header, "an X25519 stanza has \(stanza.arguments.count) arguments, expected 1")
                }
                let share = try AgeWrap.decodeArgument(stanza.arguments[0], count: 32, what: "X25519 ephemeral share")
                guard stanza.body.count == AgeStream.fileKeySize + ChaChaPoly.tagByteCount else {
                    throw AgeError(.header, "the X25519 stanza body is \(stanza.body.count) bytes, not a wrapped 16-byte file key")
                }
                let key: SecureBytes
                do throws(CryptoError) {
                    let secret = try privateKey.sharedSecret(with: X25519.PublicKey(rawRepresentation: share))
                    key = try HKDFSHA256.deriveKey(inputKeyMaterial: secret, salt: share + recipient.publicKey.rawRepresentation, info: AgeX25519.label, outputByteCount: 32)
                } catch where error.code == .lowOrderPoint {
                    throw AgeError(.header, "an X25519 stanza uses a low-order share (all-zero shared secret)")
                } catch {
                    throw AgeError(.header, "an X25519 stanza could not be processed: \(error)")
                }
                if let fileKey = try AgeWrap.open(stanza.body, key: key, stanza: "X25519") { return fileKey }
            }
            return nil
        }
    }

    /// A newly generated X25519 key pair with its identity-file text.
    public struct GeneratedKey: Sendable {
        /// The identity, for decrypting.
        public let identity: AgeIdentity
        /// The recipient (`age1…`), for encrypting; safe to share.
        public let recipient: String
        /// The identity file in age-keygen's format, in wiping memory.
        let identityFileBytes: SecureBytes

        /// The identity file text in age-keygen's format (secret!). A Swift string cannot be
        /// wiped when it is released: write the file with `writeIdentityFile(toPath:)`, which
        /// never makes one.
        public var identityFile: String {
            identityFileBytes.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
        }
    }

    /// Generates a new X25519 identity.
    public static func generate(now: Date = Date()) throws(AgeError) -> GeneratedKey {
        let identity: Identity
        do {
            identity = try Identity(privateKey: X25519.PrivateKey())
        } catch let error as AgeError {
            throw error
        } catch {
            throw AgeError(.invalidKey, "key generation failed: \(error)")
        }
        let created = ISO8601DateFormatter().string(from: now)
        let file = SecretFile.assemble("# created: \(created)\n# public key: \(identity.recipient.encoded)\n", try identity.encodedSecret(), "\n")
        return GeneratedKey(
            identity: AgeIdentity(type: identity, description: "X25519 identity for \(identity.recipient.encoded)"),
            recipient: identity.recipient.encoded, identityFileBytes: file)
    }
}
