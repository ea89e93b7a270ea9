import Foundation
import Testing

/// Where a seal writes its dossier and an opening its folder: names that cannot work are
/// refused before anything is written or logged, with what is wrong; unusual but workable
/// places (a umask, a write-only drop folder) work (review of session 17).
@Suite("dossier CLI: output places")
struct OutputPlacesCLITests {
    func sealed(_ ws: CLIDossierTests.Workspace) throws -> (recipient: String, trust: String) {
        let keys = try CLIDossierTests().keys(ws)
        let result = try ws.run(["seal", ws.path("case"), "-r", keys.recipient, "-s", ws.path("anna.sign"), "-o", ws.path("c.dossier"), "--id", "CASE-1"])
        #expect(result.status == 0, "\(result.stderr)")
        return keys
    }

    func history(_ ws: CLIDossierTests.Workspace, _ id: String) throws -> String { try ws.run(["log", id]).stdout }

    @Test("an empty output name is refused before anything is logged (it was logged, then failed at the rename, using up the id)")
    func emptyOutput() throws {
        let ws = try CLIDossierTests.Workspace()
        let (recipient, trust) = try sealed(ws)
        let seal = try ws.run(["seal", ws.path("case"), "-r", recipient, "-s", ws.path("anna.sign"), "-o", "", "--id", "CASE-2"])
        #expect(seal.status == 1 && seal.stderr.contains("output file name is empty"), "\(seal.stderr)")
        #expect(try !history(ws, "CASE-2").contains("sealed"))
        let open = try ws.run(["open", ws.path("c.dossier"), "-i", ws.path("anna.age"), "--as", ws.path("anna.sign"), "--trust", trust, "-o", "", "--purpose", "review"])
        #expect(open.status == 1 && open.stderr.contains("name is empty"), "\(open.stderr)")
        #expect(try !history(ws, "CASE-1").contains("opened"))
    }

    @Test("an output folder that is a file or a link to nothing is named as such, not as missing")
    func folderThatIsNot() throws {
        let ws = try CLIDossierTests.Workspace()
        let (recipient, trust) = try sealed(ws)
        try Data("x".utf8).write(to: URL(fileURLWithPath: ws.path("file")))
        try FileManager.default.createSymbolicLink(atPath: ws.path("nowhere"), withDestinationPath: ws.path("missing"))
        for (folder, says) in [("file", "file is not a folder"), ("nowhere", "nowhere is a symbolic link to nothing"), ("missing", "the folder \(ws.path("missing")) does not exist"),
                               ("file/deeper", "(a part of its path is a file)")] {
            let seal = try ws.run(["seal", ws.path("case"), "-r", recipient, "-s", ws.path("anna.sign"), "-o", ws.path(folder + "/x.dossier"), "--id", "CASE-3"])
            #expect(seal.status == 1 && seal.stderr.contains(says), "\(folder): \(seal.stderr)")
            let open = try ws.run(["open", ws.path("c.dossier"), "-i", ws.path("anna.age"), "--as", ws.path("anna.sign"), "--trust", trust,
                                   "-o", ws.path(folder + "/x"), "--purpose", "review"])
            #expect(open.status == 1 && open.stderr.contains(says), "\(folder): \(open.stderr)")
        }
        #expect(try !history(ws, "CASE-3").contains("sealed") && !history(ws, "CASE-1").contains("opened"))
    }

    @Test("a ledger inside the folder being sealed is refused (it was sealed while written to), and a ledger made for it goes")
    func ledgerInsideSource() throws {
        let ws = try CLIDossierTests.Workspace()
        let (recipient, _) = try CLIDossierTests().keys(ws)
        let result = try ws.run(["seal", ws.path("case"), "-r", recipient, "-s", ws.path("anna.sign"), "-o", ws.path("c.dossier"),
                                 "--log", ws.path("case/01_intake/ledger.sqlite")])
        #expect(result.status == 1 && result.stderr.contains("is inside the folder being sealed"), "\(result.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: ws.path("case/01_intake")) == ["form.txt"])
        #expect(!FileManager.default.fileExists(atPath: ws.path("c.dossier")))
    }

    @Test("an output inside the folder being sealed through a bind mount is refused (it was sealed into itself)",
          .enabled(if: canMount && FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare"), "needs root with CAP_SYS_ADMIN and unshare"))
    func outputThroughBindMount() throws {
        let ws = try CLIDossierTests.Workspace()
        let (recipient, _) = try CLIDossierTests().keys(ws)
        try FileManager.default.createDirectory(atPath: ws.path("view"), withIntermediateDirectories: false)
        // In a mount namespace of its own: the bind mount ends with the process.
        let script = "mount --bind \"$1\" \"$2\" && exec \"$3\" seal \"$1\" -r \"$4\" -s \"$5\" -o \"$2/c.dossier\""
        let result = try CLI.run(["-m", "/bin/sh", "-c", script, "sh", ws.path("case"), ws.path("view"), CLI.binary.path, recipient, ws.path("anna.sign")],
                                 environment: ["DOSSIER_LOG": ws.path("ledger.sqlite")], executable: "/usr/bin/unshare")
        #expect(result.status == 1 && result.stderr.contains("is inside the folder being sealed"), "\(result.status) \(result.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: ws.path("case")).sorted() == ["01_intake", "笔录.txt"])
    }

    @Test("an argument that is not UTF-8 is refused (it named another file: out\\xff became out\\u{FFFD})")
    func argumentNotUTF8() throws {
        let ws = try CLIDossierTests.Workspace()
        let (recipient, _) = try CLIDossierTests().keys(ws)
        // Through the shell: Process takes Swift strings, which cannot hold the byte 0xFF.
        let result = try CLI.run(["-c", "exec \"$0\" seal \"$1\" -r \"$2\" -s \"$3\" -o \"$4\"$(printf '\\377').dossier",
                                  CLI.binary.path, ws.path("case"), recipient, ws.path("anna.sign"), ws.path("out")],
                                 environment: ["DOSSIER_LOG": ws.path("ledger.sqlite")], executable: "/bin/sh")
        #expect(result.status == 64 && result.stderr.contains("is not UTF-8 text") && result.stderr.contains("\\xff"), "\(result.status) \(result.stderr)")
        let left = try FileManager.default.contentsOfDirectory(atPath: ws.root).filter { $0.hasPrefix("out") }
        #expect(left.isEmpty, "\(left)")
    }

    static let asNobody = getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")

    /// Root with CAP_SYS_ADMIN (a container's root often has not): may mount.
    static let canMount: Bool = {
        guard getuid() == 0, let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("CapEff:") }),
              let caps = UInt64(line.dropFirst("CapEff:".count).trimmingCharacters(in: .whitespaces), radix: 16) else { return false }
        return caps & (1 << 21) != 0
    }()

    /// Runs dossier as the user nobody with `umask`, in a folder of nobody's holding copies
    /// of the workspace's keys, trust file, dossier and ledger.
    func runAsNobody(_ ws: CLIDossierTests.Workspace, umask: String, _ arguments: [String]) throws -> CLI.Result {
        try CLI.run(["--reuid=65534", "--regid=65534", "--clear-groups", "/bin/sh", "-c", "umask \(umask) && exec \"$0\" \"$@\"", CLI.binary.path] + arguments,
                    environment: ["DOSSIER_LOG": ws.path("nobody/ledger.sqlite"), "HOME": ws.path("nobody")], executable: "/usr/bin/setpriv")
    }

    func nobodysCopies(_ ws: CLIDossierTests.Workspace) throws {
        try FileManager.default.createDirectory(atPath: ws.path("nobody"), withIntermediateDirectories: false)
        for name in ["c.dossier", "anna.age", "anna.sign", "trust.txt", "ledger.sqlite"] {
            try FileManager.default.copyItem(atPath: ws.path(name), toPath: ws.path("nobody/" + name))
        }
        try FileManager.default.copyItem(atPath: ws.path("case"), toPath: ws.path("nobody/case"))
        #expect(chown(ws.root, 0, 0) == 0 && chmod(ws.root, 0o755) == 0)
        let owned = try FileManager.default.subpathsOfDirectory(atPath: ws.path("nobody")).map { ws.path("nobody/" + $0) } + [ws.path("nobody")]
        for path in owned { #expect(chown(path, 65534, 65534) == 0, "\(path)") }
    }

    @Test("an opening under a umask that takes the owner's write permission (0277) works: the staging folder is made writable (it was 'extraction refused', exit 2)",
          .enabled(if: asNobody, "needs root and setpriv"))
    func openUnderUmask() throws {
        let ws = try CLIDossierTests.Workspace()
        _ = try sealed(ws)
        try nobodysCopies(ws)
        let result = try runAsNobody(ws, umask: "0277", ["open", ws.path("nobody/c.dossier"), "-i", ws.path("nobody/anna.age"), "--as", ws.path("nobody/anna.sign"),
                                                          "--trust", ws.path("nobody/trust.txt"), "-o", ws.path("nobody/opened"), "--purpose", "review"])
        #expect(result.status == 0, "\(result.status) \(result.stderr)")
        #expect(FileManager.default.fileExists(atPath: ws.path("nobody/opened/01_intake/form.txt")))
    }

    @Test("an opening with a ledger its user cannot write stops before anything is decrypted (as a user the permissions bind: the library test of this runs only as non-root)",
          .enabled(if: asNobody, "needs root and setpriv"))
    func readOnlyLedgerAsUser() throws {
        let ws = try CLIDossierTests.Workspace()
        _ = try sealed(ws)
        try nobodysCopies(ws)
        try FileManager.default.createDirectory(atPath: ws.path("nobody/out"), withIntermediateDirectories: false)
        #expect(chown(ws.path("nobody/out"), 65534, 65534) == 0)
        for name in try FileManager.default.contentsOfDirectory(atPath: ws.path("nobody")) where name.hasPrefix("ledger.sqlite") {
            #expect(chmod(ws.path("nobody/" + name), 0o444) == 0)
        }
        #expect(chmod(ws.path("nobody"), 0o555) == 0)
        defer { _ = chmod(ws.path("nobody"), 0o755) }
        let result = try runAsNobody(ws, umask: "0022", ["open", ws.path("nobody/c.dossier"), "-i", ws.path("nobody/anna.age"), "--as", ws.path("nobody/anna.sign"),
                                                          "--trust", ws.path("nobody/trust.txt"), "-o", ws.path("nobody/out/opened"), "--purpose", "review"])
        // Said as it is (it said "cannot read the access log …", hint "the log must be readable").
        #expect(result.status == 1 && result.stderr.contains("cannot be written here") && !result.stderr.contains("must be readable"),
                "\(result.status) \(result.stderr)")
        let left = try FileManager.default.contentsOfDirectory(atPath: ws.path("nobody/out"))
        #expect(left.isEmpty, "\(left)")
    }

    @Test("a seal into a write-only drop folder (mode 0333) succeeds: the rename is made durable by writing back the file system (it reported a failure after the dossier was in place)",
          .enabled(if: asNobody, "needs root and setpriv"))
    func sealIntoDropFolder() throws {
        let ws = try CLIDossierTests.Workspace()
        let (recipient, _) = try sealed(ws)
        try nobodysCopies(ws)
        try FileManager.default.createDirectory(atPath: ws.path("nobody/drop"), withIntermediateDirectories: false)
        #expect(chown(ws.path("nobody/drop"), 65534, 65534) == 0 && chmod(ws.path("nobody/drop"), 0o333) == 0)
        let result = try runAsNobody(ws, umask: "0022", ["seal", ws.path("nobody/case"), "-r", recipient, "-s", ws.path("nobody/anna.sign"),
                                                          "-o", ws.path("nobody/drop/c2.dossier"), "--id", "CASE-9"])
        #expect(result.status == 0, "\(result.status) \(result.stderr)")
        #expect(FileManager.default.fileExists(atPath: ws.path("nobody/drop/c2.dossier")))
    }

    @Test("an opening whose staging folder's path is beyond PATH_MAX says so (it said the folder was replaced right after it was made)")
    func stagingPathTooLong() throws {
        let ws = try CLIDossierTests.Workspace()
        let (_, trust) = try sealed(ws)
        // Folders of 200 bytes down to a path of ~4,060 bytes: the destination's name fits, the
        // staging folder's longer name beside it does not.
        var path = ws.root
        while path.utf8.count < 4_030 {
            path += "/" + String(repeating: "d", count: min(200, 4_030 - path.utf8.count))
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        }
        let destination = path + "/" + String(repeating: "o", count: 4_090 - path.utf8.count)
        let result = try ws.run(["open", ws.path("c.dossier"), "-i", ws.path("anna.age"), "--as", ws.path("anna.sign"), "--trust", trust,
                                 "-o", destination, "--purpose", "review"])
        #expect(result.status == 1 && !result.stderr.contains("replaced") && result.stderr.contains("too long"), "\(result.status) \(result.stderr)")
    }
}
