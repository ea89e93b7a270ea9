import Foundation
import Testing
@testable import DossierKit

/// One row of Vectors/minisign/cases.tsv and its NAME.pub, NAME.msg and NAME.minisig files.
struct MinisignCase: Sendable, CustomStringConvertible {
    let name: String
    let expect: String
    let algorithmColumn: String
    let keyIDColumn: String
    var description: String { name }

    struct VectorError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    static func all() throws -> [MinisignCase] {
        let table = String(decoding: try Vectors.data("minisign/cases.tsv"), as: UTF8.self)
        return try table.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { line in
            let columns = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard columns.count == 5 else { throw VectorError("cases.tsv: \(columns.count) columns in \(line)") }
            return MinisignCase(name: columns[0], expect: columns[1], algorithmColumn: columns[2], keyIDColumn: columns[3])
        }
    }

    func text(_ suffix: String) throws -> String {
        String(decoding: try Vectors.data("minisign/\(name).\(suffix)"), as: UTF8.self)
    }

    var message: [UInt8] { get throws { Array(try Vectors.data("minisign/\(name).msg")) } }

    /// The error kind the row expects, nil for "valid".
    var expectedKind: MinisignError.Kind? {
        get throws {
            switch expect {
            case "valid": return nil
            case "invalid (signature)": return .invalidSignature
            case "invalid (global/comment signature)": return .invalidTrustedComment
            case "invalid (key id mismatch)": return .keyIDMismatch
            default: throw VectorError("\(name): unknown expectation \(expect)")
            }
        }
    }

    /// The outcome of verifying the case: nil when it verifies, else the error kind.
    func outcome(allowLegacy: Bool) throws -> MinisignError.Kind? {
        let publicKey = try MinisignPublicKey(fileText: text("pub"))
        let signature = try MinisignSignature(parsing: text("minisig"))
        let message = try message
        do {
            try signature.verify(message, publicKey: publicKey, allowLegacy: allowLegacy)
            return nil
        } catch {
            return error.kind
        }
    }
}

@Suite("minisign signatures")
struct MinisignTests {
    static let cases: [MinisignCase] = (try? MinisignCase.all()) ?? []

    /// A fresh key, its minisign public key and a random key id.
    static func newKey() throws -> (Ed25519.PrivateKey, MinisignPublicKey) {
        let key = try Ed25519.PrivateKey()
        return (key, MinisignPublicKey(keyID: try SecureRandom.bytes(8), key: try key.publicKey()))
    }

    static let message = Array("case 2024-0117: sealed manifest\n\u{0}\u{1}\u{ff}".utf8)

    static func expectKind(_ kind: MinisignError.Kind, _ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws(MinisignError) -> Void) {
        do {
            try body()
            Issue.record("expected \(kind.rawValue), got success. \(comment?.rawValue ?? "")", sourceLocation: sourceLocation)
        } catch {
            #expect(error.kind == kind, "\(comment?.rawValue ?? ""): \(error)", sourceLocation: sourceLocation)
        }
    }

    // MARK: vectors

    @Test("cases.tsv lists the 9 bundled cases, each with its three files")
    func caseTable() throws {
        let all = try MinisignCase.all()
        #expect(all.count == 9)
        #expect(all.count == Self.cases.count)
        #expect(all.filter { $0.expect == "valid" }.count == 6)
        for row in all {
            _ = try row.expectedKind
            for suffix in ["pub", "msg", "minisig"] {
                #expect(FileManager.default.fileExists(atPath: Vectors.url("minisign/\(row.name).\(suffix)").path), "\(row.name).\(suffix)")
            }
        }
    }

    @Test("every vector gives exactly its expected outcome (legacy allowed)", arguments: cases)
    func vector(_ row: MinisignCase) throws {
        let signature = try MinisignSignature(parsing: row.text("minisig"))
        let publicKey = try MinisignPublicKey(fileText: row.text("pub"))
        // The algorithm and key id columns agree with what the files hold.
        #expect(row.algorithmColumn.hasPrefix(signature.algorithm.rawValue + " "), "\(row.name): \(signature.algorithm)")
        if try row.expectedKind == .keyIDMismatch {
            #expect(row.keyIDColumn == "sig \(signature.keyIDHex) vs pub \(publicKey.keyIDHex)")
        } else {
            #expect(row.keyIDColumn == signature.keyIDHex)
            #expect(row.keyIDColumn == publicKey.keyIDHex)
        }
        #expect(try row.outcome(allowLegacy: true) == row.expectedKind, "\(row.name): expected \(row.expect)")
    }

    @Test("without allowLegacy every legacy vector is refused as legacy; prehashed ones are unchanged", arguments: cases)
    func vectorLegacyPolicy(_ row: MinisignCase) throws {
        let signature = try MinisignSignature(parsing: row.text("minisig"))
        if signature.algorithm == .legacy {
            #expect(try row.outcome(allowLegacy: false) == .legacyNotAllowed, "\(row.name)")
        } else {
            #expect(try row.outcome(allowLegacy: false) == row.expectedKind, "\(row.name)")
        }
    }

    @Test("vector files re-encode byte for byte", arguments: cases)
    func vectorReencoding(_ row: MinisignCase) throws {
        let text = try row.text("minisig")
        #expect(try MinisignSignature(parsing: text).fileText == text)
        let pub = try row.text("pub")
        let key = try MinisignPublicKey(fileText: pub)
        #expect(key.fileText() == pub, "the default comment is minisign's")
        #expect(try MinisignPublicKey(base64: key.base64) == key)
    }

    @Test("key ids print as minisign prints them: the 8 bytes as a little-endian number")
    func keyIDHex() throws {
        let key = try MinisignPublicKey(base64: "RWQf6LRCGA9i53mlYecO4IzT51TGPpvWucNSCh1CBM0QTaLn73Y7GFO3")
        #expect(key.keyID == [UInt8](hex: "1fe8b442180f62e7"))
        #expect(key.keyIDHex == "E7620F1842B4E81F")
        #expect(key.key.rawRepresentation == [UInt8](hex: "79a561e70ee08cd3e754c63e9bd6b9c3520a1d4204cd104da2e7ef763b1853b7"))
        let zeroes = MinisignPublicKey(keyID: [1, 0, 0, 0, 0, 0, 0, 0x0a], key: key.key)
        #expect(zeroes.keyIDHex == "0A00000000000001")
        #expect(zeroes.fileText(comment: "two\nlines\r\u{0}") == "untrusted comment: two lines  \n\(zeroes.base64)\n")
        #expect(try MinisignPublicKey(fileText: zeroes.fileText(comment: "two\nlines\r\u{0}")) == zeroes)
    }

    // MARK: signing

    @Test("sign then verify: prehashed, deterministic, and the file round-trips")
    func roundTrip() throws {
        let (key, publicKey) = try Self.newKey()
        let signature = try MinisignSignature.sign(Self.message, key: key, keyID: publicKey.keyID,
                                                   trustedComment: "timestamp:1700000000\tfile:manifest.json\thashed",
                                                   untrustedComment: "signature from dossier")
        #expect(signature.algorithm == .prehashed)
        #expect(signature.keyID == publicKey.keyID)
        try signature.verify(Self.message, publicKey: publicKey)
        // The signature is Ed25519 over BLAKE2b-512 of the message, not over the message.
        #expect(publicKey.key.isValidSignature(signature.signature, for: BLAKE2b512.hash(Self.message)))
        #expect(!publicKey.key.isValidSignature(signature.signature, for: Self.message))
        #expect(publicKey.key.isValidSignature(signature.globalSignature, for: signature.signature + "timestamp:1700000000\tfile:manifest.json\thashed".bytes))
        // Deterministic (RFC 8032), and the text form parses back to the same value.
        #expect(try MinisignSignature.sign(Self.message, key: key, keyID: publicKey.keyID, trustedComment: signature.trustedComment, untrustedComment: signature.untrustedComment) == signature)
        let text = signature.fileText
        #expect(text.split(separator: "\n", omittingEmptySubsequences: false).count == 5)
        #expect(text.hasPrefix("untrusted comment: signature from dossier\nRU"), "base64 of \"ED\"…")
        #expect(try MinisignSignature(parsing: text) == signature)
        #expect(try MinisignSignature(parsing: String(text.dropLast())) == signature, "the final newline is optional")
        #expect(try MinisignPublicKey(fileText: publicKey.fileText()) == publicKey)
        #expect(try MinisignPublicKey(fileText: publicKey.fileText(comment: "x")) == publicKey)
        #expect(publicKey.base64.hasPrefix("RW"))
        // An empty message and empty comments are fine.
        let empty = try MinisignSignature.sign([UInt8](), key: key, keyID: publicKey.keyID, trustedComment: "", untrustedComment: "")
        try MinisignSignature(parsing: empty.fileText).verify([], publicKey: publicKey)
    }

    @Test("tampering with message, trusted comment, key id, signature or global signature is detected with the right kind")
    func tampering() throws {
        let (key, publicKey) = try Self.newKey()
        let good = try MinisignSignature.sign(Self.message, key: key, keyID: publicKey.keyID, trustedComment: "release 1", untrustedComment: "u")
        func with(algorithm: MinisignSignature.Algorithm? = nil, keyID: [UInt8]? = nil, signature: [UInt8]? = nil,
                  untrusted: String? = nil, trusted: String? = nil, global: [UInt8]? = nil) -> MinisignSignature {
            MinisignSignature(algorithm: algorithm ?? good.algorithm, keyID: keyID ?? good.keyID, signature: signature ?? good.signature,
                              untrustedComment: untrusted ?? good.untrustedComment, trustedComment: trusted ?? good.trustedComment,
                              globalSignature: global ?? good.globalSignature)
        }
        func flip(_ bytes: [UInt8], at index: Int) -> [UInt8] {
            var copy = bytes
            copy[index] ^= 0x01
            return copy
        }
        var message = Self.message
        message[3] ^= 0x20
        Self.expectKind(.invalidSignature, "message") { () throws(MinisignError) in try good.verify(message, publicKey: publicKey) }
        Self.expectKind(.invalidSignature, "message with a byte appended") { () throws(MinisignError) in try good.verify(Self.message + [0], publicKey: publicKey) }
        Self.expectKind(.invalidTrustedComment, "trusted comment") { () throws(MinisignError) in try with(trusted: "release 2").verify(Self.message, publicKey: publicKey) }
        Self.expectKind(.keyIDMismatch, "key id") { () throws(MinisignError) in try with(keyID: flip(good.keyID, at: 7)).verify(Self.message, publicKey: publicKey) }
        Self.expectKind(.invalidSignature, "signature") { () throws(MinisignError) in try with(signature: flip(good.signature, at: 10)).verify(Self.message, publicKey: publicKey) }
        Self.expectKind(.invalidTrustedComment, "global signature") { () throws(MinisignError) in try with(global: flip(good.globalSignature, at: 63)).verify(Self.message, publicKey: publicKey) }
        Self.expectKind(.invalidSignature, "algorithm relabelled legacy") { () throws(MinisignError) in try with(algorithm: .legacy).verify(Self.message, publicKey: publicKey, allowLegacy: true) }
        Self.expectKind(.legacyNotAllowed, "algorithm relabelled legacy") { () throws(MinisignError) in try with(algorithm: .legacy).verify(Self.message, publicKey: publicKey) }
        // Another key claiming the same key id: the key id matches, the signature does not.
        let impostor = MinisignPublicKey(keyID: publicKey.keyID, key: try Ed25519.PrivateKey().publicKey())
        Self.expectKind(.invalidSignature, "other key, same id") { () throws(MinisignError) in try good.verify(Self.message, publicKey: impostor) }
        // The same edits made in the file text.
        let edited = good.fileText.replacingOccurrences(of: "trusted comment: release 1", with: "trusted comment: release 1 ")
        Self.expectKind(.invalidTrustedComment, "trusted comment edited in the file") { () throws(MinisignError) in try MinisignSignature(parsing: edited).verify(Self.message, publicKey: publicKey) }
        // The untrusted comment is, as its name says, not covered.
        try with(untrusted: "anything at all").verify(Self.message, publicKey: publicKey)
    }

    @Test("sign refuses comments with LF, CR or NUL, key ids that are not 8 bytes, and files over 8 KiB")
    func signRefusals() throws {
        let (key, publicKey) = try Self.newKey()
        for (trusted, untrusted) in [("a\nb", "u"), ("a\rb", "u"), ("a\u{0}b", "u"), ("t", "a\nb"), ("t", "a\r\nb")] {
            #expect(throws: MinisignError.self, "\(trusted.debugDescription) / \(untrusted.debugDescription)") {
                try MinisignSignature.sign(Self.message, key: key, keyID: publicKey.keyID, trustedComment: trusted, untrustedComment: untrusted)
            }
        }
        for keyID in [[UInt8](repeating: 1, count: 7), [UInt8](repeating: 1, count: 9)] {
            #expect(throws: MinisignError.self) {
                try MinisignSignature.sign(Self.message, key: key, keyID: keyID, trustedComment: "t", untrustedComment: "u")
            }
        }
        #expect(throws: MinisignError.self) {
            try MinisignSignature.sign(Self.message, key: key, keyID: publicKey.keyID, trustedComment: String(repeating: "x", count: 8 * 1024), untrustedComment: "u")
        }
        // Just under the limit: signs, parses and verifies.
        let overhead = try MinisignSignature.sign(Self.message, key: key, keyID: publicKey.keyID, trustedComment: "", untrustedComment: "u").fileText.utf8.count
        let largest = try MinisignSignature.sign(Self.message, key: key, keyID: publicKey.keyID, trustedComment: String(repeating: "x", count: 8 * 1024 - overhead), untrustedComment: "u")
        #expect(largest.fileText.utf8.count == 8 * 1024)
        try MinisignSignature(parsing: largest.fileText).verify(Self.message, publicKey: publicKey)
    }

    // MARK: parsing

    @Test("malformed signature files are rejected as malformed")
    func parseRejections() throws {
        let (key, publicKey) = try Self.newKey()
        let good = try MinisignSignature.sign(Self.message, key: key, keyID: publicKey.keyID, trustedComment: "t", untrustedComment: "u")
        let lines = good.fileText.split(separator: "\n").map(String.init)
        #expect(lines.count == 4)
        let blob = Array(Data(base64Encoded: lines[1])!)
        func file(_ l0: String? = nil, _ l1: String? = nil, _ l2: String? = nil, _ l3: String? = nil) -> String {
            [l0 ?? lines[0], l1 ?? lines[1], l2 ?? lines[2], l3 ?? lines[3]].joined(separator: "\n") + "\n"
        }
        func b64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }
        // The global signature is 64 bytes: "…X==" where X carries 4 unused bits.
        let last = lines[3].utf8.dropLast(2).last!
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        let dirty = String(decoding: lines[3].utf8.dropLast(3) + [alphabet[alphabet.firstIndex(of: last)! | 1], 61, 61], as: UTF8.self)

        let bad: [(String, String)] = [
            ("empty", ""),
            ("3 lines", lines[0...2].joined(separator: "\n") + "\n"),
            ("5 lines", file() + "extra\n"),
            ("a blank line at the end", file() + "\n"),
            ("a blank line inside", file().replacingOccurrences(of: "\ntrusted", with: "\n\ntrusted")),
            ("CRLF line ends", file().replacingOccurrences(of: "\n", with: "\r\n")),
            ("a CR at the end of the trusted comment", file(nil, nil, lines[2] + "\r")),
            ("a NUL in the untrusted comment", file(lines[0] + "\u{0}")),
            ("over 8 KiB", file(lines[0] + String(repeating: "x", count: 8 * 1024))),
            ("untrusted prefix capitalised", file("Untrusted comment: u")),
            ("untrusted prefix without the space", file("untrusted comment:u")),
            ("trusted prefix missing", file(nil, nil, "t")),
            ("trusted prefix with a leading space", file(nil, nil, " trusted comment: t")),
            ("lines swapped", file(nil, nil, lines[0], nil)),
            ("signature: a character outside the alphabet", file(nil, "*" + lines[1].dropFirst())),
            ("signature: URL-safe alphabet", file(nil, "-" + lines[1].dropFirst())),
            ("signature: a space inside", file(nil, String(lines[1].prefix(10)) + " " + lines[1].dropFirst(10))),
            ("signature: a trailing space", file(nil, lines[1] + " ")),
            ("signature: padding removed", file(nil, String(lines[1].prefix(while: { $0 != "=" })))),
            ("global signature: padding removed", file(nil, nil, nil, String(lines[3].dropLast(2)))),
            ("global signature: extra padding", file(nil, nil, nil, lines[3] + "==")),
            ("global signature: non-zero unused bits", file(nil, nil, nil, dirty)),
            ("signature: 73 bytes", file(nil, b64(Array(blob.dropLast())))),
            ("signature: 75 bytes", file(nil, b64(blob + [0]))),
            ("global signature: 63 bytes", file(nil, nil, nil, b64(Array(good.globalSignature.dropLast())))),
            ("global signature: 65 bytes", file(nil, nil, nil, b64(good.globalSignature + [0]))),
            ("unknown algorithm EE", file(nil, b64(Array("EE".utf8) + blob.dropFirst(2)))),
            ("unknown algorithm ed", file(nil, b64(Array("ed".utf8) + blob.dropFirst(2)))),
            ("an empty signature line", file(nil, "")),
        ]
        #expect(dirty != lines[3])
        for (name, text) in bad {
            Self.expectKind(.malformed, "\(name)") { () throws(MinisignError) in _ = try MinisignSignature(parsing: text) }
        }
        // The unmodified pieces still parse (the rejections above are about the edits).
        #expect(try MinisignSignature(parsing: file()) == good)
        #expect(try MinisignSignature(parsing: file(nil, b64(Array("Ed".utf8) + blob.dropFirst(2)))).algorithm == .legacy)
    }

    @Test("malformed public keys are rejected as malformed")
    func publicKeyRejections() throws {
        let (_, publicKey) = try Self.newKey()
        let blob = Array(Data(base64Encoded: publicKey.base64)!)
        #expect(blob.count == 42)
        func b64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }
        let badLines = [
            "", b64(Array("ED".utf8) + blob.dropFirst(2)), b64(Array(blob.dropLast())), b64(blob + [0]),
            publicKey.base64 + " ", String(publicKey.base64.dropLast()), publicKey.base64 + "=",
        ]
        for line in badLines {
            Self.expectKind(.malformed, "\(line.debugDescription)") { () throws(MinisignError) in _ = try MinisignPublicKey(base64: line) }
        }
        let good = publicKey.fileText()
        let badFiles = [
            publicKey.base64 + "\n",
            "comment\n" + publicKey.base64 + "\n",
            good.replacingOccurrences(of: "\n", with: "\r\n"),
            good + "\n",
            good + "extra\n",
        ]
        for text in badFiles {
            Self.expectKind(.malformed, "\(text.debugDescription)") { () throws(MinisignError) in _ = try MinisignPublicKey(fileText: text) }
        }
        #expect(try MinisignPublicKey(fileText: String(good.dropLast())) == publicKey)
    }

    @Test("errors describe themselves with their kind")
    func errorDescription() {
        #expect(MinisignError(.keyIDMismatch, "a vs b").description == "key id mismatch: a vs b")
        #expect(MinisignError.Kind.invalidTrustedComment.rawValue == "invalid trusted comment signature")
    }
}

/// Interoperability with the reference `minisign` tool (Debian package `minisign`). These
/// tests fail, not skip, when the tool is missing.
@Suite("minisign interoperability with the minisign tool")
struct MinisignInteropTests {
    static let trustedComment = "dossier case-2024-0117\tsealed\tÿ ünïcode ✓"

    func minisign() throws -> String {
        try #require(Subprocess.which("minisign") ?? (FileManager.default.isExecutableFile(atPath: "/usr/bin/minisign") ? "/usr/bin/minisign" : nil),
                     "minisign is not installed (Debian package minisign): run scripts/setup")
    }

    @Test("minisign -V (and -V -H) accepts our public key file and our signature")
    func weSignMinisignVerifies() throws {
        let tool = try minisign()
        let dir = try TemporaryDirectory()
        let (key, publicKey) = try MinisignTests.newKey()
        let message = MinisignTests.message + [UInt8](repeating: 0xa5, count: 100_000)
        let signature = try MinisignSignature.sign(message, key: key, keyID: publicKey.keyID, trustedComment: Self.trustedComment, untrustedComment: "signature from dossier")
        try Data(message).write(to: URL(fileURLWithPath: dir.path("msg")))
        try Data(publicKey.fileText().utf8).write(to: URL(fileURLWithPath: dir.path("key.pub")))
        try Data(signature.fileText.utf8).write(to: URL(fileURLWithPath: dir.path("msg.minisig")))
        for extra in [[], ["-H"]] {
            let result = try Subprocess.run(tool, ["-V"] + extra + ["-p", dir.path("key.pub"), "-m", dir.path("msg"), "-x", dir.path("msg.minisig")])
            let output = String(decoding: result.stdout, as: UTF8.self)
            #expect(result.status == 0, "minisign -V \(extra) failed: \(output) \(result.stderr)")
            #expect(output.contains("Trusted comment: \(Self.trustedComment)"), "\(output)")
        }
        // And minisign rejects what we reject: a modified message or trusted comment.
        try Data(message + [0]).write(to: URL(fileURLWithPath: dir.path("other")))
        let wrongMessage = try Subprocess.run(tool, ["-V", "-p", dir.path("key.pub"), "-m", dir.path("other"), "-x", dir.path("msg.minisig")])
        #expect(wrongMessage.status != 0)
        let edited = signature.fileText.replacingOccurrences(of: "sealed", with: "opened")
        try Data(edited.utf8).write(to: URL(fileURLWithPath: dir.path("edited.minisig")))
        let wrongComment = try Subprocess.run(tool, ["-V", "-p", dir.path("key.pub"), "-m", dir.path("msg"), "-x", dir.path("edited.minisig")])
        #expect(wrongComment.status != 0)
        #expect(throws: MinisignError(.invalidTrustedComment, "the global signature over the trusted comment does not verify")) {
            try MinisignSignature(parsing: edited).verify(message, publicKey: publicKey)
        }
    }

    @Test("we verify what minisign -S signs with a minisign -G -W key (prehashed, and legacy with -l)")
    func minisignSignsWeVerify() throws {
        let tool = try minisign()
        let dir = try TemporaryDirectory()
        let generate = try Subprocess.run(tool, ["-G", "-W", "-p", dir.path("k.pub"), "-s", dir.path("k.key")])
        #expect(generate.status == 0, "minisign -G failed: \(generate.stderr)")
        let publicKey = try MinisignPublicKey(fileText: String(contentsOfFile: dir.path("k.pub"), encoding: .utf8))
        try Data(MinisignTests.message).write(to: URL(fileURLWithPath: dir.path("msg")))

        let sign = try Subprocess.run(tool, ["-S", "-s", dir.path("k.key"), "-m", dir.path("msg"), "-t", "some trusted comment"])
        #expect(sign.status == 0, "minisign -S failed: \(sign.stderr)")
        let signature = try MinisignSignature(parsing: String(contentsOfFile: dir.path("msg.minisig"), encoding: .utf8))
        #expect(signature.algorithm == .prehashed)
        #expect(signature.trustedComment == "some trusted comment")
        #expect(signature.keyID == publicKey.keyID)
        try signature.verify(MinisignTests.message, publicKey: publicKey)
        #expect(throws: MinisignError.self) { try signature.verify(MinisignTests.message + [0], publicKey: publicKey) }

        let legacy = try Subprocess.run(tool, ["-S", "-l", "-s", dir.path("k.key"), "-m", dir.path("msg"), "-x", dir.path("legacy.minisig"), "-t", "legacy"])
        #expect(legacy.status == 0, "minisign -S -l failed: \(legacy.stderr)")
        let legacySignature = try MinisignSignature(parsing: String(contentsOfFile: dir.path("legacy.minisig"), encoding: .utf8))
        #expect(legacySignature.algorithm == .legacy)
        try legacySignature.verify(MinisignTests.message, publicKey: publicKey, allowLegacy: true)
        MinisignTests.expectKind(.legacyNotAllowed) { () throws(MinisignError) in try legacySignature.verify(MinisignTests.message, publicKey: publicKey) }
    }
}
