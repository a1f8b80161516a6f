/// The characters the renderers draw with. Renderers always use the Unicode forms; a terminal
/// whose locale is not UTF-8 gets them through `asciiFallback` (the backend draws box lines with
/// ncurses' ACS characters instead, which work on any terminal).
public enum Glyph {
    public static let horizontal: Unicode.Scalar = "─"
    public static let vertical: Unicode.Scalar = "│"
    public static let topLeft: Unicode.Scalar = "┌"
    public static let topRight: Unicode.Scalar = "┐"
    public static let bottomLeft: Unicode.Scalar = "└"
    public static let bottomRight: Unicode.Scalar = "┘"
    public static let arrow = "→"
    public static let sortDescending = "▼"
    public static let sortAscending = "▲"
    public static let dot = "·"
    /// Sparkline levels, lowest first.
    public static let levels: [Unicode.Scalar] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]

    /// A one-column ASCII stand-in for a non-ASCII glyph (used when the terminal is not UTF-8).
    public static func asciiFallback(_ s: Unicode.Scalar) -> Unicode.Scalar {
        if s.isASCII { return s }
        switch s {
        case "─": return "-"
        case "│": return "|"
        case "┌", "┐", "└", "┘", "├", "┤", "┬", "┴", "┼": return "+"
        case "→": return ">"
        case "←": return "<"
        case "▼": return "v"
        case "▲": return "^"
        case "·", "•": return "."
        case "▁": return "_"
        case "▂", "▃": return "."
        case "▄": return "-"
        case "▅": return "="
        case "▆": return "+"
        case "▇": return "*"
        case "█": return "#"
        case "…": return "~"
        default: return "?"
        }
    }
}
