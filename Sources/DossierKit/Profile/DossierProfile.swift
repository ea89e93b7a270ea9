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
        /// A POSIX extended regular expression the whole value must match.
        public let pattern: String?
        let matcher: MetadataPattern?
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

    /// Parses a profile. Errors name the line of the problem. Strict: an unknown key, a value
    /// of the wrong type or an impossible range is an error, never a rule quietly switched off.
    public init(json bytes: [UInt8], source: String = "profile") throws(DossierError) {
        let value: JSONValue
        do { value = try JSONValue.parse(bytes, maxDepth: 16, maxBytes: 4 << 20) } catch {
            throw DossierError(.profile, "\(source) is not valid JSON: \(error.description)")
        }
        let locator = LineLocator(bytes)
        func fail(_ what: String, near key: String? = nil) -> DossierError {
            DossierError(.profile, "\(source)\(key.flatMap(locator.line(of:)).map { " line \($0)" } ?? ""): \(what)")
        }
        let schema = ProfileSchema(fail: fail)
        let root = try schema.object(value, "the profile", known: ["profile", "version", "title", "metadataFile", "metadata", "sections",
                                                                  "allowedMediaTypes", "allowExtraSections", "publicFields", "description"])
        guard let id = try schema.string(root, "profile"), DossierID.isValid(id) else { throw fail("\"profile\" must be an id like community-corrections", near: "profile") }
        guard let version = try schema.string(root, "version"), !version.isEmpty else { throw fail("\"version\" must be a string like 1.0", near: "version") }
        _ = try schema.string(root, "description")
        self.id = id
        self.version = version
        self.title = try schema.string(root, "title") ?? id
        let metadataFile = try schema.string(root, "metadataFile")
        if let metadataFile, metadataFile.isEmpty || metadataFile.contains("/") || metadataFile == "." || metadataFile == ".." || metadataFile.contains("\0") {
            throw fail("\"metadataFile\" must be a file name in the case folder, like dossier.json (no folders, no ..)", near: "metadataFile")
        }
        self.metadataFile = metadataFile
        var fields: [Field] = []
        for item in try schema.array(root, "metadata") ?? [] {
            let o = try schema.object(item, "a metadata rule", known: ["field", "type", "required", "allowed", "pattern", "description"], near: "metadata")
            guard let name = try schema.string(o, "field", near: "metadata") else { throw fail("each metadata rule needs a \"field\"", near: "metadata") }
            let kindText = try schema.string(o, "type", near: name) ?? "string"
            guard let kind = Field.Kind(rawValue: kindText) else {
                throw fail("metadata field \(name): type \"\(kindText)\" is not string, date, integer or boolean", near: name)
            }
            _ = try schema.string(o, "description", near: name)
            let pattern = try schema.string(o, "pattern", near: name)
            var matcher: MetadataPattern?
            if let pattern {
                do { matcher = try MetadataPattern(pattern) } catch { throw fail("metadata field \(name): \(error.reason)", near: name) }
            }
            fields.append(Field(name: name, kind: kind, required: try schema.bool(o, "required", near: name) ?? false,
                                allowed: try schema.strings(o, "allowed", near: name), pattern: pattern, matcher: matcher))
        }
        self.fields = fields
        guard let sectionList = try schema.array(root, "sections"), !sectionList.isEmpty else { throw fail("\"sections\" must list the sections", near: "sections") }
        var sections: [Section] = []
        for item in sectionList {
            let o = try schema.object(item, "a section", known: ["folder", "title", "required", "when", "documents", "description"], near: "sections")
            guard let folder = try schema.string(o, "folder", near: "sections"), !folder.contains("/"), !folder.isEmpty, folder != ".", folder != ".." else {
                throw fail("each section needs a \"folder\" (a top-level folder name)", near: "sections")
            }
            var when: Condition?
            if let w = o["when"], w != .null {
                let condition = try schema.object(w, "\"when\" of section \(folder)", known: ["field", "equals"], near: folder)
                guard let field = try schema.string(condition, "field", near: folder), let equals = try schema.string(condition, "equals", near: folder) else {
                    throw fail("section \(folder): \"when\" needs \"field\" and \"equals\"", near: folder)
                }
                when = Condition(field: field, equals: equals)
            }
            _ = try schema.string(o, "description", near: folder)
            var documents: [DocumentRule] = []
            for doc in try schema.array(o, "documents", near: folder) ?? [] {
                let d = try schema.object(doc, "a document rule of section \(folder)", known: ["name", "description", "mediaTypes", "min", "max"], near: folder)
                guard let name = try schema.string(d, "name", near: folder) else { throw fail("section \(folder): each document rule needs a \"name\" pattern", near: folder) }
                let min = try schema.count(d, "min", near: name) ?? 1
                let max = try schema.count(d, "max", near: name)
                if let max, max < min { throw fail("section \(folder): document \(name) has max < min", near: name) }
                documents.append(DocumentRule(name: name, mediaTypes: try schema.strings(d, "mediaTypes", near: name),
                                              min: min, max: max, description: try schema.string(d, "description", near: name)))
            }
            sections.append(Section(folder: folder, title: try schema.string(o, "title", near: folder) ?? folder,
                                    required: try schema.bool(o, "required", near: folder) ?? true, when: when, documents: documents))
        }
        self.sections = sections
        self.allowedMediaTypes = try schema.strings(root, "allowedMediaTypes")
        self.allowExtraSections = try schema.bool(root, "allowExtraSections") ?? false
        self.publicFields = try schema.strings(root, "publicFields") ?? []
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

/// Typed access to a profile's JSON: a missing key (or `null`) is nil, a key of the wrong
/// type or one the schema does not know is an error naming it.
private struct ProfileSchema {
    let fail: (String, String?) -> DossierError

    func object(_ value: JSONValue, _ what: String, known: Set<String>, near: String? = nil) throws(DossierError) -> [String: JSONValue] {
        guard let object = value.objectValue else { throw fail("\(what) must be a JSON object", near) }
        if let unknown = Set(object.keys).subtracting(known).sorted().first {
            throw fail("unknown field \"\(unknown)\" in \(what) (known: \(known.sorted().joined(separator: ", ")))", unknown)
        }
        return object
    }

    func string(_ object: [String: JSONValue], _ key: String, near: String? = nil) throws(DossierError) -> String? {
        guard let value = object[key], value != .null else { return nil }
        guard let text = value.stringValue else { throw fail("\"\(key)\" must be a string", near ?? key) }
        return text
    }

    func bool(_ object: [String: JSONValue], _ key: String, near: String? = nil) throws(DossierError) -> Bool? {
        guard let value = object[key], value != .null else { return nil }
        guard let flag = value.boolValue else { throw fail("\"\(key)\" must be true or false (without quotes)", near ?? key) }
        return flag
    }

    /// A number of documents: an integer 0…1,000,000.
    func count(_ object: [String: JSONValue], _ key: String, near: String? = nil) throws(DossierError) -> Int? {
        guard let value = object[key], value != .null else { return nil }
        guard let number = value.integerValue, (0...1_000_000).contains(number) else {
            throw fail("\"\(key)\" must be a whole number from 0 to 1000000 (without quotes)", near ?? key)
        }
        return Int(number)
    }

    func array(_ object: [String: JSONValue], _ key: String, near: String? = nil) throws(DossierError) -> [JSONValue]? {
        guard let value = object[key], value != .null else { return nil }
        guard let items = value.arrayValue else { throw fail("\"\(key)\" must be a list [ … ]", near ?? key) }
        return items
    }

    func strings(_ object: [String: JSONValue], _ key: String, near: String? = nil) throws(DossierError) -> [String]? {
        guard let items = try array(object, key, near: near) else { return nil }
        var strings: [String] = []
        for item in items {
            guard let text = item.stringValue else { throw fail("\"\(key)\" must be a list of strings", near ?? key) }
            strings.append(text)
        }
        return strings
    }
}
