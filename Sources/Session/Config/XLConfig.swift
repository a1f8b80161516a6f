/// A problem in a domain configuration, located for the operator.
public struct ConfigError: Error, Equatable, CustomStringConvertible {
    /// The file name, or the origin of inline settings (such as `<console>`).
    public let file: String
    /// 1-based line of the offending setting.
    public let line: Int
    /// The setting's key, when the problem belongs to one.
    public let key: String?
    public let message: String

    public init(file: String, line: Int, key: String?, message: String) {
        self.file = file
        self.line = line
        self.key = key
        self.message = message
    }

    /// `FILE:LINE: key 'KEY': MESSAGE`, or `FILE:LINE: MESSAGE` when no key is known.
    public var description: String {
        let location = "\(file):\(line): "
        guard let key else { return location + message }
        return location + "key '\(key)': " + message
    }
}

/// A value in xl.cfg syntax.
public enum XLValue: Sendable, Equatable, CustomStringConvertible {
    case string(String)
    case integer(Int64)
    /// `[ v1, v2, ... ]`; elements may themselves be lists.
    case list([XLValue])

    /// The value written back in xl.cfg syntax (strings double-quoted and escaped).
    public var description: String {
        switch self {
        case .string(let text): return XLValue.quoted(text)
        case .integer(let number): return String(number)
        case .list(let items): return "[" + items.map(\.description).joined(separator: ", ") + "]"
        }
    }

    /// What kind of value this is, for messages such as "expected a string, got a list".
    var kind: String {
        switch self {
        case .string(let text): return "the string '\(text)'"
        case .integer(let number): return "the integer \(number)"
        case .list: return "a list"
        }
    }

    private static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case _ where scalar.value < 0x20 || scalar.value == 0x7f:
                out += scalar.value < 0x10 ? "\\x0" : "\\x"
                out += String(scalar.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

/// The settings of an xl.cfg file (or of inline `key=value` words), before any meaning
/// is given to them: see `DomainConfig.init(_:file:)` for that.
///
/// Syntax (as xl's libxlu reads it): `key = value` settings separated by newlines or `;`;
/// `#` comments to end of line; values are `"double"` or `'single'` quoted strings,
/// integers (decimal or `0x` hex), or lists `[ value, ... ]` that may span lines and end
/// with a trailing comma. Keys are identifiers (`[A-Za-z_][A-Za-z0-9_]*`).
///
/// String escapes follow xl: `\"` `\'` `\\` `\a` `\b` `\f` `\n` `\r` `\t` `\v`, `\xHH`,
/// and one to three octal digits `\ooo`. Unlike xl, an unknown escape is an error (xl
/// silently drops it), and octal really is base 8 (xl reads the digits as decimal).
/// A numeric escape produces the Unicode scalar of that value.
public struct XLConfig: Sendable, Equatable, CustomStringConvertible {
    /// One `key = value`, with the line it was written on.
    public struct Setting: Sendable, Equatable {
        public var key: String
        public var value: XLValue
        /// 1-based line of the key.
        public var line: Int

        public init(key: String, value: XLValue, line: Int) {
            self.key = key
            self.value = value
            self.line = line
        }
    }

    /// The effective settings, one per key, in the order they were written. When a key is
    /// set twice the last assignment wins, as in xl, and keeps its own line.
    public var settings: [Setting] = []
    /// Earlier assignments that a later one replaced, kept so that a caller can warn.
    public var overridden: [Setting] = []

    public init() {}

    /// The effective setting for `key`, if any.
    public subscript(key: String) -> Setting? {
        settings.first { $0.key == key }
    }

    /// Adds `setting`, replacing (and remembering in `overridden`) any earlier one with its key.
    public mutating func assign(_ setting: Setting) {
        if let index = settings.firstIndex(where: { $0.key == setting.key }) {
            overridden.append(settings.remove(at: index))
        }
        settings.append(setting)
    }

    /// Parses xl.cfg text. `file` is used only to locate errors.
    public static func parse(_ text: String, file: String) throws(ConfigError) -> XLConfig {
        var parser = XLParser(text, file: file)
        var config = XLConfig()
        for setting in try parser.parseFile() {
            config.assign(setting)
        }
        return config
    }

    /// Reads inline settings such as the words after `create`: each word is `key=value`
    /// (already lexed, so quotes are gone). The value is a list if it starts with `[`
    /// (elements may be quoted or bare words), an integer if it is all digits, and a
    /// string otherwise. Errors are located at `origin:line`.
    public static func parse(
        assignments words: [String], origin: String, line: Int = 1
    ) throws(ConfigError) -> XLConfig {
        var config = XLConfig()
        for word in words {
            guard let equals = word.firstIndex(of: "="), equals != word.startIndex else {
                throw ConfigError(
                    file: origin, line: line, key: nil, message: "expected key=value, got '\(word)'")
            }
            let key = String(word[..<equals])
            let text = String(word[word.index(after: equals)...])
            guard XLParser.isIdentifier(key) else {
                throw ConfigError(
                    file: origin, line: line, key: nil,
                    message: "'\(key)' is not a valid key (letters, digits and '_')")
            }
            let value: XLValue
            if text.hasPrefix("[") {
                var parser = XLParser(text, file: origin, firstLine: line, bareWords: true)
                value = try parser.parseWholeValue(key: key)
            } else if !text.isEmpty, text.allSatisfy({ $0.isASCII && $0.isNumber }) {
                guard let number = Int64(text) else {
                    throw ConfigError(file: origin, line: line, key: key, message: "number \(text) is too large")
                }
                value = .integer(number)
            } else {
                value = .string(text)
            }
            config.assign(Setting(key: key, value: value, line: line))
        }
        return config
    }

    /// The effective settings in xl.cfg syntax, one `key = value` per line.
    public var description: String {
        settings.map { "\($0.key) = \($0.value)\n" }.joined()
    }
}
