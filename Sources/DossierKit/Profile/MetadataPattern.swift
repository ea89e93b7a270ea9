#if canImport(Glibc)
import Glibc
#endif
import Foundation

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

    /// Limits that keep compiling cheap: glibc expands `{n,m}` into copies and its compile
    /// time and memory grow with the square of the expanded size (`a{1,32767}`: 8.5 GB), and
    /// it recurses once per nesting level.
    static let maxLength = 1024
    static let maxRepeat = 255
    static let maxExpansion = 1000
    static let maxDepth = 32
    /// What glibc's matcher keeps per step grows with the pattern's positions (its atoms,
    /// repeats written out): `(.*a.{250})` × 30, within every other limit, took 2.2 GB and
    /// 10 s for a 64,000-byte value (review of session 15). Positions are counted as the
    /// sum over the whole pattern, each repeat multiplying what it repeats.
    static let maxPositions = 2000
    /// The longest value a pattern is matched against; a longer one does not have the form
    /// (metadata values with a pattern are identifiers, dates, short names).
    static let maxValueBytes = 4096

    init(_ pattern: String) throws(Invalid) {
        // The length first: normalising costs more than reading.
        guard pattern.utf8.count <= Self.maxLength * 4 else { throw Invalid(reason: "the pattern is longer than \(Self.maxLength) bytes") }
        let normalized = pattern.precomposedStringWithCanonicalMapping
        let bytes = Array(normalized.utf8)
        guard !bytes.contains(0) else { throw Invalid(reason: "the pattern contains a NUL character") }
        guard bytes.count <= Self.maxLength else {
            throw Invalid(reason: "the pattern is longer than \(Self.maxLength) bytes")
        }
        try Self.checkSyntax(bytes)
        // Compiled into a local buffer: `compiled` is set only for a pattern that compiled (a
        // failed init must not leave deinit a buffer to free again).
        let buffer = UnsafeMutablePointer<regex_t>.allocate(capacity: 1)
        let anchored = "^(" + normalized + ")$"
        let status = LibArchive.withUTF8Locale { regcomp(buffer, anchored, REG_EXTENDED | REG_NOSUB) }
        guard status == 0 else {
            var message = [CChar](repeating: 0, count: 256)
            regerror(status, buffer, &message, message.count)
            buffer.deallocate()
            let text = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw Invalid(reason: "the pattern is not a valid POSIX extended regular expression (\(text))")
        }
        compiled = buffer
    }

    deinit {
        regfree(compiled)
        compiled.deallocate()
    }

    /// Whether the whole of `value` matches. A value holding a NUL character, or longer than
    /// `maxValueBytes`, never matches. The value is compared in NFC, as the pattern
    /// (`Mu\u{308}ller` matches `Müller`).
    func matches(_ value: String) -> Bool {
        guard !value.utf8.contains(0), value.utf8.count <= Self.maxValueBytes else { return false }
        let normalized = value.precomposedStringWithCanonicalMapping
        return LibArchive.withUTF8Locale { regexec(compiled, normalized, 0, nil, 0) } == 0
    }

    /// Refuses what glibc would accept with another meaning or compile slowly: escapes other
    /// than a literal character (`\d`, `\1`), a backslash inside brackets (literal in POSIX,
    /// so `[\d]` would not mean a digit), `(?…)` groups, unbalanced parentheses (outside
    /// bracket expressions), nesting deeper than 32 and repeat counts above 255 or
    /// multiplying (nested) to more than 1000.
    private static func checkSyntax(_ p: [UInt8]) throws(Invalid) {
        // The largest expansion inside each open group; the last atom's expansion. Beside
        // them, the positions of each open group (summed) and of the last atom.
        var factors = [1]
        var lastAtom = 1
        var positions = [0]
        var lastPositions = 0
        func count(_ atom: Int) throws(Invalid) {
            positions[positions.count - 1] += atom
            lastPositions = atom
            guard positions.reduce(0, +) <= maxPositions else {
                throw Invalid(reason: "the pattern has more than \(maxPositions) positions (atoms, with repeats written out); make it simpler")
            }
        }
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
                lastAtom = 1
                try count(1)
                i += 2
                continue
            case UInt8(ascii: "["):
                // A bracket expression: `]` right after `[` or `[^` is literal; `[:alpha:]`,
                // `[.x.]` and `[=x=]` end with `:]`, `.]`, `=]`.
                i += 1
                if i < p.count && p[i] == UInt8(ascii: "^") { i += 1 }
                if i < p.count && p[i] == UInt8(ascii: "]") { i += 1 }
                while i < p.count && p[i] != UInt8(ascii: "]") {
                    if p[i] == UInt8(ascii: "\\") {
                        throw Invalid(reason: "the pattern has a \\ inside [ ]: POSIX reads it as a backslash, not as an escape "
                                      + "(write [0-9] for a digit, [.] for a dot)")
                    }
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
                lastAtom = 1
                try count(1)
            case UInt8(ascii: "("):
                if i + 1 < p.count && p[i + 1] == UInt8(ascii: "?") {
                    throw Invalid(reason: "the pattern uses a (? group, which POSIX extended regular expressions do not have")
                }
                factors.append(1)
                positions.append(0)
                guard factors.count - 1 <= maxDepth else { throw Invalid(reason: "the pattern nests ( ) more than \(maxDepth) deep") }
            case UInt8(ascii: ")"):
                guard factors.count > 1 else { throw Invalid(reason: "the pattern has a ) without its ( (unbalanced parentheses)") }
                lastAtom = factors.removeLast()
                factors[factors.count - 1] = Swift.max(factors[factors.count - 1], lastAtom)
                let group = positions.removeLast()
                try count(group)
            case UInt8(ascii: "{"):
                // {n}, {n,}, {n,m}: the largest count given bounds the copies glibc makes.
                var j = i + 1
                var largest = 0
                var digits = 0
                while j < p.count, p[j] == UInt8(ascii: ",") || (48...57).contains(p[j]) {
                    if p[j] == UInt8(ascii: ",") {
                        digits = 0
                    } else {
                        digits = Swift.min(digits * 10 + Int(p[j] - 48), 1_000_000)
                        largest = Swift.max(largest, digits)
                    }
                    j += 1
                }
                if j < p.count, p[j] == UInt8(ascii: "}") {
                    guard largest <= maxRepeat else {
                        throw Invalid(reason: "a repeat count in the pattern may be at most \(maxRepeat) (found \(largest))")
                    }
                    let expansion = lastAtom * Swift.max(largest, 1)
                    guard expansion <= maxExpansion else {
                        throw Invalid(reason: "nested repeat counts in the pattern may multiply to at most \(maxExpansion) (found \(expansion))")
                    }
                    factors[factors.count - 1] = Swift.max(factors[factors.count - 1], expansion)
                    lastAtom = expansion
                    // The repeated atom written out max(n, m) times in all.
                    let repeated = lastPositions
                    try count(repeated * (Swift.max(largest, 1) - 1))
                    lastPositions = repeated * Swift.max(largest, 1)
                    i = j + 1
                    continue
                }
                lastAtom = 1
                try count(1)
            default:
                lastAtom = 1
                try count(1)
            }
            i += 1
        }
        guard factors.count == 1 else { throw Invalid(reason: "the pattern has a ( without its ) (unbalanced parentheses)") }
    }
}
