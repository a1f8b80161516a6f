/// Stubdoms: stub domains, their targets, kinds, states, requests served and last latency.
// The snapshot has no stubdoms yet (they come with their own issue): the pane shows its columns
// and says what will appear there.
enum StubdomsPane {
    static func draw(_ input: RenderInput, in rect: Rect, focused: Bool, on buffer: inout ScreenBuffer, info: inout FrameInfo) {
        let area = PaneChrome.box(&buffer, rect, title: Pane.stubdoms.title + " " + Glyph.dot + " none", focused: focused)
        info.scrollLimits[.stubdoms] = 0
        guard !area.isEmpty else { return }
        let header = TextCells.pad("Stubdom", 14) + " " + TextCells.pad("Target", 12) + " " + TextCells.pad("Kind", 12) + " "
            + TextCells.pad("State", 6) + " " + TextCells.lpad("Requests", 9) + " " + TextCells.lpad("Last latency", 12)
        buffer.put(header, x: area.x, y: area.y, role: .header, maxWidth: area.width)
        let text = "No stub domains are running. A device-model stubdom (<guest>-dm) emulates an HVM guest's devices "
            + "instead of Domain-0; a pv-grub stubdom boots a PV guest from its own disk. They appear here once xkv runs them."
        PaneChrome.lines(&buffer, area, PaneChrome.wordWrap(text, area.width).map { ($0, .dim) }, from: 1)
    }
}
