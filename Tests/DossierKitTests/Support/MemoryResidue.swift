#if canImport(Glibc)
import Glibc
#endif
import Foundation
@testable import DossierKit

/// Searches this process's writable memory for copies of a secret left behind in freed or
/// forgotten buffers (Linux: `/proc/self/maps` and `/proc/self/mem`).
///
/// The secret itself must not be in memory while the search runs, or it finds itself: a
/// `Pattern` keeps its bytes XOR-masked, and the search unmasks one byte at a time. Derive
/// patterns with `Pattern.init(name:count:byte:)`, whose closure yields plain bytes one by
/// one (from a `SecureBytes` that is released before the search).
enum MemoryResidue {
    static let mask: UInt8 = 0x5A

    struct Pattern {
        let name: String
        fileprivate let masked: [UInt8]

        /// A pattern of `count` bytes; `byte(i)` gives the plain byte at `i`.
        init(name: String, count: Int, byte: (Int) -> UInt8) {
            precondition(count >= 16, "short patterns match by chance")
            self.name = name
            masked = (0..<count).map { byte($0) ^ MemoryResidue.mask }
        }
    }

    struct Finding: CustomStringConvertible {
        let pattern: String
        let address: UInt
        let region: String
        var description: String { "\(pattern) at 0x\(String(address, radix: 16)) in \(region)" }
    }

    /// Every place in a private writable mapping (heap, anonymous memory, thread stacks,
    /// library data) where one of `patterns` occurs, in its resident pages. Mappings larger
    /// than 1 TiB (sanitizer shadow memory) and unreadable pages are skipped. Occurrences
    /// inside `ignoring` (live buffers that hold the secret on purpose) are not findings.
    static func search(_ patterns: [Pattern], ignoring live: [UnsafeRawBufferPointer] = []) throws -> [Finding] {
        let maps = try readMaps()
        let fd = open("/proc/self/mem", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        defer { close(fd) }
        let longest = patterns.map(\.masked.count).max() ?? 0
        let chunkSize = 1 << 20
        // Not from malloc: the buffer holds copies of what it read and must not be reused.
        guard let chunk = mmap(nil, chunkSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              chunk != MAP_FAILED else { throw POSIXError(.ENOMEM) }
        defer {
            memset(chunk, 0, chunkSize)
            munmap(chunk, chunkSize)
        }
        let chunkAddress = UInt(bitPattern: chunk)
        var findings: [Finding] = []
        /// Searches [from, to) of one mapping in 1 MiB reads that overlap by the longest pattern.
        func scan(_ from: UInt, _ to: UInt, region: String) {
            var address = from
            while address < to {
                if address >= chunkAddress && address < chunkAddress + UInt(chunkSize) {
                    address = chunkAddress + UInt(chunkSize)  // the search's own buffer
                    continue
                }
                var wanted = Int(min(UInt(chunkSize), to - address))
                if address < chunkAddress && chunkAddress < address + UInt(wanted) { wanted = Int(chunkAddress - address) }
                let got = pread(fd, chunk, wanted, off_t(Int64(bitPattern: UInt64(address))))
                if got <= 0 {
                    address = (address & ~UInt(4095)) + 4096  // an unreadable page (guard page, I/O memory)
                    continue
                }
                let bytes = UnsafeRawBufferPointer(start: chunk, count: got)
                for pattern in patterns {
                    for offset in occurrences(of: pattern, in: bytes) {
                        let finding = Finding(pattern: pattern.name, address: address + UInt(offset), region: region)
                        let inLive = live.contains { buffer in
                            let start = UInt(bitPattern: buffer.baseAddress)
                            return finding.address >= start && finding.address < start + UInt(buffer.count)
                        }
                        if !inLive, !findings.contains(where: { $0.pattern == finding.pattern && $0.address == finding.address }) {
                            findings.append(finding)
                        }
                    }
                }
                // Overlap the next read so a copy across the boundary is seen.
                let step = got <= longest ? got : got - longest + 1
                address += UInt(step)
            }
        }
        let page = UInt(sysconf(Int32(_SC_PAGESIZE)))
        for line in maps.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 5, fields[1].hasPrefix("rw"), fields[1].hasSuffix("p") else { continue }
            let bounds = fields[0].split(separator: "-")
            // Mappings over 1 TiB are sanitizer shadow memory, not data.
            guard bounds.count == 2, let start = UInt(bounds[0], radix: 16), let end = UInt(bounds[1], radix: 16),
                  end > start, end - start <= 1 << 40 else { continue }
            let region = fields.count >= 6 ? String(fields[5]) : "anonymous memory"
            // Only resident pages are read (mincore): a large reservation (AddressSanitizer's
            // allocator regions grow past 1 GiB in a long run) is mostly untouched.
            var window = start
            while window < end {
                let windowEnd = min(end, window + (1 << 30))
                var resident = [UInt8](repeating: 0, count: Int((windowEnd - window) / page))
                if mincore(UnsafeMutableRawPointer(bitPattern: window), Int(windowEnd - window), &resident) != 0 {
                    scan(window, windowEnd, region: region)
                } else {
                    var i = 0
                    while i < resident.count {
                        guard resident[i] & 1 == 1 else { i += 1; continue }
                        var j = i
                        while j < resident.count && resident[j] & 1 == 1 { j += 1 }
                        scan(window + UInt(i) * page, window + UInt(j) * page, region: region)
                        i = j
                    }
                }
                window = windowEnd
            }
        }
        return findings
    }

    /// `/proc/self/maps`, read to its end: procfs hands it out a page at a time, and a reader
    /// that takes a short read for the end (Foundation's `String(contentsOfFile:)` does) misses
    /// every mapping after the first pages — under AddressSanitizer in the whole suite, the one
    /// holding the planted copy.
    static func readMaps() throws -> String {
        String(decoding: try FileSource(path: "/proc/self/maps").readAll(), as: UTF8.self)
    }

    /// What the search sees at `address` (for a failure message): the mapping holding it,
    /// whether the page is resident and whether it reads.
    static func describe(_ address: UInt) -> String {
        guard let maps = try? readMaps() else { return "no /proc/self/maps" }
        let line = maps.split(separator: "\n").first { line in
            let bounds = line.split(separator: " ")[0].split(separator: "-")
            guard bounds.count == 2, let start = UInt(bounds[0], radix: 16), let end = UInt(bounds[1], radix: 16) else { return false }
            return address >= start && address < end
        }
        let page = address & ~UInt(4095)
        var resident: UInt8 = 0
        let mincoreResult = mincore(UnsafeMutableRawPointer(bitPattern: page), 4096, &resident)
        let fd = open("/proc/self/mem", O_RDONLY | O_CLOEXEC)
        var byte: UInt8 = 0
        let got = pread(fd, &byte, 1, off_t(Int64(bitPattern: UInt64(address))))
        let readErrno = errno
        close(fd)
        return "0x\(String(address, radix: 16)) in \(line.map(String.init) ?? "no mapping"); mincore \(mincoreResult) resident \(resident); pread \(got) errno \(readErrno)"
    }

    private static func occurrences(of pattern: Pattern, in bytes: UnsafeRawBufferPointer) -> [Int] {
        let masked = pattern.masked
        guard let base = bytes.baseAddress, bytes.count >= masked.count else { return [] }
        var found: [Int] = []
        var offset = 0
        let first = Int32(masked[0] ^ mask)
        while offset <= bytes.count - masked.count {
            guard let hit = memchr(base + offset, first, bytes.count - masked.count - offset + 1) else { break }
            let at = base.distance(to: UnsafeRawPointer(hit))
            var index = 1
            while index < masked.count, bytes[at + index] ^ mask == masked[index] { index += 1 }
            if index == masked.count { found.append(at) }
            offset = at + 1
        }
        return found
    }
}
