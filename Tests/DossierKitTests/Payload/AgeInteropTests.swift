import Foundation
import Testing
@testable import DossierKit

/// Interoperability with the reference `age` tool (Debian package `age`, installed by
/// scripts/setup). These tests fail, not skip, when the tool is missing.
@Suite("age interoperability with the age tool")
struct AgeInteropTests {
    let plaintext = AgeTests.pattern(300_000)

    func tool(_ name: String) throws -> String {
        try #require(Subprocess.which(name), "\(name) is not installed: run scripts/setup")
    }

    /// `age` reads passphrases from the terminal only; `script` gives it one.
    func withTerminal(_ command: String, input: String) throws -> Subprocess.Result {
        try Subprocess.run(try tool("script"), ["-qec", command, "/dev/null"], stdin: Data(input.utf8))
    }

    @Test("age -d decrypts what we encrypt (binary and armored, several recipients)")
    func weEncryptAgeDecrypts() throws {
        let dir = try TemporaryDirectory()
        let ours = try AgeX25519.generate(), other = try AgeX25519.generate()
        try ours.writeIdentityFile(toPath: dir.path("key.txt"))
        for armored in [false, true] {
            let ciphertext = try Age.encrypt(plaintext, to: [AgeRecipient(other.recipient), AgeRecipient(ours.recipient)], armored: armored)
            try Data(ciphertext).write(to: URL(fileURLWithPath: dir.path("file.age")))
            let result = try Subprocess.run(try tool("age"), ["-d", "-i", dir.path("key.txt"), dir.path("file.age")])
            #expect(result.status == 0, "age -d failed: \(result.stderr)")
            #expect(Array(result.stdout) == plaintext)
        }
    }

    @Test("we decrypt what age encrypts to an age-keygen key (binary and armored)")
    func ageEncryptsWeDecrypt() throws {
        let dir = try TemporaryDirectory()
        let keygen = try Subprocess.run(try tool("age-keygen"), ["-o", dir.path("key.txt")])
        #expect(keygen.status == 0, "\(keygen.stderr)")
        let identities = try AgeIdentity.loadIdentityFile(atPath: dir.path("key.txt"))
        let recipient = try #require(identities.first?.recipient?.description)
        try Data(plaintext).write(to: URL(fileURLWithPath: dir.path("plain")))
        for flags in [[String](), ["-a"]] {
            let result = try Subprocess.run(try tool("age"), flags + ["-r", recipient, dir.path("plain")])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(try Age.decrypt(Array(result.stdout), with: identities) == plaintext)
        }
        // age-keygen's file parses, and its public key comment matches our derivation.
        let text = try String(contentsOfFile: dir.path("key.txt"), encoding: .utf8)
        #expect(text.contains("# public key: \(recipient)"))
    }

    @Test("passphrase files: age -p output decrypts here; ours decrypts with age -d")
    func passphrases() throws {
        let dir = try TemporaryDirectory()
        try Data(plaintext).write(to: URL(fileURLWithPath: dir.path("plain")))
        let encrypt = try withTerminal("age -p -o \(dir.path("pw.age")) \(dir.path("plain"))", input: "tr0ub4dor&3\ntr0ub4dor&3\n")
        #expect(encrypt.status == 0, "\(encrypt.stderr)")
        let theirs = try Array(Data(contentsOf: URL(fileURLWithPath: dir.path("pw.age"))))
        #expect(try Age.decrypt(theirs, with: [AgeIdentity.passphrase("tr0ub4dor&3")]) == plaintext)

        let ours = try Age.encrypt(plaintext, to: [AgeRecipient.passphrase("tr0ub4dor&3", workFactor: 12)], armored: true)
        try Data(ours).write(to: URL(fileURLWithPath: dir.path("ours.age")))
        let decrypt = try withTerminal("age -d -o \(dir.path("out")) \(dir.path("ours.age"))", input: "tr0ub4dor&3\n")
        #expect(decrypt.status == 0, "\(decrypt.stderr)")
        #expect(try Array(Data(contentsOf: URL(fileURLWithPath: dir.path("out")))) == plaintext)
    }

    @Test("a re-wrapped file still decrypts with age")
    func rewrappedWithAge() throws {
        let dir = try TemporaryDirectory()
        let first = try AgeX25519.generate(), second = try AgeX25519.generate()
        try second.writeIdentityFile(toPath: dir.path("second.txt"))
        let original = try Age.encrypt(plaintext, to: [AgeRecipient(first.recipient)])
        let sink = MemorySink()
        try Age.rewrap(from: MemorySource(original), to: sink, identities: [first.identity], recipients: [AgeRecipient(second.recipient)])
        try Data(sink.bytes).write(to: URL(fileURLWithPath: dir.path("moved.age")))
        let result = try Subprocess.run(try tool("age"), ["-d", "-i", dir.path("second.txt"), dir.path("moved.age")])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(Array(result.stdout) == plaintext)
    }
}
