import CDossierArchive
import Foundation

/// The funnel to libarchive: versions, the UTF-8 locale libarchive needs, error mapping.
enum LibArchive {
    /// libarchive's version string, e.g. "libarchive 3.6.2 zlib/1.2.13 ... libzstd/1.5.4".
    static var versionDetails: String { String(cString: archive_version_details()) }

    /// libarchive's version number, e.g. 3006002.
    static var versionNumber: Int { Int(archive_version_number()) }

    /// libarchive's message for the last error of `archive`, on one line (some end with a
    /// line break); when it set none, what its status means.
    static func message(_ archive: OpaquePointer, _ status: Int32) -> String {
        if let text = archive_error_string(archive) {
            let message = String(decoding: cStringBytes(text), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if !message.isEmpty { return message.replacingOccurrences(of: "\n", with: "; ") }
        }
        switch status {
        case ARCHIVE_FATAL: return "the archive is damaged or cut short (libarchive gave no reason)"
        case ARCHIVE_WARN: return "libarchive warned without a reason"
        default: return "libarchive status \(status), no reason given"
        }
    }

    // A C.UTF-8 LC_CTYPE locale, created once per process.
    nonisolated(unsafe) private static let utf8Locale: locale_t? = dossier_utf8_locale()

    /// Runs `body` with this thread in the C.UTF-8 locale, so libarchive converts UTF-8
    /// entry names (Chinese, accents) instead of failing or crashing (libarchive issue 2233).
    /// `body` must not suspend: the locale belongs to the thread.
    static func withUTF8Locale<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        guard let locale = utf8Locale else { return try body() }
        let previous = uselocale(locale)
        defer { uselocale(previous) }
        return try body()
    }
}
