import CNcurses

/// The ncurses backend: copies screen buffers to the terminal, row by row where they changed,
/// and reads keys. Only this file calls ncurses (through the CNcurses shim).
public final class NcursesTerminal: Terminal {
    public enum StartError: Error, CustomStringConvertible {
        case notATerminal

        public var description: String {
            "xkv's console needs a terminal (standard input and output must be a tty, and TERM must name a known terminal); "
                + "use `xkv run FILE` for scripts"
        }
    }

    /// True when the locale is UTF-8: Unicode glyphs are drawn as they are; otherwise box lines
    /// become ACS line-drawing characters and other glyphs ASCII.
    public let utf8: Bool
    private var previous: ScreenBuffer?
    /// Per role: the attribute bits and colour pair to draw with.
    private var looks: [(attributes: UInt32, pair: Int32)] = Array(repeating: (0, 0), count: StyleRole.allCases.count)
    private var stopped = false

    public init() throws(StartError) {
        utf8 = xkv_nc_setlocale() != 0
        guard xkv_nc_start() == 0 else { throw .notATerminal }
    }

    deinit { stop() }

    public var size: (width: Int, height: Int) {
        var rows: Int32 = 0, cols: Int32 = 0
        xkv_nc_size(&rows, &cols)
        return (Int(cols), Int(rows))
    }

    public var hasColour: Bool { xkv_nc_has_colors() != 0 }

    public func apply(_ theme: Theme) {
        let colours = Int(xkv_nc_colors())
        let useColour = hasColour && !theme.monochrome
        for role in StyleRole.allCases {
            let style = theme.style(role)
            var attributes = style.attributes
            var pair: Int32 = 0
            if useColour {
                let (fg, fgBold) = Self.terminalColour(style.foreground, colours: colours)
                let (bg, _) = Self.terminalColour(style.background, colours: colours)
                if fgBold { attributes.insert(.bold) }
                pair = Int32(role.rawValue) + 1
                if xkv_nc_init_pair(pair, fg, bg) != 0 { pair = 0 }
            }
            looks[Int(role.rawValue)] = (xkv_nc_attr(attributes.contains(.bold) ? 1 : 0, attributes.contains(.dim) ? 1 : 0,
                                                     attributes.contains(.underline) ? 1 : 0, attributes.contains(.reverse) ? 1 : 0,
                                                     attributes.contains(.standout) ? 1 : 0, attributes.contains(.italic) ? 1 : 0), pair)
        }
        invalidate()
    }

    /// A theme colour as the terminal's colour number: -1 for the default; bright colours on an
    /// 8-colour terminal become the basic colour drawn bold.
    static func terminalColour(_ c: ThemeColor, colours: Int) -> (Int32, Bool) {
        switch c {
        case .terminalDefault: return (-1, false)
        case .index(let n):
            if n < colours { return (Int32(n), false) }
            if n >= 8 && n < 16 { return (Int32(n - 8), true) }
            return (-1, false)
        }
    }

    public func invalidate() {
        previous = nil
        xkv_nc_invalidate()
    }

    public func draw(_ buffer: ScreenBuffer) {
        guard !stopped else { return }
        let old = previous.flatMap { $0.width == buffer.width && $0.height == buffer.height ? $0 : nil }
        var run: [UInt32] = []
        run.reserveCapacity(buffer.width)
        for y in 0..<buffer.height {
            let start = y * buffer.width
            if let old, old.cells[start..<start + buffer.width] == buffer.cells[start..<start + buffer.width] { continue }
            var x = 0
            while x < buffer.width {
                let role = buffer.cells[start + x].role
                let look = looks[Int(role.rawValue)]
                run.removeAll(keepingCapacity: true)
                while x < buffer.width, buffer.cells[start + x].role == role {
                    let s = buffer.cells[start + x].scalar
                    if !utf8, let acs = Self.acs(s) {
                        flush(&run, y: y, x: x - run.count, look)
                        xkv_nc_draw_acs(Int32(y), Int32(x), acs, look.attributes, look.pair)
                    } else {
                        run.append(utf8 ? s.value : Glyph.asciiFallback(s).value)
                    }
                    x += 1
                }
                flush(&run, y: y, x: x - run.count, look)
            }
        }
        if let c = buffer.cursor {
            xkv_nc_cursor(Int32(c.y), Int32(c.x), 1)
        } else {
            xkv_nc_cursor(0, 0, 0)
        }
        xkv_nc_refresh()
        previous = buffer
    }

    private func flush(_ run: inout [UInt32], y: Int, x: Int, _ look: (attributes: UInt32, pair: Int32)) {
        guard !run.isEmpty else { return }
        run.withUnsafeBufferPointer { p in
            xkv_nc_draw(Int32(y), Int32(x), p.baseAddress, Int32(p.count), look.attributes, look.pair)
        }
        run.removeAll(keepingCapacity: true)
    }

    static func acs(_ s: Unicode.Scalar) -> Int32? {
        switch s {
        case "─": return Int32(XKV_ACS_HLINE.rawValue)
        case "│": return Int32(XKV_ACS_VLINE.rawValue)
        case "┌": return Int32(XKV_ACS_ULCORNER.rawValue)
        case "┐": return Int32(XKV_ACS_URCORNER.rawValue)
        case "└": return Int32(XKV_ACS_LLCORNER.rawValue)
        case "┘": return Int32(XKV_ACS_LRCORNER.rawValue)
        case "█": return Int32(XKV_ACS_BLOCK.rawValue)
        case "·": return Int32(XKV_ACS_BULLET.rawValue)
        case "↑": return Int32(XKV_ACS_UARROW.rawValue)
        case "↓": return Int32(XKV_ACS_DARROW.rawValue)
        case "→": return Int32(XKV_ACS_RARROW.rawValue)
        case "←": return Int32(XKV_ACS_LARROW.rawValue)
        default: return nil
        }
    }

    public func readKey(timeoutMilliseconds: Int) -> Key? {
        guard !stopped else { return nil }
        var function: Int32 = 0
        let code = xkv_nc_read_key(Int32(max(-1, min(timeoutMilliseconds, 60_000))), &function)
        guard code >= 0 else { return nil }
        if function == 0 { return Key(code: UInt32(code)) }
        switch code {
        case xkv_key_up: return .up
        case xkv_key_down: return .down
        case xkv_key_left: return .left
        case xkv_key_right: return .right
        case xkv_key_home: return .home
        case xkv_key_end: return .end
        case xkv_key_ppage: return .pageUp
        case xkv_key_npage: return .pageDown
        case xkv_key_btab: return .backTab
        case xkv_key_backspace: return .backspace
        case xkv_key_dc: return .delete
        case xkv_key_ic: return .insert
        case xkv_key_enter: return .enter
        case xkv_key_resize: return .resize
        default:
            for n in 1...12 where code == xkv_key_f(Int32(n)) { return .function(n) }
            return nil
        }
    }

    public func stop() {
        guard !stopped else { return }
        stopped = true
        xkv_nc_stop()
    }
}
