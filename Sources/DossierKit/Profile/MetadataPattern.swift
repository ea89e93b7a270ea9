#if canImport(Glibc)
import Glibc
#endif

/// A profile's `pattern` for a metadata value: a POSIX extended regular expression (the
/// syntax of `grep -E`) that the whole value must match, evaluated in UTF-8.
///
/// glibc's matcher runs in time linear in the value for expressions without
/// back-references, so a pattern such as `(a+)+$` cannot hang a check (a backtracking
/// engine needs minutes for 25 characters). Back-references, Perl escapes (`\d`, `\w`,
/// `\s`, …) and `(?` groups are refused when the profile is loaded, as are unbalanced
/// parentheses: the pattern is matched as `^(PATTERN)$`, which an unbalanced `)` would break.
final class MetadataPattern: @unchecked Sendable {
    // Immutable after init; glibc's regexec may be called from several threads at once.
    private let compiled: UnsafeMutablePointer<regex_t>

    struct Invalid: Error { let reason: String }

    /// Escapes that mean the character itself in an ERE.
    private static let literalEscapes = Set(#".[]()*+?{}|^$\/-"#.utf8)

    init(_ pattern: String) throws(Invalid) {
        let bytes = Array(pattern.utf8)
        guard !bytes.contains(0) else { throw Invalid(reason: "the pattern contains a NUL character") }
        try Self.checkSyntax(bytes)
        compiled = .allocate(capacity: 1)
        let anchored = "^(" + pattern + ")$"
        let status = LibArchive.withUTF8Locale { regcomp(compiled, anchored, REG_EXTENDED | REG_NOSUB) }
        guard status == 0 else {
            var message = [CChar](repeating: 0, count: 256)
            regerror(status, compiled, &message, message.count)
            compiled.deallocate()
            let text = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw Invalid(reason: "the pattern is not a valid POSIX extended regular expression (\(text))")
        }
    }

    deinit {
        regfree(compiled)
        compiled.deallocate()
    }

    /// Whether the whole of `value` matches. A value holding a NUL character never matches.
    func matches(_ value: String) -> Bool {
        guard !value.utf8.contains(0) else { return false }
        return LibArchive.withUTF8Locale { regexec(compiled, value, 0, nil, 0) } == 0
    }

    /// Refuses what glibc would accept with another meaning or match slowly: escapes other
    /// than a literal character (`\d`, `\1`), `(?…)` groups and unbalanced parentheses
    /// (outside bracket expressions).
    private static func checkSyntax(_ p: [UInt8]) throws(Invalid) {
        var depth = 0
        var i = 0
        while i < p.count {
            switch p[i] {
            case UInt8(ascii: "\\"):
                guard i + 1 < p.count else { throw Invalid(reason: "the pattern ends with a lone \\") }
                let escaped = p[i + 1]
                guard literalEscapes.contains(escaped) else {
                    let shown = escaped < 0x80 ? String(UnicodeScalar(escaped)) : "…"
                    throw Invalid(reason: "the pattern uses \\\(shown), which POSIX extended regular expressions do not have "
                                  + "(back-references and Perl escapes are refused); write a bracket expression such as [0-9] instead")
                }
                i += 2
                continue
            case UInt8(ascii: "["):
                // A bracket expression: `]` right after `[` or `[^` is literal; `[:alpha:]`,
                // `[.x.]` and `[=x=]` end with `:]`, `.]`, `=]`.
                i += 1
                if i < p.count && p[i] == UInt8(ascii: "^") { i += 1 }
                if i < p.count && p[i] == UInt8(ascii: "]") { i += 1 }
                while i < p.count && p[i] != UInt8(ascii: "]") {
                    if p[i] == UInt8(ascii: "["), i + 1 < p.count, [UInt8(ascii: ":"), UInt8(ascii: "."), UInt8(ascii: "=")].contains(p[i + 1]) {
                        let close = p[i + 1]
                        i += 2
                        while i + 1 < p.count && !(p[i] == close && p[i + 1] == UInt8(ascii: "]")) { i += 1 }
                        i += 2
                        continue
                    }
                    i += 1
                }
                guard i < p.count else { throw Invalid(reason: "the pattern is not a valid POSIX extended regular expression (an unclosed [)") }
            case UInt8(ascii: "("):
                if i + 1 < p.count && p[i + 1] == UInt8(ascii: "?") {
                    throw Invalid(reason: "the pattern uses a (? group, which POSIX extended regular expressions do not have")
                }
                depth += 1
            case UInt8(ascii: ")"):
                depth -= 1
                guard depth >= 0 else { throw Invalid(reason: "the pattern has a ) without its ( (unbalanced parentheses)") }
            default:
                break
            }
            i += 1
        }
        guard depth == 0 else { throw Invalid(reason: "the pattern has a ( without its ) (unbalanced parentheses)") }
    }
}
