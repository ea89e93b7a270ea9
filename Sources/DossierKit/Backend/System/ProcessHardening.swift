import CDossierSystem
#if canImport(Glibc)
import Glibc
#endif

/// Keeps secrets (keys, passphrases, decrypted content) out of crash dumps and crash reports.
public enum ProcessHardening {
    /// The signals whose default action writes a core dump, which the Swift runtime's
    /// crash reporter also catches.
    static let crashSignals: [Int32] = [SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGQUIT, SIGSYS]

    /// Hardens the process for handling secrets. Call it first thing in a program that
    /// handles dossier keys; the `dossier` CLI does.
    ///
    /// - Core dumps are off: the core size limit becomes 0 and the process is marked
    ///   non-dumpable (which also stops other processes of the same user from attaching a
    ///   debugger or reading its memory through /proc).
    /// - Unless `keepCrashReports`, the crash signals get their default action back, so
    ///   the Swift runtime's crash reporter, which prints registers and the memory they
    ///   point to, cannot put key bytes on standard error or into a log collector.
    ///
    /// Returns whether every setting took effect.
    @discardableResult
    public static func protectSecrets(keepCrashReports: Bool = false) -> Bool {
        var limit = rlimit(rlim_cur: 0, rlim_max: 0)
        var ok = setrlimit(Int32(RLIMIT_CORE.rawValue), &limit) == 0
        ok = dossier_set_not_dumpable() == 0 && ok
        if !keepCrashReports {
            for signal in crashSignals { ok = dossier_default_signal(signal) == 0 && ok }
        }
        return ok
    }

    /// Whether core dumps are off for this process (core limit 0 and not dumpable).
    public static var coreDumpsDisabled: Bool {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_CORE.rawValue), &limit) == 0 else { return false }
        return limit.rlim_cur == 0 && dossier_get_dumpable() == 0
    }
}
