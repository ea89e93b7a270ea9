import Testing
@testable import dossier

@Suite("dossier list: what its text output shows")
struct ListOutputTests {
    @Test("list shows a media type only as type/subtype of RFC 6838's characters (a sealer's value with spaces could pose as the path column)")
    func listMediaTypes() {
        for plain in ["application/pdf", "text/plain", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "image/svg+xml"] {
            #expect(DossierCommand.List.shown(mediaType: plain) == plain)
        }
        for odd in ["text/plain  fake/path.pdf", "a/b/c", "", "plain", "/x", "x/", "x\u{1B}[31m/y", "text/" + String(repeating: "a", count: 128), "tëxt/plain"] {
            #expect(DossierCommand.List.shown(mediaType: odd) == "?", "\(odd)")
        }
    }
}
