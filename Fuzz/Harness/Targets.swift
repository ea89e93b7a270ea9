import DossierKit
import Foundation

/// Runs inputs through the targets in `FuzzEntryPoints` (DossierKit), crashing on a broken
/// promise so that libFuzzer keeps the input. Errors for bad input are the expected outcome.
enum FuzzTargets {
    static func run(_ target: String, _ data: [UInt8]) {
        do {
            try FuzzEntryPoints.run(target, data, scratchPath: scratchPath, isKnownDossier: Seeds.isKnownDossier)
        } catch {
            fatalError("\(target): \(error)")
        }
    }

    /// Where the container target writes each input (per process, in memory when possible).
    static let scratchPath: String = {
        let dir = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        return "\(dir)/dossier-fuzz-\(getpid()).dossier"
    }()
}
