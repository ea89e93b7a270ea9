#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A dossier profile: the standard template a case folder must meet before it is sealed
/// (in the spirit of bagit-profiles). JSON, documented in docs/FORMAT.md §9.
public struct DossierProfile: Sendable {
    /// A metadata field of the dossier's metadata file.
    public struct Field: Sendable {
        /// The type a value must have: a JSON string; a string `YYYY-MM-DD` that is a date of
        /// the calendar; a JSON integer; or `true`/`false`.
        public enum Kind: String, Sendable { case string, date, integer, boolean }
        /// The key in the metadata file's top-level object.
        public let name: String
        /// The type its value must have (`.string` when the profile names none).
        public let kind: Kind
        /// Whether the field must be present (default false).
        public let required: Bool
        /// The values allowed, compared as text (integers in decimal, booleans as
        /// `true`/`false`); nil allows any.
        public let allowed: [String]?
        /// A POSIX extended regular expression the whole value must match.
        public let pattern: String?
        let matcher: MetadataPattern?
    }

    /// A condition on a metadata field.
    public struct Condition: Sendable {
        /// The metadata field looked at.
        public let field: String
        /// The value it must have for the condition to hold, compared as text (strings as
        /// they are, integers in decimal, booleans as `true`/`false`); unset never holds.
        public let equals: String
    }

    /// A rule for the documents of a section.
    public struct DocumentRule: Sendable {
        /// A shell-style pattern (`*`, `?`, `[...]`) matched against the file name.
        public let name: String
        /// The media types the matching files may have, as detected from their extension and
        /// first bytes (e.g. "application/pdf"); nil allows any.
        public let mediaTypes: [String]?
        /// The fewest matching files, 0…1,000,000 (default 1).
        public let min: Int
        /// The most matching files, at least `min`; nil for no limit.
        public let max: Int?
        /// What the documents are, for messages; nil says "documents named NAME".
        public let description: String?
    }

    /// A section: a top-level folder of the case folder.
    public struct Section: Sendable {
        /// The folder's name, directly in the case folder (no "/").
        public let folder: String
        /// The section's name for people; the folder name when the profile gives none.
        public let title: String
        /// Whether the section must be present (default true). A section with `when` is
        /// required exactly when its condition holds, whatever this says.
        public let required: Bool
        /// When set, the section is required if the condition holds and must be absent otherwise.
        public let when: Condition?
        /// Rules for the files anywhere below the folder, matched by file name.
        public let documents: [DocumentRule]
    }

    /// The profile's id (by the `DossierID` rules), recorded in the manifest of a dossier
    /// sealed under it.
    public let id: String
    /// The profile's version, a non-empty string (e.g. "1.0"), recorded with the id.
    public let version: String
    /// The profile's name for people; the id when the profile gives none.
    public let title: String
    /// The name of the JSON metadata file at the top of the case folder (e.g. dossier.json),
    /// whose top-level object `fields` are checked against; nil when the profile names none.
    public let metadataFile: String?
    /// The rules for the metadata fields, in the profile's order.
    public let fields: [Field]
    /// The sections, in the profile's order (at least one).
    public let sections: [Section]
    /// The media types every file below a top-level folder may have; nil allows any.
    public let allowedMediaTypes: [String]?
    /// Whether top-level folders that are not sections are allowed (default false).
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
        // `at`: where in the profile the problem is, as keys and list positions from the top
        // (the text is scanned for lines only when there is an error to report).
        func fail(_ what: String, at place: [String] = []) -> DossierError {
            DossierError(.profile, "\(source)\(JSONLineLocator(bytes).line(of: place).map { " line \($0)" } ?? ""): \(what)")
        }
        let schema = ProfileSchema(fail: fail)
        let root = try schema.object(value, "the profile", known: ["profile", "version", "title", "metadataFile", "metadata", "sections",
                                                                  "allowedMediaTypes", "allowExtraSections", "publicFields", "description"])
        guard let id = try schema.string(root, "profile"), DossierID.isValid(id) else { throw fail("\"profile\" must be an id like community-corrections", at: ["profile"]) }
        guard let version = try schema.string(root, "version"), !version.isEmpty else { throw fail("\"version\" must be a string like 1.0", at: ["version"]) }
        _ = try schema.string(root, "description")
        self.id = id
        self.version = version
        self.title = try schema.string(root, "title") ?? id
        let metadataFile = try schema.string(root, "metadataFile")
        if let metadataFile, metadataFile.isEmpty || metadataFile.utf8.contains(0x2F) || metadataFile == "." || metadataFile == ".." || metadataFile.utf8.contains(0) {
            throw fail("\"metadataFile\" must be a file name in the case folder, like dossier.json (no folders, no ..)", at: ["metadataFile"])
        }
        self.metadataFile = metadataFile
        var fields: [Field] = []
        for (index, item) in (try schema.array(root, "metadata") ?? []).enumerated() {
            let place = ["metadata", String(index)]
            let o = try schema.object(item, "a metadata rule", known: ["field", "type", "required", "allowed", "pattern", "description"], at: place)
            guard let name = try schema.string(o, "field", at: place) else { throw fail("each metadata rule needs a \"field\"", at: place) }
            let kindText = try schema.string(o, "type", at: place) ?? "string"
            guard let kind = Field.Kind(rawValue: kindText) else {
                throw fail("metadata field \(name): type \"\(kindText)\" is not string, date, integer or boolean", at: place + ["type"])
            }
            _ = try schema.string(o, "description", at: place)
            let pattern = try schema.string(o, "pattern", at: place)
            var matcher: MetadataPattern?
            if let pattern {
                do { matcher = try MetadataPattern(pattern) } catch { throw fail("metadata field \(name): \(error.reason)", at: place + ["pattern"]) }
            }
            fields.append(Field(name: name, kind: kind, required: try schema.bool(o, "required", at: place) ?? false,
                                allowed: try schema.strings(o, "allowed", at: place), pattern: pattern, matcher: matcher))
        }
        self.fields = fields
        guard let sectionList = try schema.array(root, "sections"), !sectionList.isEmpty else { throw fail("\"sections\" must list the sections", at: ["sections"]) }
        var sections: [Section] = []
        for (index, item) in sectionList.enumerated() {
            let place = ["sections", String(index)]
            let o = try schema.object(item, "a section", known: ["folder", "title", "required", "when", "documents", "description"], at: place)
            guard let folder = try schema.string(o, "folder", at: place), !folder.utf8.contains(0x2F), !folder.isEmpty, folder != ".", folder != ".." else {
                throw fail("each section needs a \"folder\" (a top-level folder name)", at: place + (o["folder"] == nil ? [] : ["folder"]))
            }
            var when: Condition?
            if let w = o["when"], w != .null {
                let condition = try schema.object(w, "\"when\" of section \(folder)", known: ["field", "equals"], at: place + ["when"])
                guard let field = try schema.string(condition, "field", at: place + ["when"]),
                      let equals = try schema.string(condition, "equals", at: place + ["when"]) else {
                    throw fail("section \(folder): \"when\" needs \"field\" and \"equals\"", at: place + ["when"])
                }
                when = Condition(field: field, equals: equals)
            }
            _ = try schema.string(o, "description", at: place)
            var documents: [DocumentRule] = []
            for (position, doc) in (try schema.array(o, "documents", at: place) ?? []).enumerated() {
                let rule = place + ["documents", String(position)]
                let d = try schema.object(doc, "a document rule of section \(folder)", known: ["name", "description", "mediaTypes", "min", "max"], at: rule)
                guard let name = try schema.string(d, "name", at: rule) else { throw fail("section \(folder): each document rule needs a \"name\" pattern", at: rule) }
                let min = try schema.count(d, "min", at: rule) ?? 1
                let max = try schema.count(d, "max", at: rule)
                if let max, max < min { throw fail("section \(folder): document \(name) has max < min", at: rule + ["max"]) }
                documents.append(DocumentRule(name: name, mediaTypes: try schema.strings(d, "mediaTypes", at: rule),
                                              min: min, max: max, description: try schema.string(d, "description", at: rule)))
            }
            sections.append(Section(folder: folder, title: try schema.string(o, "title", at: place) ?? folder,
                                    required: try schema.bool(o, "required", at: place) ?? true, when: when, documents: documents))
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

/// The line of every value in a JSON text, by its place (keys and list positions from the
/// top), for error messages: a key that appears in several places is found where it is at
/// fault. The text was parsed already; anything the scan does not understand ends it.
struct JSONLineLocator {
    private var lines: [[String]: Int] = [:]

    init(_ text: [UInt8]) {
        var scanner = Scanner(text: text)
        scanner.value(at: [], depth: 0)
        lines = scanner.lines
    }

    /// The line of the value at `place`, or of its nearest enclosing value that has one.
    func line(of place: [String]) -> Int? {
        var place = place
        while true {
            if let line = lines[place] { return line }
            if place.isEmpty { return nil }
            place.removeLast()
        }
    }

    private struct Scanner {
        let text: [UInt8]
        var position = 0
        var line = 1
        var lines: [[String]: Int] = [:]

        mutating func skipSpace() {
            while position < text.count {
                switch text[position] {
                case 0x0A: line += 1
                case 0x20, 0x09, 0x0D: break
                default: return
                }
                position += 1
            }
        }

        /// A string token starting at `position` (a quote): its bytes as the key they spell.
        mutating func string() -> String? {
            let start = position
            position += 1
            while position < text.count, text[position] != 0x22 {
                position += text[position] == 0x5C ? 2 : 1
            }
            guard position < text.count else { return nil }
            position += 1
            return (try? JSONValue.parse(Array(text[start..<position])))?.stringValue
        }

        mutating func value(at place: [String], depth: Int) {
            skipSpace()
            guard position < text.count, depth <= 64 else { return }
            if lines[place] == nil { lines[place] = line }
            switch text[position] {
            case 0x7B:  // {
                position += 1
                skipSpace()
                if position < text.count, text[position] == 0x7D { position += 1; return }
                while position < text.count {
                    skipSpace()
                    let keyLine = line
                    guard position < text.count, text[position] == 0x22, let key = string() else { return }
                    lines[place + [key]] = keyLine
                    skipSpace()
                    guard position < text.count, text[position] == 0x3A else { return }
                    position += 1
                    value(at: place + [key], depth: depth + 1)
                    lines[place + [key]] = keyLine  // the key's line, not the value's
                    skipSpace()
                    guard position < text.count else { return }
                    if text[position] == 0x2C { position += 1; continue }
                    if text[position] == 0x7D { position += 1 }
                    return
                }
            case 0x5B:  // [
                position += 1
                skipSpace()
                if position < text.count, text[position] == 0x5D { position += 1; return }
                var index = 0
                while position < text.count {
                    value(at: place + [String(index)], depth: depth + 1)
                    index += 1
                    skipSpace()
                    guard position < text.count else { return }
                    if text[position] == 0x2C { position += 1; continue }
                    if text[position] == 0x5D { position += 1 }
                    return
                }
            case 0x22:
                _ = string()
            default:  // number, true, false, null
                while position < text.count, !"\t\n\r ,]}".utf8.contains(text[position]) { position += 1 }
            }
        }
    }
}

/// Typed access to a profile's JSON: a missing key (or `null`) is nil, a key of the wrong
/// type or one the schema does not know is an error naming it. `at` is the place of the
/// object read; errors point at its key.
private struct ProfileSchema {
    let fail: (String, [String]) -> DossierError

    func object(_ value: JSONValue, _ what: String, known: Set<String>, at place: [String] = []) throws(DossierError) -> [String: JSONValue] {
        guard let object = value.objectValue else { throw fail("\(what) must be a JSON object", place) }
        if let unknown = Set(object.keys).subtracting(known).sorted().first {
            throw fail("unknown field \"\(unknown)\" in \(what) (known: \(known.sorted().joined(separator: ", ")))", place + [unknown])
        }
        return object
    }

    func string(_ object: [String: JSONValue], _ key: String, at place: [String] = []) throws(DossierError) -> String? {
        guard let value = object[key], value != .null else { return nil }
        guard let text = value.stringValue else { throw fail("\"\(key)\" must be a string", place + [key]) }
        return text
    }

    func bool(_ object: [String: JSONValue], _ key: String, at place: [String] = []) throws(DossierError) -> Bool? {
        guard let value = object[key], value != .null else { return nil }
        guard let flag = value.boolValue else { throw fail("\"\(key)\" must be true or false (without quotes)", place + [key]) }
        return flag
    }

    /// A number of documents: an integer 0…1,000,000.
    func count(_ object: [String: JSONValue], _ key: String, at place: [String] = []) throws(DossierError) -> Int? {
        guard let value = object[key], value != .null else { return nil }
        guard let number = value.integerValue, (0...1_000_000).contains(number) else {
            throw fail("\"\(key)\" must be a whole number from 0 to 1000000 (without quotes)", place + [key])
        }
        return Int(number)
    }

    func array(_ object: [String: JSONValue], _ key: String, at place: [String] = []) throws(DossierError) -> [JSONValue]? {
        guard let value = object[key], value != .null else { return nil }
        guard let items = value.arrayValue else { throw fail("\"\(key)\" must be a list [ … ]", place + [key]) }
        return items
    }

    func strings(_ object: [String: JSONValue], _ key: String, at place: [String] = []) throws(DossierError) -> [String]? {
        guard let items = try array(object, key, at: place) else { return nil }
        var strings: [String] = []
        for (index, item) in items.enumerated() {
            guard let text = item.stringValue else { throw fail("\"\(key)\" must be a list of strings", place + [key, String(index)]) }
            strings.append(text)
        }
        return strings
    }
}
