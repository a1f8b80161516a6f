import Session

/// What the app must do after a key: the controller itself only changes the view state.
public enum Effect: Equatable, Sendable {
    /// A `:` line: console-local commands first (`theme`, `quit`), then the shared parser.
    case commandLine(String)
    /// A hotkey's command, through the same executor as the command line.
    case run(SessionCommand)
    case consoleInput(domain: String, bytes: [UInt8])
    /// A playback key (`xkv replay FILE`).
    case playback(PlaybackAction)
    case quit
    case redraw
}

/// What the controller may look at besides the view state: the frame on screen and the names of
/// the live domains.
public struct ControllerContext: Sendable {
    public var frame: FrameInfo
    /// Live guest domains by ID.
    public var names: [Int: String]
    /// Guest domains still running (not shut down), for quit's question.
    public var running: Int
    public var now: Double

    public init(frame: FrameInfo, names: [Int: String], running: Int, now: Double) {
        self.frame = frame
        self.names = names
        self.running = running
        self.now = now
    }
}

/// The keymap: turns keys into view-state changes and effects, per mode. Pure, so every key
/// sequence can be tested without a terminal; no key can make it fail.
public enum Controller {
    public static func handle(_ key: Key, state: inout ViewState, context: ControllerContext) -> [Effect] {
        if key == .resize { return [.redraw] }
        switch state.mode {
        case .normal: return normal(key, &state, context)
        case .command: return command(key, &state, context)
        case .confirm(let c): return confirm(key, c, &state, context)
        case .help: return overlay(key, &state, context, help: true)
        case .output: return overlay(key, &state, context, help: false)
        case .attached(let domain): return attached(key, domain, &state, context)
        }
    }

    static func say(_ text: String, _ kind: StatusMessage.Kind, _ state: inout ViewState, _ context: ControllerContext) {
        state.status = StatusMessage(text, kind: kind, time: context.now)
    }

    /// The selected guest domain's name, or an error in the status line.
    static func guest(_ state: inout ViewState, _ context: ControllerContext, for what: String) -> String? {
        guard let id = state.selectedID, id != 0 else {
            say("Domain-0 is xkv itself: select a guest domain to \(what)", .error, &state, context)
            return nil
        }
        guard let name = context.names[id] else {
            say("the selected domain is gone", .error, &state, context)
            return nil
        }
        return name
    }

    static func focus(_ pane: Pane, _ state: inout ViewState) {
        state.focus = pane
        if pane != .domains { state.detail = pane }
    }

    static func normal(_ key: Key, _ state: inout ViewState, _ context: ControllerContext) -> [Effect] {
        if state.playback != nil, let effects = playback(key, &state, context) { return effects }
        let panes = Pane.allCases
        switch key {
        case .char(":"):
            state.mode = .command
            state.command.clear()
        case .char("?"), .function(1):
            state.mode = .help
            state.helpScroll = 0
        case .tab:
            focus(panes[(state.focus.rawValue + 1) % panes.count], &state)
        case .backTab:
            focus(panes[(state.focus.rawValue + panes.count - 1) % panes.count], &state)
        case .char(let c) where c.isASCII && c.isNumber:
            if let n = c.wholeNumberValue, n >= 1, n <= panes.count { focus(panes[n - 1], &state) }
        case .up, .char("k"): move(-1, &state, context)
        case .down, .char("j"): move(1, &state, context)
        case .pageUp: move(-page(state, context), &state, context)
        case .pageDown: move(page(state, context), &state, context)
        case .home: move(Int.min / 2, &state, context)
        case .end: move(Int.max / 2, &state, context)
        case .left:
            if state.focus == .traps || state.detail == .traps { state.trapVCPU = max(0, state.trapVCPU - 1) }
        case .right:
            if state.focus == .traps || state.detail == .traps { state.trapVCPU = min(63, state.trapVCPU + 1) }
        case .char("p"):
            if let d = guest(&state, context, for: "pause") { return [.run(.pause(d))] }
        case .char("u"):
            if let d = guest(&state, context, for: "unpause") { return [.run(.unpause(d))] }
        case .char("d"):
            if let d = guest(&state, context, for: "destroy") { state.mode = .confirm(.destroy(domain: d)) }
        case .char("c"):
            if let d = guest(&state, context, for: "attach its console") {
                state.mode = .attached(domain: d)
                focus(.console, &state)
                state.scroll[.console] = 0
                say("attached to \(d)'s console; Ctrl-] detaches", .info, &state, context)
            }
        case .char("s"):
            state.sort.cycle()
            say("sorted by \(state.sort.column.title)", .info, &state, context)
        case .char("S"):
            state.sort.reverse()
            say("sorted by \(state.sort.column.title), \(state.sort.descending ? "descending" : "ascending")", .info, &state, context)
        case .char("q"), .interrupt:
            if context.running > 0 {
                state.mode = .confirm(.quit(running: context.running))
            } else {
                return [.quit]
            }
        case .control(0x0c):
            return [.redraw]
        case .escape:
            state.status = nil
        default:
            break
        }
        return []
    }

    /// Playback keys, and the keys a playback does not allow (the record drives the domains);
    /// nil for keys that mean what they always mean.
    static func playback(_ key: Key, _ state: inout ViewState, _ context: ControllerContext) -> [Effect]? {
        switch key {
        case .char(" "): return [.playback(.togglePause)]
        case .char("."): return [.playback(.step)]
        case .char("+"), .char("="): return [.playback(.faster)]
        case .char("-"): return [.playback(.slower)]
        case .char("]"): return [.playback(.nextCheckpoint)]
        case .char("p"), .char("u"), .char("d"), .char("c"):
            say("playback: the record drives the domains (space pauses the playback, . steps, ] seeks to the next checkpoint)",
                .error, &state, context)
            return []
        default: return nil
        }
    }

    static func page(_ state: ViewState, _ context: ControllerContext) -> Int {
        max(1, context.frame.pageSizes[state.focus] ?? 10)
    }

    /// Up/down in the focused pane: the selection in Domains, scrolling elsewhere.
    static func move(_ delta: Int, _ state: inout ViewState, _ context: ControllerContext) {
        switch state.focus {
        case .domains:
            let order = context.frame.domainOrder
            guard !order.isEmpty else { return }
            let current = order.firstIndex(of: state.selectedID ?? -1) ?? 0
            let next = max(0, min(order.count - 1, current.addingReportingOverflow(delta).overflow ? current : current + delta))
            state.selectedID = order[next]
            state.selectionExplicit = true
            state.scroll[.traps] = 0
            state.scroll[.console] = 0
        case .traps, .syscalls, .stubdoms:
            let limit = context.frame.scrollLimits[state.focus] ?? 0
            state.scroll[state.focus] = clampedAdd(state.scroll(state.focus), delta, limit)
        case .console, .events:
            // These count back from the newest line: up goes further back.
            let limit = context.frame.scrollLimits[state.focus] ?? 0
            state.scroll[state.focus] = clampedAdd(state.scroll(state.focus), -delta, limit)
        }
    }

    static func clampedAdd(_ value: Int, _ delta: Int, _ limit: Int) -> Int {
        let (sum, overflow) = value.addingReportingOverflow(delta)
        let v = overflow ? (delta > 0 ? Int.max : Int.min) : sum
        return max(0, min(limit, v))
    }

    static func command(_ key: Key, _ state: inout ViewState, _ context: ControllerContext) -> [Effect] {
        switch key {
        case .enter:
            let line = state.command.commit()
            state.mode = .normal
            return line.contains(where: { !$0.isWhitespace }) ? [.commandLine(line)] : []
        case .escape, .interrupt:
            state.command.clear()
            state.mode = .normal
        case .char(let c): state.command.insert(c)
        case .tab: state.command.insert(" ")
        case .backspace:
            if state.command.text.isEmpty { state.mode = .normal } else { state.command.backspace() }
        case .delete, .control(0x04): state.command.delete()
        case .left, .control(0x02): state.command.left()
        case .right, .control(0x06): state.command.right()
        case .home, .control(0x01): state.command.home()
        case .end, .control(0x05): state.command.end()
        case .up, .control(0x10): state.command.previous()
        case .down, .control(0x0e): state.command.next()
        case .control(0x15): state.command.clear()
        default: break
        }
        return []
    }

    static func confirm(_ key: Key, _ c: Confirmation, _ state: inout ViewState, _ context: ControllerContext) -> [Effect] {
        state.mode = .normal
        guard key == .char("y") || key == .char("Y") else {
            say("cancelled", .info, &state, context)
            return []
        }
        switch c {
        case .destroy(let d): return [.run(.destroy(d))]
        case .quit: return [.quit]
        }
    }

    static func overlay(_ key: Key, _ state: inout ViewState, _ context: ControllerContext, help: Bool) -> [Effect] {
        let limit = context.frame.overlayScrollLimit, page = max(1, context.frame.overlayPage)
        var offset = help ? state.helpScroll : state.outputScroll
        switch key {
        case .escape, .enter, .char("q"), .char("?"), .function(1), .interrupt:
            state.mode = .normal
            return []
        case .up, .char("k"): offset = clampedAdd(offset, -1, limit)
        case .down, .char("j"), .char(" "): offset = clampedAdd(offset, 1, limit)
        case .pageUp: offset = clampedAdd(offset, -page, limit)
        case .pageDown: offset = clampedAdd(offset, page, limit)
        case .home: offset = 0
        case .end: offset = limit
        default: break
        }
        if help { state.helpScroll = offset } else { state.outputScroll = offset }
        return []
    }

    static func attached(_ key: Key, _ domain: String, _ state: inout ViewState, _ context: ControllerContext) -> [Effect] {
        if key == .detach {
            state.mode = .normal
            say("detached from \(domain)'s console", .info, &state, context)
            return []
        }
        let bytes = key.bytes
        return bytes.isEmpty ? [] : [.consoleInput(domain: domain, bytes: bytes)]
    }
}
