import Foundation
import Session

/// `xkv export --asciicast OUT.cast RECORD`: the screen frames of a console recording as an
/// asciicast v2 file (https://docs.asciinema.org/manual/asciicast/v2/): a header line, then one
/// `[seconds, "o", text]` line per recorded frame, the text being what a terminal needs to go
/// from the previous frame to this one (the rows that changed, with the theme's colours as SGR
/// codes); a resize is an `[seconds, "r", "COLSxROWS"]` line before its frame.
///
/// Every frame is checked against its recorded digest on the way, so an export is also a
/// proof that the record holds the screens it claims.
public enum AsciicastExport {
    public struct Result: Sendable {
        public var text: String
        /// Output (`"o"`) events: one per recorded frame.
        public var frames: Int
        public var resizes: Int
    }

    public static func export(_ file: RecordFile, theme: Theme = ThemeLoader.fallback) throws(RecordError) -> Result {
        let frameEvents = file.events.filter { $0["type"]?.stringValue == "frame" }
        guard let first = frameEvents.first else {
            throw RecordError("\(file.path): no screen frames to export: only console recordings (`xkv --record FILE`) have them")
        }
        let start = first["wall"]?.doubleValue.flatMap { $0.isFinite ? $0 : nil } ?? 0
        var width = Int(first["columns"]?.intValue ?? 80), height = Int(first["rows"]?.intValue ?? 24)
        if let t = file.header["terminal"], let c = t["columns"]?.intValue, let r = t["rows"]?.intValue, (1...4096).contains(c),
           (1...4096).contains(r) { width = Int(c); height = Int(r) }
        var lines: [String] = [
            JSON.object([("version", .int(2)), ("width", .int(Int64(width))), ("height", .int(Int64(height))),
                         ("timestamp", .int(Int64(exactly: start.rounded(.down)) ?? 0)), ("title", .string("xkv session \((file.path as NSString).lastPathComponent)")),
                         ("env", .object([("TERM", .string("xterm-256color"))]))]).rendered,
        ]
        var screen = ReplayedScreen()
        var frames = 0, resizes = 0
        let sgr = StyleRole.allCases.map { Self.sgr(theme.style($0), monochrome: theme.monochrome) }
        for event in frameEvents {
            let seq = Int(event["seq"]?.intValue ?? 0)
            let wall = event["wall"]?.doubleValue.flatMap { $0.isFinite ? $0 : nil } ?? start
            let time = max(0, wall - start)
            let stamp = JSON.double((time * 1_000_000).rounded() / 1_000_000).rendered
            let before = (screen.columns, screen.rows)
            let rows = try screen.apply(event, seq: seq)
            if before.0 != 0, before != (screen.columns, screen.rows) {
                lines.append("[\(stamp),\"r\",\(JSON.quote("\(screen.columns)x\(screen.rows)"))]")
                resizes += 1
            }
            var out = event["full"]?.boolValue == true ? "\u{1b}[?25l\u{1b}[0m\u{1b}[H\u{1b}[2J" : "\u{1b}[?25l"
            for y in rows { out += row(screen.texts[y], screen.roles[y], y: y, sgr: sgr) }
            if let c = screen.cursor { out += "\u{1b}[\(c.y + 1);\(c.x + 1)H\u{1b}[?25h" }
            lines.append("[\(stamp),\"o\",\(JSON.quote(out))]")
            frames += 1
        }
        return Result(text: lines.joined(separator: "\n") + "\n", frames: frames, resizes: resizes)
    }

    /// One row: move there, then each run of cells in one role with its SGR codes.
    static func row(_ text: String, _ roles: String, y: Int, sgr: [String]) -> String {
        var out = "\u{1b}[\(y + 1);1H"
        var current: StyleRole?
        var roleScalars = roles.unicodeScalars.makeIterator()
        for scalar in text.unicodeScalars {
            let role = roleScalars.next().map(ScreenRecording.role) ?? .normal
            if role != current {
                out += sgr[Int(role.rawValue)]
                current = role
            }
            out.unicodeScalars.append(scalar)
        }
        return out + "\u{1b}[0m"
    }

    /// The SGR sequence that sets `style` from a reset.
    static func sgr(_ style: Style, monochrome: Bool) -> String {
        var codes = ["0"]
        let a = style.attributes
        if a.contains(.bold) { codes.append("1") }
        if a.contains(.dim) { codes.append("2") }
        if a.contains(.italic) { codes.append("3") }
        if a.contains(.underline) { codes.append("4") }
        if a.contains(.reverse) || a.contains(.standout) { codes.append("7") }
        if !monochrome {
            if case .index(let i) = style.foreground { codes.append(i < 8 ? "\(30 + i)" : i < 16 ? "\(90 + i - 8)" : "38;5;\(i)") }
            if case .index(let i) = style.background { codes.append(i < 8 ? "\(40 + i)" : i < 16 ? "\(100 + i - 8)" : "48;5;\(i)") }
        }
        return "\u{1b}[" + codes.joined(separator: ";") + "m"
    }
}
