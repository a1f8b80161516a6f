/// Reads `themes/*.theme`: one `role = foreground background [attribute ...]` per line,
/// `#` comments, blank lines ignored. A monochrome theme uses `default default` and attributes.
///
///     # role          fg            bg       attributes
///     normal        = default       default
///     selected      = black         cyan     bold
///     monochrome    = yes           # optional: draw attributes only
public enum ThemeParser {
    public static func parse(_ text: String, name: String, file: String) throws(ThemeError) -> Theme {
        var styles: [StyleRole: Style] = [:]
        var firstLine: [StyleRole: Int] = [:]
        var monochrome = false
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            func fail(_ message: String) -> ThemeError { ThemeError(file: file, line: number, message: message) }
            var line = Substring(raw)
            if let hash = line.firstIndex(of: "#") { line = line[..<hash] }
            let trimmed = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            guard !trimmed.isEmpty else { continue }
            guard let eq = line.firstIndex(of: "=") else {
                throw fail("expected 'role = foreground background [attributes]', got '\(trimmed.joined(separator: " "))'")
            }
            let key = line[..<eq].trimmingSpaces
            let values = line[line.index(after: eq)...].split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
            guard !key.isEmpty else { throw fail("missing role name before '='") }
            if key == "monochrome" {
                guard values.count == 1, ["yes", "no", "true", "false"].contains(values[0].lowercased()) else {
                    throw fail("monochrome takes yes or no")
                }
                monochrome = ["yes", "true"].contains(values[0].lowercased())
                continue
            }
            guard let role = StyleRole.named(key) else {
                let names = StyleRole.allCases.map(\.name)
                let close = names.filter { editDistance($0, key) <= 2 }
                let hint = close.isEmpty ? " (roles: \(names.joined(separator: ", ")))" : "; did you mean '\(close[0])'?"
                throw fail("unknown role '\(key)'\(hint)")
            }
            if let first = firstLine[role] { throw fail("role '\(key)' is already set on line \(first)") }
            guard values.count >= 2 else { throw fail("role '\(key)' needs a foreground and a background colour") }
            guard let fg = ThemeColor(values[0]) else { throw fail(badColour(values[0])) }
            guard let bg = ThemeColor(values[1]) else { throw fail(badColour(values[1])) }
            var attributes: ThemeAttributes = []
            for word in values.dropFirst(2) {
                guard let a = ThemeAttributes.named.first(where: { $0.0 == word.lowercased() }) else {
                    throw fail("unknown attribute '\(word)' (attributes: \(ThemeAttributes.named.map(\.0).joined(separator: ", ")))")
                }
                attributes.insert(a.1)
            }
            styles[role] = Style(fg, bg, attributes)
            firstLine[role] = number
        }
        guard styles[.normal] != nil else {
            throw ThemeError(file: file, line: 0, message: "no 'normal' role: every theme sets the style other roles fall back to")
        }
        return Theme(name: name, styles: styles, monochrome: monochrome)
    }

    static func badColour(_ word: String) -> String {
        "unknown colour '\(word)' (default, black, red, green, yellow, blue, magenta, cyan, white, bright-NAME, or 0-255)"
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var row = Array(0...b.count)
        for i in 1...a.count {
            var previous = row[0]
            row[0] = i
            for j in 1...b.count {
                let current = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
                previous = current
            }
        }
        return row[b.count]
    }
}

extension Substring {
    var trimmingSpaces: String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" || $0 == "\r" }).reversed())
    }
}
