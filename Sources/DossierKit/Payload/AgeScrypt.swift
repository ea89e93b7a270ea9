/// age's passphrase recipient type (stanza `scrypt`): scrypt(N = 2^workFactor, r = 8, p = 1)
/// over the salt "age-encryption.org/v1/scrypt" ‖ 16 random bytes.
public enum AgeScrypt {
    /// age's default work factor for encryption.
    public static let defaultWorkFactor = 18
    /// The largest work factor accepted on decryption unless the caller raises it.
    public static let defaultMaxWorkFactor = 22
    /// The hard upper bound (2^30 × 1 KiB = 1 TiB of memory is not a real file).
    public static let maximumWorkFactor = 30
    /// The most a passphrase-protected key file may demand (age's default limit, 22: ~4 GiB
    /// and seconds of CPU). A key file is opened on every use, often unattended; one planted
    /// or damaged to demand 2^30 would take ~1 TiB of memory. We write work factor 18.
    static let keyFileMaxWorkFactor = defaultMaxWorkFactor
    static let label = Array("age-encryption.org/v1/scrypt".utf8)

    static func deriveKey(_ passphrase: SecureBytes, salt: [UInt8], workFactor: Int) throws(AgeError) -> SecureBytes {
        do {
            return try Scrypt.deriveKey(password: passphrase, salt: label + salt, n: 1 << UInt64(workFactor), r: 8, p: 1, outputByteCount: 32)
        } catch {
            throw AgeError(.invalidArgument, "scrypt with work factor \(workFactor) failed: \(error)")
        }
    }

    struct Recipient: AgeRecipientType {
        let passphrase: SecureBytes
        let workFactor: Int
        var mustBeAlone: Bool { true }

        init(passphrase: SecureBytes, workFactor: Int) throws(AgeError) {
            guard (1...AgeScrypt.maximumWorkFactor).contains(workFactor) else {
                throw AgeError(.invalidArgument, "scrypt work factor \(workFactor) is outside 1…\(AgeScrypt.maximumWorkFactor)")
            }
            guard passphrase.count > 0 else { throw AgeError(.invalidArgument, "the passphrase is empty") }
            self.passphrase = passphrase
            self.workFactor = workFactor
        }

        func wrap(_ fileKey: SecureBytes) throws(AgeError) -> [AgeStanza] {
            let salt: [UInt8]
            do { salt = try SecureRandom.bytes(16) } catch { throw AgeError(.invalidArgument, "\(error)") }
            let key = try AgeScrypt.deriveKey(passphrase, salt: salt, workFactor: workFactor)
            let body = try AgeWrap.seal(fileKey, key: key)
            return [AgeStanza(type: "scrypt", arguments: [AgeBase64.encodeString(salt), String(workFactor)], body: body)]
        }
    }

    struct Identity: AgeIdentityType {
        let passphrase: SecureBytes
        let maxWorkFactor: Int

        init(passphrase: SecureBytes, maxWorkFactor: Int) throws(AgeError) {
            guard (1...AgeScrypt.maximumWorkFactor).contains(maxWorkFactor) else {
                throw AgeError(.invalidArgument, "maximum scrypt work factor \(maxWorkFactor) is outside 1…\(AgeScrypt.maximumWorkFactor)")
            }
            self.passphrase = passphrase
            self.maxWorkFactor = maxWorkFactor
        }

        func unwrap(_ stanzas: [AgeStanza]) throws(AgeError) -> SecureBytes? {
            for stanza in stanzas where stanza.type == "scrypt" {
                guard stanzas.count == 1 else { throw AgeError(.header, "an scrypt stanza must be the only stanza in the header") }
                guard stanza.arguments.count == 2 else {
                    throw AgeError(.header, "an scrypt stanza has \(stanza.arguments.count) arguments, expected 2")
                }
                let salt = try AgeWrap.decodeArgument(stanza.arguments[0], count: 16, what: "scrypt salt")
                let workFactor = try AgeScrypt.parseWorkFactor(stanza.arguments[1])
                guard workFactor <= maxWorkFactor else {
                    throw AgeError(.header, "the scrypt work factor \(workFactor) exceeds the allowed maximum of \(maxWorkFactor)")
                }
                guard stanza.body.count == AgeStream.fileKeySize + ChaChaPoly.tagByteCount else {
                    throw AgeError(.header, "the scrypt stanza body is \(stanza.body.count) bytes, not a wrapped 16-byte file key")
                }
                let key = try AgeScrypt.deriveKey(passphrase, salt: salt, workFactor: workFactor)
                if let fileKey = try AgeWrap.open(stanza.body, key: key, stanza: "scrypt") { return fileKey }
            }
            return nil
        }
    }

    /// A work factor is a decimal without sign or leading zeros, 1…30.
    static func parseWorkFactor(_ text: String) throws(AgeError) -> Int {
        let bytes = Array(text.utf8)
        guard let first = bytes.first, (UInt8(ascii: "1")...UInt8(ascii: "9")).contains(first),
              bytes.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
              bytes.count <= 2, let value = Int(text), value <= maximumWorkFactor else {
            throw AgeError(.header, "the scrypt work factor \(AgeHeader.printable(bytes)) is not a decimal number in 1…\(maximumWorkFactor)")
        }
        return value
    }
}

/// Post-quantum hybrid identities (`AGE-SECRET-KEY-PQ-1…`, stanza `mlkem768x25519`) are
/// NOT supported yet. This placeholder parses the key and checks hybrid stanzas for
/// well-formedness (one argument of canonical base64 of exactly 1,120 bytes, a 32-byte
/// body) so malformed files are still rejected as header failures; well-formed ones are
/// reported as "no match" with a reason that names the missing support.
enum AgeHybridPlaceholder {
    static let encapsulationSize = 1088 + 32  // ML-KEM-768 ciphertext ‖ X25519 share

    struct Identity: AgeIdentityType {
        /// Checks one `AGE-SECRET-KEY-PQ-1…` line (kept in wiping memory by the caller).
        init(parsing line: UnsafeRawBufferPointer) throws(AgeError) {
            guard let decoded = try? Bech32.decodeSecret(line), decoded.hrp == "age-secret-key-pq-" else {
                throw AgeError(.invalidKey, "not an age hybrid identity (expected AGE-SECRET-KEY-PQ-1…)")
            }
        }

        func unwrap(_ stanzas: [AgeStanza]) throws(AgeError) -> SecureBytes? {
            for stanza in stanzas where stanza.type == "mlkem768x25519" {
                guard stanza.arguments.count == 1 else {
                    throw AgeError(.header, "an mlkem768x25519 stanza has \(stanza.arguments.count) arguments, expected 1")
                }
                _ = try AgeWrap.decodeArgument(stanza.arguments[0], count: AgeHybridPlaceholder.encapsulationSize, what: "mlkem768x25519 encapsulation")
                guard stanza.body.count == AgeStream.fileKeySize + ChaChaPoly.tagByteCount else {
                    throw AgeError(.header, "the mlkem768x25519 stanza body is \(stanza.body.count) bytes, not a wrapped 16-byte file key")
                }
            }
            return nil
        }
    }
}
