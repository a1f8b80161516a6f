/// Recursive-descent reader of xl.cfg syntax, working directly on Unicode scalars
/// (every syntactic character is ASCII, and scalars make escapes simple).
struct XLParser {
    private let chars: [Unicode.Scalar]
    private var index = 0
    private var line: Int
    private let file: String
    /// Inline mode: unquoted words are values and `#` is an ordinary character,
    /// because the command lexer already removed quotes and comments.
    private let bareWords: Bool
    /// The key whose value is being read, so that every error can name it.
    private var key: String?

    init(_ text: String, file: String, firstLine: Int = 1, bareWords: Bool = false) {
        self.chars = Array(text.unicodeScalars)
        self.file = file
        self.line = firstLine
        self.bareWords = bareWords
    }

    static func isIdentifier(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, isIdentifierStart(first) else { return false }
        return text.unicodeScalars.allSatisfy(isIdentifierPart)
    }

    // MARK: Settings

    /// Every assignment in the text, in order (duplicates included).
    mutating func parseFile() throws(ConfigError) -> [XLConfig.Setting] {
        var settings: [XLConfig.Setting] = []
        while true {
            key = nil
            skipBlanks(acrossLines: true, semicolons: true)
            guard let c = peek else { return settings }
            guard Self.isIdentifierStart(c) else { throw fail("expected a key, found \(shown(c))") }
            let settingLine = line
            var name = ""
            while let c = peek, Self.isIdentifierPart(c) {
                name.unicodeScalars.append(c)
                advance()
            }
            key = name
            skipBlanks()
            guard peek == "=" else {
                throw fail("expected '=' after the key, found \(peek.map(shown) ?? "end of file")")
            }
            advance()
            skipBlanks()
            let value = try parseValue()
            settings.append(XLConfig.Setting(key: name, value: value, line: settingLine))
            skipBlanks()
            if let c = peek, c != "\n", c != ";" {
                throw fail("expected a newline or ';' after the value, found \(shown(c))")
            }
        }
    }

    /// One value that must make up the whole text (inline `key=[...]`).
    mutating func parseWholeValue(key: String) throws(ConfigError) -> XLValue {
        self.key = key
        let value = try parseValue()
        skipBlanks()
        if let c = peek { throw fail("expected nothing after the value, found \(shown(c))") }
        return value
    }

    // MARK: Values

    private mutating func parseValue() throws(ConfigError) -> XLValue {
        guard let c = peek, c != "\n", c != ";" else { throw fail("missing value after '='") }
        switch c {
        case "\"", "'": return .string(try parseString())
        case "[": return try parseList()
        case "0"..."9" where !bareWords: return .integer(try parseNumber())
        default:
            if bareWords { return parseBareWord() }
            throw fail("expected a value (a quoted string, a number or a [list]), found \(shown(c))")
        }
    }

    private mutating func parseList() throws(ConfigError) -> XLValue {
        let openLine = line
        let unclosed = "list opened on line \(openLine) has no closing ']'"
        advance()  // [
        var items: [XLValue] = []
        while true {
            skipBlanks(acrossLines: true)
            guard let c = peek else { throw fail(unclosed, line: openLine) }
            if c == "]" { break }
            items.append(try parseValue())
            skipBlanks(acrossLines: true)
            guard let next = peek else { throw fail(unclosed, line: openLine) }
            if next == "]" { break }
            guard next == "," else { throw fail("expected ',' or ']' in the list, found \(shown(next))") }
            advance()
        }
        advance()  // ]
        return .list(items)
    }

    private mutating func parseString() throws(ConfigError) -> String {
        let quote = chars[index]
        let unterminated = "unterminated string (missing closing \(quote))"
        advance()
        var text = ""
        while true {
            // xl strings cannot span lines, so a newline means the quote was never closed.
            guard let c = peek, c != "\n" else { throw fail(unterminated) }
            advance()
            if c == quote { return text }
            guard c == "\\" else {
                text.unicodeScalars.append(c)
                continue
            }
            guard let e = peek, e != "\n" else { throw fail(unterminated) }
            advance()
            switch e {
            case "\"", "'", "\\": text.unicodeScalars.append(e)
            case "a": text += "\u{07}"
            case "b": text += "\u{08}"
            case "f": text += "\u{0C}"
            case "n": text += "\n"
            case "r": text += "\r"
            case "t": text += "\t"
            case "v": text += "\u{0B}"
            case "x":
                guard let value = digits(radix: 16, min: 2, max: 2) else {
                    throw fail("'\\x' must be followed by two hex digits")
                }
                text.unicodeScalars.append(Unicode.Scalar(UInt8(value)))
            case "0"..."7":
                index -= 1  // the first octal digit is part of the number
                let value = digits(radix: 8, min: 1, max: 3)!
                guard value <= 0xFF else { throw fail("octal escape \\\(String(value, radix: 8)) is above \\377") }
                text.unicodeScalars.append(Unicode.Scalar(UInt8(value)))
            default:
                throw fail("unknown escape '\\\(Character(e))' in string")
            }
        }
    }

    private mutating func parseNumber() throws(ConfigError) -> Int64 {
        // Take the whole run of word characters, so that `16M` or `1.5` is one bad number
        // rather than a number followed by a confusing "unexpected 'M'".
        var text = ""
        while let c = peek, Self.isIdentifierPart(c) || c == "." {
            text.unicodeScalars.append(c)
            advance()
        }
        let isHex = text.hasPrefix("0x") || text.hasPrefix("0X")
        let digits = isHex ? String(text.dropFirst(2)) : text
        let radix = isHex ? 16 : 10
        guard !digits.isEmpty, digits.unicodeScalars.allSatisfy({ (Self.digitValue($0) ?? radix) < radix }) else {
            throw fail("malformed number '\(text)' (xl numbers are plain decimal or 0x hex)")
        }
        guard let number = Int64(digits, radix: radix) else { throw fail("number \(text) is too large") }
        return number
    }

    /// An unquoted inline list element: an integer if all digits, otherwise a string.
    private mutating func parseBareWord() -> XLValue {
        var text = ""
        while let c = peek, !Self.isBlank(c), c != "\n", !",[]\"'".unicodeScalars.contains(c) {
            text.unicodeScalars.append(c)
            advance()
        }
        if let number = Int64(text), text.unicodeScalars.allSatisfy({ ("0"..."9").contains($0) }) {
            return .integer(number)
        }
        return .string(text)
    }

    // MARK: Scanning

    private var peek: Unicode.Scalar? { index < chars.count ? chars[index] : nil }

    private mutating func advance() {
        if chars[index] == "\n" { line += 1 }
        index += 1
    }

    /// Skips spaces, tabs, carriage returns and comments; and newlines or `;` on request.
    private mutating func skipBlanks(acrossLines: Bool = false, semicolons: Bool = false) {
        while let c = peek {
            if Self.isBlank(c) || (acrossLines && c == "\n") || (semicolons && c == ";") {
                advance()
            } else if c == "#", !bareWords {
                while let c = peek, c != "\n" { advance() }
            } else {
                return
            }
        }
    }

    /// Reads `min...max` digits in `radix`; nil (consuming nothing) if fewer than `min`.
    private mutating func digits(radix: Int, min: Int, max: Int) -> UInt64? {
        var value: UInt64 = 0
        var count = 0
        while count < max, let c = peek, let digit = Self.digitValue(c), digit < radix {
            value = value * UInt64(radix) + UInt64(digit)
            count += 1
            advance()
        }
        if count < min {
            index -= count
            return nil
        }
        return value
    }

    private func fail(_ message: String, line: Int? = nil) -> ConfigError {
        ConfigError(file: file, line: line ?? self.line, key: key, message: message)
    }

    /// A character as it should appear in a message.
    private func shown(_ c: Unicode.Scalar) -> String {
        switch c {
        case "\n": return "end of line"
        case "\"", "'": return "a string"
        default: return "'\(Character(c))'"
        }
    }

    /// The value of an ASCII hex digit (`Character.hexDigitValue` also takes full-width forms).
    private static func digitValue(_ c: Unicode.Scalar) -> Int? {
        switch c {
        case "0"..."9": return Int(c.value) - 0x30
        case "a"..."f": return Int(c.value) - 0x61 + 10
        case "A"..."F": return Int(c.value) - 0x41 + 10
        default: return nil
        }
    }

    private static func isBlank(_ c: Unicode.Scalar) -> Bool { c == " " || c == "\t" || c == "\r" }

    private static func isIdentifierStart(_ c: Unicode.Scalar) -> Bool {
        c == "_" || ("a"..."z").contains(c) || ("A"..."Z").contains(c)
    }

    private static func isIdentifierPart(_ c: Unicode.Scalar) -> Bool {
        isIdentifierStart(c) || ("0"..."9").contains(c)
    }
}
