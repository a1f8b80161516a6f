/// Console: the selected domain's console output with scrollback; in attach mode keystrokes go
/// to the guest.
enum ConsolePane {
    static func draw(_ input: RenderInput, in rect: Rect, focused: Bool, on buffer: inout ScreenBuffer, info: inout FrameInfo) {
        var attachedTo: String?
        if case .attached(let d) = input.view.mode { attachedTo = d }
        guard let domain = input.selectedDomain else {
            let area = PaneChrome.box(&buffer, rect, title: Pane.console.title, focused: focused)
            buffer.put("Domain-0 is xkv itself and has no guest console: select a domain.", x: area.x, y: area.y, role: .dim, maxWidth: area.width)
            info.scrollLimits[.console] = 0
            return
        }
        let width = max(1, rect.width - 2)
        // Row counts for every line (cheap), text only for the rows on screen.
        let counts = input.consoleLines.map { TextCells.wrappedCount($0, width) }
        let total = counts.reduce(0, +)
        let height = max(0, rect.height - 2)
        let limit = max(0, total - height)
        let back = PaneChrome.clamp(input.view.scroll(.console), limit: limit)
        info.scrollLimits[.console] = limit
        info.pageSizes[.console] = max(1, height)
        var title = Pane.console.title + " " + Glyph.dot + " " + domain.name
        if attachedTo != nil { title += " " + Glyph.dot + " ATTACHED (Ctrl-] detaches)" }
        let footer = back > 0 ? "↑ \(back) lines back " + Glyph.dot + " End follows" : (total == 0 ? nil : "\(input.consoleLines.count) lines")
        let area = PaneChrome.box(&buffer, rect, title: title, focused: focused || attachedTo != nil, footer: footer)
        guard !area.isEmpty else { return }
        if total == 0 {
            buffer.put("(no console output yet)", x: area.x, y: area.y, role: .dim, maxWidth: area.width)
            return
        }
        // Walk back from the newest line to the rows that end at `total - back`.
        let end = total - back
        let start = max(0, end - area.height)
        var rows: [String] = []
        var row = total
        for (line, count) in zip(input.consoleLines, counts).reversed() {
            if row <= start { break }
            row -= count
            if row >= end { continue }
            let pieces = TextCells.wrap(line, width).ifEmpty([""])
            for (i, piece) in pieces.enumerated().reversed() where row + i >= start && row + i < end { rows.append(piece) }
        }
        for (i, line) in rows.reversed().enumerated() {
            buffer.put(line, x: area.x, y: area.y + i, role: .normal, maxWidth: area.width)
        }
    }
}

extension Array {
    func ifEmpty(_ replacement: [Element]) -> [Element] { isEmpty ? replacement : self }
}
