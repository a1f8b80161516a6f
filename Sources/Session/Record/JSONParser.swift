/// Parses JSON text into `JSON`, keeping object keys in order (a record's checkpoint fields and
/// header read back exactly as written).
struct JSONParser {
    struct Failure: Error { var message: String }

    private let bytes: [UInt8]
    private var i = 0
    /// Objects and arrays open now. A record's JSON is never deeper than 4; the limit keeps a
    /// hostile line from recursing the stack away.
    private var depth = 0
    static let maxDepth = 64

    static func parse<C: Collection>(_ text: C) throws(Failure) -> JSON where C.Element == UInt8 {
        var parser = JSONParser(bytes: Array(text))
        let value = try parser.value()
        parser.skipSpace()
        guard parser.i == parser.bytes.count else { throw Failure(message: "text after the JSON value at byte \(parser.i)") }
        return value
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    private mutating func skipSpace() {
        while i < bytes.count, [0x20, 0x09, 0x0a, 0x0d].contains(bytes[i]) { i += 1 }
    }

    private mutating func value() throws(Failure) -> JSON {
        skipSpace()
        guard i < bytes.count else { throw Failure(message: "unexpected end") }
        switch bytes[i] {
        case 0x7b, 0x5b:
            guard depth < Self.maxDepth else { throw Failure(message: "nested deeper than \(Self.maxDepth) at byte \(i)") }
            depth += 1
            defer { depth -= 1 }
            return bytes[i] == 0x7b ? try object() : try array()
        case 0x22: return .string(try string())
        case 0x74: try literal("true"); return .bool(true)
        case 0x66: try literal("false"); return .bool(false)
        case 0x6e: try literal("null"); return .null
        default: return try number()
        }
    }

    private mutating func object() throws(Failure) -> JSON {
        i += 1
        var pairs: [(String, JSON)] = []
        skipSpace()
        if i < bytes.count, bytes[i] == 0x7d { i += 1; return .object(pairs) }
        while true {
            skipSpace()
            guard i < bytes.count, bytes[i] == 0x22 else { throw Failure(message: "expected a key at byte \(i)") }
            let key = try string()
            skipSpace()
            guard i < bytes.count, bytes[i] == 0x3a else { throw Failure(message: "expected ':' at byte \(i)") }
            i += 1
            pairs.append((key, try value()))
            skipSpace()
            guard i < bytes.count else { throw Failure(message: "unterminated object") }
            if bytes[i] == 0x2c { i += 1; continue }
            if bytes[i] == 0x7d { i += 1; return .object(pairs) }
            throw Failure(message: "expected ',' or '}' at byte \(i)")
        }
    }

    private mutating func array() throws(Failure) -> JSON {
        i += 1
        var items: [JSON] = []
        skipSpace()
        if i < bytes.count, bytes[i] == 0x5d { i += 1; return .array(items) }
        while true {
            items.append(try value())
            skipSpace()
            guard i < bytes.count else { throw Failure(message: "unterminated array") }
            if bytes[i] == 0x2c { i += 1; continue }
            if bytes[i] == 0x5d { i += 1; return .array(items) }
            throw Failure(message: "expected ',' or ']' at byte \(i)")
        }
    }

    private mutating func string() throws(Failure) -> String {
        i += 1
        var out: [UInt8] = []
        while i < bytes.count {
            let b = bytes[i]
            i += 1
            switch b {
            case 0x22: return String(decoding: out, as: UTF8.self)
            case 0x5c:
                guard i < bytes.count else { break }
                let e = bytes[i]
                i += 1
                switch e {
                case 0x6e: out.append(0x0a)
                case 0x74: out.append(0x09)
                case 0x72: out.append(0x0d)
                case 0x62: out.append(0x08)
                case 0x66: out.append(0x0c)
                case 0x75:
                    guard i + 4 <= bytes.count, let code = UInt32(String(decoding: bytes[i..<i + 4], as: UTF8.self), radix: 16),
                          let scalar = Unicode.Scalar(code) else { throw Failure(message: "bad \\u escape at byte \(i)") }
                    i += 4
                    out.append(contentsOf: Array(String(Character(scalar)).utf8))
                default: out.append(e)
                }
            default: out.append(b)
            }
        }
        throw Failure(message: "unterminated string")
    }

    private mutating func literal(_ word: String) throws(Failure) {
        let w = Array(word.utf8)
        guard i + w.count <= bytes.count, Array(bytes[i..<i + w.count]) == w else { throw Failure(message: "bad literal at byte \(i)") }
        i += w.count
    }

    private mutating func number() throws(Failure) -> JSON {
        let start = i
        while i < bytes.count, (0x30...0x39).contains(bytes[i]) || [0x2d, 0x2b, 0x2e, 0x65, 0x45].contains(bytes[i]) { i += 1 }
        let text = String(decoding: bytes[start..<i], as: UTF8.self)
        if let n = Int64(text) { return .int(n) }
        if let d = Double(text) { return .double(d) }
        throw Failure(message: "bad value at byte \(start)")
    }
}

extension JSON {
    /// The value under `key` of an object (nil for anything else or a missing key).
    public subscript(key: String) -> JSON? {
        guard case .object(let pairs) = self else { return nil }
        return pairs.first { $0.0 == key }?.1
    }

    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    public var intValue: Int64? {
        switch self {
        case .int(let n): return n
        case .double(let d): return d == d.rounded() ? Int64(exactly: d) : nil
        default: return nil
        }
    }
    public var doubleValue: Double? {
        switch self {
        case .int(let n): return Double(n)
        case .double(let d): return d
        default: return nil
        }
    }
    public var boolValue: Bool? { if case .bool(let b) = self { return b } else { return nil } }
    public var arrayValue: [JSON]? { if case .array(let a) = self { return a } else { return nil } }
    public var objectPairs: [(String, JSON)]? { if case .object(let p) = self { return p } else { return nil } }
}
