import DossierKit
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A one-line progress bar on stderr — bytes, percentage, rate, ETA — shown only when
/// stderr is a terminal and the command is not quiet.
final class ProgressBar: @unchecked Sendable {
    private let label: String
    private let start = Date()
    private var lastDraw = Date.distantPast
    private var drawn = false
    private let lock = NSLock()

    init(_ label: String) { self.label = label }

    /// A handler for the library, or nil when no bar should be drawn.
    static func handler(_ label: String, quiet: Bool) -> (ProgressHandler?, ProgressBar?) {
        guard !quiet, Console.stderrIsTerminal else { return (nil, nil) }
        let bar = ProgressBar(label)
        return ({ done, total in bar.update(done, total) }, bar)
    }

    func update(_ done: Int64, _ total: Int64) {
        lock.lock()
        defer { lock.unlock() }
        let now = Date()
        guard now.timeIntervalSince(lastDraw) >= 0.1 || done == total else { return }
        lastDraw = now
        let elapsed = max(now.timeIntervalSince(start), 0.001)
        let rate = Double(done) / elapsed
        var line = "\r\(label) \(Reports.bytes(done))"
        if total > 0 {
            let percent = Int(Double(done) * 100 / Double(max(total, 1)))
            let width = 24
            let filled = min(width, Int(Double(width) * Double(done) / Double(max(total, 1))))
            line += " / \(Reports.bytes(total)) [\(String(repeating: "#", count: filled))\(String(repeating: ".", count: width - filled))] \(percent)%"
            if rate > 0, total > done {
                let eta = Int(Double(total - done) / rate)
                line += " ETA \(eta / 60):\(String(format: "%02d", eta % 60))"
            }
        }
        line += " \(Reports.bytes(Int64(rate)))/s\u{1B}[K"
        Console.toStandardError(line)
        drawn = true
    }

    /// Clears the line.
    func finish() {
        lock.lock()
        defer { lock.unlock() }
        if drawn { Console.toStandardError("\r\u{1B}[K") }
    }
}
