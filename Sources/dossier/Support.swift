import ArgumentParser
import CDossierSystem
import DossierKit
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Documented exit codes (see README "Exit codes").
enum Exit {
    static let success: Int32 = 0
    /// Any other failure: bad input, I/O, keys.
    static let failure: Int32 = 1
    /// Verification failed: malformed, modified, truncated or invalid signature.
    static let invalid: Int32 = 2
    /// Intact but not trusted: unknown signer key or a required role missing.
    static let untrusted: Int32 = 3
    /// None of the given identities can decrypt the dossier.
    static let noIdentity: Int32 = 4
    /// The folder does not meet its profile (dossier check; seal without an override).
    static let profile: Int32 = 5
    /// Usage error (argument-parser's own).
    static let usage: Int32 = 64
}

/// Messages go to stderr, prefixed "dossier:", lower case, no trailing period.
enum Console {
    static func error(_ message: String, hint: String? = nil) {
        toStandardError("dossier: \(message.terminalSafe)\n" + (hint.map { "dossier: hint: \($0.terminalSafe)\n" } ?? ""))
    }

    /// Writes `text` to standard error, unbuffered; a failure is ignored (there is nowhere
    /// left to report it: FileHandle's write trapped — SIGILL — when stderr was full or a
    /// closed pipe).
    static func toStandardError(_ text: String) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return }
            offset += n
        }
    }

    /// Prints one line of a text report. Values in it may come from a dossier, a ledger or a
    /// folder (anyone can write those): control characters are shown escaped, so a value can
    /// neither forge a line nor reach the terminal as an escape sequence.
    static func line(_ text: String) {
        print(text.terminalSafe)
    }

    static func note(_ message: String, quiet: Bool) {
        guard !quiet else { return }
        toStandardError("dossier: \(message)\n")
    }

    static var stderrIsTerminal: Bool { isatty(STDERR_FILENO) == 1 }

    /// Whether descriptor 1 was closed when the process started (`>&-`).
    nonisolated(unsafe) private(set) static var standardOutputClosed = false

    /// Why standard output cannot take a result — "closed" (`>&-`) or "open only for
    /// reading" (`1</dev/null`) — or nil when it can be written to.
    static var standardOutputUnwritable: String? {
        if standardOutputClosed { return "closed" }
        let flags = fcntl(STDOUT_FILENO, F_GETFL)
        guard flags >= 0 else { return "closed" }
        return flags & O_ACCMODE == O_RDONLY ? "open only for reading" : nil
    }

    /// Puts /dev/null on each of descriptors 0, 1 and 2 that is closed, before anything else
    /// opens a file: otherwise the next file opened (a key, the dossier being written, an
    /// extracted document) would take that number and receive what is printed or be read as
    /// standard input. The filler is opened the other way round (stdin for writing, stdout
    /// and stderr for reading), so that reading or writing it still fails with EBADF, as on
    /// the closed descriptor: nothing printed is silently lost, no passphrase is read as empty.
    static func occupyClosedStandardDescriptors() {
        for descriptor in [STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO] where fcntl(descriptor, F_GETFD) == -1 && errno == EBADF {
            if descriptor == STDOUT_FILENO { standardOutputClosed = true }
            let filler = open("/dev/null", (descriptor == STDIN_FILENO ? O_WRONLY : O_RDONLY) | O_CLOEXEC)
            guard filler >= 0 else { continue }
            if filler != descriptor {
                _ = dup2(filler, descriptor)   // without O_CLOEXEC, as the descriptor it stands for
                close(filler)
            } else {
                _ = fcntl(descriptor, F_SETFD, 0)
            }
        }
    }

    /// Throws unless standard output is open for writing (`open -o -`, `list`; checked before
    /// anything is logged).
    static func requireWritableStandardOutput() throws(DossierError) {
        if let unwritable = standardOutputUnwritable {
            throw DossierError(.output, "standard output is \(unwritable): the result cannot be written to it", hint: "redirect it to a program or a file")
        }
    }

    /// Writes `bytes` to standard output whole (a document of `open -o -`).
    static func standardOutput(_ bytes: [UInt8]) throws(DossierError) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let reason = String(cString: strerror(n < 0 ? errno : EIO))
                throw DossierError(.output, "writing the document to standard output failed after \(offset) of \(bytes.count) bytes: \(reason)",
                                   hint: "what was written is incomplete")
            }
            offset += n
        }
    }

    /// Prints a JSON value on one line (sorted keys, stable field names). Through the same
    /// buffered standard output as `line` (FileHandle's write trapped — the process died of
    /// SIGILL — when the output could not be written, e.g. to a full disk); a failure is
    /// found by `flush`.
    static func json(_ value: JSONValue) {
        let bytes = jsonBytes(value) + [0x0a]
        let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, dossier_stdout()) }
        if written < bytes.count { writeFailure.store(errno, ordering: .relaxed) }
    }

    /// The error of the first write to standard output that failed (`json`; a later flush
    /// may succeed and leave errno stale), or 0.
    private static let writeFailure = Atomic<Int32>(0)

    /// Writes out what `line` and `json` buffered; throws when standard output could not take
    /// it all (a full disk, a closed descriptor, a reader gone): the output is incomplete.
    static func flush() throws(DossierError) {
        let flushed = fflush(dossier_stdout()) == 0
        let code = flushed ? writeFailure.load(ordering: .relaxed) : errno
        guard !flushed || ferror(dossier_stdout()) != 0 || code != 0 else { return }
        clearerr(dossier_stdout())
        brokenPipe = code == EPIPE
        throw DossierError(.output, "writing to standard output failed" + (code == 0 ? "" : ": \(String(cString: strerror(code)))"),
                           hint: "what was printed is incomplete")
    }

    /// Whether the last failed `flush` met a reader that had gone (EPIPE, with SIGPIPE ignored):
    /// that ends the command quietly (1), as the signal would have ended it without a word.
    nonisolated(unsafe) static var brokenPipe = false

    /// `value` as canonical JSON, with the characters a terminal acts on or that reorder or
    /// end lines written as `\u` escapes (C1 controls such as CSI U+009B, U+2028/2029, the
    /// bidirectional controls): the same JSON value, but a hostile dossier's text cannot
    /// reach the terminal through `--json` (review of session 15). They can only stand
    /// inside strings, where an escape means the same.
    static func jsonBytes(_ value: JSONValue) -> [UInt8] {
        let bytes = value.canonicalBytes()
        // The same characters the text reports escape (C0 controls are escaped by JSON itself;
        // every other one is DEL or beyond ASCII).
        guard bytes.contains(where: { $0 >= 0x7F }) else { return bytes }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        for scalar in String(decoding: bytes, as: UTF8.self).unicodeScalars {
            let v = scalar.value
            if v >= 0x7F, Unicode.Scalar.isTerminalUnsafe(scalar) {
                let hex = String(v, radix: 16)
                out += Array(("\\u" + String(repeating: "0", count: 4 - hex.count) + hex).utf8)
            } else {
                out += Array(String(scalar).utf8)
            }
        }
        return out
    }
}

/// A command with `--quiet`, which then writes nothing to standard output (`main` refuses
/// every other command before it starts when standard output is closed).
protocol QuietCapable {
    /// Whether this run writes to standard output (it is not quiet, or it writes a document there).
    var writesStandardOutput: Bool { get }
}

/// Why `path` cannot be read as a dossier file (missing, a folder, no permission), or nil.
/// Such a file is an error of the caller (exit 1), not a damaged dossier (exit 2).
func unreadableReason(_ path: String) -> String? {
    var info = stat()
    guard stat(path, &info) == 0 else { return String(cString: strerror(errno)).lowercased() }
    if info.st_mode & S_IFMT == S_IFDIR { return "is a folder, not a .dossier file" }
    guard info.st_mode & S_IFMT == S_IFREG else { return "is not a regular file" }
    guard access(path, R_OK) == 0 else { return String(cString: strerror(errno)).lowercased() }
    return nil
}

/// An access is recorded whoever acts (the identity decides who can decrypt), but an
/// inspector's `log --verify` calls an entry by a key the trust file does not hold in its
/// role untrusted: said now, while it can be fixed (`what`: "opening", "listing").
func warnIfUntrusted(_ actor: DossierSigner, by store: TrustStore, recording what: String) {
    guard !store.entries.isEmpty, store.entry(forKeyID: actor.key.publicKey.keyID)?.roles.contains(actor.role) != true else { return }
    Console.error("warning: your key \(actor.key.publicKey.keyID) is not trusted in the role \(actor.role) by the trust file; log --verify will report this \(what) as untrusted",
                  hint: "add the key with the role \(actor.role) to the trust file, or act as another role with --as ROLE=KEYFILE")
}

/// The failed integrity checks of a report, without the trust checks.
func integrityFailures(_ report: VerificationReport) -> String {
    report.checks.filter { !$0.passed && !$0.isTrustCheck }.map { "\($0.name): \($0.detail)" }.joined(separator: "; ")
}

/// After the work, before its result is written out: a signal from here ends the process at
/// once, as it would `cat` or `ls` (a reader that stalls must not hold it); one that came
/// during the work ends it now.
func stopCatchingSignals() {
    Interruption.release()
    endIfInterrupted()
}

/// For a seal, an opening or an amendment that ran to its end although a stop was asked
/// for (the signal came after the last point where it could stop cleanly): its result
/// stands and was printed; the process then ends by the signal, as asked, so that a shell
/// loop or a supervisor stops too.
func endIfInterrupted() {
    guard let signal = Interruption.pending else { return }
    dossier_default_signal(signal)
    raise(signal)
}

/// Turns library errors into a message and an exit code. `sealing`: an unsafe or colliding name is in the
/// source the user gave (bad input, 1), not in a dossier that failed verification (2).
func fail(_ error: any Error, sealing: Bool = false) -> ExitCode {
    // A signal stopped a seal, an opening or an amendment, which removed what it had written
    // (the caller's own clean-up, such as a ledger made for a seal, has run too): end as the
    // signal would have, so that a shell or a supervisor sees it.
    if let signal = Interruption.pending {
        Console.error("interrupted by \(Interruption.name(of: signal)): stopped, and removed what was written so far")
        dossier_default_signal(signal)
        raise(signal)
        return ExitCode(128 + signal)
    }
    // Our own messages start in lower case or with a name (a path, "ChaCha20"), which keeps its case.
    if let error = error as? DossierError {
        Console.error(withoutFinalPeriod(error.reason), hint: PassphraseReader.lineEndHint(for: error.reason) ?? error.hint)
        switch error.kind {
        case .untrusted: return ExitCode(Exit.untrusted)
        case .noIdentity: return ExitCode(Exit.noIdentity)
        case .signature, .container, .manifest, .payload, .content: return ExitCode(Exit.invalid)
        case .unsafePath: return ExitCode(sealing ? Exit.failure : Exit.invalid)
        case .profileNotMet: return ExitCode(Exit.profile)
        default: return ExitCode(Exit.failure)
        }
    }
    if let error = error as? AgeError {
        Console.error(withoutFinalPeriod(error.description), hint: PassphraseReader.lineEndHint(for: error.description))
        return ExitCode(error.kind == .noMatch ? Exit.noIdentity : Exit.failure)
    }
    if let error = error as? ExitCode { return error }
    if let error = error as? CocoaError {
        Console.error(describe(error))
        return ExitCode(Exit.failure)
    }
    Console.error(lowercasedFirst("\(error)"))
    return ExitCode(Exit.failure)
}

/// A Foundation file error as "PATH: reason" (the system's words, e.g. "no such file or directory"),
/// not the NSError dump that `description` gives on Linux.
func describe(_ error: CocoaError) -> String {
    let path = error.filePath ?? error.url?.path
    let reason: String
    if let underlying = error.userInfo[NSUnderlyingErrorKey] as? any Error,
       case let posix = underlying as NSError, posix.domain == NSPOSIXErrorDomain {
        reason = String(cString: strerror(Int32(posix.code))).lowercased()
    } else {
        reason = lowercasedFirst(error.localizedDescription)
    }
    return path.map { "\($0): \(reason)" } ?? reason
}

/// The folder part of a path, by bytes (`FileSystem.parent`): "" for a bare name, "/" for
/// a name in the root, trailing and repeated slashes ignored. (Foundation's
/// `NSString.deletingLastPathComponent` traps on a one-character name such as "k": `dossier
/// keygen k` crashed.)
func folderPart(of path: String) -> String {
    let path = FileSystem.withoutTrailingSlashes(path)
    guard path.utf8.contains(UInt8(ascii: "/")) else { return "" }
    return FileSystem.withoutTrailingSlashes(FileSystem.parent(of: path))
}

/// The last name of a path, by bytes (`FileSystem.lastComponent`), trailing slashes ignored
/// ("/" for the root).
func lastPart(of path: String) -> String {
    let path = FileSystem.withoutTrailingSlashes(path)
    return path == "/" ? path : FileSystem.lastComponent(of: path)
}

func withoutFinalPeriod(_ text: String) -> String {
    var text = text
    while text.hasSuffix(".") { text.removeLast() }
    return text
}

/// A message from elsewhere (the system, Foundation) as ours: no final period, and a first
/// word that is an ordinary capitalised word in lower case.
func lowercasedFirst(_ text: String) -> String {
    let text = withoutFinalPeriod(text)
    // "Invalid key" → "invalid key", but "I/O failure", "SQLite …", "URL" and a name such as
    // "Case.dossier: …" stay as they are (only a first word of letters with one capital).
    let word = text.prefix { $0 != " " }
    guard let first = word.first, first.isUppercase, word.count > 1, word.dropFirst().allSatisfy({ $0.isLetter && !$0.isUppercase }) else { return text }
    return first.lowercased() + text.dropFirst()
}

/// Where passphrases come from: never the command line.
struct PassphraseOptions: ParsableArguments {
    @Option(name: .customLong("passphrase-fd"), help: ArgumentHelp(
        "Read passphrases from this file descriptor, one per line (batch work). Otherwise DOSSIER_PASSPHRASE, otherwise the terminal without echo.",
        valueName: "fd"))
    var passphraseFD: Int32?

    /// A provider that asks once per call.
    func provider(_ prompt: String) -> @Sendable () throws -> Passphrase {
        let fd = passphraseFD
        return { try PassphraseReader.read(prompt: prompt, fd: fd) }
    }
}

/// Reads passphrases as bytes into wiping memory (`Passphrase`): never into a `String`,
/// which cannot be wiped.
enum PassphraseReader {
    struct Failure: Error, CustomStringConvertible { let description: String }

    /// A line read from `--passphrase-fd` ended in CR LF (a file with Windows line ends): the
    /// CR is part of the passphrase (as it was when a key was made from such a file), so a
    /// "wrong passphrase" then says so.
    static let lineEndedWithCarriageReturn = Atomic<Bool>(false)

    /// The hint for a "wrong passphrase" `message` after such a line, else nil.
    static func lineEndHint(for message: String) -> String? {
        guard message.contains("wrong passphrase"), lineEndedWithCarriageReturn.load(ordering: .relaxed) else { return nil }
        return "the passphrase line read from --passphrase-fd ends with a carriage return (Windows line ends?), which counts as part of the passphrase"
    }

    /// `DOSSIER_PASSPHRASE`, taken out of the environment when first asked for — by `main`,
    /// before anything else can make strings of the environment (Foundation's
    /// `ProcessInfo.environment` copies every variable into strings): the value is copied
    /// into wiping memory and overwritten with zeros where the environment holds it (so
    /// the variable reads as empty afterwards, also in /proc/PID/environ). Nil when unset.
    static let environmentPassphrase: Passphrase? = {
        guard let value = getenv("DOSSIER_PASSPHRASE") else { return nil }
        let count = strlen(value)
        var bytes = Array(UnsafeRawBufferPointer(start: value, count: count))
        explicit_bzero(value, count)
        return passphrase(&bytes)
    }()

    static func read(prompt: String, fd: Int32?) throws -> Passphrase {
        if let fd {
            let wanted = prompt.trimmingCharacters(in: CharacterSet(charactersIn: ": "))
            return try readLine(fd: fd) ?? { throw Failure(description: "no passphrase left on file descriptor \(fd) (wanted: \(wanted))") }()
        }
        if let environmentPassphrase { return environmentPassphrase }
        let tty = open("/dev/tty", O_RDWR | O_CLOEXEC)
        guard tty >= 0 else {
            throw Failure(description: "a passphrase is needed but there is no terminal; use --passphrase-fd or DOSSIER_PASSPHRASE")
        }
        defer { close(tty) }
        var old = termios()
        tcgetattr(tty, &old)
        var silent = old
        silent.c_lflag &= ~tcflag_t(ECHO)
        // Ctrl-C (or another ending signal) at the prompt gives the terminal its echo back.
        dossier_prompt_guard(tty, &old)
        tcsetattr(tty, TCSAFLUSH, &silent)
        defer {
            tcsetattr(tty, TCSAFLUSH, &old)
            dossier_prompt_unguard()
            _ = write(tty, "\n", 1)
        }
        // Asked once echo is off: nothing typed after the prompt appears is shown.
        _ = prompt.withCString { write(tty, $0, strlen($0)) }
        var none: [UInt8] = []
        return try readLine(fd: tty) ?? Passphrase(consuming: &none)
    }

    /// Reads one line byte by byte (so nothing beyond it is consumed); nil at the end of
    /// the input. The bytes are gathered in a buffer reserved up front, which grows (beyond
    /// 4 KiB) only by copying into a larger one and wiping the old (an array growing by
    /// itself would free copies of the passphrase's beginning unwiped). A carriage return
    /// is dropped only before the end of the input, as before.
    static func readLine(fd: Int32) throws -> Passphrase? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(4096)
        defer { secureWipe(&bytes) }
        var byte: UInt8 = 0
        while true {
            let n = Glibc.read(fd, &byte, 1)
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure(description: "file descriptor \(fd): \(String(cString: strerror(errno)).lowercased())")
            }
            if n == 0 { break }
            if byte == 0x0a {
                if bytes.last == 0x0d { lineEndedWithCarriageReturn.store(true, ordering: .relaxed) }
                return passphrase(&bytes)
            }
            if bytes.count == bytes.capacity {
                var larger: [UInt8] = []
                larger.reserveCapacity(2 * bytes.capacity)
                larger.append(contentsOf: bytes)
                secureWipe(&bytes)
                bytes = larger
            }
            bytes.append(byte)
        }
        if bytes.isEmpty { return nil }
        if bytes.last == 0x0d { bytes.removeLast() }
        return passphrase(&bytes)
    }

    /// The passphrase of `bytes` (wiped here), with what is not UTF-8 replaced by U+FFFD
    /// exactly as a `String` made of them would be: passphrases were read as strings before
    /// session 10, and keys protected then must open with the same bytes.
    static func passphrase(_ bytes: inout [UInt8]) -> Passphrase {
        var repaired: [UInt8] = []
        repaired.reserveCapacity(3 * bytes.count)
        bytes.withUnsafeBufferPointer { input in
            _ = transcode(input.makeIterator(), from: UTF8.self, to: UTF8.self, stoppingOnError: false) { repaired.append($0) }
        }
        secureWipe(&bytes)
        return Passphrase(consuming: &repaired)
    }
}

/// An environment variable, read with `getenv`: Foundation's `ProcessInfo.environment`
/// would make strings of every variable, `DOSSIER_PASSPHRASE` included.
func environment(_ name: String) -> String? {
    getenv(name).map { String(cString: $0) }
}

/// The trust file alone (log: entries and checkpoints are checked against it).
struct TrustFileOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Trust file: one \"ROLES PUBLIC-KEY NAME\" line per trusted key (default: $DOSSIER_TRUST).", valueName: "file"))
    var trust: String?

    func store() throws -> TrustStore {
        guard let path = trust ?? environment("DOSSIER_TRUST") else { return .empty }
        return try TrustStore.load(path: path)
    }
}

/// Trust and role options shared by verify, open, countersign and rewrap.
struct TrustOptions: ParsableArguments {
    @OptionGroup var file: TrustFileOptions

    @Option(name: .customLong("require-role"), help: ArgumentHelp("A role that needs a valid trusted signature (repeatable; default: sealer).", valueName: "role"))
    var requireRoles: [String] = []

    func store() throws -> TrustStore { try file.store() }

    /// Unknown roles are usage errors (exit 64), found before anything runs.
    func validate() throws { _ = try roles() }

    func roles() throws -> Set<DossierRole> {
        if requireRoles.isEmpty { return [.sealer] }
        var roles = Set<DossierRole>()
        for text in requireRoles {
            guard let role = DossierRole(rawValue: text) else { throw ValidationError("\"\(text)\" is not a role (a lower-case word such as sealer, approver, countersigner)") }
            roles.insert(role)
        }
        return roles
    }
}

/// Loads identities from files (X25519, possibly passphrase-protected).
func loadIdentities(_ paths: [String], passphrase: PassphraseOptions) throws -> [AgeIdentity] {
    var identities: [AgeIdentity] = []
    for path in paths {
        identities += try AgeIdentity.loadIdentityFile(atPath: path, passphrase: passphrase.provider("passphrase for \(path): "))
    }
    return identities
}

/// Parses "ROLE=KEYFILE" (or just KEYFILE for the default role) and loads the key.
func loadSigner(_ spec: String, defaultRole: DossierRole, passphrase: PassphraseOptions) throws -> DossierSigner {
    var role = defaultRole
    var path = spec
    if let eq = spec.firstIndex(of: "="), let parsed = DossierRole(rawValue: String(spec[..<eq])) {
        role = parsed
        path = String(spec[spec.index(after: eq)...])
    }
    let key = try SigningKey.load(path: path, passphrase: passphrase.provider("passphrase for \(path): "))
    return DossierSigner(key: key, role: role, name: key.name ?? "key \(key.publicKey.keyID)")
}

/// Reads recipients: `age1…` arguments and recipients files (one per line, # comments).
func loadRecipients(_ recipients: [String], files: [String]) throws -> [AgeRecipient] {
    var out = try recipients.map { try AgeRecipient($0) }
    for file in files {
        var bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        defer { bytes.resetBytes(in: 0..<bytes.count) }
        // An identity file given as a recipients file: refused before any string of it is made.
        if bytes.range(of: Data("AGE-SECRET-KEY-".utf8)) != nil {
            throw DossierError(.invalidArgument, "\(file) holds a secret key (AGE-SECRET-KEY-…), not recipients",
                               hint: "give the .recipient file with -R, or the identity with -i")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw DossierError(.invalidArgument, "\(file) is not a UTF-8 text file of recipients")
        }
        for line in text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            out.append(try AgeRecipient(trimmed))
        }
    }
    return out
}

/// The access log file (checkpoint: no entry is written, so nobody acts).
struct LedgerOptions: ParsableArguments {
    @Option(name: .customLong("log"), help: ArgumentHelp(
        "The access log (SQLite ledger). Default: $DOSSIER_LOG, else ~/.local/share/dossier/access-log.sqlite.", valueName: "file"))
    var logPath: String?

    var path: String {
        if let logPath { return logPath }
        if let env = environment("DOSSIER_LOG"), !env.isEmpty { return env }
        let home = environment("HOME") ?? NSHomeDirectory()
        return home + "/.local/share/dossier/access-log.sqlite"
    }

    /// A ledger only read (showing, verifying) is opened read-only: an inspector's copy on a
    /// read-only medium, or one they may not write, works.
    func openForReading() throws -> AccessLog {
        try AccessLog(path: path, readOnly: true)
    }

    func open(create: Bool) throws -> AccessLog {
        create ? try openCreating().ledger : try AccessLog(path: path, createIfMissing: false)
    }

    /// Opens the ledger, making it (and its missing folders) when it does not exist yet;
    /// `made` then undoes that for a command that fails before writing to it.
    func openCreating() throws -> (ledger: AccessLog, made: NewLedger?) {
        // Another command that made the folders and then failed may remove them (empty, no
        // ledger in them yet) while this one is about to make its ledger there: made again.
        for _ in 0..<3 {
            do { return try openCreatingOnce() } catch {
                guard !FileManager.default.fileExists(atPath: FileSystem.parent(of: path)) else { throw error }
            }
        }
        return try openCreatingOnce()
    }

    private func openCreatingOnce() throws -> (ledger: AccessLog, made: NewLedger?) {
        let path = self.path
        if FileManager.default.fileExists(atPath: path) { return (try AccessLog(path: path, createIfMissing: true), nil) }
        // The folders that are missing, outermost first (a bare file name lives in the current folder).
        var missing: [String] = []
        var folder = folderPart(of: path)
        while !folder.isEmpty, !FileManager.default.fileExists(atPath: folder) {
            missing.insert(folder, at: 0)
            let parent = folderPart(of: folder)
            if parent == folder { break }
            folder = parent
        }
        if let deepest = missing.last {
            do {
                try FileManager.default.createDirectory(atPath: deepest, withIntermediateDirectories: true)
            } catch let error as CocoaError {
                throw DossierError(.io, "cannot create the folder of the access log \(path): \(describe(error))")
            }
        }
        let made = NewLedger(path: path, folders: missing)
        do {
            let ledger = try AccessLog(path: path, createIfMissing: true)
            made.recordFile()
            return (ledger, made)
        } catch {
            made.removeFolders()
            throw error
        }
    }
}

/// A ledger a command made (the file and the folders it needed), removed again when the
/// command fails before anything was recorded — unless meanwhile the path names another
/// file or someone else has written to it.
final class NewLedger {
    let path: String
    let folders: [String]
    private var inode: Int?

    init(path: String, folders: [String]) {
        self.path = path
        self.folders = folders
    }

    func recordFile() { inode = (try? FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber]) as? Int }

    func removeIfUnused(_ ledger: AccessLog) {
        guard let inode, (try? FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber]) as? Int == inode else { return }
        // Closed first, so that no connection of ours touches the files (a writer may merge its
        // WAL when it closes) and our shared lock is given up; then removed only if no other
        // process has the ledger open (it holds the shared lock: another seal may be writing
        // its entry into the file this one made), the path still names the file we made, and
        // it is still empty — looked at only now, under the lock every writer needs (looked
        // at before, an entry another seal committed in between went with the file).
        guard (try? ledger.close()) != nil, let lock = LedgerFolderLock.exclusive(for: path),
              (try? FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber]) as? Int == inode,
              let reader = try? AccessLog(path: path, readOnly: true) else { return }
        defer { lock.release() }
        let contents = reader.verify(trusting: .empty)
        guard (try? reader.close()) != nil, contents.entries.isEmpty, contents.problems.isEmpty else { return }
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        removeFolders()
    }

    /// The folders made for the ledger, innermost first, each only if it is empty.
    func removeFolders() {
        for folder in folders.reversed() { rmdir(folder) }
    }
}

/// The access log options shared by every command that writes entries.
struct LogOptions: ParsableArguments {
    @OptionGroup var ledger: LedgerOptions

    @Option(name: .customLong("as"), help: ArgumentHelp(
        "Who acts, as ROLE=KEYFILE or KEYFILE (signs the log entry). Default: $DOSSIER_ACTOR.", valueName: "role=keyfile"))
    var actor: String?

    var path: String { ledger.path }
    func openForReading() throws -> AccessLog { try ledger.openForReading() }
    func open(create: Bool) throws -> AccessLog { try ledger.open(create: create) }

    /// `--as`, else a non-empty $DOSSIER_ACTOR.
    private var actorSpec: String? {
        actor ?? environment("DOSSIER_ACTOR").flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Whether an actor is named (`--as` or $DOSSIER_ACTOR).
    var namesActor: Bool { actorSpec != nil }

    /// For `validate()`: a command whose entry has no other signer needs an actor.
    func requireActor() throws {
        guard namesActor else { throw ValidationError(Self.noActor) }
    }

    static let noActor = "say who acts: --as KEYFILE (or ROLE=KEYFILE), or set DOSSIER_ACTOR; the access log entry is signed with that key"

    /// The actor: `--as`, else $DOSSIER_ACTOR, else `fallback`.
    func actor(defaultRole: DossierRole, passphrase: PassphraseOptions, fallback: DossierSigner? = nil) throws -> DossierSigner {
        if let spec = actorSpec {
            return try loadSigner(spec, defaultRole: defaultRole, passphrase: passphrase)
        }
        if let fallback { return fallback }
        throw ValidationError(Self.noActor)
    }
}

/// A new output file, made before the work it records (an export, a checkpoint) so that an
/// existing file or an unwritable folder fails first. Never overwrites.
final class OutputFile {
    private let path: String
    private let sink: FileSink

    init(creating path: String) throws {
        do { sink = try FileSink(creating: path) } catch {
            throw DossierError(.io, "\(error)", hint: "choose a new file name")
        }
        self.path = path
    }

    /// Removes the (still empty) file when the work it was made for failed.
    func discard() { unlink(path) }

    /// Writes `bytes`, flushes them to disk and closes the file. A write that fails (a full
    /// disk, a file size limit) removes the file: no partial output stays behind.
    func write(_ bytes: [UInt8]) throws {
        do {
            try bytes.withUnsafeBytes { try sink.write($0) }
            try sink.sync()
            try sink.close()
        } catch {
            try? sink.close()
            unlink(path)
            throw DossierError(.io, "\(error)", hint: "nothing was left at \(path)")
        }
    }
}

/// Refuses, as bad input (exit 1), a dossier path that is missing, a folder or unreadable:
/// not a damaged dossier (exit 2).
func requireReadableDossier(_ path: String) throws {
    if let reason = unreadableReason(path) { throw DossierError(.io, "\(path): \(reason)") }
}

extension Unicode.Scalar {
    /// Whether a terminal could act on the scalar, or it could end or reorder a line or hide
    /// between characters: C0 controls but the tab, DEL, C1 controls, the line and paragraph
    /// separators and the default-ignorable code points (bidirectional controls, zero-width
    /// spaces and joiners, variation selectors, …). Text reports and `--json` escape them.
    static func isTerminalUnsafe(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        return (v < 0x20 && v != 0x09) || (0x7F...0x9F).contains(v) || v == 0x2028 || v == 0x2029
            || (0x202A...0x202E).contains(v) || (0x2066...0x2069).contains(v) || v == 0x200E || v == 0x200F || v == 0x061C
            || scalar.properties.isDefaultIgnorableCodePoint
    }
}

extension String {
    /// The string with every character that could move the cursor, end a line, reorder text,
    /// start a terminal escape sequence or hide between characters written as `\u{XX}`: C0
    /// controls but the tab, DEL, C1 controls, the line and paragraph separators, and the
    /// default-ignorable code points (bidirectional controls, zero-width spaces and joiners,
    /// variation selectors, …). A backslash — or a character that looks like one — that
    /// spells `\u{` (marks and invisible characters in between count as nothing) is written
    /// `\u{5C}` (or its own code), so that no text can pass for such an escape.
    var terminalSafe: String {
        let unsafe = Unicode.Scalar.isTerminalUnsafe
        /// Nothing on screen between two characters, or only a mark on the one before.
        func invisible(_ scalar: Unicode.Scalar) -> Bool {
            switch scalar.properties.generalCategory {
            case .nonspacingMark, .enclosingMark, .spacingMark, .format: return true
            default: return scalar.properties.isDefaultIgnorableCodePoint
            }
        }
        let scalars = Array(unicodeScalars)
        /// A backslash or a look-alike (fullwidth, small, set minus, reverse solidus operators).
        func backslashLike(_ scalar: Unicode.Scalar) -> Bool {
            scalar == "\\" || [0xFF3C, 0xFE68, 0x2216, 0x29F5, 0x29F9].contains(scalar.value)
        }
        func spellsEscape(at index: Int) -> Bool {
            guard backslashLike(scalars[index]) else { return false }
            let wanted: [Unicode.Scalar] = ["u", "{"]
            var found = 0
            var next = index + 1
            while next < scalars.count && found < wanted.count {
                if scalars[next] == wanted[found] { found += 1 } else if !invisible(scalars[next]) { return false }
                next += 1
            }
            return found == wanted.count
        }
        guard scalars.contains(where: unsafe) || scalars.indices.contains(where: spellsEscape) else { return self }
        var out = String.UnicodeScalarView()
        for (index, scalar) in scalars.enumerated() {
            if unsafe(scalar) || spellsEscape(at: index) {
                out.append(contentsOf: "\\u{\(String(scalar.value, radix: 16, uppercase: true))}".unicodeScalars)
            } else {
                out.append(scalar)
            }
        }
        return String(out)
    }
}
