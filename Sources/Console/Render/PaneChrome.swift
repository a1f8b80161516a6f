/// The frame around a pane: a box, its title (highlighted when focused), and a note in the
/// bottom edge ("12 more ↓").
enum PaneChrome {
    /// Draws the box and returns the area inside it.
    static func box(_ buffer: inout ScreenBuffer, _ rect: Rect, title: String, focused: Bool, footer: String? = nil) -> Rect {
        buffer.fill(rect)
        buffer.box(rect, title: title, role: focused ? .borderFocused : .border, titleRole: focused ? .titleFocused : .title)
        if let footer, rect.width > 8, rect.height >= 2 {
            let text = " " + footer + " "
            let w = min(TextCells.width(text), rect.width - 4)
            buffer.put(text, x: rect.maxX - 2 - w, y: rect.maxY - 1, role: focused ? .borderFocused : .border, maxWidth: w)
        }
        return rect.inset(1)
    }

    /// A scroll offset clamped to what the content allows.
    static func clamp(_ offset: Int, limit: Int) -> Int { max(0, min(offset, limit)) }

    /// Writes `lines` from the top of `area` (wrapping nothing; each line is cut to the width).
    static func lines(_ buffer: inout ScreenBuffer, _ area: Rect, _ lines: [(String, StyleRole)], from row: Int = 0) {
        for (i, line) in lines.enumerated() where row + i < area.height {
            buffer.put(line.0, x: area.x, y: area.y + row + i, role: line.1, maxWidth: area.width)
        }
    }

    /// `text` broken into lines of at most `width` columns at spaces (words longer than a line
    /// are cut hard).
    static func wordWrap(_ text: String, _ width: Int) -> [String] {
        guard width > 0 else { return [] }
        if TextCells.isPlainASCII(text) && text.utf8.count <= width { return [text] }
        let cells = TextCells.scalars(text)
        return wrapRanges(cells, width).map { String(String.UnicodeScalarView(cells[$0])) }
    }

    /// How many lines `wordWrap` gives, without building them.
    static func wordWrapCount(_ text: String, _ width: Int) -> Int {
        guard width > 0 else { return 0 }
        if TextCells.isPlainASCII(text) && text.utf8.count <= width { return 1 }
        return wrapRanges(TextCells.scalars(text), width).count
    }

    /// The cells of each wrapped line: break at the last space that fits, else cut hard.
    static func wrapRanges(_ cells: [Unicode.Scalar], _ width: Int) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var start = 0
        while start < cells.count {
            while start < cells.count && cells[start] == " " { start += 1 }
            guard start < cells.count else { break }
            var end = min(cells.count, start + width)
            if end < cells.count && cells[end] != " " {
                var space = end - 1
                while space > start && cells[space] != " " { space -= 1 }
                if space > start { end = space }
            }
            var stop = end
            while stop > start && cells[stop - 1] == " " { stop -= 1 }
            out.append(start..<stop)
            start = end
        }
        return out.isEmpty ? [0..<0] : out
    }
}
