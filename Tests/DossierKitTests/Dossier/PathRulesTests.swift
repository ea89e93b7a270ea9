import Testing
@testable import DossierKit

@Suite("Paths: collisions and media types")
struct PathRulesTests {
    func collision(_ paths: [String]) -> String? {
        var detector = DossierPath.CollisionDetector()
        do {
            for path in paths { try detector.insert(path) }
            return nil
        } catch { return error.description }
    }

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
    }

    @Test("distinct names and parents named after their children are fine")
    func noCollisions() {
        #expect(collision(["a", "a/x", "a/y", "b", "b/x"]) == nil)
        #expect(collision(["a/x", "a"]) == nil)  // a parent entry after its child
        #expect(collision(["a/b/c", "a/b", "a", "a/b/d"]) == nil)
        #expect(collision(["01_调查评估/意见书.txt", "01_调查评估/意见书.pdf", "02_报到接收/意见书.txt"]) == nil)
        #expect(collision(["straße", "strasse"]) == nil)  // different spellings, not case variants
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
