import Testing
@testable import DossierKit

@Suite("Paths: collisions and media types")
struct PathRulesTests {
    /// Inserts `paths` in order; a path that another one lies below is a folder, unless it
    /// is listed in `files`.
    func collision(_ paths: [String], files: Set<String> = []) -> String? {
        var detector = DossierPath.CollisionDetector()
        do {
            for path in paths { try detector.insert(path, isFolder: Self.isFolder(path, in: paths) && !files.contains(path)) }
            return nil
        } catch { return error.description }
    }

    static func isFolder(_ path: String, in paths: [String]) -> Bool { paths.contains { $0.hasPrefix(path + "/") } }

    @Test("names equal without case or Unicode normalisation collide, at any depth, with or without parent entries")
    func collisions() {
        #expect(collision(["Report.txt", "report.txt"])?.contains("collide") == true)
        #expect(collision(["a", "a/x", "A", "A/x"])?.contains("\"a\" and \"A\"") == true)
        // A hostile tar without folder entries: the parents are compared implicitly.
        #expect(collision(["A/x", "a/x"])?.contains("collide") == true)
        #expect(collision(["dir/Sub/x.txt", "dir/sub/y.txt"])?.contains("collide") == true)
        // NFC é (U+00E9) and NFD e + U+0301, as folder and as file name.
        #expect(collision(["caf\u{E9}/a", "cafe\u{301}/b"]) != nil)
        #expect(collision(["x/caf\u{E9}.txt", "x/CAFE\u{301}.TXT"])?.contains("collide") == true)
        // A folder (NFC) and a file below the same folder name in NFD: the implied folder collides.
        #expect(collision(["caf\u{E9}", "cafe\u{301}/x"])?.contains("collide") == true)
        // A folder implied by a file, and a file of the same name in another case.
        #expect(collision(["Akte/x", "akte"])?.contains("collide") == true)
        #expect(collision(["x", "x"])?.contains("duplicate") == true)
        #expect(collision(["a/x", "a/x"])?.contains("duplicate") == true)
        // Folded names are kept inline up to 31 bytes and in an array beyond: both kinds,
        // and names at the border, which must not be taken for one another.
        for length in [1, 30, 31, 32, 33, 200] {
            let name = String(repeating: "n", count: length - 1) + "Z"
            #expect(collision(["d/" + name, "d/" + name.lowercased()])?.contains("collide") == true, "\(length)")
            #expect(collision(["d/" + name, "d/" + name + "x", "d/" + String(name.dropLast())]) == nil, "\(length)")
            #expect(collision(["d/" + String(repeating: "\u{E9}", count: length), "d/" + String(repeating: "E\u{301}", count: length)])?
                .contains("collide") == true, "\(length)")
        }
    }

    @Test("case folding goes beyond lower-casing: σ/ς, ß/ẞ/ss, ﬁ/fi, ı/i collide (they were kept apart), İ/i and unrelated letters do not",
          arguments: [("\u{3C3}.txt", "\u{3C2}.txt", true), ("\u{3A3}.txt", "\u{3C2}.txt", true), ("stra\u{DF}e", "strasse", true),
                      ("\u{1E9E}", "\u{DF}", true), ("\u{1E9E}", "SS", true), ("\u{FB01}le", "file", true), ("\u{131}d", "ID", true),
                      ("\u{212A}elvin", "kelvin", true), ("\u{130}d", "id", false), ("\u{3C3}", "\u{3C4}", false), ("stra\u{DF}e", "strase", false)])
    func fullCaseFolding(_ a: String, _ b: String, _ collide: Bool) {
        #expect((collision(["d/" + a, "d/" + b]) != nil) == collide, "\(a) / \(b)")
        #expect((collision(["d/" + b, "d/" + a]) != nil) == collide, "\(b) / \(a)")
    }

    @Test("a file may not have the path of a folder, given or implied, in either order")
    func fileAndFolder() {
        // A file named like a folder only implied by a path below it (libarchive would skip
        // the file and give the folder its mode), after or before it.
        #expect(collision(["a/x", "a"], files: ["a"])?.contains("\"a\" is both a file and a folder") == true)
        #expect(collision(["a", "a/x"], files: ["a"])?.contains("\"a\" is both a file and a folder") == true)
        #expect(collision(["d/a/x", "d/a"], files: ["d/a"])?.contains("both a file and a folder") == true)
        #expect(collision(["d/a", "d/a/b/x"], files: ["d/a"])?.contains("both a file and a folder") == true)
        // A folder entry and a file of the same path, either order.
        var detector = DossierPath.CollisionDetector()
        #expect(throws: DossierPath.Violation.self) {
            try detector.insert("a", isFolder: true)
            try detector.insert("a", isFolder: false)
        }
        detector = DossierPath.CollisionDetector()
        #expect(throws: DossierPath.Violation.self) {
            try detector.insert("a", isFolder: false)
            try detector.insert("a", isFolder: true)
        }
        // Below a folder given by its parent (the walk's fast path) too.
        detector = DossierPath.CollisionDetector()
        #expect(throws: DossierPath.Violation.self) {
            try detector.insert("p", isFolder: true)
            try detector.insert("p/a/x", isFolder: false)
            try detector.insert(Array("a".utf8), below: DossierPath.Parent(bytes: Array("p".utf8), path: "p", depth: 1), path: "p/a", isFolder: false)
        }
        // A folder entry after the folder was implied, and implied again, is fine.
        #expect(collision(["a/x", "a", "a/y"]) == nil)
    }

    /// The verdict of `validate`, as the path or the violation's message.
    func verdict(_ body: () throws(DossierPath.Violation) -> String) -> String {
        do { return "ok " + (try body()) } catch { return "refused " + error.description }
    }

    @Test("the folder walk's per-component check gives the whole-path verdict, message included")
    func appendingAgreesWithWholePath() throws {
        let deep = Array(repeating: "d", count: DossierPath.maxDepth - 1).joined(separator: "/")
        let parents = ["a", "01_调查评估/sub", "x y", deep, String(repeating: "p", count: 200) + "/" + String(repeating: "q", count: 200)]
        var names: [[UInt8]] = [
            "ok.txt", "意见书.pdf", ".hidden", "..", ".", "a\\b", "CON", "con.txt", "COM\u{B9}", "x.", "x ", "tab\t", "del\u{7f}",
            "what?", "a:b", "\u{FF0E}\u{FF0E}", "a\u{2215}b", "%2e%2e", "%2F", "50%", String(repeating: "n", count: 255),
            String(repeating: "n", count: 256), String(repeating: "长", count: 85), String(repeating: "长", count: 86), "a/b", "a//b",
        ].map { Array($0.utf8) }
        names += [[0xff, 0x41], [0xc0, 0xae], [0xe2, 0x82], [0x41, 0x00, 0x42]]
        // A name that crosses the 4,096-byte limit only with a long parent.
        let longParent = (0..<17).map { _ in String(repeating: "l", count: 240) }.joined(separator: "/")
        var checked = 0
        for parentPath in parents + [longParent] {
            let parentBytes = Array(parentPath.utf8)
            let parent = try DossierPath.Parent(bytes: parentBytes, path: DossierPath.validate(parentBytes),
                                                depth: parentPath.split(separator: "/").count)
            for name in names {
                let whole = verdict { () throws(DossierPath.Violation) in try DossierPath.validate(parentBytes + [0x2f] + name) }
                let appended = verdict { () throws(DossierPath.Violation) in try DossierPath.validate(appending: name, to: parent) }
                #expect(whole == appended, "\(parentPath.prefix(40)) + \(name)")
                checked += whole.hasPrefix("refused") ? 1 : 0
            }
        }
        #expect(checked > 60)  // most of these names break a rule
    }

    @Test("the folder walk's collision check gives the whole-path verdict")
    func collisionFastPathAgrees() throws {
        // Each case: folders and files in walk order (a folder before what it holds).
        let cases: [[String]] = [
            ["Akte", "Akte/x", "Akte/X"], ["a", "a/caf\u{E9}", "a/cafe\u{301}"], ["a", "a/x", "a/x"], ["a", "a/b", "a/b/c", "a/B"],
            ["a", "a/x", "a/y", "b", "b/x"], ["调查", "调查/意见书.txt", "调查/意见书.TXT"], ["s", "s/straße", "s/strasse"],
        ]
        for paths in cases {
            var whole = DossierPath.CollisionDetector(), walk = DossierPath.CollisionDetector()
            var wholeVerdict = "ok", walkVerdict = "ok"
            for path in paths {
                do { try whole.insert(path, isFolder: Self.isFolder(path, in: paths)) } catch { wholeVerdict = error.description; break }
            }
            for path in paths {
                let bytes = Array(path.utf8)
                do {
                    if let slash = bytes.lastIndex(of: 0x2f) {
                        let parentBytes = Array(bytes[..<slash])
                        let parent = DossierPath.Parent(bytes: parentBytes, path: String(decoding: parentBytes, as: UTF8.self), depth: 1)
                        try walk.insert(Array(bytes[(slash + 1)...]), below: parent, path: path, isFolder: Self.isFolder(path, in: paths))
                    } else {
                        try walk.insert(path, isFolder: Self.isFolder(path, in: paths))
                    }
                } catch { walkVerdict = error.description; break }
            }
            #expect(wholeVerdict == walkVerdict, "\(paths)")
        }
    }

    @Test("collision keys: the A–Z-only folding of caseless CJK names equals the full folding (lower, upper, lower, NFC) on random names")
    func foldingFastPathAgrees() {
        // Pools around the fast path's edges: ASCII, CJK, kana with and without the combining
        // voicing marks, Hangul syllables and trailing jamo (which compose with them), Latin
        // with case and combining accents, Greek, fullwidth Latin (has case), Kelvin sign.
        let pools: [[Unicode.Scalar]] = [
            Array("AZaz09_-. ".unicodeScalars), Array("调查评估意见书報告㐀鿿".unicodeScalars), Array("かがカガヴぁゟ゠ヿ".unicodeScalars),
            ["\u{3099}", "\u{309A}"], Array("한국가각힣".unicodeScalars), ["\u{11A8}", "\u{1100}", "\u{1161}"],
            Array("ÉéÅßẞİıΣσς".unicodeScalars), ["\u{301}", "\u{308}", "\u{212A}", "\u{212B}", "\u{2126}"], Array("ＡＺａｚ".unicodeScalars),
        ]
        var random = SplitMix64(seed: 0xF01D)
        var fast = 0
        for _ in 0..<20_000 {
            var scalars = String.UnicodeScalarView()
            for _ in 0..<Int(1 + random.next() % 6) {
                let pool = pools[Int(random.next() % UInt64(random.next() % 3 == 0 ? pools.count : 3))]
                scalars.append(pool[Int(random.next() % UInt64(pool.count))])
            }
            let name = String(scalars)
            let bytes = Array(name.utf8)
            let expected = DossierPath.nfc(Array(name.lowercased().uppercased().lowercased().utf8))
            #expect(DossierPath.CollisionDetector.foldedBytes(bytes, name) == expected, "\(name.unicodeScalars.map { String($0.value, radix: 16) })")
            if !bytes.allSatisfy({ $0 < 0x80 }), expected == bytes.map({ (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 }) { fast += 1 }
        }
        #expect(fast > 3_000)
    }

    @Test("distinct names and parents named after their children are fine")
    func noCollisions() {
        #expect(collision(["a", "a/x", "a/y", "b", "b/x"]) == nil)
        #expect(collision(["a/x", "a"]) == nil)  // a parent entry after its child
        #expect(collision(["a/b/c", "a/b", "a", "a/b/d"]) == nil)
        #expect(collision(["01_调查评估/意见书.txt", "01_调查评估/意见书.pdf", "02_报到接收/意见书.txt"]) == nil)
        // Different spellings, but one under full Unicode case folding (CaseFolding.txt F:
        // ß → ss; ext4's casefold folds so): refused since session 17, see fullCaseFolding.
        #expect(collision(["straße", "strase"]) == nil)
    }

    @Test("media types come from the first bytes, else from the extension without case")
    func mediaTypes() {
        #expect(MediaType.detect(path: "a/scan", head: Array("%PDF-1.7".utf8)) == "application/pdf")
        #expect(MediaType.detect(path: "a/photo.txt", head: [0xff, 0xd8, 0xff, 0xe0]) == "image/jpeg")
        #expect(MediaType.detect(path: "a/b.TIF", head: [0x4d, 0x4d, 0x00, 0x2a]) == "image/tiff")
        #expect(MediaType.detect(path: "01_调查评估/意见书.TXT", head: []) == "text/plain")
        #expect(MediaType.detect(path: "x/Bericht.DocX", head: [1]) == "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
        #expect(MediaType.detect(path: "x.y/noext", head: []) == "application/octet-stream")
        #expect(MediaType.detect(path: "x/.hidden", head: []) == "application/octet-stream")
        #expect(MediaType.detect(path: "x/a.pdf.gz", head: []) == "application/octet-stream")
        #expect(MediaType.detect(path: "x/a.ｐｄｆ", head: []) == "application/octet-stream")
        #expect(MediaType.detect(path: "a.", head: []) == "application/octet-stream")
    }
}
