import Foundation

/// Runs one blocking job (an fsync, which waits for the device) on its own thread while
/// the caller goes on with work for the CPU. `wait()` must be called once: it returns when
/// the job has finished and rethrows its error.
///
/// A dedicated thread (`SystemThread`), not a dispatch queue: where the system refuses
/// threads, libdispatch waits for one for ever; here the job then runs on the caller's.
final class BackgroundTask: @unchecked Sendable {
    private let finished = DispatchSemaphore(value: 0)
    private var failure: (any Error)?

    /// Where the system refuses a thread, the job runs here, before `init` returns.
    init(name: String = "dossier.background", _ job: @escaping @Sendable () throws -> Void) {
        let run: @Sendable () -> Void = { [self] in
            do { try job() } catch { failure = error }
            finished.signal()
        }
        do throws(SystemThread.Refused) { try SystemThread.start(name: name, run) } catch { run() }
    }

    /// Waits for the job and rethrows its error.
    func wait() throws {
        finished.wait()
        if let failure { throw failure }
    }
}
