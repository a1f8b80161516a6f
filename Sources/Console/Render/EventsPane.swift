/// Event log: the engine's lifecycle events (creations, crashes with reasons, destroys,
/// scheduler events) merged with the console's own notes and command errors, newest last.
enum EventsPane {
    struct Entry {
        var time: Double
        var text: String
        var role: StyleRole
    }

    static func role(_ m: String) -> StyleRole {
        func has(_ s: StaticString) -> Bool { TextCells.containsIgnoringCase(m, s) }
        if has("crash") || has("fail") || has("error") { return .error }
        if has("destroyed") || has("shut") { return .warning }
        if has("unpaused") || has("created") { return .ok }
        if has("paused") { return .paused }
        return .normal
    }

    static func entries(_ input: RenderInput) -> [Entry] {
        // Only the newest entries can be on screen or in the scrollback the pane keeps.
        var all = input.snapshot.events.suffix(keep).map { Entry(time: $0.wallTime, text: $0.message, role: role($0.message)) }
        all += input.view.localEvents.suffix(keep).map { Entry(time: $0.wallTime, text: $0.message, role: $0.isError ? .error : .accent) }
        // Stable: equal times keep engine events before the console's own.
        let sorted = all.enumerated().sorted { ($0.element.time, $0.offset) < ($1.element.time, $1.offset) }.map(\.element)
        return Array(sorted.suffix(keep))
    }

    /// Entries the pane keeps for scrolling back.
    static let keep = 300

    static func draw(_ input: RenderInput, in rect: Rect, focused: Bool, on buffer: inout ScreenBuffer, info: inout FrameInfo) {
        let width = max(1, rect.width - 2)
        let textWidth = max(1, width - 9)
        let all = entries(input)
        // Row counts for every entry (cheap when it fits one row), text only for rows on screen.
        let counts = all.map { PaneChrome.wordWrapCount($0.text, textWidth) }
        let total = counts.reduce(0, +)
        let height = max(0, rect.height - 2)
        let limit = max(0, total - height)
        let back = PaneChrome.clamp(input.view.scroll(.events), limit: limit)
        info.scrollLimits[.events] = limit
        info.pageSizes[.events] = max(1, height)
        let area = PaneChrome.box(&buffer, rect, title: Pane.events.title + " " + Glyph.dot + " \(input.snapshot.events.count + input.view.localEvents.count)",
                                  focused: focused, footer: back > 0 ? "↑ \(back) lines back" : nil)
        guard !area.isEmpty else { return }
        if total == 0 {
            buffer.put("(no events yet)", x: area.x, y: area.y, role: .dim, maxWidth: area.width)
            return
        }
        let end = total - back
        let start = max(0, end - area.height)
        var row = total
        for (e, count) in zip(all, counts).reversed() {
            if row <= start { break }
            row -= count
            if row >= end { continue }
            let pieces = count == 1 ? [e.text] : PaneChrome.wordWrap(e.text, textWidth)
            for (i, piece) in pieces.enumerated() where row + i >= start && row + i < end {
                let y = area.y + row + i - start
                let stamp = i == 0 ? Format.clock(e.time, utcOffset: input.utcOffset) : ""
                buffer.put(stamp, x: area.x, y: y, role: .dim, maxWidth: min(8, area.width))
                buffer.put(piece, x: area.x + 9, y: y, role: e.role, clip: area)
            }
        }
    }
}
