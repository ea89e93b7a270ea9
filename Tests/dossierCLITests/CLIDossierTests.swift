import Foundation
import Testing

/// End-to-end CLI tests: keygen → seal → verify → open, exit codes, JSON, secrets.
@Suite("dossier CLI: seal, verify, open")
struct CLIDossierTests {
    final class Workspace {
        let root: String
        init() throws {
            root = NSTemporaryDirectory() + "dossier-cli-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: root + "/case/01_intake", withIntermediateDirectories: true)
            try Data("intake form".utf8).write(to: URL(fileURLWithPath: root + "/case/01_intake/form.txt"))
            try Data("notes 笔录".utf8).write(to: URL(fileURLWithPath: root + "/case/笔录.txt"))
        }
        deinit { try? FileManager.default.removeItem(atPath: root) }
        func path(_ name: String) -> String { root + "/" + name }
        /// Runs dossier with this workspace's access log.
        func run(_ arguments: [String], environment: [String: String] = [:], directory: String? = nil, input: Data? = nil) throws -> CLI.Result {
            try CLI.run(arguments, environment: ["DOSSIER_LOG": path("ledger.sqlite")].merging(environment) { $1 }, directory: directory, input: input)
        }
    }

    func keys(_ ws: Workspace) throws -> (recipient: String, trust: String) {
        let result = try ws.run(["keygen", "--name", "Anna Archivist", ws.path("anna")])
        #expect(result.status == 0, "\(result.stderr)")
        let recipient = try String(contentsOfFile: ws.path("anna.recipient"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let pub = try String(contentsOfFile: ws.path("anna.pub"), encoding: .utf8).split(separator: "\n")[1]
        try "sealer,reader \(pub) Anna Archivist\n".write(toFile: ws.path("trust.txt"), atomically: true, encoding: .utf8)
        return (recipient, ws.path("trust.txt"))
    }

    @Test("keygen writes secret files 0600 and never prints a secret")
    func keygen() throws {
        let ws = try Workspace()
        let result = try ws.run(["keygen", "--name", "Anna", ws.path("k")])
        #expect(result.status == 0)
        for file in ["k.age", "k.sign"] {
            let mode = try FileManager.default.attributesOfItem(atPath: ws.path(file))[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(file)")
        }
        let secret = try String(contentsOfFile: ws.path("k.age"), encoding: .utf8)
        let secretLine = try #require(secret.split(separator: "\n").last)
        #expect(!result.stdout.contains(secretLine) && !result.stderr.contains(secretLine))
        #expect(!result.stdout.contains("DOSSIER-SIGNING-KEY"))
        // Never overwrites.
        #expect(try ws.run(["keygen", ws.path("k")]).status == 1)
        // A folder that does not exist yet is made, private; a folder as prefix is refused.
        let nested = try ws.run(["keygen", "--name", "Otto", ws.path("new/keys/otto")])
        #expect(nested.status == 0, "\(nested.stderr)")
        #expect(try FileManager.default.attributesOfItem(atPath: ws.path("new/keys"))[.posixPermissions] as? Int == 0o700)
        #expect(FileManager.default.fileExists(atPath: ws.path("new/keys/otto.sign")))
        for prefix in [ws.path("new/keys"), ws.path("new/keys") + "/"] {
            let folder = try ws.run(["keygen", prefix])
            #expect(folder.status == 64, "\(prefix): \(folder.stderr)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: ws.path("new/keys")).sorted() == ["otto.age", "otto.pub", "otto.recipient", "otto.sign"])
        // One-character names in the current folder (Foundation's deletingLastPathComponent
        // traps on them: keygen crashed with SIGILL), and a one-character ledger name.
        for prefix in ["q", "é"] {
            let short = try ws.run(["keygen", "--name", "Q", prefix], directory: ws.root)
            #expect(short.status == 0, "\(prefix): \(short.status) \(short.stderr)")
            #expect(FileManager.default.fileExists(atPath: ws.path(prefix + ".sign")), "\(prefix)")
        }
        let qRecipient = try String(contentsOfFile: ws.path("q.recipient"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let shortLedger = try ws.run(["seal", "case", "-r", qRecipient, "-s", "q.sign", "-o", "q.dossier", "--log", "L"], directory: ws.root)
        #expect(shortLedger.status == 0, "\(shortLedger.status) \(shortLedger.stderr)")
        #expect(FileManager.default.fileExists(atPath: ws.path("L")))
        // A public key given where the secret one belongs is named as such (not "chmod 600").
        let kRecipient = try String(contentsOfFile: ws.path("k.recipient"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let mixUp = try ws.run(["seal", ws.path("case"), "-r", kRecipient, "-s", ws.path("k.pub"), "-o", ws.path("m.dossier")])
        #expect(mixUp.stderr.contains("public key") && !mixUp.stderr.contains("chmod"), "\(mixUp.stderr)")
        // The reverse mix-up: an identity file given as a recipients file (-R) is refused without echoing it.
        let reverse = try ws.run(["seal", ws.path("case"), "-R", ws.path("k.age"), "-s", ws.path("k.sign"), "-o", ws.path("r.dossier")])
        #expect(reverse.status != 0 && reverse.stderr.contains("secret key"), "\(reverse.stderr)")
        #expect(!reverse.stderr.contains(secretLine))
        let identityMixUp = try ws.run(["verify", ws.path("m.dossier"), "-i", ws.path("k.recipient")])
        #expect(identityMixUp.stderr.contains("public key") && !identityMixUp.stderr.contains("chmod"), "\(identityMixUp.stderr)")
        // "I/O" keeps its capitals in messages.
        let missing = try ws.run(["verify", ws.path("case"), "-i", ws.path("nothing.age")])
        #expect(!missing.stderr.contains("i/O"), "\(missing.stderr)")
    }

    @Test("seal, verify and open succeed; --json parses; exit codes for tampered, untrusted and wrong key")
    func endToEnd() throws {
        let ws = try Workspace()
        let (recipient, trust) = try keys(ws)
        let seal = try ws.run(["seal", ws.path("case"), "-r", recipient, "-s", ws.path("anna.sign"), "--public", "court=Example", "-o", ws.path("case.dossier")])
        #expect(seal.status == 0, "\(seal.stderr)")
        let verify = try ws.run(["verify", ws.path("case.dossier"), "--trust", trust])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        #expect(verify.stdout.contains("VALID"))

        let json = try ws.run(["verify", ws.path("case.dossier"), "--trust", trust, "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["status"] as? String == "valid")
        #expect((object["manifest"] as? [String: Any])?["dossierId"] as? String == "case")

        let inspect = try ws.run(["inspect", ws.path("case.dossier"), "--json"])
        #expect(inspect.status == 0)
        // inspect evaluates no trust: its signatures say so (null), not "untrusted".
        let inspected = try #require(try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as? [String: Any])
        #expect(inspected["trustEvaluated"] as? Bool == false, "\(inspect.stdout)")
        let inspectedSignature = try #require((inspected["signatures"] as? [[String: Any]])?.first, "\(inspect.stdout)")
        #expect(inspectedSignature["trusted"] is NSNull && inspectedSignature["roleAllowed"] is NSNull, "\(inspect.stdout)")
        #expect(inspectedSignature["outcome"] as? String == "valid" && inspectedSignature["valid"] as? Bool == true, "\(inspect.stdout)")
        let verifiedSignature = try #require((object["signatures"] as? [[String: Any]])?.first)
        #expect(verifiedSignature["trusted"] as? Bool == true && verifiedSignature["outcome"] as? String == "valid")

        let open = try ws.run(["open", ws.path("case.dossier"), "-i", ws.path("anna.age"), "-o", ws.path("opened"), "--trust", trust, "--purpose", "test", "--as", ws.path("anna.sign")])
        #expect(open.status == 0, "\(open.stderr)")
        #expect(try String(contentsOfFile: ws.path("opened/笔录.txt"), encoding: .utf8) == "notes 笔录")

        // Untrusted: exit 3 for verify, and open refuses with 3.
        #expect(try ws.run(["verify", ws.path("case.dossier")]).status == 3)
        let untrusted = try ws.run(["open", ws.path("case.dossier"), "-i", ws.path("anna.age"), "-o", ws.path("o2"), "--purpose", "test", "--as", ws.path("anna.sign")])
        #expect(untrusted.status == 3)
        #expect(untrusted.stderr.hasPrefix("dossier: "))
        #expect(untrusted.stderr.contains("hint:"))

        // Tampered: exit 2.
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: ws.path("case.dossier"))))
        bytes[bytes.count / 2] ^= 0x40
        try Data(bytes).write(to: URL(fileURLWithPath: ws.path("bad.dossier")))
        #expect(try ws.run(["verify", ws.path("bad.dossier"), "--trust", trust]).status == 2)
        let shelf = try ws.run(["verify", ws.path("case.dossier"), ws.path("bad.dossier"), "--trust", trust, "-q"])
        #expect(shelf.status == 2)
        #expect(shelf.stdout.contains("2 dossier(s): 1 valid, 0 untrusted, 1 invalid"))

        // Wrong key: exit 4, nothing written.
        _ = try ws.run(["keygen", ws.path("eve")])
        let wrong = try ws.run(["open", ws.path("case.dossier"), "-i", ws.path("eve.age"), "-o", ws.path("o3"), "--trust", trust, "--purpose", "test", "--as", ws.path("anna.sign")])
        #expect(wrong.status == 4)
        #expect(!FileManager.default.fileExists(atPath: ws.path("o3")))
    }

    @Test("passphrases are never accepted as arguments; protected keys read them from a file descriptor or the environment")
    func passphrases() throws {
        let ws = try Workspace()
        #expect(try ws.run(["keygen", "--protect", "--passphrase", "hunter2", ws.path("p")]).status == 64)
        let made = try ws.run(["keygen", "--protect", ws.path("p")], environment: ["DOSSIER_PASSPHRASE": "correct horse battery"])
        #expect(made.status == 0, "\(made.stderr)")
        #expect(try String(contentsOfFile: ws.path("p.sign"), encoding: .utf8).hasPrefix("-----BEGIN AGE ENCRYPTED FILE-----"))
        let recipient = try String(contentsOfFile: ws.path("p.recipient"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let sealed = try ws.run(["seal", ws.path("case"), "-r", recipient, "-s", ws.path("p.sign"), "-o", ws.path("p.dossier")],
                                 environment: ["DOSSIER_PASSPHRASE": "correct horse battery"])
        #expect(sealed.status == 0, "\(sealed.stderr)")
        let wrong = try ws.run(["seal", ws.path("case"), "-r", recipient, "-s", ws.path("p.sign"), "-o", ws.path("q.dossier")],
                                environment: ["DOSSIER_PASSPHRASE": "wrong"])
        #expect(wrong.status == 1)
        #expect(wrong.stderr.contains("wrong passphrase"))
        #expect(!wrong.stderr.contains("correct horse"))
        // The protected identity with a wrong passphrase: said so (exit 1), not "no match" (4).
        let wrongIdentity = try ws.run(["verify", ws.path("p.dossier"), "-i", ws.path("p.age")], environment: ["DOSSIER_PASSPHRASE": "wrong"])
        #expect(wrongIdentity.status == 1, "\(wrongIdentity.stderr)")
        #expect(wrongIdentity.stderr.contains("wrong passphrase for"), "\(wrongIdentity.stderr)")
        // A descriptor that is closed, or has no line left, is named with what was wanted.
        let closed = try ws.run(["verify", ws.path("p.dossier"), "-i", ws.path("p.age"), "--passphrase-fd", "9"])
        #expect(closed.stderr.contains("file descriptor 9: bad file descriptor"), "\(closed.stderr)")
        #expect(!closed.stderr.contains("failed: reading the passphrase failed"))
    }

    /// Passphrases are read as bytes since session 10 (never as a string); what is not
    /// UTF-8 is replaced by U+FFFD exactly as the string they were read into before, so keys
    /// protected then still open with the same input.
    @Test("a passphrase that is not UTF-8 means what it meant when passphrases were strings")
    func passphraseBytes() throws {
        let ws = try Workspace()
        let latin1 = Data("pass".utf8) + Data([0xFF, 0xE9]) + Data("word\n".utf8)
        let made = try ws.run(["keygen", "--protect", "--passphrase-fd", "0", ws.path("l")], input: latin1)
        #expect(made.status == 0, "\(made.stderr)")
        let recipient = try String(contentsOfFile: ws.path("l.recipient"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        // Each invalid byte became one U+FFFD, as String(decoding:as:) makes it.
        let repaired = Data("pass\u{FFFD}\u{FFFD}word\n".utf8)
        for (index, input) in [latin1, repaired].enumerated() {
            let sealed = try ws.run(["seal", ws.path("case"), "-r", recipient, "-s", ws.path("l.sign"), "--passphrase-fd", "0",
                                     "-o", ws.path("l\(index).dossier"), "--id", "latin1-\(index)"], input: input)
            #expect(sealed.status == 0, "\(sealed.stderr)")
        }
        let wrong = try ws.run(["seal", ws.path("case"), "-r", recipient, "-s", ws.path("l.sign"), "--passphrase-fd", "0",
                                "-o", ws.path("l9.dossier")], input: Data("password\n".utf8))
        #expect(wrong.status == 1 && wrong.stderr.contains("wrong passphrase"), "\(wrong.stderr)")
        #expect(!wrong.stderr.contains("carriage return"), "\(wrong.stderr)")
        // A passphrase file with Windows line ends: the CR is part of the line (as when the
        // key was made from such a file), and a wrong passphrase then says so.
        let windows = try ws.run(["seal", ws.path("case"), "-r", recipient, "-s", ws.path("l.sign"), "--passphrase-fd", "0",
                                  "-o", ws.path("l8.dossier")], input: latin1.dropLast() + Data("\r\n".utf8))
        #expect(windows.status == 1 && windows.stderr.contains("wrong passphrase"), "\(windows.stderr)")
        #expect(windows.stderr.contains("ends with a carriage return"), "\(windows.stderr)")
    }

    @Test("usage errors exit 64 with a message")
    func usage() throws {
        let ws = try Workspace()
        let noRecipient = try ws.run(["seal", ws.path("case"), "-o", ws.path("x.dossier")])
        #expect(noRecipient.status == 64)
        #expect(noRecipient.stderr.contains("recipient"))
        #expect(try ws.run(["verify"]).status == 64)
        // Opening without saying who acts is a usage error: every opening is signed in the log.
        #expect(try ws.run(["open", ws.path("x.dossier"), "-i", ws.path("k.age"), "-o", ws.path("o"), "--purpose", "p"]).status == 64)
        // A key given twice, or a level out of range, is a usage error, not silently resolved.
        let (recipient, _) = try keys(ws)
        let twice = try ws.run(["seal", ws.path("case"), "-r", recipient, "-s", ws.path("anna.sign"), "-o", ws.path("x.dossier"),
                                "--public", "court=A", "--public", "court=B"])
        #expect(twice.status == 64, "\(twice.stderr)")
        #expect(twice.stderr.contains("court"))
        #expect(try ws.run(["seal", ws.path("case"), "-r", recipient, "-s", ws.path("anna.sign"), "-o", ws.path("x.dossier"), "--level", "25"]).status == 64)
        // An id the format does not allow is a usage error too (not a failure after work began).
        let badID = try ws.run(["seal", ws.path("case"), "-r", recipient, "-s", ws.path("anna.sign"), "-o", ws.path("x.dossier"), "--id", "Akte 7/2026"])
        #expect(badID.status == 64, "\(badID.stderr)")
        #expect(badID.stderr.contains("--id"), "\(badID.stderr)")
        #expect(!FileManager.default.fileExists(atPath: ws.path("x.dossier")))
    }

    @Test("relative paths work, including an access log named without a folder")
    func relativePaths() throws {
        let ws = try Workspace()
        let (recipient, _) = try keys(ws)
        for (log, dossier) in [("ledger-here.sqlite", "here.dossier"), ("./dot.sqlite", "./dot.dossier"), ("logs/sub.sqlite", "sub.dossier")] {
            let seal = try ws.run(["seal", "case", "-r", recipient, "-s", "anna.sign", "-o", dossier, "--log", log], directory: ws.root)
            #expect(seal.status == 0, "\(log): \(seal.stderr)")
            #expect(FileManager.default.fileExists(atPath: ws.path(log)), "\(log)")
            let open = try ws.run(["open", dossier, "-i", "anna.age", "-o", "opened-" + (dossier as NSString).lastPathComponent,
                                   "--trust", "trust.txt", "--purpose", "p", "--as", "anna.sign", "--log", log], directory: ws.root)
            #expect(open.status == 0, "\(log): \(open.stderr)")
        }
    }

    @Test("file errors from the system read as a path and a reason, not as a Foundation error dump")
    func fileErrorsAreReadable() throws {
        let ws = try Workspace()
        let (recipient, trust) = try keys(ws)
        let missing = try ws.run(["log", "--verify-export", ws.path("no-such.jsonl"), "--trust", trust])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("no-such.jsonl"), "\(missing.stderr)")
        #expect(missing.stderr.lowercased().contains("no such file"), "\(missing.stderr)")
        #expect(!missing.stderr.contains("Domain="), "\(missing.stderr)")
        // The log's folder cannot be made: a file stands where it would be.
        try Data().write(to: URL(fileURLWithPath: ws.path("blocker")))
        let blocked = try ws.run(["seal", ws.path("case"), "-r", recipient, "-s", ws.path("anna.sign"), "-o", ws.path("b.dossier"),
                                  "--log", ws.path("blocker/ledger.sqlite")])
        #expect(blocked.status == 1)
        #expect(blocked.stderr.contains("blocker"), "\(blocked.stderr)")
        #expect(!blocked.stderr.contains("Domain="), "\(blocked.stderr)")
        #expect(!FileManager.default.fileExists(atPath: ws.path("b.dossier")))
    }

    @Test("values from a dossier can neither forge lines nor send escape sequences to the terminal (inspect, verify; review finding)")
    func controlCharactersAreEscaped() throws {
        let ws = try Workspace()
        let (recipient, trust) = try keys(ws)
        // A newline, a forged line, terminal escapes, a bidi override, and text that spells an escape.
        let forged = "X\nsignature    approver \"Otto Officer\" 1234567890ABCDEF at 2026-01-01T00:00:00Z\u{1B}]0;owned\u{07}\u{1B}[31m\u{202E} spelt \\u{A}here"
        // Spelt escapes with invisible characters inside (review finding): each must still be
        // shown with its backslash escaped. Alone in a value, without a control character.
        let hidden = ["\\u{\u{34F}A}", "\\\u{200B}u{A}", "\\u\u{200D}{A}", "\u{2216}u{A}"]
        let seal = try ws.run(["seal", ws.path("case"), "-r", recipient, "-s", ws.path("anna.sign"), "--public", "court=\(forged)",
                               "--public", "hidden0=\(hidden[0])", "--public", "hidden1=\(hidden[1])", "--public", "hidden2=\(hidden[2])",
                               "--public", "hidden3=\(hidden[3])", "-o", ws.path("case.dossier")])
        #expect(seal.status == 0, "\(seal.stderr)")
        for args in [["inspect", ws.path("case.dossier")], ["verify", ws.path("case.dossier"), "--trust", trust]] {
            let result = try ws.run(args)
            #expect(result.status == 0, "\(args): \(result.stderr)")
            let lines = result.stdout.split(separator: "\n")
            #expect(lines.filter { $0.trimmingCharacters(in: .whitespaces).hasPrefix("signature") }.count == 1, "\(args): \(result.stdout)")
            let bytes = Array(result.stdout.utf8)
            #expect(!bytes.contains { $0 < 0x20 && $0 != 0x0A && $0 != 0x09 }, "\(args): a control character reached the output")
            #expect(!result.stdout.unicodeScalars.contains { $0.value == 0x202E }, "\(args): a bidirectional control reached the output")
            #expect(result.stdout.contains("\\u{1B}"), "\(args): the escape is not shown: \(result.stdout)")
            // Text spelling an escape is shown with its backslash escaped: it cannot pass for one.
            #expect(result.stdout.contains("spelt \\u{5C}u{A}here") && !result.stdout.contains("spelt \\u{A}"), "\(args): \(result.stdout)")
            for (index, value) in hidden.enumerated() where args[0] == "inspect" {
                let line = try #require(lines.first { $0.contains("hidden\(index):") }, "\(result.stdout)")
                #expect(!line.contains(value) && line.contains("\\u{"), "hidden\(index) shown as: \(line)")
            }
        }
        // JSON output keeps the value exactly (JSON escapes it).
        let json = try ws.run(["inspect", ws.path("case.dossier"), "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let manifest = try #require(object["manifest"] as? [String: Any])
        #expect((manifest["public"] as? [String: String])?["court"] == forged, "\(json.stdout)")
    }

    @Test("inspect --json of a file that is no dossier prints one JSON object saying so (exit 2)")
    func inspectJSONOfNonDossier() throws {
        let ws = try Workspace()
        try Data("not a dossier".utf8).write(to: URL(fileURLWithPath: ws.path("junk.dossier")))
        let result = try ws.run(["inspect", ws.path("junk.dossier"), "--json"])
        #expect(result.status == 2, "\(result.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result.stdout)")
        #expect(object["intact"] as? Bool == false)
        #expect((object["problems"] as? [String])?.isEmpty == false)
        // The documented fields of an inspect object, as for a dossier (only `manifest` is absent, as in verify).
        #expect((object["signatures"] as? [Any])?.isEmpty == true && (object["recipientTypes"] as? [Any])?.isEmpty == true, "\(result.stdout)")
        #expect(object["trustEvaluated"] as? Bool == false && object["containerBytes"] as? Int == 0 && object["manifest"] == nil, "\(result.stdout)")
        #expect(object["path"] as? String == ws.path("junk.dossier"))
        // A file that cannot be read: one JSON object with its error (exit 1), as verify prints.
        let missing = try ws.run(["inspect", ws.path("typo.dossier"), "--json"])
        #expect(missing.status == 1, "\(missing.stderr)")
        let error = try #require(try JSONSerialization.jsonObject(with: Data(missing.stdout.utf8)) as? [String: Any], "\(missing.stdout)")
        #expect(error["path"] as? String == ws.path("typo.dossier") && error["status"] as? String == "error", "\(missing.stdout)")
        #expect((error["error"] as? String)?.contains("no such file") == true, "\(missing.stdout)")
    }

    @Test("a case folder with colliding names is bad input (exit 1) like one with a symlink, not a failed verification (exit 2)")
    func collidingNamesExitOne() throws {
        let ws = try Workspace()
        let (recipient, _) = try keys(ws)
        try Data("a".utf8).write(to: URL(fileURLWithPath: ws.path("case/Same.txt")))
        try Data("b".utf8).write(to: URL(fileURLWithPath: ws.path("case/same.txt")))
        let result = try ws.run(["seal", ws.path("case"), "-r", recipient, "-s", ws.path("anna.sign"), "-o", ws.path("c.dossier")])
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stderr.contains("collide"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: ws.path("c.dossier")))
    }

    @Test("a missing file is an error (exit 1), not a tampered dossier (exit 2); inspect fails on a damaged dossier")
    func missingAndDamaged() throws {
        let ws = try Workspace()
        let (recipient, trust) = try keys(ws)
        #expect(try ws.run(["seal", ws.path("case"), "-r", recipient, "-s", ws.path("anna.sign"), "-o", ws.path("case.dossier")]).status == 0)
        for args in [["verify", ws.path("typo.dossier"), "--trust", trust], ["verify", ws.path("case"), "--trust", trust], ["inspect", ws.path("typo.dossier")]] {
            let result = try ws.run(args)
            #expect(result.status == 1, "\(args): \(result.stdout)\(result.stderr)")
            #expect(!result.stdout.contains("INVALID"), "\(args): \(result.stdout)")
            #expect(result.stderr.contains(args[1]), "\(args): \(result.stderr)")
        }
        // A good and a missing file: the missing one makes it a failure; a damaged one still wins (2).
        #expect(try ws.run(["verify", ws.path("case.dossier"), ws.path("typo.dossier"), "--trust", trust]).status == 1)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: ws.path("case.dossier")))
        bytes[bytes.count / 2] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: ws.path("damaged.dossier")))
        #expect(try ws.run(["verify", ws.path("damaged.dossier"), ws.path("typo.dossier"), "--trust", trust]).status == 2)
        let json = try ws.run(["verify", ws.path("typo.dossier"), "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["status"] as? String == "error")
        let inspect = try ws.run(["inspect", ws.path("damaged.dossier")])
        #expect(inspect.status == 2, "\(inspect.stdout)\(inspect.stderr)")
        #expect((inspect.stdout + inspect.stderr).contains("integrity FAILED") || inspect.stdout.contains("integrity    FAILED"))
        #expect(!(inspect.stdout + inspect.stderr).contains("trust store"), "\(inspect.stdout)\(inspect.stderr)")
        // Damage that leaves the manifest readable: a flipped byte in the payload body.
        var signed = try Data(contentsOf: URL(fileURLWithPath: ws.path("case.dossier")))
        let at = try #require(signed.range(of: Data("payload.age".utf8))).upperBound
        signed[at + 400] ^= 0x01
        try signed.write(to: URL(fileURLWithPath: ws.path("badsig.dossier")))
        let badsig = try ws.run(["inspect", ws.path("badsig.dossier")])
        #expect(badsig.status == 2, "\(badsig.stdout)\(badsig.stderr)")
        #expect(badsig.stdout.contains("integrity    FAILED"), "\(badsig.stdout)")
        #expect(!badsig.stdout.contains("trust store"), "\(badsig.stdout)")
    }

    @Test("the end-to-end example of dossier --help runs as printed in a fresh folder")
    func helpExampleRuns() throws {
        let ws = try Workspace()
        try FileManager.default.moveItem(atPath: ws.path("case"), toPath: ws.path("case-folder"))
        let help = try CLI.run(["--help"]).stdout
        let lines = help.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        let start = try #require(lines.firstIndex { $0.hasPrefix("Example, end to end") })
        let example = lines[(start + 1)...].prefix { $0.hasPrefix("dossier ") || $0.hasPrefix("echo ") || $0.hasPrefix("-") }
        #expect(example.count >= 7, "\(help)")
        let script = "set -e\nexport PATH=\"\(CLI.binary.deletingLastPathComponent().path):$PATH\"\n" + example.joined(separator: "\n") + "\n"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", script]
        process.currentDirectoryURL = URL(fileURLWithPath: ws.root)
        process.environment = ProcessInfo.processInfo.environment.merging(["DOSSIER_LOG": ws.path("ledger.sqlite")]) { $1 }
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(example.joined(separator: "\n"))\n\(stderr)")
        #expect(FileManager.default.fileExists(atPath: ws.path("opened/01_intake/form.txt")))
    }

    @Test("the access log records seal and open, verifies, exports and detects a cut export")
    func accessLog() throws {
        let ws = try Workspace()
        let (recipient, trust) = try keys(ws)
        #expect(try ws.run(["seal", ws.path("case"), "-r", recipient, "-s", ws.path("anna.sign"), "-o", ws.path("case.dossier")]).status == 0)
        #expect(try ws.run(["open", ws.path("case.dossier"), "-i", ws.path("anna.age"), "-o", ws.path("opened"), "--trust", trust,
                            "--purpose", "appeal review", "--as", ws.path("anna.sign")]).status == 0)
        let history = try ws.run(["log", ws.path("case.dossier")])
        #expect(history.status == 0)
        // Showing and verifying only read the ledger: a copy of it stays byte for byte.
        try FileManager.default.copyItem(atPath: ws.path("ledger.sqlite"), toPath: ws.path("copy.sqlite"))
        for suffix in ["-wal", "-shm"] where FileManager.default.fileExists(atPath: ws.path("ledger.sqlite") + suffix) {
            try FileManager.default.copyItem(atPath: ws.path("ledger.sqlite") + suffix, toPath: ws.path("copy.sqlite") + suffix)
        }
        let copyBefore = try Data(contentsOf: URL(fileURLWithPath: ws.path("copy.sqlite")))
        let fromCopy = try ws.run(["log", ws.path("case.dossier"), "--log", ws.path("copy.sqlite")])
        #expect(fromCopy.status == 0, "\(fromCopy.stderr)")
        #expect(fromCopy.stdout.contains("opened by Anna Archivist"))
        #expect(try ws.run(["log", "--verify", "--trust", trust, "--log", ws.path("copy.sqlite")]).status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: ws.path("copy.sqlite"))) == copyBefore)
        // By id, also when a folder of that name (the sealed case folder) is where we stand.
        let byID = try ws.run(["log", "case"], directory: ws.root)
        #expect(byID.status == 0, "\(byID.stderr)")
        #expect(byID.stdout.contains("sealed by Anna Archivist"))
        #expect(history.stdout.contains("sealed by Anna Archivist"))
        #expect(history.stdout.contains("opened by Anna Archivist"))
        #expect(history.stdout.contains("appeal review"))
        #expect(try ws.run(["log", ws.path("case.dossier"), "--verify", "--trust", trust]).status == 0)
        #expect(try ws.run(["log", ws.path("case.dossier"), "--export", ws.path("case.jsonl"), "--as", ws.path("anna.sign")]).status == 0)
        #expect(try ws.run(["log", "--verify-export", ws.path("case.jsonl"), "--trust", trust]).status == 0)
        // Importing: an untrusted export is refused (exit 3) and a ledger made for it does not stay.
        try Data().write(to: URL(fileURLWithPath: ws.path("nobody.txt")))
        let untrustedImport = try ws.run(["log", "--import", ws.path("case.jsonl"), "--trust", ws.path("nobody.txt"), "--log", ws.path("other.sqlite")])
        #expect(untrustedImport.status == 3, "\(untrustedImport.stderr)")
        #expect(!FileManager.default.fileExists(atPath: ws.path("other.sqlite")))
        let trustedImport = try ws.run(["log", "--import", ws.path("case.jsonl"), "--trust", trust, "--log", ws.path("other.sqlite")])
        #expect(trustedImport.status == 0, "\(trustedImport.stderr)")
        // Options that only mean something with --record are refused without it.
        #expect(try ws.run(["log", ws.path("case.dossier"), "--detail", "a=b"]).status == 64)
        #expect(try ws.run(["log", ws.path("case.dossier"), "--record", "loaned", "--as", ws.path("anna.sign"), "--purpose", ""]).status == 64)
        var lines = try String(contentsOfFile: ws.path("case.jsonl"), encoding: .utf8).split(separator: "\n")
        lines.removeLast()
        try (lines.joined(separator: "\n") + "\n").write(toFile: ws.path("cut.jsonl"), atomically: true, encoding: .utf8)
        let cut = try ws.run(["log", "--verify-export", ws.path("cut.jsonl"), "--trust", trust])
        #expect(cut.status == 2)
        #expect(cut.stdout.contains("cut"))
        // Opening fails closed when the log is missing.
        let missing = try ws.run(["open", ws.path("case.dossier"), "-i", ws.path("anna.age"), "-o", ws.path("o4"), "--trust", trust,
                                  "--purpose", "p", "--as", ws.path("anna.sign"), "--log", ws.path("nowhere.sqlite")])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("does not exist"))
        #expect(!FileManager.default.fileExists(atPath: ws.path("o4")))
    }

    @Test("open --only PATH -o - writes that one document to standard output, logged, and nothing to disk; refused without --only, with --json, to a terminal")
    func openToStandardOutput() throws {
        let ws = try Workspace()
        let (recipient, trust) = try keys(ws)
        #expect(try ws.run(["seal", ws.path("case"), "-r", recipient, "-s", ws.path("anna.sign"), "-o", ws.path("case.dossier")]).status == 0)
        let common = ["-i", ws.path("anna.age"), "--trust", trust, "--purpose", "print the notes", "--as", ws.path("anna.sign")]
        let before = try FileManager.default.contentsOfDirectory(atPath: ws.root).sorted()
        let out = try ws.run(["open", ws.path("case.dossier"), "--only", "笔录.txt", "-o", "-"] + common, directory: ws.root)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stdout == "notes 笔录")
        #expect(out.stderr.contains("written to standard output, every file checked"), "\(out.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: ws.root).sorted() == before, "no folder named - nor a staging folder")
        let history = try ws.run(["log", ws.path("case.dossier")])
        #expect(history.stdout.contains("print the notes") && history.stdout.contains("笔录.txt"), "\(history.stdout)")
        // -q: the document alone.
        let quiet = try ws.run(["open", ws.path("case.dossier"), "--only", "01_intake/form.txt", "-o", "-", "-q"] + common)
        #expect(quiet.status == 0 && quiet.stdout == "intake form" && quiet.stderr.isEmpty, "\(quiet.stderr)")
        // A document the dossier does not hold: exit 1, nothing on standard output.
        let missing = try ws.run(["open", ws.path("case.dossier"), "--only", "missing.txt", "-o", "-"] + common)
        #expect(missing.status == 1 && missing.stdout.isEmpty && missing.stderr.contains("no document"), "\(missing.stderr)")
        // Usage errors, and a standard output that is closed or open only for reading: before anything is logged.
        let logged = try ws.run(["log", ws.path("case.dossier")]).stdout.split(separator: "\n").count
        for redirect in [">&-", "1</dev/null"] {
            let script = "exec \"$0\" \"$@\" \(redirect)"
            let refused = try CLI.run(["-c", script, CLI.binary.path, "open", ws.path("case.dossier"), "--only", "笔录.txt", "-o", "-"] + common,
                                      environment: ["DOSSIER_LOG": ws.path("ledger.sqlite")], executable: "/bin/bash")
            #expect(refused.status == 1 && refused.stderr.contains("standard output"), "\(redirect): \(refused.status) \(refused.stderr)")
        }
        #expect(try ws.run(["log", ws.path("case.dossier")]).stdout.split(separator: "\n").count == logged)
        for (arguments, reason) in [(["-o", "-"], "name it with --only"), (["--only", "笔录.txt", "-o", "-", "--json"], "--json and -o -")] {
            let refused = try ws.run(["open", ws.path("case.dossier")] + arguments + common)
            #expect(refused.status == 64 && refused.stderr.contains(reason), "\(arguments): \(refused.stderr)")
        }
        // To a terminal (script(1) gives the command one): refused, the document's bytes could act on it.
        let command = ([CLI.binary.path, "open", ws.path("case.dossier"), "--only", "笔录.txt", "-o", "-"] + common)
            .map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        let terminal = try CLI.run(["-qec", command, "/dev/null"], environment: ["DOSSIER_LOG": ws.path("ledger.sqlite")], executable: "/usr/bin/script")
        #expect(terminal.status == 64 && terminal.stdout.contains("refusing to write a document to the terminal") && !terminal.stdout.contains("notes"),
                "\(terminal.status) \(terminal.stdout)")
        #expect(try ws.run(["log", ws.path("case.dossier")]).stdout.split(separator: "\n").count == logged)
    }

    @Test("list shows every document with size and media type, logs an opened entry (contents=listed) first, writes nothing; --json; refusals")
    func listDocuments() throws {
        let ws = try Workspace()
        let (recipient, trust) = try keys(ws)
        #expect(try ws.run(["seal", ws.path("case"), "-r", recipient, "-s", ws.path("anna.sign"), "-o", ws.path("case.dossier")]).status == 0)
        let common = ["-i", ws.path("anna.age"), "--trust", trust, "--as", ws.path("anna.sign")]
        let before = try FileManager.default.contentsOfDirectory(atPath: ws.root).sorted()
        let listed = try ws.run(["list", ws.path("case.dossier"), "--purpose", "find the notes"] + common, directory: ws.root)
        #expect(listed.status == 0, "\(listed.stderr)")
        let lines = listed.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 2, "\(listed.stdout)")
        #expect(lines.contains { $0.hasSuffix("  01_intake/form.txt") && $0.contains("11 bytes") && $0.contains("text/plain") }, "\(listed.stdout)")
        #expect(lines.contains { $0.hasSuffix("  笔录.txt") && $0.contains("12 bytes") }, "\(listed.stdout)")
        #expect(listed.stderr.contains("listed case: 2 document(s)"), "\(listed.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: ws.root).sorted() == before, "list wrote something")
        let history = try ws.run(["log", ws.path("case.dossier")])
        #expect(history.stdout.contains("opened by Anna Archivist") && history.stdout.contains("find the notes")
                && history.stdout.contains("contents=listed"), "\(history.stdout)")
        #expect(try ws.run(["log", ws.path("case.dossier"), "--verify", "--trust", trust]).status == 0)

        let json = try ws.run(["list", ws.path("case.dossier"), "--purpose", "catalogue", "--json"] + common)
        #expect(json.status == 0, "\(json.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let documents = try #require(object["documents"] as? [[String: Any]])
        let form = try #require(documents.first { $0["path"] as? String == "01_intake/form.txt" })
        #expect(form["size"] as? Int == 11 && form["mediaType"] as? String == "text/plain" && form["executable"] as? Bool == false)
        let digest = try CLI.run([ws.path("case/01_intake/form.txt")], executable: "/usr/bin/sha256sum").stdout.prefix(64)
        #expect(digest.count == 64 && form["sha256"] as? String == String(digest))
        #expect((object["folders"] as? [String])?.contains("01_intake") == true)
        #expect((object["report"] as? [String: Any])?["status"] as? String == "valid")

        // Refused before anything is logged: no purpose, no identity, no actor (usage), another's key (4).
        let logged = try ws.run(["log", ws.path("case.dossier")]).stdout.split(separator: "\n").count
        #expect(try ws.run(["list", ws.path("case.dossier")] + common).status == 64)
        #expect(try ws.run(["list", ws.path("case.dossier"), "--purpose", "p", "--as", ws.path("anna.sign")]).status == 64)
        #expect(try ws.run(["list", ws.path("case.dossier"), "--purpose", "p", "-i", ws.path("anna.age"), "--log", ws.path("ledger.sqlite")],
                           environment: ["DOSSIER_ACTOR": ""]).status == 64)
        #expect(try ws.run(["keygen", "--name", "Eve", ws.path("eve")]).status == 0)
        let stranger = try ws.run(["list", ws.path("case.dossier"), "--purpose", "p", "-i", ws.path("eve.age"), "--trust", trust, "--as", ws.path("anna.sign")])
        #expect(stranger.status == 4, "\(stranger.stderr)")
        #expect(try ws.run(["log", ws.path("case.dossier")]).stdout.split(separator: "\n").count == logged)
        // "listed" is not an event (a listing is an opening of the names): --record refuses it.
        #expect(try ws.run(["log", ws.path("case.dossier"), "--record", "listed", "--as", ws.path("anna.sign"), "--purpose", "x"]).status == 64)
    }

    @Test("open -o - and list, stopped by SIGTERM while their reader does not read, end by the signal at once (it was caught and the write restarted)",
          arguments: ["open", "list"])
    func stoppedWhileWriting(_ command: String) throws {
        let ws = try Workspace()
        let (recipient, trust) = try keys(ws)
        // Far more output than a pipe holds, so the write blocks on a reader that reads nothing:
        // a 2 MiB document, or 1,500 documents with long names (~150 KB of listing).
        try FileManager.default.createDirectory(atPath: ws.path("big"), withIntermediateDirectories: false)
        if command == "open" {
            try Data((0..<(2 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }).write(to: URL(fileURLWithPath: ws.path("big/doc.bin")))
        } else {
            for index in 0..<1_500 {
                try Data([UInt8(index & 0xFF)]).write(to: URL(fileURLWithPath: ws.path("big/" + String(repeating: "a long document name ", count: 4) + "\(index).txt")))
            }
        }
        #expect(try ws.run(["seal", ws.path("big"), "-r", recipient, "-s", ws.path("anna.sign"), "-o", ws.path("big.dossier")]).status == 0)
        // Started as a shell would (the test runner's threads block signals, and a child
        // inherits that): the signals unblocked and at their defaults, then exec.
        let python = try #require(["/usr/bin/python3", "/usr/local/bin/python3"].first { FileManager.default.isExecutableFile(atPath: $0) },
                                  "python3 is needed (scripts/setup installs it)")
        let exec = """
            import os, signal, sys
            for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE): signal.signal(s, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE])
            os.execv(sys.argv[1], sys.argv[1:])
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", exec, CLI.binary.path, command, ws.path("big.dossier")] + (command == "open" ? ["--only", "doc.bin", "-o", "-", "-q"] : [])
            + ["-i", ws.path("anna.age"), "--trust", trust, "--purpose", "stalled reader", "--as", ws.path("anna.sign")]
        process.environment = ProcessInfo.processInfo.environment.merging(["DOSSIER_LOG": ws.path("ledger.sqlite")]) { $1 }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        defer {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        // Until it waits in the pipe's write (checked and logged): the kernel names the wait;
        // where it does not say, the opened entry and a pause tell.
        let wchan = "/proc/\(process.processIdentifier)/wchan"
        var waiting = false
        for _ in 0..<600 where process.isRunning && !waiting {
            usleep(50_000)
            let name = (try? String(contentsOfFile: wchan, encoding: .utf8)) ?? ""
            waiting = name.contains("pipe")   // pipe_write, anon_pipe_write; pipe_wait before Linux 5.5
            if !waiting, name == "0" || name.isEmpty, try ws.run(["log", ws.path("big.dossier")]).stdout.contains("stalled reader") {
                usleep(2_000_000)
                waiting = true
            }
        }
        #expect(waiting && process.isRunning,
                "never blocked writing: \(process.isRunning ? "" : String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))")
        kill(process.processIdentifier, SIGTERM)
        var ended = false
        for _ in 0..<100 where !ended {
            usleep(50_000)
            ended = !process.isRunning
        }
        #expect(ended, "still running 5 s after SIGTERM")
        if ended {
            #expect(process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGTERM,
                    "\(process.terminationReason.rawValue) \(process.terminationStatus)")
        }
    }

    @Test("output that cannot be written is a failure (exit 1, said on stderr), not success or a crash: list and --json to a full or closed standard output")
    func outputNotWritten() throws {
        let ws = try Workspace()
        let (recipient, trust) = try keys(ws)
        #expect(try ws.run(["seal", ws.path("case"), "-r", recipient, "-s", ws.path("anna.sign"), "-o", ws.path("case.dossier")]).status == 0)
        let listing = ["list", ws.path("case.dossier"), "-i", ws.path("anna.age"), "--trust", trust, "--purpose", "p", "--as", ws.path("anna.sign")]
        let logged = try ws.run(["log", ws.path("case.dossier")]).stdout.split(separator: "\n").count
        for (arguments, redirect, logs) in [(listing, ">&-", false), (listing, ">/dev/full", true), (listing + ["--json"], ">/dev/full", true),
                                           (["verify", ws.path("case.dossier"), "--trust", trust, "--json"], ">/dev/full", false),
                                           (["inspect", ws.path("case.dossier")], ">/dev/full", false)] {
            let before = try ws.run(["log", ws.path("case.dossier")]).stdout.split(separator: "\n").count
            let result = try CLI.run(["-c", "exec \"$0\" \"$@\" \(redirect)", CLI.binary.path] + arguments,
                                     environment: ["DOSSIER_LOG": ws.path("ledger.sqlite")], executable: "/bin/bash")
            #expect(result.status == 1 && result.stderr.contains("standard output"), "\(arguments.first!) \(redirect): \(result.status) \(result.stderr)")
            let after = try ws.run(["log", ws.path("case.dossier")]).stdout.split(separator: "\n").count
            #expect(after == before + (logs ? 1 : 0), "\(arguments.first!) \(redirect): \(before) → \(after) entries")
        }
        _ = logged
        // The reason is the write's own (a large --json write failed with ENOSPC and was
        // reported with a stale errno as "Bad file descriptor").
        let full = try CLI.run(["-c", "exec \"$0\" \"$@\" >/dev/full", CLI.binary.path, "log", ws.path("case.dossier"), "--json"],
                               environment: ["DOSSIER_LOG": ws.path("ledger.sqlite")], executable: "/bin/bash")
        #expect(full.status == 1 && full.stderr.contains("No space left on device"), "\(full.stderr)")
        // Nowhere to say it either (stderr full too, or a closed pipe with SIGPIPE ignored): exit 1,
        // not a crash (FileHandle's write trapped: SIGILL, 132).
        for script in ["exec \"$0\" \"$@\" >/dev/full 2>/dev/full", "trap '' PIPE; \"$0\" \"$@\" 2>&1 | true; exit ${PIPESTATUS[0]}"] {
            let result = try CLI.run(["-c", script, CLI.binary.path, "log", ws.path("case.dossier")],
                                     environment: ["DOSSIER_LOG": ws.path("ledger.sqlite")], executable: "/bin/bash")
            #expect(result.status == 1, "\(script): \(result.status)")
        }
        // A reader that stops early (SIGPIPE ignored, as under systemd): exit 1, quietly.
        let closed = try CLI.run(["-c", "trap '' PIPE; \"$0\" \"$@\" | true; exit ${PIPESTATUS[0]}", CLI.binary.path, "log", ws.path("case.dossier")],
                                 environment: ["DOSSIER_LOG": ws.path("ledger.sqlite")], executable: "/bin/bash")
        #expect(closed.status == 1 && closed.stderr.isEmpty, "\(closed.status) \(closed.stderr)")
    }

    @Test("a command whose standard output is closed does nothing (no seal, no opening, no log entry) unless it is quiet; help and the version that cannot be written fail; a closed stdin still fails a passphrase read")
    func standardDescriptorsClosed() throws {
        let ws = try Workspace()
        let (recipient, trust) = try keys(ws)
        func run(_ arguments: [String], _ redirect: String) throws -> CLI.Result {
            try CLI.run(["-c", "exec \"$0\" \"$@\" \(redirect)", CLI.binary.path] + arguments,
                        environment: ["DOSSIER_LOG": ws.path("ledger.sqlite")], executable: "/bin/bash")
        }
        // A seal with its stdout closed was sealed and logged, then failed on its receipt (and
        // sealing again under that id was refused): now refused before anything is done.
        let seal = ["seal", ws.path("case"), "--id", "closed-out", "-r", recipient, "-s", ws.path("anna.sign"), "-o", ws.path("closed.dossier")]
        let refused = try run(seal, ">&-")
        #expect(refused.status == 1 && refused.stderr.contains("standard output is closed"), "\(refused.status) \(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: ws.path("closed.dossier")))
        let readOnly = try run(seal, "1</dev/null")
        #expect(readOnly.status == 1 && readOnly.stderr.contains("standard output is open only for reading"), "\(readOnly.status) \(readOnly.stderr)")
        #expect(!FileManager.default.fileExists(atPath: ws.path("closed.dossier")))
        // Quiet, it prints nothing: it runs (and the id was not used up by the refusal).
        let quiet = try run(seal + ["-q"], ">&-")
        #expect(quiet.status == 0 && FileManager.default.fileExists(atPath: ws.path("closed.dossier")), "\(quiet.stderr)")
        // An opening with its stdout closed logs nothing and writes no folder; with --json it is not quiet.
        let entries = try ws.run(["log", ws.path("closed.dossier")]).stdout
        let open = ["open", ws.path("closed.dossier"), "-i", ws.path("anna.age"), "--trust", trust, "--purpose", "p", "--as", ws.path("anna.sign")]
        for extra in [["-o", ws.path("opened")], ["-o", ws.path("opened"), "-q", "--json"], ["--only", "01_intake/form.txt", "-o", "-", "-q"]] {
            let result = try run(open + extra, ">&-")
            #expect(result.status == 1 && result.stderr.contains("standard output is closed"), "\(extra): \(result.status) \(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: ws.path("opened")), "\(extra)")
        }
        #expect(try ws.run(["log", ws.path("closed.dossier")]).stdout == entries)
        // Help and the version printed on request exited 0 when they could not be written.
        for arguments in [["--help"], ["--version"], ["help", "seal"], ["seal", "--help"]] {
            let result = try run(arguments, ">/dev/full")
            #expect(result.status == 1 && result.stderr.contains("No space left on device"), "\(arguments): \(result.status) \(result.stderr)")
        }
        #expect(try CLI.run(["--version"]).status == 0)
        // Descriptors 0 and 2 closed are filled so that no file takes their numbers, but
        // reading the filler still fails as the closed descriptor did (no empty passphrase).
        let read = try CLI.run(["-c", "exec \"$0\" \"$@\" 0<&-", CLI.binary.path, "keygen", "--protect", "--passphrase-fd", "0", ws.path("protected")],
                               executable: "/bin/bash")
        #expect(read.status == 1 && read.stderr.contains("bad file descriptor"), "\(read.status) \(read.stderr)")
        #expect(!FileManager.default.fileExists(atPath: ws.path("protected.sign")))
    }

    @Test("log --export refuses an actor key it cannot load; --verify-export and --import refuse a target dossier that does not verify or is another dossier")
    func logTargetsAndActors() throws {
        let ws = try Workspace()
        let (recipient, trust) = try keys(ws)
        #expect(try ws.run(["seal", ws.path("case"), "-r", recipient, "-s", ws.path("anna.sign"), "-o", ws.path("case.dossier")]).status == 0)
        try FileManager.default.copyItem(atPath: ws.path("case"), toPath: ws.path("other"))
        #expect(try ws.run(["seal", ws.path("other"), "-r", recipient, "-s", ws.path("anna.sign"), "-o", ws.path("other.dossier")]).status == 0)
        // An actor key that cannot be used (readable by others, missing) is an error, not an
        // export without its exported entry.
        try FileManager.default.copyItem(atPath: ws.path("anna.sign"), toPath: ws.path("open.sign"))
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: ws.path("open.sign"))
        for key in [ws.path("open.sign"), ws.path("missing.sign")] {
            let export = try ws.run(["log", ws.path("case.dossier"), "--export", ws.path("bad.jsonl"), "--as", key])
            #expect(export.status == 1, "\(key): \(export.stdout) \(export.stderr)")
            #expect(!FileManager.default.fileExists(atPath: ws.path("bad.jsonl")), "\(key)")
        }
        #expect(try ws.run(["log", ws.path("case.dossier"), "--export", ws.path("case.jsonl"), "--as", ws.path("anna.sign")]).status == 0)
        #expect(try ws.run(["log", ws.path("case.dossier"), "--verify-export", ws.path("case.jsonl"), "--trust", trust]).status == 0)
        // A damaged copy of the dossier cannot vouch for the export's anchor.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: ws.path("case.dossier")))
        bytes[bytes.count / 2] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: ws.path("flipped.dossier")))
        let flipped = try ws.run(["log", ws.path("flipped.dossier"), "--verify-export", ws.path("case.jsonl"), "--trust", trust])
        #expect(flipped.status != 0, "\(flipped.stdout)")
        #expect(!flipped.stdout.contains("VALID"), "\(flipped.stdout)")
        // Another dossier's export is not this dossier's log, whether the target is a file or an id.
        for target in [ws.path("other.dossier"), "other"] {
            let foreign = try ws.run(["log", target, "--verify-export", ws.path("case.jsonl"), "--trust", trust], directory: NSTemporaryDirectory())
            #expect(foreign.status == 2, "\(target): \(foreign.stdout) \(foreign.stderr)")
            #expect(foreign.stdout.contains("is the log of case, not of other"), "\(target): \(foreign.stdout)")
            let imported = try ws.run(["log", target, "--import", ws.path("case.jsonl"), "--trust", trust, "--log", ws.path("third.sqlite")],
                                      directory: NSTemporaryDirectory())
            #expect(imported.status != 0, "\(target): \(imported.stdout)")
            #expect(!FileManager.default.fileExists(atPath: ws.path("third.sqlite")), "\(target)")
        }
    }

    @Test("what the docs promise (review of session 7): exit codes of unreadable input, no log entry for a failed export, no silently ignored options, sealer as the seal's actor")
    func docsPromises() throws {
        let ws = try Workspace()
        let (recipient, trust) = try keys(ws)
        #expect(try ws.run(["keygen", "--name", "Otto Officer", ws.path("otto")]).status == 0)
        // Without --as, the sealed entry is signed by the sealer, whichever signer comes first.
        let sealed = try ws.run(["seal", ws.path("case"), "-r", recipient, "--signer", "approver=" + ws.path("otto.sign"), "-s", ws.path("anna.sign"),
                                 "-o", ws.path("case.dossier")])
        #expect(sealed.status == 0, "\(sealed.stderr)")
        #expect(try ws.run(["log", ws.path("case.dossier")]).stdout.contains("sealed by Anna Archivist (sealer"))
        // A missing file or a folder is bad input (1), not a damaged dossier (2).
        for command in [["open", ws.path("nope.dossier"), "-i", ws.path("anna.age"), "--as", ws.path("anna.sign"), "-o", ws.path("o1"), "--purpose", "x"],
                        ["open", ws.path("case"), "-i", ws.path("anna.age"), "--as", ws.path("anna.sign"), "-o", ws.path("o2"), "--purpose", "x"],
                        ["countersign", ws.path("nope.dossier"), "--signer", ws.path("otto.sign")],
                        ["rewrap", ws.path("nope.dossier"), "-i", ws.path("anna.age"), "-r", recipient, "--signer", ws.path("anna.sign"), "--reason", "x"]] {
            let result = try ws.run(command)
            #expect(result.status == 1, "\(command[0]) \(command[1]): \(result.status) \(result.stderr)")
        }
        // A misspelled dossier file is not taken for a dossier id.
        for args in [["log", ws.path("nope.dossier")], ["log", "nope.dossier", "--verify", "--trust", trust]] {
            let result = try ws.run(args, directory: ws.root)
            #expect(result.status == 1 && result.stderr.contains("no such file"), "\(args): \(result.status) \(result.stdout) \(result.stderr)")
        }
        // An export that cannot be written records nothing.
        try Data().write(to: URL(fileURLWithPath: ws.path("existing.jsonl")))
        let before = try ws.run(["log", ws.path("case.dossier")]).stdout
        let export = try ws.run(["log", ws.path("case.dossier"), "--export", ws.path("existing.jsonl"), "--as", ws.path("anna.sign")])
        #expect(export.status == 1, "\(export.stderr)")
        #expect(try ws.run(["log", ws.path("case.dossier")]).stdout == before)
        // An export or a checkpoint that fails leaves no empty file behind.
        let noHistory = try ws.run(["log", "no-such-id", "--export", ws.path("none.jsonl"), "--as", ws.path("anna.sign")])
        #expect(noHistory.status == 1 && !FileManager.default.fileExists(atPath: ws.path("none.jsonl")), "\(noHistory.stderr)")
        let noLedger = try ws.run(["checkpoint", "--origin", "x.example", "--signer", ws.path("otto.sign"), "-o", ws.path("cp.txt"),
                                   "--log", ws.path("missing.sqlite")])
        #expect(noLedger.status == 1 && !FileManager.default.fileExists(atPath: ws.path("cp.txt")), "\(noLedger.stderr)")
        // Options a command does not use are not offered.
        #expect(try ws.run(["log", ws.path("case.dossier"), "--verify", "--require-role", "approver"]).status == 64)
        #expect(try ws.run(["checkpoint", "--origin", "x.example", "--signer", ws.path("otto.sign"), "--as", ws.path("otto.sign")]).status == 64)
        // A missing actor is a usage error that names the command, not the whole tool.
        let noActor = try ws.run(["log", ws.path("case.dossier"), "--record", "loaned", "--purpose", "x"], environment: ["DOSSIER_ACTOR": ""])
        #expect(noActor.status == 64 && noActor.stderr.contains("Usage: dossier log") && !noActor.stderr.contains("opening"), "\(noActor.stderr)")
        // The output named as the folder being sealed gets a hint that works.
        let inside = try ws.run(["seal", ws.path("case"), "-r", recipient, "-s", ws.path("anna.sign"), "-o", ws.path("case"), "--id", "other"])
        #expect(inside.status == 1 && inside.stderr.contains("e.g. \(ws.path("other.dossier"))"), "\(inside.stderr)")
        // keygen's trust line lets its holder seal and open.
        let keygen = try ws.run(["keygen", "--name", "Rita", ws.path("rita")])
        #expect(keygen.stdout.contains("trust line:  sealer,reader "), "\(keygen.stdout)")
    }

    @Test("countersign, rewrap, log --record and checkpoint succeed and are logged; completions generate")
    func otherCommands() throws {
        let ws = try Workspace()
        let (recipient, _) = try keys(ws)
        #expect(try ws.run(["keygen", "--name", "City Archive", ws.path("archive")]).status == 0)
        #expect(try ws.run(["seal", ws.path("case"), "-r", recipient, "-s", ws.path("anna.sign"), "-o", ws.path("case.dossier")]).status == 0)
        let pub = { (name: String) throws -> String in
            String(try String(contentsOfFile: ws.path(name + ".pub"), encoding: .utf8).split(separator: "\n")[1])
        }
        try "sealer,transferrer,archivist \(try pub("anna")) Anna Archivist\ncountersigner,ledger \(try pub("archive")) City Archive\n"
            .write(toFile: ws.path("trust2.txt"), atomically: true, encoding: .utf8)
        // Countersigning and transferring need trusted signers, like opening.
        let untrusted = try ws.run(["countersign", ws.path("case.dossier"), "--signer", "countersigner=" + ws.path("archive.sign")])
        #expect(untrusted.status == 3, "\(untrusted.stderr)")
        #expect(untrusted.stderr.contains("--allow-untrusted"), "\(untrusted.stderr)")
        let noApprover = try ws.run(["countersign", ws.path("case.dossier"), "--signer", "countersigner=" + ws.path("archive.sign"),
                                     "--trust", ws.path("trust2.txt"), "--require-role", "approver"])
        #expect(noApprover.status == 3, "\(noApprover.stderr)")
        #expect(try ws.run(["countersign", ws.path("case.dossier"), "--signer", "countersigner=" + ws.path("archive.sign"),
                            "--trust", ws.path("trust2.txt"), "--require-role", "Not A Role"]).status == 64)
        let archiveRecipient0 = try String(contentsOfFile: ws.path("archive.recipient"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let untrustedMove = try ws.run(["rewrap", ws.path("case.dossier"), "-i", ws.path("anna.age"), "-r", archiveRecipient0,
                                        "--signer", "transferrer=" + ws.path("anna.sign"), "--reason", "x"])
        #expect(untrustedMove.status == 3, "\(untrustedMove.stderr)")
        let countersign = try ws.run(["countersign", ws.path("case.dossier"), "--signer", "countersigner=" + ws.path("archive.sign"), "--json",
                                      "--trust", ws.path("trust2.txt")])
        #expect(countersign.status == 0, "\(countersign.stderr)")
        #expect(try JSONSerialization.jsonObject(with: Data(countersign.stdout.utf8)) is [String: Any])
        let archiveRecipient = try String(contentsOfFile: ws.path("archive.recipient"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let rewrap = try ws.run(["rewrap", ws.path("case.dossier"), "-i", ws.path("anna.age"), "-r", archiveRecipient,
                                 "--signer", "transferrer=" + ws.path("anna.sign"), "--reason", "moved to the city archive", "--trust", ws.path("trust2.txt")])
        #expect(rewrap.status == 0, "\(rewrap.stderr)")
        let verify = try ws.run(["verify", ws.path("case.dossier"), "--trust", ws.path("trust2.txt"),
                                 "--require-role", "sealer", "--require-role", "countersigner"])
        #expect(verify.status == 0, "\(verify.stdout)")
        #expect(verify.stdout.contains("transfer  #1"))
        let loan = try ws.run(["log", ws.path("case.dossier"), "--record", "loaned", "--as", ws.path("anna.sign"), "--purpose", "hearing",
                               "--detail", "approver=Otto Officer", "--detail", "borrower=District Court"])
        #expect(loan.status == 0, "\(loan.stderr)")
        #expect(try ws.run(["log", ws.path("case.dossier"), "--record", "opened", "--as", ws.path("anna.sign"), "--purpose", "x"]).status == 64)
        let checkpoint = try ws.run(["checkpoint", "--origin", "bureau.example", "--signer", ws.path("archive.sign"), "-o", ws.path("cp.txt")])
        #expect(checkpoint.status == 0, "\(checkpoint.stderr)")
        #expect(checkpoint.stdout.hasPrefix("dossier-ledger/1 bureau.example\n"))
        let history = try ws.run(["log", ws.path("case.dossier"), "--json"])
        let events = ((try JSONSerialization.jsonObject(with: Data(history.stdout.utf8)) as? [String: Any])?["entries"] as? [[String: Any]])?.compactMap { $0["event"] as? String }
        #expect(events == ["sealed", "countersigned", "transferred", "loaned"])
        let checked = try ws.run(["log", ws.path("case.dossier"), "--verify", "--trust", ws.path("trust2.txt"), "--checkpoint", ws.path("cp.txt")])
        #expect(checked.status == 0, "\(checked.stdout)")
        #expect(checked.stdout.contains("checkpoint(s) verified"))
        for shell in ["bash", "zsh", "fish"] {
            let completion = try ws.run(["--generate-completion-script", shell])
            #expect(completion.status == 0 && completion.stdout.contains("dossier"))
        }
        for command in ["keygen", "seal", "verify", "open", "inspect", "log", "checkpoint", "countersign", "rewrap"] {
            let help = try ws.run([command, "--help"])
            #expect(help.status == 0 && help.stdout.contains("Example"), "\(command) --help has an example")
        }
    }

    @Test("check reports a folder against a profile: exit 0 when it passes, 5 when it fails; seal --profile refuses or records an override")
    func check() throws {
        let ws = try Workspace()
        var root = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { root.deleteLastPathComponent() }
        let profile = root.path + "/Examples/profiles/community-corrections.json"
        let example = root.path + "/Examples/case-2024-0117"
        let good = try ws.run(["check", example, "--profile", profile, "--json"])
        #expect(good.status == 0, "\(good.stdout)\(good.stderr)")
        #expect((try JSONSerialization.jsonObject(with: Data(good.stdout.utf8)) as? [String: Any])?["passed"] as? Bool == true)
        try FileManager.default.copyItem(atPath: example, toPath: ws.path("CC-2024-0120"))
        try FileManager.default.removeItem(atPath: ws.path("CC-2024-0120/13_release"))
        let bad = try ws.run(["check", ws.path("CC-2024-0120"), "--profile", profile])
        #expect(bad.status == 5)
        #expect(bad.stdout.contains("FAIL section 13_release (Release from correction) is missing"))
        let (recipient, trust) = try keys(ws)
        let refused = try ws.run(["seal", ws.path("CC-2024-0120"), "--profile", profile, "-r", recipient, "-s", ws.path("anna.sign"), "-o", ws.path("x.dossier")])
        #expect(refused.status == 5)
        #expect(refused.stderr.contains("hint:"))
        let overridden = try ws.run(["seal", ws.path("CC-2024-0120"), "--profile", profile, "--override-profile", "release pending court copy",
                                     "-r", recipient, "-s", ws.path("anna.sign"), "-o", ws.path("x.dossier")])
        #expect(overridden.status == 0, "\(overridden.stderr)")
        let verify = try ws.run(["verify", ws.path("x.dossier"), "--trust", trust])
        #expect(verify.stdout.contains("profile   community-corrections 1.0: overridden"))
        let inspect = try ws.run(["inspect", ws.path("x.dossier")])
        #expect(inspect.stdout.contains("profile      community-corrections 1.0: overridden"), "\(inspect.stdout)")
        #expect(inspect.stdout.contains("release pending court copy"))
        // A broken profile is exit 1 whatever its name says (the exit code came from the message text).
        try Data("{".utf8).write(to: URL(fileURLWithPath: ws.path("does not meet.json")))
        for command in ["check", "seal"] {
            let args = command == "check" ? ["check", example, "--profile", ws.path("does not meet.json")]
                : ["seal", example, "--profile", ws.path("does not meet.json"), "-r", recipient, "-s", ws.path("anna.sign"), "-o", ws.path("z.dossier")]
            let broken = try ws.run(args)
            #expect(broken.status == 1, "\(command): \(broken.stderr)")
        }
        // An override without a profile, or without a reason, is a usage error.
        #expect(try ws.run(["seal", ws.path("CC-2024-0120"), "--override-profile", "r", "-r", recipient, "-s", ws.path("anna.sign"),
                            "-o", ws.path("y.dossier")]).status == 64)
        #expect(try ws.run(["seal", ws.path("CC-2024-0120"), "--profile", profile, "--override-profile", " ", "-r", recipient,
                            "-s", ws.path("anna.sign"), "-o", ws.path("y.dossier")]).status == 64)
    }

    /// Whether a process limit can be tried here: root (to run as a user of no other
    /// process, whose threads the limit counts), util-linux's setpriv and prlimit, a free
    /// user id, and no ThreadSanitizer (its runtime takes a thread of its own under the limit).
    static var canLimitThreads: Bool {
        getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") && FileManager.default.isExecutableFile(atPath: "/usr/bin/prlimit")
            && ProcessInfo.processInfo.environment["TSAN_OPTIONS"] == nil && unusedUser() != nil
    }

    /// A user id of no account and no running process, picked at random among those this
    /// user namespace maps (`/proc/self/uid_map`; rootless containers map 65,536): `ulimit -u`
    /// counts every thread of the user on the machine, so `nobody` (which daemons, or this
    /// suite run from another checkout, may use) could shift every limit.
    static func unusedUser() -> uid_t? {
        var used = Set<uid_t>()
        for pid in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] where pid.allSatisfy(\.isNumber) {
            guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
                  let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Uid:") }),
                  let real = line.split(whereSeparator: { $0 == "\t" || $0 == " " }).dropFirst().first.flatMap({ uid_t($0) }) else { continue }
            used.insert(real)
        }
        let map = (try? String(contentsOfFile: "/proc/self/uid_map", encoding: .utf8)) ?? "0 0 65536"
        let ranges = map.split(separator: "\n").compactMap { line -> Range<UInt64>? in
            let fields = line.split(separator: " ").compactMap { UInt64($0) }
            guard fields.count == 3 else { return nil }
            let range = max(fields[0], 20_000)..<min(fields[0] + fields[2], 60_000)
            return range.isEmpty ? nil : range
        }
        for _ in 0..<1000 {
            guard let range = ranges.randomElement() else { return nil }
            let uid = uid_t(UInt64.random(in: range))
            if !used.contains(uid) && getpwuid(uid) == nil { return uid }
        }
        return nil
    }

    /// Runs dossier as `user` under `prlimit --nproc=limit` (the process itself is one of
    /// the threads counted); a run still going after 60 s is killed.
    func runLimited(_ ws: Workspace, as user: uid_t, threads limit: Int, _ arguments: [String]) throws -> (status: Int32, stderr: String, hung: Bool) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        process.arguments = ["--reuid=\(user)", "--regid=\(user)", "--clear-groups", "/usr/bin/prlimit", "--nproc=\(limit)", "--",
                             CLI.binary.path] + arguments
        // Under AddressSanitizer (scripts/sanitize) its options are kept: LeakSanitizer's
        // check at exit needs a thread of its own, which the limit would refuse.
        var environment = ["DOSSIER_LOG": ws.path("ledger.sqlite"), "PATH": "/usr/bin:/bin"]
        environment["ASAN_OPTIONS"] = ProcessInfo.processInfo.environment["ASAN_OPTIONS"]
        process.environment = environment
        // Into a file, not a pipe: a child blocked on a full pipe would look hung.
        let errPath = ws.path("stderr-\(UUID().uuidString).txt")
        #expect(FileManager.default.createFile(atPath: errPath, contents: nil))
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        defer { try? err.close() }
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        let hung = process.isRunning
        if hung { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return (process.terminationStatus, (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "", hung)
    }

    @Test("under a tight limit on threads (ulimit -u, as a user of no other process): verify works on the main thread alone, seal from two threads, open from four (with two or three it opens or stops clearly); nothing hangs, nothing is half-written",
          .enabled(if: canLimitThreads, "needs root, setpriv and prlimit"))
    func underThreadLimit() throws {
        let ws = try Workspace()
        let (recipient, trust) = try keys(ws)
        // 6 MB that zstd cannot shrink: the payload has many chunks to encrypt (batches of 16).
        let random = FileHandle(forReadingAtPath: "/dev/urandom")!
        let parts = (0..<20).map { _ in random.readData(ofLength: 300_000) }
        for (index, part) in parts.enumerated() { try part.write(to: URL(fileURLWithPath: ws.path("case/part-\(index).bin"))) }
        let user = try #require(Self.unusedUser())
        for path in [ws.root] + ((try? FileManager.default.subpathsOfDirectory(atPath: ws.root)) ?? []).map({ ws.path($0) }) {
            #expect(chown(path, user, user) == 0, "\(path)")
        }
        // No thread besides the main one: the access log is not opened (libdispatch, closing it,
        // would wait for a thread for ever); nothing is written.
        let lone = try runLimited(ws, as: user, threads: 1, ["seal", ws.path("case"), "-r", recipient, "-s", ws.path("anna.sign"), "-o", ws.path("lone.dossier"), "-q"])
        #expect(!lone.hung, "the seal hung")
        #expect(lone.status == 1 && lone.stderr.contains("cannot open the access log") && lone.stderr.contains("ulimit -u"), "\(lone.stderr)")
        #expect(!FileManager.default.fileExists(atPath: ws.path("lone.dossier")) && !FileManager.default.fileExists(atPath: ws.path("ledger.sqlite")))
        // From two on the seal works: the helpers that get no thread (the pipeline, the
        // prefetcher, zstd's workers, the read-back, the background fsync) are done on the main
        // thread or left to the verification. (Swift's async `main` waited for ever for a
        // thread of the concurrency pool at 2–4; encrypting a batch's chunks with
        // `DispatchQueue.concurrentPerform` at 4–6: libdispatch waits for its worker threads
        // until it gets them.)
        for limit in 2...6 {
            let sealed = try runLimited(ws, as: user, threads: limit, ["seal", ws.path("case"), "-r", recipient, "-s", ws.path("anna.sign"),
                                                                       "-o", ws.path("limited-\(limit).dossier"), "--id", "limits-\(limit)", "-q"])
            #expect(!sealed.hung, "the seal hung with \(limit) threads")
            #expect(sealed.status == 0, "\(limit) threads: \(sealed.stderr)")
            #expect(try ws.run(["verify", ws.path("limited-\(limit).dossier"), "--trust", trust]).status == 0, "\(limit) threads")
        }
        try FileManager.default.moveItem(atPath: ws.path("limited-2.dossier"), toPath: ws.path("limited.dossier"))
        let verified = try runLimited(ws, as: user, threads: 1, ["verify", ws.path("limited.dossier"), "--trust", trust, "-q"])
        #expect(!verified.hung && verified.status == 0, "\(verified.stderr)")
        // Reading an existing access log needs the spare thread too (its queue is freed the same way).
        let history = try runLimited(ws, as: user, threads: 1, ["log", ws.path("limited.dossier")])
        #expect(!history.hung, "reading the log hung")
        #expect(history.status == 1 && history.stderr.contains("cannot open the access log"), "\(history.stderr)")
        let open = ["open", ws.path("limited.dossier"), "-i", ws.path("anna.age"), "--as", ws.path("anna.sign"), "--trust", trust, "--purpose", "limits", "-q", "-o"]
        // An opening needs its extraction worker. With two or three threads whether it gets one
        // depends on which helpers hold one at that moment (the prefetcher, the decryption, the
        // early write-back — started after the workers): it opens, or stops with a clear error
        // and leaves nothing at the destination. From four on it opens.
        for limit in 2...6 {
            let out = ws.path("opened-\(limit)")
            let opened = try runLimited(ws, as: user, threads: limit, open + [out])
            #expect(!opened.hung, "the opening hung with \(limit) threads")
            if opened.status == 0 {
                #expect(try Data(contentsOf: URL(fileURLWithPath: out + "/part-7.bin")) == parts[7], "\(limit) threads")
            } else {
                #expect(limit < 4, "\(limit) threads: \(opened.stderr)")
                #expect(opened.status == 1 && opened.stderr.contains("cannot start an extraction worker") && opened.stderr.contains("ulimit -u"), "\(opened.stderr)")
                #expect(!FileManager.default.fileExists(atPath: out))
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: ws.root).filter { $0.hasPrefix(".") }.isEmpty)
        }
    }
}
