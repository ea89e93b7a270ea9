#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A dossier profile: the standard template a case folder must meet before it is sealed
/// (in the spirit of bagit-profiles). JSON, documented in docs/FORMAT.md §9.
public struct DossierProfile: Sendable {
    /// A metadata field of the dossier's metadata file.
    public struct Field: Sendable {
        public enum Kind: String, Sendable { case string, date, integer, boolean }
        public let name: String
        public let kind: Kind
        public let required: Bool
        public let allowed: [String]?
        public let pattern: String?
    }

    /// A condition on a metadata field.
    public struct Condition: Sendable {
        public let field: String
        public let equals: String
    }

    /// A rule for the documents of a section.
    public struct DocumentRule: Sendable {
        /// A shell-style pattern (`*`, `?`, `[...]`) matched against the file name.
        public let name: String
        public let mediaTypes: [String]?
        public let min: Int
        public let max: Int?
        public let description: String?
    }

    /// A section: a top-level folder of the case folder.
    public struct Section: Sendable {
        public let folder: String
        public let title: String
        public let required: Bool
        /// When set, the section is required if the condition holds and must be absent otherwise.
        public let when: Condition?
        public let documents: [DocumentRule]
    }

    public let id: String
    public let version: String
    public let title: String
    public let metadataFile: String?
    public let fields: [Field]
    public let sections: [Section]
    public let allowedMediaTypes: [String]?
    public let allowExtraSections: Bool
    /// Metadata fields the profile allows to be disclosed in the public manifest.
    public let publicFields: [String]
    /// SHA-256 (hex) of the profile file's bytes, recorded in the manifest.
    public let sha256: String

    /// Parses a profile. Errors name the line (and column) of the problem.
    public init(json bytes: [UInt8], source: String = "profile") throws(DossierError) {
        let value: JSONValue
        do { value = try JSONValue.parse(bytes, maxDepth: 16, maxBytes: 4 << 20) } catch {
            throw DossierError(.profile, "\(source) is not valid JSON: \(error.description)")
        }
        let locator = LineLocator(bytes)
        func fail(_ what: String, near key: String? = nil) -> DossierError {
            DossierError(.profile, "\(source)\(key.flatMap(locator.line(of:)).map { " line \($0)" } ?? ""): \(what)")
        }
        guard let root = value.objectValue else { throw fail("the profile must be a JSON object") }
        let known: Set = ["profile", "version", "title", "metadataFile", "metadata", "sections", "allowedMediaTypes", "allowExtraSections", "publicFields", "description"]
        if let unknown = Set(root.keys).subtracting(known).sorted().first { throw fail("unknown field \"\(unknown)\"", near: unknown) }
        guard let id = root["profile"]?.stringValue, DossierID.isValid(id) else { throw fail("\"profile\" must be an id like community-corrections", near: "profile") }
        guard let version = root["version"]?.stringValue, !version.isEmpty else { throw fail("\"version\" must be a string like 1.0", near: "version") }
        self.id = id
        self.version = version
        self.title = root["title"]?.stringValue ?? id
        self.metadataFile = root["metadataFile"]?.stringValue
        var fields: [Field] = []
        for item in root["metadata"]?.arrayValue ?? [] {
            guard let o = item.objectValue, let name = o["field"]?.stringValue else { throw fail("each metadata rule needs a \"field\"", near: "metadata") }
            let kindText = o["type"]?.stringValue ?? "string"
            guard let kind = Field.Kind(rawValue: kindText) else {
                throw fail("metadata field \(name): type \"\(kindText)\" is not string, date, integer or boolean", near: name)
            }
            let pattern = o["pattern"]?.stringValue
            if let pattern, (try? Regex(pattern)) == nil { throw fail("metadata field \(name): the pattern is not a valid regular expression", near: name) }
            fields.append(Field(name: name, kind: kind, required: o["required"]?.boolValue ?? false,
                                allowed: o["allowed"]?.arrayValue?.compactMap(\.stringValue), pattern: pattern))
        }
        self.fields = fields
        guard let sectionList = root["sections"]?.arrayValue, !sectionList.isEmpty else { throw fail("\"sections\" must list the sections", near: "sections") }
        var sections: [Section] = []
        for item in sectionList {
            guard let o = item.objectValue, let folder = o["folder"]?.stringValue, !folder.contains("/"), !folder.isEmpty else {
                throw fail("each section needs a \"folder\" (a top-level folder name)", near: "sections")
            }
            var when: Condition?
            if let w = o["when"] {
                guard let field = w["field"]?.stringValue, let equals = w["equals"]?.stringValue else {
                    throw fail("section \(folder): \"when\" needs \"field\" and \"equals\"", near: folder)
                }
                when = Condition(field: field, equals: equals)
            }
            var documents: [DocumentRule] = []
            for doc in o["documents"]?.arrayValue ?? [] {
                guard let name = doc["name"]?.stringValue else { throw fail("section \(folder): each document rule needs a \"name\" pattern", near: folder) }
                let min = Int(doc["min"]?.integerValue ?? 1)
                let max = doc["max"]?.integerValue.map { Int($0) }
                if let max, max < min { throw fail("section \(folder): document \(name) has max < min", near: name) }
                documents.append(DocumentRule(name: name, mediaTypes: doc["mediaTypes"]?.arrayValue?.compactMap(\.stringValue),
                                              min: min, max: max, description: doc["description"]?.stringValue))
            }
            sections.append(Section(folder: folder, title: o["title"]?.stringValue ?? folder, required: o["required"]?.boolValue ?? true,
                                    when: when, documents: documents))
        }
        self.sections = sections
        self.allowedMediaTypes = root["allowedMediaTypes"]?.arrayValue?.compactMap(\.stringValue)
        self.allowExtraSections = root["allowExtraSections"]?.boolValue ?? false
        self.publicFields = root["publicFields"]?.arrayValue?.compactMap(\.stringValue) ?? []
        self.sha256 = Hex.encode(SHA256.hash(bytes))
    }

    /// Loads a profile from a file, or a named profile (`NAME.json`) from a folder.
    public static func load(_ pathOrName: String, folder: String? = nil) throws(DossierError) -> DossierProfile {
        var path = pathOrName
        if let folder, !FileManager.default.fileExists(atPath: pathOrName) { path = folder + "/" + pathOrName + ".json" }
        let bytes: [UInt8]
        do { bytes = try FileSource(path: path).readAll(limit: 4 << 20) } catch {
            throw DossierError(.profile, "cannot read the profile \(path): \(error)")
        }
        return try DossierProfile(json: bytes, source: path)
    }
}

/// Finds the line of a key's first occurrence, for error messages.
struct LineLocator {
    let text: [UInt8]
    init(_ text: [UInt8]) { self.text = text }
    func line(of key: String) -> Int? {
        let needle = Array("\"\(key)\"".utf8)
        guard needle.count <= text.count else { return nil }
        for i in 0...(text.count - needle.count) where text[i..<(i + needle.count)].elementsEqual(needle) {
            return text[0..<i].filter { $0 == 0x0a }.count + 1
        }
        return nil
    }
}
