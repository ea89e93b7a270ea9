import CDossierZstd
import Foundation
import Testing
@testable import DossierKit

/// The inner archive's zstd stream is read to its last byte (FORMAT.md §2): only zstd
/// frames, windows of at most 8 MiB, nothing after the tar's end but its zero padding
/// (spec-only reader of session 17: bytes after the end-of-archive blocks, even a frame of
/// 4 GiB of zeros, passed `verify -i` and `open` unread).
@Suite("the inner archive's zstd stream, to its last byte")
struct ZstdStreamTests {
    /// `bytes` as one zstd frame with `windowLog`, its size not declared (so the window
    /// stays as asked).
    static func frame(_ bytes: [UInt8], windowLog: Int32 = 20) throws -> [UInt8] {
        let cctx = try #require(ZSTD_createCCtx())
        defer { ZSTD_freeCCtx(cctx) }
        _ = ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, 1)
        _ = ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, windowLog)
        var output = [UInt8](repeating: 0, count: ZSTD_compressBound(bytes.count) + 1024)
        var written = 0
        try bytes.withUnsafeBytes { raw in
            try output.withUnsafeMutableBytes { out in
                var inBuffer = ZSTD_inBuffer(src: raw.baseAddress, size: raw.count, pos: 0)
                var outBuffer = ZSTD_outBuffer(dst: out.baseAddress, size: out.count, pos: 0)
                while inBuffer.pos < inBuffer.size {
                    try #require(ZSTD_isError(ZSTD_compressStream2(cctx, &outBuffer, &inBuffer, ZSTD_e_continue)) == 0)
                }
                var empty = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
                while true {
                    let left = ZSTD_compressStream2(cctx, &outBuffer, &empty, ZSTD_e_end)
                    try #require(ZSTD_isError(left) == 0)
                    if left == 0 { break }
                }
                written = outBuffer.pos
            }
        }
        return Array(output[0..<written])
    }

    /// A skippable frame (RFC 8878 §3.1.2) holding `data`.
    static func skippable(_ data: [UInt8]) -> [UInt8] {
        let size = UInt32(data.count)
        return [0x50, 0x2A, 0x4D, 0x18, UInt8(size & 0xFF), UInt8((size >> 8) & 0xFF), UInt8((size >> 16) & 0xFF), UInt8(size >> 24)] + data
    }

    static func refusal(_ change: @escaping ([UInt8]) throws -> [UInt8], _ name: String) throws -> DossierError? {
        let fx = try DossierFixture()
        let path = try HostileDossier.build(fx, name: name, entries: [.file("content/x.txt")],
                                            declaredDirectories: 0, changingInner: change)
        let before = HostileInputTests.snapshot(fx.dir.url.path)
        do {
            _ = try Dossier.open(path, with: [fx.recipient.identity], into: fx.dir.path("out"), trusting: fx.trust, recordingTo: fx.recorder)
            return nil
        } catch {
            #expect(HostileInputTests.snapshot(fx.dir.url.path) == before, "\(name): files were left behind")
            // `verify -i` (deep verification) reads the stream the same way.
            let report = Dossier.verify(path, trusting: fx.trust, identities: [fx.recipient.identity])
            #expect(report.status == .invalid, "\(name): verify -i says \(report.status)")
            return error
        }
    }

    @Test("the control: a tar and its padding open")
    func control() throws {
        let control = try Self.refusal({ $0 }, "control")
        #expect(control == nil, "\(control.map(\.reason) ?? "")")
        // An empty frame after the tar (zstd allows it; a sealer may end with one).
        #expect(try Self.refusal({ $0 + (try Self.frame([])) }, "empty-frame") == nil)
        // Zero padding after the end, up to 64 KiB.
        #expect(try Self.refusal({ $0 + (try Self.frame([UInt8](repeating: 0, count: 50 << 10))) }, "zeros") == nil)
    }

    @Test("data after the tar's end is refused: random bytes, too many zeros, a skippable frame, bytes that are no frame")
    func trailingData() throws {
        let cases: [(String, ([UInt8]) throws -> [UInt8], String)] = [
            ("random", { $0 + (try Self.frame([UInt8].random(count: 100_000))) }, "data after its end"),
            ("one-byte", { $0 + (try Self.frame([1])) }, "data after its end"),
            ("zeros", { $0 + (try Self.frame([UInt8](repeating: 0, count: 1 << 20))) }, "zeros after its end"),
            ("skippable", { $0 + Self.skippable([UInt8].random(count: 5_000)) }, "skippable frame"),
            ("garbage", { $0 + [UInt8].random(count: 300) }, "not zstd frames"),
            ("truncated", { Array($0.dropLast(3)) }, "ends inside a frame"),
            ("half-magic", { $0 + [0x28, 0xB5] }, "ends inside a frame"),
            // The same tar, in one frame that asks for a 128 MiB window.
            ("wide-window", { try Self.frame(try Self.decompress($0), windowLog: 27) }, "window above 8 MiB"),
        ]
        for (name, change, says) in cases {
            let error = try Self.refusal(change, name)
            #expect(error?.kind == .content && error?.reason.contains(says) == true, "\(name): \(error.map { "\($0.kind) \($0.reason)" } ?? "opened")")
        }
    }

    @Test("data after the tar's end in the tar's own frame is refused too (the tar reader borrows whole blocks and stops inside one: review of session 17)")
    func trailingDataInSameFrame() throws {
        let fine = try Self.refusal({ try Self.frame(try Self.decompress($0) + [UInt8](repeating: 0, count: 30 << 10)) }, "same-frame-zeros")
        #expect(fine == nil, "\(fine.map(\.reason) ?? "")")
        let cases: [(String, [UInt8], String)] = [
            ("same-frame-junk", Array("SECRET-UNREAD-DATA".utf8), "data after its end"),
            ("same-frame-junk-after-zeros", [UInt8](repeating: 0, count: 4096) + [1], "data after its end"),
            ("same-frame-many-zeros", [UInt8](repeating: 0, count: 200 << 10), "zeros after its end"),
        ]
        for (name, tail, says) in cases {
            let error = try Self.refusal({ try Self.frame(try Self.decompress($0) + tail) }, name)
            #expect(error?.kind == .content && error?.reason.contains(says) == true, "\(name): \(error.map { "\($0.kind) \($0.reason)" } ?? "opened")")
        }
    }

    @Test("a hidden frame of 4 GiB of zeros after the end is refused at once, not inflated")
    func hiddenBomb() throws {
        // 4 GiB of zeros compress to ~130 KB at level 1: one frame after the tar.
        let started = Date()
        let error = try Self.refusal({ $0 + (try Self.zerosFrame(gibibytes: 4)) }, "bomb")
        #expect(error?.kind == .content && error?.reason.contains("zeros after its end") == true, "\(error.map(\.reason) ?? "opened")")
        #expect(Date().timeIntervalSince(started) < 30, "refused after \(Date().timeIntervalSince(started)) s")
    }

    /// A frame of `gibibytes` GiB of zeros, compressed piece by piece (never held whole).
    static func zerosFrame(gibibytes: Int) throws -> [UInt8] {
        let cctx = try #require(ZSTD_createCCtx())
        defer { ZSTD_freeCCtx(cctx) }
        _ = ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, 1)
        let zeros = [UInt8](repeating: 0, count: 1 << 20)
        var result: [UInt8] = []
        var output = [UInt8](repeating: 0, count: ZSTD_CStreamOutSize())
        func step(_ input: inout ZSTD_inBuffer, _ mode: ZSTD_EndDirective) throws -> Int {
            try output.withUnsafeMutableBytes { out in
                var outBuffer = ZSTD_outBuffer(dst: out.baseAddress, size: out.count, pos: 0)
                let left = ZSTD_compressStream2(cctx, &outBuffer, &input, mode)
                try #require(ZSTD_isError(left) == 0)
                result += out[0..<outBuffer.pos]
                return left
            }
        }
        try zeros.withUnsafeBytes { raw in
            for _ in 0..<(gibibytes << 10) {
                var input = ZSTD_inBuffer(src: raw.baseAddress, size: raw.count, pos: 0)
                while input.pos < input.size { _ = try step(&input, ZSTD_e_continue) }
            }
        }
        var empty = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
        while try step(&empty, ZSTD_e_end) != 0 {}
        return result
    }

    /// A zstd stream decompressed whole.
    static func decompress(_ stream: [UInt8]) throws -> [UInt8] {
        let source = try ZstdSource(MemorySource(stream))
        var all: [UInt8] = []
        while true {
            let block = try source.nextBlock()
            if block.count == 0 { return all }
            all += block
        }
    }
}
