import Foundation
import Testing
@testable import DossierKit

/// Secret key files as the review of session 15 found them handled: a plain file that
/// starts with a blank line or a space was taken for a passphrase-protected one, and a
/// protected file could demand any scrypt work factor up to 30 (N = 2^30: about 1 TiB).
@Suite("secret key files: plain or protected, and the work factor they may demand")
struct KeyFileTests {
    @Test("a trust file line holding a control, separator or bidi character is refused by line, comments too (it could look like a comment)",
          arguments: ["\r# revoked", "\u{1B}[8m", "\u{2028}", "\u{2029}", "\u{202E}", "\u{2066}", "\u{2069}", "\u{200E}", "\u{200F}", "\u{61C}", "\u{85}", "\u{7F}"])
    func trustFileControlCharacters(_ hidden: String) throws {
        let key = try SigningKey.generate(name: "Anna")
        let good = "sealer \(key.publicKey.base64) Anna Archivist"
        #expect(try TrustStore(parsing: "# keys\n" + good + "\n").entries.count == 1)
        for text in ["# keys\n" + good + hidden + "\n", "# keys" + hidden + "\n" + good + "\n"] {
            do {
                _ = try TrustStore(parsing: text)
                Issue.record("accepted \(text.unicodeScalars.map { String($0.value, radix: 16) })")
            } catch {
                #expect(error.kind == .key && error.reason.contains("control character") && error.reason.contains("line"), "\(error)")
            }
        }
    }

    @Test("trust file lines: roles by the role rules (no empty one, at most 32 characters), a key once, three fields; errors name the line")
    func trustFileLineRules() throws {
        let key = try SigningKey.generate(name: "Anna")
        let other = try SigningKey.generate(name: "Otto")
        #expect(try TrustStore(parsing: "sealer,approver \(key.publicKey.base64) Anna\n").entries.first?.roles == [.sealer, .approver])
        let cases: [(String, String)] = [
            ("sealer,,approver \(key.publicKey.base64) Anna", "is not a role"),
            ("sealer, \(key.publicKey.base64) Anna", "is not a role"),
            (",sealer \(key.publicKey.base64) Anna", "is not a role"),
            ("Sealer \(key.publicKey.base64) Anna", "is not a role"),
            ("\(String(repeating: "r", count: 33)) \(key.publicKey.base64) Anna", "is not a role"),
            ("sealer \(key.publicKey.base64) Anna\nreader \(other.publicKey.base64) Otto\napprover \(key.publicKey.base64) Anna again", "listed twice"),
            ("sealer \(key.publicKey.base64)", "expected"),
            ("sealer RWQnotakey Anna", "trust file line 1"),
        ]
        for (text, says) in cases {
            do {
                _ = try TrustStore(parsing: text + "\n")
                Issue.record("accepted: \(text)")
            } catch {
                #expect(error.reason.contains(says) && error.reason.contains("line"), "\(text): \(error.reason)")
            }
        }
        #expect(try TrustStore(parsing: "\(String(repeating: "r", count: 32)) \(key.publicKey.base64) Anna\n").entries.count == 1)
    }

    @Test("a trust file saved with a byte-order mark (Windows Notepad) reads as without")
    func trustFileByteOrderMark() throws {
        let key = try SigningKey.generate(name: "Anna")
        let store = try TrustStore(parsing: "\u{FEFF}# keys\r\nsealer \(key.publicKey.base64) Anna\r\n")
        #expect(store.entries.count == 1 && store.entries.first?.name == "Anna")
        #expect(try TrustStore(parsing: "\u{FEFF}sealer \(key.publicKey.base64) Anna\n").entries.count == 1)
    }

    @Test("names with joiners (Indic scripts) stay valid in a trust file, with CRLF line ends")
    func trustFileJoinersAllowed() throws {
        let key = try SigningKey.generate(name: "Anna")
        let store = try TrustStore(parsing: "sealer \(key.publicKey.base64) \u{915}\u{94D}\u{200D}\u{937} Archivist\r\n")
        #expect(store.entries.first?.name == "\u{915}\u{94D}\u{200D}\u{937} Archivist")
    }

    @Test("a public key line parses with any trailing line ending or blanks (a lone LF or CR was not trimmed: \"\\r\\n\" is one Character)",
          arguments: ["\n", "\r", "\r\n", " ", "\t\n", "\n\n", ""])
    func publicKeyLineEndings(_ ending: String) throws {
        let key = try SigningKey.generate(name: "Anna")
        let line = key.publicKey.base64
        #expect(try SignerPublicKey(line + ending) == key.publicKey)
        #expect(try SignerPublicKey(" " + line + ending) == key.publicKey)
    }

    @Test("a plain identity or signing key file with blank lines or spaces before its first line loads without a passphrase",
          arguments: ["\n", "\r\n", "  ", "\t\n\n"])
    func leadingWhitespace(_ lead: String) throws {
        let dir = try TemporaryDirectory()
        let identity = try AgeX25519.generate()
        try identity.writeIdentityFile(toPath: dir.path("plain.age"))
        let key = try SigningKey.generate(name: "Anna")
        try key.write(toPath: dir.path("plain.sign"))
        for name in ["plain.age", "plain.sign"] {
            let text = try String(contentsOfFile: dir.path(name), encoding: .utf8)
            try SecretFile.write(Array((lead + text).utf8), to: dir.path("lead-" + name))
        }
        let noPassphrase: @Sendable () throws -> String = { throw CancellationError() }
        let identities = try AgeIdentity.loadIdentityFile(atPath: dir.path("lead-plain.age"), passphrase: noPassphrase)
        #expect(identities.count == 1)
        let loaded = try SigningKey.load(path: dir.path("lead-plain.sign"), passphrase: noPassphrase)
        #expect(loaded.publicKey == key.publicKey)
    }

    @Test("a protected key file still loads with its passphrase, also with whitespace before its armor")
    func protectedStillLoads() throws {
        let dir = try TemporaryDirectory()
        let identity = try AgeX25519.generate()
        try identity.writeIdentityFile(toPath: dir.path("p.age"), passphrase: "correct horse")
        let key = try SigningKey.generate(name: "Anna")
        try key.write(toPath: dir.path("p.sign"), passphrase: "correct horse")
        let text = try String(contentsOfFile: dir.path("p.sign"), encoding: .utf8)
        try SecretFile.write(Array(("\n " + text).utf8), to: dir.path("lead-p.sign"))
        #expect(try AgeIdentity.loadIdentityFile(atPath: dir.path("p.age"), passphrase: { "correct horse" }).count == 1)
        #expect(try SigningKey.load(path: dir.path("lead-p.sign"), passphrase: { "correct horse" }).publicKey == key.publicKey)
        // Without a passphrase: asked for, not parsed as a plain file.
        #expect(throws: DossierError.self) { try SigningKey.load(path: dir.path("p.sign")) }
    }

    @Test("a protected key file demanding a work factor above 22 is refused before any scrypt work", arguments: [23, 30])
    func workFactorCapped(_ factor: Int) throws {
        let dir = try TemporaryDirectory()
        // Encrypted with work factor 1, then the stanza edited to claim `factor` (the MAC no
        // longer matches, but nothing may get that far).
        let identity = try AgeX25519.generate()
        var armored = try withBytes(identity.identityFileBytes) { (plain) throws(AgeError) in
            try Age.encrypt(bytes: plain, to: [try AgeRecipient.passphrase("pw", workFactor: 1)], armored: false)
        }
        let text = String(decoding: armored, as: UTF8.self)
        let edited = text.replacingOccurrences(of: #"(-> scrypt \S+) 1\n"#, with: "$1 \(factor)\n", options: String.CompareOptions.regularExpression)
        try #require(edited != text)
        armored = Array(edited.utf8)
        try SecretFile.write(armored, to: dir.path("wf.age"))
        try SecretFile.write(armored, to: dir.path("wf.sign"))
        let started = Date()
        do {
            _ = try AgeIdentity.loadIdentityFile(atPath: dir.path("wf.age"), passphrase: { "pw" })
            Issue.record("loaded")
        } catch {
            #expect(error.description.contains("work factor \(factor) exceeds the allowed maximum of 22"), "\(error)")
        }
        do {
            _ = try SigningKey.load(path: dir.path("wf.sign"), passphrase: { "pw" })
            Issue.record("loaded")
        } catch {
            #expect(error.reason.contains("work factor \(factor) exceeds the allowed maximum of 22"), "\(error.reason)")
        }
        #expect(Date().timeIntervalSince(started) < 5, "no scrypt work was done")
    }
}

/// Review of session 15: a FIFO named as a dossier or a key file made the open wait for a
/// writer for ever (the CLI checks first; an application verifying a folder did not).
@Suite("a FIFO given as a dossier or a key file")
struct FIFOInputTests {
    /// Runs `work` on its own thread; if it has not returned after 10 s, a writer opens the
    /// FIFO to let it go, and the test fails.
    static func returnsPromptly(_ fifo: String, _ what: String, _ work: @escaping @Sendable () -> Void) {
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            work()
            done.signal()
        }
        if done.wait(timeout: .now() + 10) == .timedOut {
            Issue.record("\(what) waited for a writer of the FIFO")
            let fd = open(fifo, O_WRONLY)
            if fd >= 0 { close(fd) }
            done.wait()
        }
    }

    @Test("verify, a signing key and an identity file named by a FIFO fail at once as not regular files")
    func fifoRefused() throws {
        let dir = try TemporaryDirectory()
        let fifo = dir.path("fifo")
        try #require(mkfifo(fifo, 0o600) == 0)
        Self.returnsPromptly(fifo, "verify") {
            let report = Dossier.verify(fifo, trusting: .empty)
            #expect(report.status != .valid && report.failureSummary.contains("regular"), "\(report.failureSummary)")
        }
        Self.returnsPromptly(fifo, "SigningKey.load") {
            #expect(throws: DossierError.self) { try SigningKey.load(path: fifo) }
        }
        Self.returnsPromptly(fifo, "loadIdentityFile") {
            #expect(throws: AgeError.self) { try AgeIdentity.loadIdentityFile(atPath: fifo) }
        }
    }
}
