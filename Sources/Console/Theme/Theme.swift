/// A terminal colour: the terminal's own default, or an index (0-7 basic, 8-15 bright, up to 255).
public enum ThemeColor: Equatable, Sendable {
    case terminalDefault
    case index(Int)

    static let names = ["black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"]

    /// `default`, a colour name, `bright-NAME`, or `0`...`255`.
    public init?(_ text: String) {
        let t = text.lowercased()
        if t == "default" { self = .terminalDefault; return }
        if let i = Self.names.firstIndex(of: t) { self = .index(i); return }
        if t.hasPrefix("bright-"), let i = Self.names.firstIndex(of: String(t.dropFirst(7))) { self = .index(i + 8); return }
        if let n = Int(t), n >= 0, n <= 255 { self = .index(n); return }
        return nil
    }
}

/// Text attributes a theme may ask for.
public struct ThemeAttributes: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let bold = ThemeAttributes(rawValue: 1)
    public static let dim = ThemeAttributes(rawValue: 2)
    public static let underline = ThemeAttributes(rawValue: 4)
    public static let reverse = ThemeAttributes(rawValue: 8)
    public static let standout = ThemeAttributes(rawValue: 16)
    public static let italic = ThemeAttributes(rawValue: 32)

    static let named: [(String, ThemeAttributes)] = [("bold", .bold), ("dim", .dim), ("underline", .underline),
                                                      ("reverse", .reverse), ("standout", .standout), ("italic", .italic)]
}

/// How one role looks.
public struct Style: Equatable, Sendable {
    public var foreground: ThemeColor
    public var background: ThemeColor
    public var attributes: ThemeAttributes

    public init(_ foreground: ThemeColor = .terminalDefault, _ background: ThemeColor = .terminalDefault, _ attributes: ThemeAttributes = []) {
        self.foreground = foreground
        self.background = background
        self.attributes = attributes
    }
}

/// A named set of styles, one per role. Roles a theme does not name look like `normal`.
public struct Theme: Equatable, Sendable {
    public var name: String
    public var styles: [StyleRole: Style]
    /// True when the theme uses attributes only (the terminal has no colour, or NO_COLOR).
    public var monochrome: Bool

    public init(name: String, styles: [StyleRole: Style], monochrome: Bool = false) {
        self.name = name
        self.styles = styles
        self.monochrome = monochrome
    }

    public func style(_ role: StyleRole) -> Style {
        styles[role] ?? styles[.normal] ?? Style()
    }
}

/// A theme file that could not be used: `FILE:LINE: message`.
public struct ThemeError: Error, Equatable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var message: String

    public init(file: String, line: Int, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String { line > 0 ? "\(file):\(line): \(message)" : "\(file): \(message)" }
}
