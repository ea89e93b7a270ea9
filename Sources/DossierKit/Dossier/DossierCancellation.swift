import Synchronization

/// A request to stop a long operation — a seal, an opening, a countersignature or a
/// transfer — from another thread or task (a user pressing Cancel, a server shutting down).
///
/// Hand the same instance to the operation (`SealOptions.cancellation`,
/// `OpenOptions.cancellation`, the `cancellation` parameter of `Dossier.countersign` and
/// `Dossier.rewrap`) and call `cancel()` at any time. The operation notices it within about
/// one MiB of the work that moves the content (not during the one-pass verification of a
/// file it wrote, at over 1 GB/s) and at once while its log entry waits for a ledger that
/// another process is writing, stops as on any other error — it removes its temporary file or staging
/// folder — and throws `DossierError` of kind `.interrupted`. A stop
/// comes too late once the operation has written its access-log entry for the result (the
/// sealing's genesis entry, an amendment's entry): it then finishes and returns normally.
/// An opening that is stopped after its `opened` entry keeps that entry (the attempt is on
/// record) but leaves no content behind.
///
/// With Swift concurrency, `Dossier.run` does both: it runs the work on a thread of its own
/// and cancels it when the calling task is cancelled.
///
/// Once cancelled it stays cancelled: use a new instance for the next operation.
public final class DossierCancellation: Sendable {
    private let requested = Atomic<Bool>(false)

    /// A request not yet made.
    public init() {}

    /// Asks every operation holding this instance to stop. Safe from any thread; calling it
    /// again changes nothing.
    public func cancel() {
        requested.store(true, ordering: .releasing)
    }

    /// Whether `cancel()` was called.
    public var isCancelled: Bool {
        requested.load(ordering: .acquiring)
    }
}

extension Dossier {
    /// Runs `work` — blocking DossierKit calls such as `seal`, `open`, `countersign` or
    /// `rewrap` — on a thread of its own, so that it does not hold one of Swift
    /// concurrency's few shared threads for seconds, and cancels it when the calling task is
    /// cancelled: `work` gets the `DossierCancellation` to hand to its calls.
    ///
    /// ```swift
    /// let receipt = try await Dossier.run { cancellation in
    ///     try Dossier.seal(folder, to: recipients, signedBy: signers, writingTo: output,
    ///                      options: SealOptions(log: recorder, cancellation: cancellation))
    /// }
    /// ```
    ///
    /// It throws what `work` throws. A task cancelled before or while the work runs makes the calls that were handed the
    /// cancellation throw `.interrupted` (with nothing left behind, as `DossierCancellation`
    /// says); work that does not look at it runs to its end. Where the system refuses a new
    /// thread (a process limit), the work runs on the calling thread instead.
    public static func run<T: Sendable, E: Error>(
        _ work: @escaping @Sendable (DossierCancellation) throws(E) -> T
    ) async throws(E) -> T {
        let cancellation = DossierCancellation()
        let result: Result<T, E> = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Result<T, E>, Never>) in
                let body: @Sendable () -> Void = {
                    continuation.resume(returning: Result { () throws(E) -> T in try work(cancellation) })
                }
                do throws(SystemThread.Refused) { try SystemThread.start(name: "dossier.run", body) } catch { body() }
            }
        } onCancel: {
            cancellation.cancel()
        }
        return try result.get()
    }
}
