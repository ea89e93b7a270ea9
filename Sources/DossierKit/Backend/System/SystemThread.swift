import CDossierSystem
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Starts work on a new POSIX thread, and says when the system refuses one.
///
/// Foundation's `Thread.start()` ignores a failing `pthread_create` (too many threads for
/// the user's or the container's limit): the body then never runs, and whoever waits for it
/// waits for ever — a seal under `ulimit -u 6` hung in `PipelinedSink.close` (session 13).
/// Every helper thread of DossierKit is started here and does without it when refused: the
/// work then runs on the caller's thread (slower, same result), or the extraction stops
/// with a clear error.
enum SystemThread {
    /// The system made no thread.
    struct Refused: Error, CustomStringConvertible {
        let name: String
        let code: Int32
        var description: String {
            "the system refused a new thread for \(name) (\(String(cString: strerror(code)))): the limit on processes or threads is reached (ulimit -u, a container's pids limit)"
        }
    }

    private final class Start {
        let name: String
        let body: @Sendable () -> Void
        init(name: String, body: @escaping @Sendable () -> Void) {
            self.name = name
            self.body = body
        }
    }

    /// Runs `body` on a new detached thread named `name` (its first 15 bytes); throws
    /// (and `body` never runs) when no thread could be made.
    static func start(name: String, _ body: @escaping @Sendable () -> Void) throws(Refused) {
        if let starts = Thread.current.threadDictionary[startsKey] as? Starts { starts.names.append(name) }
        if refusedForTesting.contains(name) { throw Refused(name: name, code: EAGAIN) }
        let context = Unmanaged.passRetained(Start(name: name, body: body)).toOpaque()
        var attributes = pthread_attr_t()
        var result = pthread_attr_init(&attributes)
        if result == 0 {
            pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
            var thread = pthread_t()
            result = pthread_create(&thread, &attributes, { context in
                let start = Unmanaged<Start>.fromOpaque(context!).takeRetainedValue()
                _ = dossier_name_thread(start.name)
                start.body()
                return nil
            }, context)
            pthread_attr_destroy(&attributes)
        }
        guard result == 0 else {
            Unmanaged<Start>.fromOpaque(context).release()
            throw Refused(name: name, code: result)
        }
    }

    private static let refusalKey = "dossier.SystemThread.refused"
    private static let startsKey = "dossier.SystemThread.starts"

    private final class Starts {
        var names: [String] = []
    }

    /// Runs `body` and returns the names of the threads it asked for on this thread, in
    /// order, refused or not (tests).
    static func recordingStarts(_ body: () throws -> Void) rethrows -> [String] {
        let dictionary = Thread.current.threadDictionary
        let before = dictionary[startsKey]
        let starts = Starts()
        dictionary[startsKey] = starts
        defer { dictionary[startsKey] = before }
        try body()
        return starts.names
    }

    /// Names of threads refused to the calling thread (tests; per thread, so that tests
    /// running side by side do not see each other's refusals).
    private static var refusedForTesting: Set<String> {
        (Thread.current.threadDictionary[refusalKey] as? Set<String>) ?? []
    }

    /// Runs `body` with the threads named in `names` refused to this thread's calls (tests).
    static func refusing<T>(_ names: Set<String>, _ body: () throws -> T) rethrows -> T {
        let dictionary = Thread.current.threadDictionary
        let before = dictionary[refusalKey]
        dictionary[refusalKey] = names
        defer { dictionary[refusalKey] = before }
        return try body()
    }
}
