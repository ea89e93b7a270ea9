import Foundation
import Testing
@testable import DossierKit

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

    @Test("FORMAT.md §2.1's table of media types by extension is the code's table")
    func mediaTypeTable() throws {
        let format = try String(contentsOf: Self.root.appendingPathComponent("docs/FORMAT.md"), encoding: .utf8)
        let section = try #require(format.range(of: "### 2.1 Media types\n"))
        let end = try #require(format.range(of: "\n## ", range: section.upperBound..<format.endIndex))
        var table: [String: String] = [:]
        for line in format[section.upperBound..<end.lowerBound].split(separator: "\n") where line.hasPrefix("| `") {
            let cells = line.split(separator: "`")
            #expect(cells.count >= 4, "\(line)")
            if cells.count >= 4 { table[String(cells[1])] = String(cells[3]) }
        }
        #expect(table == MediaType.byExtension)
        for (ext, type) in MediaType.byExtension {
            #expect(MediaType.detect(path: "d/x." + ext.uppercased(), head: []) == type, "\(ext)")
        }
    }
}
