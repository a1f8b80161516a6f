/// What a cell is, for the theme to colour: renderers say what, themes say how.
public enum StyleRole: UInt8, CaseIterable, Sendable {
    case normal
    case dim
    case border
    case borderFocused
    case title
    case titleFocused
    case header
    case headerSorted
    case selected
    case selectedUnfocused
    case running
    case blocked
    case paused
    case crashed
    case shutdown
    case hit
    case sparkline
    case accent
    case warning
    case error
    case ok
    case statusBar
    case statusError
    case commandLine
    case hint
    case hintKey
    case tab
    case tabFocused
    case overlay
    case overlayTitle

    /// The name a theme file uses: `borderFocused` is `border-focused`.
    public var name: String {
        var out = ""
        for ch in String(describing: self) {
            if ch.isUppercase { out += "-" + ch.lowercased() } else { out.append(ch) }
        }
        return out
    }

    public static func named(_ name: String) -> StyleRole? {
        allCases.first { $0.name == name }
    }
}
