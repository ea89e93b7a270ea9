import CDossierSystem

/// Stopping a long operation cleanly on SIGINT, SIGTERM or SIGHUP.
///
/// A signal's default action ends the process at once: a seal leaves its temporary file, an
/// opening its staging folder with decrypted documents in it. While `during` runs, the
/// first of those signals only asks for a stop; the stages that move the bytes (the
/// pipeline of a seal, the reader of an opening, the copy of an amendment) `check` between
/// blocks and throw, and the operation removes what it wrote as on any other error. A
/// second signal stops the process at once. Applications that handle signals themselves
/// never call `during`; they stop an operation with a `DossierCancellation`, which `check`
/// looks at too.
package enum Interruption {
    /// Runs `body` with the three signals asking for a clean stop (signals ignored, as under
    /// nohup, stay ignored). They keep doing so afterwards, until the process ends or
    /// `release` gives them their default action again: a second
    /// signal while the caller still cleans up (removes a ledger made for a seal, prints the
    /// message) must not kill it half-way (a test saw the message lost so). The caller ends
    /// the process by the signal once it is done (`pending`).
    package static func during<T>(_ body: () throws -> T) rethrows -> T {
        dossier_interrupt_arm()
        return try body()
    }

    /// Ends what `during` began: the three signals take their default action again (ignored
    /// ones stay ignored). For work after the operation that a signal may cut short, such as
    /// writing an opened document to a pipe whose reader may stall; a stop asked for before
    /// stays `pending`.
    package static func release() {
        dossier_interrupt_release()
    }

    /// The signal that asked for a stop during the last `during`, or nil.
    package static var pending: Int32? {
        let signal = dossier_interrupt_pending()
        return signal == 0 ? nil : signal
    }

    /// Throws when a signal asked for a stop, or when `cancellation` was cancelled.
    static func check(_ cancellation: DossierCancellation? = nil) throws(DossierError) {
        if let signal = pending {
            throw DossierError(.interrupted, "interrupted by \(name(of: signal))")
        }
        if let cancellation, cancellation.isCancelled {
            throw DossierError(.interrupted, "cancelled by the application")
        }
    }

    /// "SIGINT", "SIGTERM", "SIGHUP" or the number.
    package static func name(of signal: Int32) -> String {
        switch signal {
        case SIGINT: return "SIGINT"
        case SIGTERM: return "SIGTERM"
        case SIGHUP: return "SIGHUP"
        default: return "signal \(signal)"
        }
    }
}
