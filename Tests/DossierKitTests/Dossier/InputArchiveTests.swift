import Foundation
import Testing
@testable import DossierKit

/// Archives handed in by a case system (`seal ARCHIVE`), damaged or odd: sealed exactly, or
/// refused with a clear error and nothing left behind — never sealed with other content.
@Suite("Dossier: input archives that are damaged, incomplete or not what they claim")
struct InputArchiveTests {
    /// Runs python3 with `script` and `arguments`; the script writes the archive.
    private static func python(_ script: String, _ arguments: [String]) throws {
        let python = try #require(Subprocess.which("python3"), "python3 is not installed: run scripts/setup")
        let result = try Subprocess.run(python, ["-c", script] + arguments)
        #expect(result.status == 0, "\(result.stderr)")
    }

    /// Seals `path` and expects a refusal of kind `.source` whose reason contains `needle`;
    /// nothing may be left in the fixture's folder but what was there.
    private static func expectRefused(_ fx: DossierFixture, _ path: String, _ needle: String,
                                      sourceLocation: SourceLocation = #_sourceLocation) throws {
        let before = Set(try FileManager.default.contentsOfDirectory(atPath: fx.dir.url.path))
        do {
            // An id of its own each time: a seal that wrongly went through used up its id.
            let id = "refused-" + String(FileSystem.lastComponent(of: path).map { $0.isLetter || $0.isNumber ? $0 : "-" })
            let receipt = try fx.seal(path, id: id, to: fx.dir.path("refused.dossier"))
            Issue.record("sealed \(path): \(receipt.manifest.fileCount) files", sourceLocation: sourceLocation)
            try? FileManager.default.removeItem(atPath: receipt.path)
        } catch let error as DossierError {
            #expect(error.kind == .source && error.reason.contains(needle), "\(error)", sourceLocation: sourceLocation)
            #expect(!error.reason.contains("\n") && !error.reason.contains("\\u{A}"), "\(error)", sourceLocation: sourceLocation)
        }
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: fx.dir.url.path)) == before, sourceLocation: sourceLocation)
    }

    /// Seals `path` under `id`, opens the dossier and expects exactly `files` (path → content).
    private static func expectSealedExactly(_ fx: DossierFixture, _ path: String, id: String, _ files: [String: [UInt8]],
                                            sourceLocation: SourceLocation = #_sourceLocation) throws {
        let receipt = try fx.seal(path, id: id, to: fx.dir.path(id + ".dossier"))
        let out = fx.dir.path(id + "-out")
        _ = try Dossier.open(receipt.path, with: [fx.recipient.identity], into: out, trusting: fx.trust, recordingTo: fx.recorder)
        #expect(try DossierFixture.contents(of: out) == files, "\(path)", sourceLocation: sourceLocation)
    }

    /// A tar of two text files (a.txt: 100 KB, b.txt), written by Python's tarfile.
    private static let makeTar = """
        import io,sys,tarfile
        t=tarfile.open(sys.argv[1],'w',format=tarfile.PAX_FORMAT)
        for name,data in [('a.txt',b'line of the case file\\n'*4800),('b.txt',b'second document\\n')]:
            i=tarfile.TarInfo(name); i.size=len(data); i.mtime=1700000000; t.addfile(i,io.BytesIO(data))
        t.close()
        """

    @Test("a .tar.gz whose data or trailer does not match its CRC-32 or length is refused (libarchive never checked them)")
    func gzipChecksums() throws {
        let fx = try DossierFixture()
        let tar = fx.dir.path("case.tar")
        try Self.python(Self.makeTar, [tar])
        // Stored deflate blocks (level 0): a changed content byte still decompresses, so
        // only the CRC-32 in the trailer tells.
        let stored = fx.dir.path("stored.tar.gz")
        try Self.python("import gzip,sys; open(sys.argv[2],'wb').write(gzip.compress(open(sys.argv[1],'rb').read(),compresslevel=0,mtime=0))", [tar, stored])
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: stored)))
        let receipt = try fx.seal(stored, id: "stored-ok", to: fx.dir.path("stored-ok.dossier"))
        #expect(receipt.manifest.fileCount == 2)
        let at = bytes.firstIndex(of: UInt8(ascii: "l"))! + 2000
        bytes[at] ^= 0x01
        let flipped = fx.dir.path("flipped.tar.gz")
        try Data(bytes).write(to: URL(fileURLWithPath: flipped))
        try Self.expectRefused(fx, flipped, "CRC")
        bytes[at] ^= 0x01
        // The trailer: CRC-32, then the length.
        for (name, offset) in [("crc.tar.gz", bytes.count - 8), ("length.tar.gz", bytes.count - 2)] {
            var changed = bytes
            changed[offset] ^= 0x40
            try Data(changed).write(to: URL(fileURLWithPath: fx.dir.path(name)))
            try Self.expectRefused(fx, fx.dir.path(name), name.hasPrefix("crc") ? "CRC" : "length")
        }
    }

    /// `tar` as an old v7 tar: every header's ustar mark (and what ustar added after it)
    /// cleared, its checksum made again.
    private static func v7(_ tar: [UInt8]) -> [UInt8] {
        var out = tar
        var at = 0
        while at + 512 <= out.count, out[at..<(at + 512)].contains(where: { $0 != 0 }) {
            let digits = out[(at + 124)..<(at + 136)].filter { (0x30...0x37).contains($0) }
            let size = Int(String(decoding: digits, as: UTF8.self), radix: 8) ?? 0
            for i in (at + 257)..<(at + 512) { out[i] = 0 }
            for i in (at + 148)..<(at + 156) { out[i] = 0x20 }
            let sum = Array(String(out[at..<(at + 512)].reduce(0) { $0 + Int($1) }, radix: 8).utf8)
            out.replaceSubrange((at + 148)..<(at + 156), with: [UInt8](repeating: 0x30, count: 6 - sum.count) + sum + [0, 0x20])
            at += 512 + (size + 511) / 512 * 512
        }
        return out
    }

    @Test("a v7 tar header is known by its checksum: zero-padded or space-led digits, unsigned or signed sums; a wrong sum, a stray character, no name or a short head are not")
    func v7HeaderCheck() {
        func header(_ name: String, high: Bool = false) -> [UInt8] {
            var h = [UInt8](repeating: 0, count: 512)
            h.replaceSubrange(0..<name.utf8.count, with: name.utf8)
            h.replaceSubrange(100..<108, with: Array("0000644\0".utf8))
            h.replaceSubrange(124..<136, with: Array("00000000001\0".utf8))
            if high { h[0] = 0xE9 }   // a byte that counts differently signed and unsigned
            return h
        }
        func withSum(_ h: [UInt8], _ field: (Int) -> String, signed: Bool = false) -> [UInt8] {
            var h = h
            let sum = h.enumerated().reduce(0) { total, item in
                total + ((148..<156).contains(item.offset) ? 0x20 : signed ? Int(Int8(bitPattern: item.element)) : Int(item.element))
            }
            h.replaceSubrange(148..<156, with: Array(field(sum).utf8))
            return h
        }
        let zeroPadded: (Int) -> String = { let o = String($0, radix: 8); return String(repeating: "0", count: 6 - o.count) + o + "\0 " }
        let spaceLed: (Int) -> String = { let o = String($0, radix: 8); return String(repeating: " ", count: 6 - o.count) + o + " \0" }
        #expect(InputArchiveKind.isV7TarHeader(withSum(header("a.txt"), zeroPadded)))
        #expect(InputArchiveKind.isV7TarHeader(withSum(header("a.txt"), spaceLed)))
        #expect(InputArchiveKind.isV7TarHeader(withSum(header("a.txt", high: true), zeroPadded)))
        #expect(InputArchiveKind.isV7TarHeader(withSum(header("a.txt", high: true), zeroPadded, signed: true)))
        #expect(!InputArchiveKind.isV7TarHeader(withSum(header("a.txt"), { zeroPadded($0 + 1) })))
        #expect(!InputArchiveKind.isV7TarHeader(withSum(header("a.txt"), { String(zeroPadded($0).dropLast(2)) + "x " })))
        #expect(!InputArchiveKind.isV7TarHeader(withSum(header("a.txt"), { String(zeroPadded($0).dropLast(1)) + "x" })))
        #expect(!InputArchiveKind.isV7TarHeader(withSum(header(""), zeroPadded)))
        #expect(!InputArchiveKind.isV7TarHeader(Array(withSum(header("a.txt"), zeroPadded)[0..<511])))
    }

    @Test("a tar cut after a whole entry, with a lone end block, or with data after its end is refused — ustar and v7, plain and compressed; padding zeros are fine",
          arguments: ["ustar", "v7"])
    func tarEnds(_ format: String) throws {
        let fx = try DossierFixture()
        let tar = fx.dir.path("case.tar")
        try Self.python(Self.makeTar, [tar])
        let written = Array(try Data(contentsOf: URL(fileURLWithPath: tar)))
        let whole = format == "v7" ? Self.v7(written) : written
        #expect(whole[257..<262].elementsEqual("ustar".utf8) == (format == "ustar"))
        // Python pads to 10,240 bytes; the entries: a.txt (207 blocks of data), b.txt (one).
        let lastHeader = try #require((0..<(whole.count / 512)).map { $0 * 512 }.last {
            whole[$0..<($0 + 5)].elementsEqual("b.txt".utf8)
        })
        let bEnd = lastHeader + 512 + 512   // b.txt's header and its one data block
        let variants: [(String, [UInt8], String?)] = [
            ("whole", whole, nil),
            ("two-blocks", Array(whole[0..<(bEnd + 1024)]), nil),
            ("cut-after-b", Array(whole[0..<bEnd]), "without its end-of-archive blocks"),
            ("cut-after-a", Array(whole[0..<lastHeader]), "without its end-of-archive blocks"),
            ("cut-in-a", Array(whole[0..<(lastHeader - 512)]), "Truncated tar archive"),
            ("lone-block", Array(whole[0..<(bEnd + 512)]), "single end-of-archive block"),
            ("two-tars", Array(whole[0..<(bEnd + 1024)]) + whole, "data follows the end of the tar"),
            ("junk", whole + [0x41], "data follows the end of the tar"),
        ]
        // A last file whose content ends in zeros, cut right after it: its zeros are not end blocks.
        let zeros = fx.dir.path("zeros.tar")
        try Self.python("import io,sys,tarfile\nt=tarfile.open(sys.argv[1],'w')\nd=b'x'+bytes(4095)\ni=tarfile.TarInfo('c.bin'); i.size=len(d); t.addfile(i,io.BytesIO(d))\nt.close()", [zeros])
        let zeroEnded = format == "v7" ? Self.v7(Array(try Data(contentsOf: URL(fileURLWithPath: zeros)))) : Array(try Data(contentsOf: URL(fileURLWithPath: zeros)))
        try Data(zeroEnded[0..<(512 + 4096)]).write(to: URL(fileURLWithPath: zeros))
        try Self.expectRefused(fx, zeros, "without its end-of-archive blocks")
        for (name, bytes, problem) in variants {
            for compression in ["", "gz", "xz", "bz2"] {
                let path = fx.dir.path("\(name).tar" + (compression.isEmpty ? "" : "." + compression))
                try Data(bytes).write(to: URL(fileURLWithPath: fx.dir.path("\(name).raw")))
                let module = ["gz": "gzip", "xz": "lzma", "bz2": "bz2"][compression]
                if let module {
                    try Self.python("import \(module),sys; open(sys.argv[2],'wb').write(\(module).compress(open(sys.argv[1],'rb').read()))",
                                    [fx.dir.path("\(name).raw"), path])
                } else {
                    try Data(bytes).write(to: URL(fileURLWithPath: path))
                }
                try FileManager.default.removeItem(atPath: fx.dir.path("\(name).raw"))
                if let problem {
                    try Self.expectRefused(fx, path, problem)
                } else {
                    let id = "\(name)-\(compression.isEmpty ? "plain" : compression)"
                    let receipt = try fx.seal(path, id: id, to: fx.dir.path(id + ".dossier"))
                    #expect(receipt.manifest.fileCount == 2, "\(path)")
                }
            }
        }
    }

    @Test("a zip is read by its central directory: a name that differs in the entry, a zip cut before its end record, are refused; an entry the directory does not list is not sealed")
    func zipDirectory() throws {
        let fx = try DossierFixture()
        let zip = fx.dir.path("names.zip")
        try Self.python("import sys,zipfile\nz=zipfile.ZipFile(sys.argv[1],'w')\nz.writestr('a.txt','alpha')\nz.writestr('b.txt','beta')\nz.close()", [zip])
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: zip)))
        let receipt = try fx.seal(zip, id: "zip-ok", to: fx.dir.path("zip-ok.dossier"))
        #expect(receipt.manifest.fileCount == 2)
        // The first local header's name (offset 30): "a.txt" → "x.txt"; the directory still says a.txt.
        #expect(bytes[30..<35].elementsEqual("a.txt".utf8))
        bytes[30] = UInt8(ascii: "x")
        try Data(bytes).write(to: URL(fileURLWithPath: fx.dir.path("renamed.zip")))
        try Self.expectRefused(fx, fx.dir.path("renamed.zip"), "in its central directory but \"x.txt\" in the entry itself")
        bytes[30] = UInt8(ascii: "a")
        // Cut inside the central directory, and right before the end record.
        for (name, length) in [("cut-directory.zip", bytes.count - 40), ("cut-end.zip", bytes.count - 22)] {
            try Data(bytes[0..<length]).write(to: URL(fileURLWithPath: fx.dir.path(name)))
            try Self.expectRefused(fx, fx.dir.path(name), "no end-of-central-directory record: it is cut short")
        }
        // A local entry before the listed ones that the directory does not list (an
        // update that left it behind): not part of the zip, as unzip reads it.
        let stale = fx.dir.path("stale.zip")
        try Self.python("""
            import sys,zipfile,io
            old=io.BytesIO(); z=zipfile.ZipFile(old,'w'); z.writestr('01.txt','old'); z.close()
            local=old.getvalue()[:old.getvalue().index(b'PK\\x01\\x02')]
            new=io.BytesIO(); z=zipfile.ZipFile(new,'w'); z.writestr('02.txt','new'); z.close()
            d=bytearray(new.getvalue()); e=d.rindex(b'PK\\x05\\x06')
            off=int.from_bytes(d[e+16:e+20],'little')+len(local); d[e+16:e+20]=off.to_bytes(4,'little')
            c=d.index(b'PK\\x01\\x02'); lo=int.from_bytes(d[c+42:c+46],'little')+len(local); d[c+42:c+46]=lo.to_bytes(4,'little')
            open(sys.argv[1],'wb').write(local+bytes(d))
            """, [stale])
        try Self.expectSealedExactly(fx, stale, id: "zip-stale", ["02.txt": Array("new".utf8)])
    }

    @Test("a zip whose names are in a code page (CP437), not UTF-8, is refused with a hint what to ask for")
    func codePageNames() throws {
        let fx = try DossierFixture()
        let zip = fx.dir.path("cp437.zip")
        // "Xbc.txt" in the local header and the directory, its X then made CP437's é (0x82).
        try Self.python("import sys,zipfile\nz=zipfile.ZipFile(sys.argv[1],'w')\nz.writestr('Xbc.txt','x')\nz.close()\nd=open(sys.argv[1],'rb').read().replace(b'Xbc.txt',b'\\x82bc.txt')\nopen(sys.argv[1],'wb').write(d)", [zip])
        do {
            _ = try fx.seal(zip, id: "cp437", to: fx.dir.path("cp437.dossier"))
            Issue.record("sealed a zip with a CP437 name")
        } catch let error as DossierError {
            #expect(error.kind == .unsafePath && error.reason.contains("not valid UTF-8"), "\(error)")
            #expect(error.hint?.contains("UTF-8 names") == true, "\(error)")
        }
    }

    /// Python helpers that build zips by hand (as the diff review did).
    private static let zipParts = """
        import struct,zlib,sys
        def local(name,data): return struct.pack('<4sHHHHHIIIHH',b'PK\\3\\4',20,0,0,0,0,zlib.crc32(data),len(data),len(data),len(name),0)+name+data
        def central(name,data,off,extra=b''): return struct.pack('<4sHHHHHHIIIHHHHHII',b'PK\\1\\2',45,45,0,0,0,0,zlib.crc32(data),len(data),len(data),len(name),len(extra),0,0,0,0,off)+name+extra
        def eocd(n,size,off,comment=b''): return struct.pack('<4sHHHHIIH',b'PK\\5\\6',0,0,n,n,size,off,len(comment))+comment
        d=b'hello\\n'; body=local(b'a.txt',d)+local(b'b.txt',d); cd=central(b'a.txt',d,0)+central(b'b.txt',d,len(local(b'a.txt',d)))

        """

    @Test("zips as tools write them seal — a zip64 end record with plain values, a 20 KB comment, bytes after the end record — and crafted ones are refused, never crash")
    func zipVariants() throws {
        let fx = try DossierFixture()
        let good: [(String, String)] = [
            // Info-ZIP from a pipe: zip64 end record and locator although no field overflows.
            ("zip64.zip", "z64=struct.pack('<4sQHHIIQQQQ',b'PK\\6\\6',44,45,45,0,0,2,2,len(cd),len(body))\nloc=struct.pack('<4sIQI',b'PK\\6\\7',0,len(body)+len(cd),1)\nout=body+cd+z64+loc+eocd(2,len(cd),len(body))"),
            ("comment.zip", "out=body+cd+eocd(2,len(cd),len(body),b'c'*20000)"),
            ("trailing.zip", "out=body+cd+eocd(2,len(cd),len(body))+bytes(4)"),
        ]
        for (name, build) in good {
            try Self.python(Self.zipParts + build + "\nopen(sys.argv[1],'wb').write(out)", [fx.dir.path(name)])
            try Self.expectSealedExactly(fx, fx.dir.path(name), id: "zip-" + name.replacingOccurrences(of: ".", with: "-"),
                                         ["a.txt": Array("hello\n".utf8), "b.txt": Array("hello\n".utf8)])
        }
        let bad: [(String, String, String)] = [
            // A zip64 offset near Int64.max for the second entry: refused (it trapped on overflow).
            ("overflow.zip", "cd2=central(b'a.txt',d,0)+central(b'b.txt',d,0xFFFFFFFF,struct.pack('<HHQ',1,8,0x7FFFFFFFFFFFFFF0))\nout=body+cd2+eocd(2,len(cd2),len(body))", "beyond its end"),
            // A second directory (a.txt → the local x.txt) hidden in the first end record's comment.
            ("hidden.zip", "body=local(b'x.txt',d); cd1=central(b'x.txt',d,0); cd2=central(b'a.txt',d,0)\ntail=cd2+eocd(1,len(cd2),len(body)+len(cd1)+22)+bytes(2)\nout=body+cd1+struct.pack('<4sHHHHIIH',b'PK\\5\\6',0,0,1,1,len(cd1),len(body),len(tail))+tail", "in its central directory but \"x.txt\" in the entry itself"),
        ]
        for (name, build, problem) in bad {
            try Self.python(Self.zipParts + build + "\nopen(sys.argv[1],'wb').write(out)", [fx.dir.path(name)])
            try Self.expectRefused(fx, fx.dir.path(name), problem)
        }
    }

    @Test("tars as tools write them seal: zstd behind a skippable frame (pzstd), GNU incremental dumpdir entries")
    func tarVariants() throws {
        let fx = try DossierFixture()
        let source = try fx.folder("incr-src", ["a.txt": Array("alpha".utf8), "sub/b.txt": Array("beta".utf8)])
        let tarTool = try #require(Subprocess.which("tar")), zstdTool = try #require(Subprocess.which("zstd"), "zstd is not installed: run scripts/setup")
        let incremental = fx.dir.path("incr.tar")
        let made = try Subprocess.run(tarTool, ["-g", fx.dir.path("snapshot"), "-cf", incremental, "-C", source, "."])
        #expect(made.status == 0, "\(made.stderr)")
        let plain = fx.dir.path("plain.tar")
        #expect(try Subprocess.run(tarTool, ["-cf", plain, "-C", source, "."]).status == 0)
        #expect(try Subprocess.run(zstdTool, ["-q", "-f", plain, "-o", fx.dir.path("plain.tar.zst")]).status == 0)
        // A skippable frame (magic 0x184D2A50, 4 bytes of payload) before the zstd frame.
        let skippable: [UInt8] = [0x50, 0x2A, 0x4D, 0x18, 4, 0, 0, 0, 1, 2, 3, 4]
        let zst = Array(try Data(contentsOf: URL(fileURLWithPath: fx.dir.path("plain.tar.zst"))))
        try Data(skippable + zst).write(to: URL(fileURLWithPath: fx.dir.path("skippable.tar.zst")))
        for (index, path) in [incremental, fx.dir.path("skippable.tar.zst")].enumerated() {
            try Self.expectSealedExactly(fx, path, id: "tool-\(index)", ["a.txt": Array("alpha".utf8), "sub/b.txt": Array("beta".utf8)])
        }
    }

    @Test("what tools write seals (second review): pixz's index after the tar, a 32 MiB tape record, Windows backslash names, a code-page name with a UTF-8 name field")
    func toolQuirks() throws {
        let fx = try DossierFixture()
        let tar = fx.dir.path("case.tar")
        try Self.python(Self.makeTar, [tar])
        // pixz: its index (magic A6 4C 32 2E D6 14 AE DB, then offsets) after the end blocks, in the xz stream.
        let pixz = fx.dir.path("case.tpxz")
        try Self.python("import lzma,sys; d=open(sys.argv[1],'rb').read(); open(sys.argv[2],'wb').write(lzma.compress(d+bytes.fromhex('a64c322ed614aedb')+b'a.txt\\0'+bytes(8)))", [tar, pixz])
        // Anything else there stays refused, also in an xz.
        let junk = fx.dir.path("junk.tar.xz")
        try Self.python("import lzma,sys; d=open(sys.argv[1],'rb').read(); open(sys.argv[2],'wb').write(lzma.compress(d+bytes.fromhex('a64c322ed614aedc')))", [tar, junk])
        try Self.expectRefused(fx, junk, "data follows the end of the tar")
        // A 32 MiB record of zeros after the end blocks (tar -b 65536).
        let record = fx.dir.path("record.tar")
        try Self.python("import sys; d=open(sys.argv[1],'rb').read(); open(sys.argv[2],'wb').write(d+bytes((32<<20)-len(d)))", [tar, record])
        // PowerShell 5's Compress-Archive: backslashes; Info-ZIP on Windows: CP437 + a 0x7075 UTF-8 name.
        let backslash = fx.dir.path("backslash.zip"), unicode = fx.dir.path("unicode-field.zip")
        try Self.python("import zipfile,sys\nz=zipfile.ZipFile(sys.argv[1],'w',zipfile.ZIP_DEFLATED)\nzi=zipfile.ZipInfo('Dir\\\\file.txt'); zi.create_system=0; zi.external_attr=0x20; z.writestr(zi,b'bs')\nz.close()", [backslash])
        try Self.python("""
            import zipfile,struct,zlib,sys
            n='Grüße.txt'; raw=n.encode('cp437'); u=n.encode()
            zipfile.ZipInfo._encodeFilenameFlags=lambda s:(raw,s.flag_bits)
            zi=zipfile.ZipInfo(n); zi.create_system=0
            zi.extra=struct.pack('<HHBI',0x7075,5+len(u),1,zlib.crc32(raw))+u
            z=zipfile.ZipFile(sys.argv[1],'w',zipfile.ZIP_DEFLATED); z.writestr(zi,b'data'); z.close()
            """, [unicode])
        let expected: [(String, [String: [UInt8]])] = [
            (pixz, ["a.txt": Array(String(repeating: "line of the case file\n", count: 4800).utf8), "b.txt": Array("second document\n".utf8)]),
            (record, ["a.txt": Array(String(repeating: "line of the case file\n", count: 4800).utf8), "b.txt": Array("second document\n".utf8)]),
            (backslash, ["Dir/file.txt": Array("bs".utf8)]),
            (unicode, ["Grüße.txt": Array("data".utf8)]),
        ]
        for (index, (path, files)) in expected.enumerated() {
            try Self.expectSealedExactly(fx, path, id: "quirk-\(index)", files)
        }
    }

    @Test("compressions the README does not list (uuencode, …) are refused, not decoded by whatever libarchive or PATH offers")
    func unlistedCompression() throws {
        let fx = try DossierFixture()
        let tar = fx.dir.path("case.tar")
        try Self.python(Self.makeTar, [tar])
        let uu = fx.dir.path("case.tar.uu")
        try Self.python("import binascii,sys\nd=open(sys.argv[1],'rb').read()\nw=open(sys.argv[2],'wb'); w.write(b'begin 644 case.tar\\n')\nfor i in range(0,len(d),45): w.write(binascii.b2a_uu(d[i:i+45]))\nw.write(b'`\\nend\\n')", [tar, uu])
        try Self.expectRefused(fx, uu, "is compressed with uuencode, which sealing does not read")
    }

    @Test("an archive that holds nothing — zeros, an empty zip, a tar of end blocks — is refused, not sealed as an empty dossier")
    func emptyArchives() throws {
        let fx = try DossierFixture()
        let inputs: [(String, [UInt8])] = [
            ("zeros.zip", [UInt8](repeating: 0, count: 5 << 20)), ("zeros.tar", [UInt8](repeating: 0, count: 1024)),
            ("empty.zip", [0x50, 0x4B, 0x05, 0x06] + [UInt8](repeating: 0, count: 18)),
            ("zeros-then-data.7z", [UInt8](repeating: 0, count: 1024) + (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 7919) }),
        ]
        for (name, content) in inputs {
            try Data(content).write(to: URL(fileURLWithPath: fx.dir.path(name)))
            try Self.expectRefused(fx, fx.dir.path(name), "holds no files or folders")
        }
    }

    @Test("a zip folder entry that carries data is refused (its bytes would be dropped)")
    func folderWithData() throws {
        let fx = try DossierFixture()
        let zip = fx.dir.path("folder-data.zip")
        try Self.python("import sys,zipfile\nz=zipfile.ZipFile(sys.argv[1],'w')\nz.writestr('a.txt','a')\nz.writestr('notadir/','x'*400)\nz.close()", [zip])
        try Self.expectRefused(fx, zip, "folder entry")
    }

    @Test("a zip entry whose Unix mode says named pipe is sealed as the regular file every extractor makes of it (with its data, as Info-ZIP's zip -FI stores it); device and socket entries are refused")
    func zipSpecialFiles() throws {
        let fx = try DossierFixture()
        // unzip, bsdtar, 7z and Python's zipfile all extract a pipe entry as a regular file
        // holding the entry's data (review of session 19: refusing it refused valid zips).
        /// A zip made "on Unix" (create_system 3) whose entries carry these modes and data.
        func zip(_ path: String, _ entries: [(String, Int, String)]) throws {
            let list = entries.map { "('\($0.0)',\($0.1),b'\($0.2)')" }.joined(separator: ",")
            try Self.python("""
                import sys,zipfile
                z=zipfile.ZipFile(sys.argv[1],'w')
                for name,mode,data in [\(list)]:
                    zi=zipfile.ZipInfo(name); zi.create_system=3; zi.external_attr=mode<<16; z.writestr(zi,data)
                z.close()
                """, [path])
        }
        let pipes = fx.dir.path("pipes.zip")
        try zip(pipes, [("a.txt", 0o100644, "data"), ("run.sh", 0o100755, "data"), ("fed-pipe", 0o010644, "fed through"), ("empty-pipe", 0o010644, "")])
        try Self.expectSealedExactly(fx, pipes, id: "pipes", ["a.txt": Array("data".utf8), "run.sh": Array("data".utf8),
                                                             "fed-pipe": Array("fed through".utf8), "empty-pipe": []])
        for (name, mode) in [("char-device", 0o020644), ("block-device", 0o060644), ("socket", 0o140755)] {
            let path = fx.dir.path(name + ".zip")
            try zip(path, [("a.txt", 0o100644, "a"), (name, mode, "")])
            try Self.expectRefused(fx, path, "\(name) is a special file")
        }
    }

    @Test("an archive that changes while it is read stops the seal")
    func changedWhileRead() throws {
        let fx = try DossierFixture()
        let tar = fx.dir.path("changing.tar")
        try Self.python("""
            import io,sys,tarfile
            t=tarfile.open(sys.argv[1],'w',format=tarfile.PAX_FORMAT)
            for n in range(4):
                data=bytes([65+n])*(1<<20); i=tarfile.TarInfo('f%d.txt'%n); i.size=len(data); t.addfile(i,io.BytesIO(data))
            t.close()
            """, [tar])
        let size = try FileManager.default.attributesOfItem(atPath: tar)[.size] as! Int
        let changed = CallCounter()
        do {
            let receipt = try fx.seal(tar, id: "changing", to: fx.dir.path("changing.dossier"), options: SealOptions(progress: { _, _ in
                guard changed.next() == 1, let handle = FileHandle(forUpdatingAtPath: tar) else { return }
                // Same size, new bytes near the end (not yet read).
                try? handle.seek(toOffset: UInt64(size - 4096))
                handle.write(Data(repeating: 0x5A, count: 10))
                try? handle.close()
            }))
            Issue.record("sealed an archive that changed: \(receipt.manifest.fileCount) files")
        } catch let error as DossierError {
            #expect(error.kind == .source && error.reason.contains("changed while it was read"), "\(error)")
        }
        #expect(changed.value >= 1)
        #expect(!FileSystem.exists(fx.dir.path("changing.dossier")))
    }
}
