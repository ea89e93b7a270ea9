import Foundation
import Testing

/// The README's Swift example is the code of `Examples/SealAndOpen`, which
/// `scripts/run-examples` builds and runs: the example the README shows cannot drift from
/// code that compiles and works (it once opened a dossier whose history did not exist).
@Suite("README example")
struct ReadmeExampleTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    @Test("the README's \"Using DossierKit from Swift\" block is the code between the markers of Examples/SealAndOpen")
    func sameCode() throws {
        let readme = try String(contentsOf: Self.root.appendingPathComponent("README.md"), encoding: .utf8)
        let example = try String(contentsOf: Self.root.appendingPathComponent("Examples/SealAndOpen/main.swift"), encoding: .utf8)
        let section = try #require(readme.range(of: "## Using DossierKit from Swift\n"))
        let start = try #require(readme.range(of: "```swift\nimport DossierKit\n\n", range: section.upperBound..<readme.endIndex))
        let end = try #require(readme.range(of: "```\n", range: start.upperBound..<readme.endIndex))
        let shown = readme[start.upperBound..<end.lowerBound]
        let begin = try #require(example.range(of: "    // README begin\n"))
        let stop = try #require(example.range(of: "    // README end\n"))
        let code = example[begin.upperBound..<stop.lowerBound].split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix("    ") ? $0.dropFirst(4) : $0 }.joined(separator: "\n")
        #expect(String(shown) == code, "README:\n\(shown)\nexample:\n\(code)")
        #expect(code.contains("Dossier.open(") && code.contains("Dossier.seal("))
    }
}
