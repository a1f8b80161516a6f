/// A JSON value with ordered object keys, so output is stable and diffable.
public indirect enum JSON: Sendable, Equatable {
    case object([(String, JSON)])
    case array([JSON])
    case string(String)
    case int(Int64)
    case double(Double)
    case bool(Bool)
    case null

    public static func == (a: JSON, b: JSON) -> Bool { a.rendered == b.rendered }

    /// Compact single-line JSON.
    public var rendered: String {
        switch self {
        case .object(let pairs):
            return "{" + pairs.map { "\(JSON.quote($0.0)):\($0.1.rendered)" }.joined(separator: ",") + "}"
        case .array(let items):
            return "[" + items.map(\.rendered).joined(separator: ",") + "]"
        case .string(let s): return JSON.quote(s)
        case .int(let i): return String(i)
        case .double(let d): return d.isFinite ? String(d) : "null"
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        }
    }

    public static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    public static func counts(_ pairs: [(String, UInt64)]) -> JSON {
        .object(pairs.map { ($0.0, .int(Int64($0.1))) })
    }
}
