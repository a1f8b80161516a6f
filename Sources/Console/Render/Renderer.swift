/// Draws a whole frame: a pure function of the engine snapshot, the view state and the size.
/// ncurses never decides anything; it only copies the buffer out.
public enum Renderer {
    /// Below this the console says it needs more room instead of drawing panes.
    public static let minimumWidth = 40
    public static let minimumHeight = 12

    public static func frame(_ input: RenderInput, width: Int, height: Int) -> Frame {
        var buffer = ScreenBuffer(width: width, height: height)
        var info = FrameInfo()
        let rows = DomainTable.rows(input.snapshot, metrics: input.metrics, dom0CPUSeconds: input.dom0CPUSeconds, sort: input.view.sort)
        info.domainOrder = rows.map(\.id)
        guard width >= minimumWidth && height >= minimumHeight else {
            let lines = ["xkv needs at least 80x24", "(this terminal is \(width)x\(height));", "q quits"]
            for (i, line) in lines.enumerated() { buffer.put(line, x: 0, y: i, role: .warning) }
            return Frame(buffer: buffer, info: info)
        }
        let layout = Layout.make(width: width, height: height, focus: input.view.focus, detail: input.view.detail, domainRows: rows.count)
        info.visiblePanes = layout.panes.map(\.pane)
        Chrome.header(input, in: layout.header, on: &buffer)
        Chrome.tabs(input, visible: info.visiblePanes, in: layout.tabs, on: &buffer)
        for (pane, rect) in layout.panes {
            draw(pane, input, rows: rows, in: rect, focused: pane == input.view.focus, on: &buffer, info: &info)
        }
        switch input.view.mode {
        case .help:
            Overlay.draw(title: "xkv console help", lines: Overlay.helpLines(), scroll: input.view.helpScroll, in: buffer.bounds,
                         on: &buffer, info: &info)
        case .output(let title, let lines):
            Overlay.draw(title: title, lines: lines.isEmpty ? ["(no output)"] : lines, scroll: input.view.outputScroll,
                         in: buffer.bounds, on: &buffer, info: &info)
        default:
            break
        }
        Chrome.status(input, in: layout.status, on: &buffer)
        buffer.cursor = Chrome.bottom(input, in: layout.bottom, on: &buffer)
        return Frame(buffer: buffer, info: info)
    }

    /// One pane alone in `rect` (what the per-pane render tests look at).
    public static func pane(_ pane: Pane, _ input: RenderInput, width: Int, height: Int) -> ScreenBuffer {
        var buffer = ScreenBuffer(width: width, height: height)
        var info = FrameInfo()
        let rows = DomainTable.rows(input.snapshot, metrics: input.metrics, dom0CPUSeconds: input.dom0CPUSeconds, sort: input.view.sort)
        draw(pane, input, rows: rows, in: buffer.bounds, focused: pane == input.view.focus, on: &buffer, info: &info)
        return buffer
    }

    static func draw(_ pane: Pane, _ input: RenderInput, rows: [DomainRow], in rect: Rect, focused: Bool,
                     on buffer: inout ScreenBuffer, info: inout FrameInfo) {
        guard !rect.isEmpty else { return }
        switch pane {
        case .domains: DomainsPane.draw(input, rows: rows, in: rect, focused: focused, on: &buffer, info: &info)
        case .traps: TrapsPane.draw(input, in: rect, focused: focused, on: &buffer, info: &info)
        case .syscalls: SyscallsPane.draw(input, order: rows.map(\.id), in: rect, focused: focused, on: &buffer, info: &info)
        case .stubdoms: StubdomsPane.draw(input, in: rect, focused: focused, on: &buffer, info: &info)
        case .console: ConsolePane.draw(input, in: rect, focused: focused, on: &buffer, info: &info)
        case .events: EventsPane.draw(input, in: rect, focused: focused, on: &buffer, info: &info)
        }
    }
}
