import Synchronization

/// A request to stop a long operation — a seal, an opening, a countersignature or a
/// transfer — from another thread or task (a user pressing Cancel, a server shutting down).
///
/// Hand the same instance to the operation (`SealOptions.cancellation`,
/// `OpenOptions.cancellation`, the `cancellation` parameter of `Dossier.countersign` and
/// `Dossier.rewrap`) and call `cancel()` at any time. The operation notices it within about
/// one MiB of work, stops as on any other error — it removes its temporary file or staging
/// folder, and a ledger it made — and throws `DossierError` of kind `.interrupted`. A stop
/// comes too late once the operation has written its access-log entry for the result (the
/// sealing's genesis entry, an amendment's entry): it then finishes and returns normally.
/// An opening that is stopped after its `opened` entry keeps that entry (the attempt is on
/// record) but leaves no content behind.
///
/// With Swift concurrency, cancel it from the task's cancellation handler:
///
/// ```swift
/// let cancellation = DossierCancellation()
/// let receipt = try await withTaskCancellationHandler {
///     try await Task.detached {
///         try Dossier.seal(folder, to: recipients, signedBy: signers, writingTo: output,
///                          options: SealOptions(cancellation: cancellation))
///     }.value
/// } onCancel: {
///     cancellation.cancel()
/// }
/// ```
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
