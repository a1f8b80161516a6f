/// Turning arbitrary text (guest console output, operator input, names) into cells that each
/// take exactly one terminal column, so layout arithmetic holds for every input.
public enum TextCells {
    /// True when every byte is printable ASCII: one byte, one cell (the common case, and fast).
    @inline(__always)
    static func isPlainASCII(_ text: String) -> Bool {
        text.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7f }
    }

    /// Calls `body` with each cell of `text` in order, until it returns false: tabs become a
    /// space, control characters and escape sequences are dropped, combining marks are dropped,
    /// wide characters become `?`.
    @inline(__always)
    static func forEachCell(_ text: String, _ body: (Unicode.Scalar) -> Bool) {
        var it = text.unicodeScalars.makeIterator()
        while let s = it.next() {
            let v = s.value
            if v >= 0x20 && v < 0x7f {
                if !body(s) { return }
                continue
            }
            if v == 0x09 {
                if !body(" ") { return }
                continue
            }
            if v == 0x1b { skipEscape(&it); continue }
            if v < 0x20 || (v >= 0x7f && v < 0xa0) { continue }
            switch s.properties.generalCategory {
            case .nonspacingMark, .enclosingMark, .format, .control, .surrogate, .lineSeparator, .paragraphSeparator:
                continue
            default:
                break
            }
            if !body(isWide(v) ? "?" : s) { return }
        }
    }

    /// The cells of `text` (see `forEachCell`).
    public static func scalars(_ text: String) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(text.utf8.count)
        forEachCell(text) { out.append($0); return true }
        return out
    }

    /// The number of columns `text` takes once made safe.
    public static func width(_ text: String) -> Int {
        if isPlainASCII(text) { return text.utf8.count }
        var n = 0
        forEachCell(text) { _ in n += 1; return true }
        return n
    }

    /// East Asian wide and fullwidth ranges, and emoji: two columns on a terminal.
    static func isWide(_ v: UInt32) -> Bool {
        (v >= 0x1100 && v <= 0x115f) || (v >= 0x2e80 && v <= 0xa4cf && v != 0x303f) || (v >= 0xac00 && v <= 0xd7a3)
            || (v >= 0xf900 && v <= 0xfaff) || (v >= 0xfe30 && v <= 0xfe4f) || (v >= 0xff00 && v <= 0xff60)
            || (v >= 0xffe0 && v <= 0xffe6) || (v >= 0x1f300 && v <= 0x1faff) || (v >= 0x20000 && v <= 0x3fffd)
    }

    /// Skips the rest of an escape sequence whose ESC was just read: CSI (`ESC [ ... final`),
    /// OSC (`ESC ] ... BEL` or `ESC ] ... ESC \\`), or a two-character `ESC x`. A guest's output
    /// can then never drive the operator's terminal or shift the layout.
    static func skipEscape(_ it: inout String.UnicodeScalarView.Iterator) {
        guard let next = it.next() else { return }
        if next == "[" {
            while let c = it.next(), !(c.value >= 0x40 && c.value <= 0x7e) {}
        } else if next == "]" {
            var previous: Unicode.Scalar = " "
            while let c = it.next() {
                if c == "\u{07}" || (previous == "\u{1b}" && c == "\\") { break }
                previous = c
            }
        }
    }

    /// `text` without escape sequences (as `scalars` drops them), for text split into lines first.
    public static func stripEscapes(_ text: String) -> String {
        guard text.unicodeScalars.contains("\u{1b}") else { return text }
        var out = String.UnicodeScalarView()
        var it = text.unicodeScalars.makeIterator()
        while let s = it.next() {
            if s == "\u{1b}" { skipEscape(&it) } else { out.append(s) }
        }
        return String(out)
    }

    /// `text` cut to `width` columns, with `…` marking the cut.
    public static func truncate(_ text: String, _ width: Int) -> String {
        guard width > 0 else { return "" }
        if isPlainASCII(text) {
            return text.utf8.count <= width ? text : String(decoding: text.utf8.prefix(width - 1), as: UTF8.self) + "…"
        }
        let s = scalars(text)
        if s.count <= width { return String(String.UnicodeScalarView(s)) }
        return String(String.UnicodeScalarView(s.prefix(width - 1))) + "…"
    }

    /// Left-aligned in `width` columns (cut with `…` if longer).
    public static func pad(_ text: String, _ width: Int) -> String {
        let t = truncate(text, width)
        let w = self.width(t)
        return w >= width ? t : t + String(repeating: " ", count: width - w)
    }

    /// Right-aligned in `width` columns (cut with `…` if longer).
    public static func lpad(_ text: String, _ width: Int) -> String {
        let t = truncate(text, width)
        let w = self.width(t)
        return w >= width ? t : String(repeating: " ", count: width - w) + t
    }

    /// How many rows `wrap(line, width)` gives, without building them.
    public static func wrappedCount(_ line: String, _ width: Int) -> Int {
        guard width > 0 else { return 0 }
        return max(1, (self.width(line) + width - 1) / width)
    }

    /// Splits `text` into lines no wider than `width` (hard wrap), keeping empty lines.
    public static func wrap(_ line: String, _ width: Int) -> [String] {
        guard width > 0 else { return [] }
        if isPlainASCII(line) && line.utf8.count <= width { return [line] }
        let s = scalars(line)
        if s.count <= width { return [String(String.UnicodeScalarView(s))] }
        var out: [String] = []
        var i = 0
        while i < s.count {
            out.append(String(String.UnicodeScalarView(s[i..<min(s.count, i + width)])))
            i += width
        }
        return out
    }

    /// Whether `text` contains `needle`, ignoring ASCII case (no Foundation, no allocation).
    public static func containsIgnoringCase(_ text: String, _ needle: StaticString) -> Bool {
        let n = UnsafeBufferPointer(start: needle.utf8Start, count: needle.utf8CodeUnitCount)
        guard !n.isEmpty else { return true }
        @inline(__always) func lower(_ b: UInt8) -> UInt8 { b >= 0x41 && b <= 0x5a ? b | 0x20 : b }
        var found = false
        var text = text
        text.withUTF8 { h in
            guard h.count >= n.count else { return }
            outer: for i in 0...(h.count - n.count) {
                for j in 0..<n.count where lower(h[i + j]) != lower(n[j]) { continue outer }
                found = true
                return
            }
        }
        return found
    }
}
