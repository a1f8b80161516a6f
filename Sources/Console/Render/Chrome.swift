import Hypervisor
import Session

/// The rows around the panes: the header, the tab bar, the status line and the key hints or
/// command line.
enum Chrome {
    static func header(_ input: RenderInput, in rect: Rect, on buffer: inout ScreenBuffer) {
        guard !rect.isEmpty else { return }
        let s = input.snapshot
        let running = s.domains.filter { $0.state.running }.count
        let pcpus = s.pcpus.isEmpty ? "\(s.host.cpus) host CPUs" : "\(s.pcpus.count) pCPUs"
        var segments = ["xkv " + s.host.xenVersion, s.host.kind, pcpus,
                        "\(s.domains.count) domain\(s.domains.count == 1 ? "" : "s") (\(running) running)", "theme " + input.view.themeName]
        // A playback says so first: what is on screen is a record being re-run.
        if let playback = input.view.playback { segments.insert(playback.headline, at: 1) }
        buffer.fill(rect, role: .statusBar)
        let clock = Format.clock(input.wallTime, utcOffset: input.utcOffset) + " "
        // Whole segments only, as many as fit before the clock.
        var text = ""
        for segment in segments {
            let next = text.isEmpty ? " " + segment : text + " " + Glyph.dot + " " + segment
            guard TextCells.width(next) + TextCells.width(clock) + 1 <= rect.width else { break }
            text = next
        }
        buffer.put(text, x: rect.x, y: rect.y, role: .statusBar, maxWidth: rect.width - TextCells.width(clock) - 1)
        buffer.put(clock, x: rect.maxX - TextCells.width(clock), y: rect.y, role: .statusBar)
    }

    static func tabs(_ input: RenderInput, visible: [Pane], in rect: Rect, on buffer: inout ScreenBuffer) {
        guard !rect.isEmpty else { return }
        buffer.fill(rect)
        var x = rect.x + 1
        for pane in Pane.allCases {
            let label = " \(pane.rawValue + 1) " + pane.tab + " "
            let role: StyleRole = pane == input.view.focus ? .tabFocused : (visible.contains(pane) ? .tab : .dim)
            x += buffer.put(label, x: x, y: rect.y, role: role, clip: rect) + 1
        }
        let help = "? help "
        let w = TextCells.width(help)
        if x + w < rect.maxX { buffer.put(help, x: rect.maxX - w, y: rect.y, role: .hint) }
    }

    static func status(_ input: RenderInput, in rect: Rect, on buffer: inout ScreenBuffer) {
        guard !rect.isEmpty else { return }
        let view = input.view
        var text = ""
        var role: StyleRole = .statusBar
        if let m = view.status, m.kind == .error || input.now - m.time < StatusMessage.fadeSeconds {
            text = " " + m.text
            if m.kind == .error { role = .statusError }
        }
        if let busy = view.busy {
            text = " running: " + busy + (text.isEmpty ? "" : "  " + Glyph.dot + text)
        }
        buffer.fill(rect, role: role)
        buffer.put(text, x: rect.x, y: rect.y, role: role, maxWidth: rect.width)
    }

    static let playbackHints: [(String, String)] = [("space", "pause"), (".", "step"), ("+ -", "speed"), ("]", "next checkpoint"),
                                                    (":seek N", "seek"), ("q", "quit"), ("?", "help"), ("Tab", "pane"), ("↑↓", "select")]

    static let hints: [(String, String)] = [("q", "quit"), ("?", "help"), (":", "command"), ("Tab", "pane"), ("↑↓", "select"),
                                            ("p", "pause"), ("u", "unpause"), ("d", "destroy"), ("c", "console"), ("s", "sort")]

    /// The bottom row; returns where the cursor goes when a line is being edited.
    static func bottom(_ input: RenderInput, in rect: Rect, on buffer: inout ScreenBuffer) -> (x: Int, y: Int)? {
        guard !rect.isEmpty else { return nil }
        buffer.fill(rect)
        switch input.view.mode {
        case .command:
            let editor = input.view.command
            let chars = editor.text
            let room = max(1, rect.width - 2)
            // Keep the cursor on screen: scroll the line left when it is longer than the row.
            let start = max(0, editor.cursor - room + 1)
            let shown = String(chars[min(start, chars.count)...])
            buffer.put(":", x: rect.x, y: rect.y, role: .commandLine)
            buffer.put(shown, x: rect.x + 1, y: rect.y, role: .commandLine, maxWidth: room)
            let before = TextCells.width(String(chars[min(start, chars.count)..<min(editor.cursor, chars.count)]))
            return (rect.x + 1 + min(before, room), rect.y)
        case .confirm(let c):
            buffer.put(" " + c.question, x: rect.x, y: rect.y, role: .warning, maxWidth: rect.width)
        case .attached(let d):
            buffer.put(" attached to \(d)'s console: keys go to the guest " + Glyph.dot + " Ctrl-] detaches", x: rect.x, y: rect.y,
                       role: .accent, maxWidth: rect.width)
        case .help, .output:
            buffer.put(" Esc or q closes " + Glyph.dot + " ↑↓ PgUp PgDn scroll", x: rect.x, y: rect.y, role: .hint, maxWidth: rect.width)
        case .normal:
            var x = rect.x + 1
            for (key, what) in input.view.playback == nil ? hints : playbackHints {
                let need = TextCells.width(key) + 1 + TextCells.width(what) + 2
                guard x + need <= rect.maxX else { break }
                x += buffer.put(key, x: x, y: rect.y, role: .hintKey)
                x += buffer.put(" " + what + "  ", x: x, y: rect.y, role: .hint)
            }
        }
        return nil
    }
}

/// Help and command output, drawn over the panes.
enum Overlay {
    static func helpLines() -> [String] {
        var lines = [
            "Keys",
            "  ?  F1            this help                 Tab  Shift-Tab   next / previous pane",
            "  1 ... 6          jump to a pane            ↑ ↓  j k         select a domain, or scroll",
            "  PgUp PgDn        a page                    Home End         first / last (End follows)",
            "  ← →              trap table: vCPU          s  S             sort column / direction",
            "  p  u             pause / unpause           d                destroy (asks first)",
            "  c                attach the console        Ctrl-]           detach",
            "  :                command line              q  Ctrl-C        quit (asks while domains run)",
            "  Ctrl-L           redraw",
            "",
            "Playback (`xkv replay FILE`): the record drives the domains",
            "  space            pause / resume            .                apply the next step, then pause",
            "  + -              speed ×2 / ÷2 (×0.25-×16) ]                run ahead to the next checkpoint",
            "  :seek N          run ahead to the first checkpoint at or after record N (forward only)",
            "",
            "Command line (the same commands scripts take, `xkv run`):",
        ]
        lines += Executor.helpText.split(separator: "\n").map { "  " + $0 }
        lines += [
            "  theme NAME                         switch theme (dark, light, high-contrast, monochrome, or a file)",
            "  quit                               as q",
            "",
            "Panes",
            "  Domains          xl list columns plus xentop's CPU%, exits/s, hypercalls/s, syscalls/s",
            "  Trap table       the selected domain's virtual IDT beside xkv's global IDT; rows bounced in",
            "                   the last second are highlighted; whose 0x80 handler each pCPU holds",
            "  Syscall routing  direct (pv32 int 0x80, guest-reported), routed (pv64 syscall, counted by",
            "                   xkv), not visible (HVM); rates and a one-minute sparkline",
            "  Stubdoms         device-model and pv-grub stub domains",
            "  Console          the selected domain's console; c attaches, Ctrl-] detaches",
            "  Event log        lifecycle changes, crashes with reasons, scheduler events, errors",
        ]
        return lines
    }

    static func draw(title: String, lines: [String], scroll: Int, in screen: Rect, on buffer: inout ScreenBuffer, info: inout FrameInfo) {
        let width = min(screen.width - 4, max(60, (lines.map { TextCells.width($0) }.max() ?? 0) + 4))
        let height = min(screen.height - 4, lines.count + 2)
        guard width >= 10, height >= 3 else { return }
        let rect = Rect(x: screen.x + (screen.width - width) / 2, y: screen.y + max(2, (screen.height - height) / 2), width: width, height: height)
        let visible = max(1, height - 2)
        let limit = max(0, lines.count - visible)
        let offset = PaneChrome.clamp(scroll, limit: limit)
        info.overlayScrollLimit = limit
        info.overlayPage = visible
        buffer.fill(rect, role: .overlay)
        buffer.box(rect, title: title, role: .overlay, titleRole: .overlayTitle)
        let remaining = lines.count - offset - visible
        if remaining > 0 { buffer.put(" \(remaining) more ↓ ", x: rect.maxX - 16, y: rect.maxY - 1, role: .overlay, maxWidth: 14) }
        let inner = Rect(x: rect.x + 2, y: rect.y + 1, width: rect.width - 4, height: rect.height - 2)
        for (i, line) in lines.dropFirst(offset).prefix(visible).enumerated() {
            buffer.put(line, x: inner.x, y: inner.y + i, role: .overlay, maxWidth: inner.width)
        }
    }
}
