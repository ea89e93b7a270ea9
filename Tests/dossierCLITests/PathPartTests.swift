import Foundation
import Testing
@testable import dossier

/// The CLI's path splitting (keygen prefixes, ledger folders, `log ./case`): by bytes,
/// for every name — Foundation's `deletingLastPathComponent` traps on one-character names.
@Suite("dossier CLI: parts of a path")
struct PathPartTests {
    @Test("folderPart and lastPart", arguments: [
        ("k", "", "k"), ("é", "", "é"), ("ab", "", "ab"), ("./k", ".", "k"), ("a/b", "a", "b"), ("a/b/", "a", "b"),
        ("/k", "/", "k"), ("/", "/", "/"), ("//k", "/", "k"), ("a//b", "a", "b"), ("/a/b/c", "/a/b", "c"),
        ("x/\u{301}y", "x", "\u{301}y"), ("", "", ""),
    ])
    func parts(_ path: String, _ folder: String, _ last: String) {
        #expect(folderPart(of: path).utf8.elementsEqual(folder.utf8), "\(path)")
        #expect(lastPart(of: path).utf8.elementsEqual(last.utf8), "\(path)")
    }
}
