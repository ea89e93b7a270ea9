import Foundation
import Testing

/// Where the bundled test vectors live (copied into the test bundle, so tests pass on a
/// plain clone without ../shared).
enum Vectors {
    static var root: URL {
        guard let url = Bundle.module.url(forResource: "Vectors", withExtension: nil) else {
            fatalError("test resources missing: Vectors/")
        }
        return url
    }

    static func url(_ path: String) -> URL { root.appendingPathComponent(path) }

    static func data(_ path: String) throws -> Data { try Data(contentsOf: url(path)) }

    static func decode<T: Decodable>(_ type: T.Type, _ path: String) throws -> T {
        try JSONDecoder().decode(T.self, from: data(path))
    }
}

extension Array where Element == UInt8 {
    /// Bytes from a hex string; traps on malformed hex (test data only).
    init(hex: String) {
        let chars = Array(hex.utf8)
        precondition(chars.count % 2 == 0, "odd-length hex")
        func nibble(_ c: UInt8) -> UInt8 {
            switch c {
            case 48...57: c - 48
            case 97...102: c - 87
            case 65...70: c - 55
            default: preconditionFailure("bad hex digit")
            }
        }
        self = stride(from: 0, to: chars.count, by: 2).map { nibble(chars[$0]) << 4 | nibble(chars[$0 + 1]) }
    }

    var hex: String { map { String(format: "%02x", $0) }.joined() }

    /// `count` random (incompressible) bytes, eight at a time (a byte at a time takes seconds
    /// per MiB in a debug build).
    static func random(count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: count)
        bytes.withUnsafeMutableBytes { raw in
            var offset = 0
            while offset < raw.count {
                var word = generator.next()
                let n = Swift.min(8, raw.count - offset)
                Swift.withUnsafeBytes(of: &word) { raw.baseAddress!.advanced(by: offset).copyMemory(from: $0.baseAddress!, byteCount: n) }
                offset += n
            }
        }
        return bytes
    }
}

extension String {
    var bytes: [UInt8] { Array(utf8) }
}

/// A Wycheproof file: one generic decoder, one group type per schema.
struct WycheproofFile<Group: Decodable & Sendable>: Decodable, Sendable {
    let algorithm: String
    let numberOfTests: Int
    let testGroups: [Group]
}

/// Wycheproof's expected outcome.
enum WycheproofResult: String, Decodable, Sendable {
    case valid, invalid, acceptable
}
