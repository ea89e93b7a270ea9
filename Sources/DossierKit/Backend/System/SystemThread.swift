import CDossierSystem
#if canImport(Glibc)
import Glibc
#endif

/// Starts work on a new POSIX thread, and says when the system refuses one.
///
/// Foundation's `Thread.start()` ignores a failing `pthread_create` (too many threads for
/// the user's or the container's limit): the body then never runs, and whoever waits for it
/// waits for ever. Here the caller learns it and can do without the thread.
enum SystemThread {
    private final class Start {
        let name: String
        let body: @Sendable () -> Void
        init(name: String, body: @escaping @Sendable () -> Void) {
            self.name = name
            self.body = body
        }
    }

    /// Runs `body` on a new detached thread named `name` (its first 15 bytes);
    /// false when no thread could be made (then `body` never runs).
    static func start(name: String, _ body: @escaping @Sendable () -> Void) -> Bool {
        let context = Unmanaged.passRetained(Start(name: name, body: body)).toOpaque()
        var attributes = pthread_attr_t()
        guard pthread_attr_init(&attributes) == 0 else {
            Unmanaged<Start>.fromOpaque(context).release()
            return false
        }
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        var thread = pthread_t()
        let result = pthread_create(&thread, &attributes, { context in
            let start = Unmanaged<Start>.fromOpaque(context!).takeRetainedValue()
            _ = dossier_name_thread(start.name)
            start.body()
            return nil
        }, context)
        guard result == 0 else {
            Unmanaged<Start>.fromOpaque(context).release()
            return false
        }
        return true
    }
}
