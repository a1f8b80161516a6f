/// Number and time formatting for the panes, without Foundation's `String(format:)` (a frame of
/// 64 domains formats a few thousand numbers; this keeps `console.frame` cheap).
enum Format {
    /// `v` with `decimals` digits after the point (0...3), rounded half away from zero.
    static func fixed(_ v: Double, _ decimals: Int) -> String {
        guard v.isFinite else { return "-" }
        let d = max(0, min(3, decimals))
        let scale = [1.0, 10.0, 100.0, 1000.0][d]
        let scaled = (abs(v) * scale).rounded()
        guard scaled < 9.0e15 else { return v < 0 ? "-huge" : "huge" }
        let n = UInt64(scaled)
        let whole = n / UInt64(scale), frac = n % UInt64(scale)
        var s = (v < 0 && n != 0 ? "-" : "") + String(whole)
        if d > 0 {
            let f = String(frac)
            s += "." + String(repeating: "0", count: d - f.count) + f
        }
        return s
    }

    /// A rate or count in at most 6 columns: `950`, `12.5`, `1.2k`, `34.0M`.
    static func compact(_ v: Double) -> String {
        guard v.isFinite, v >= 0 else { return "-" }
        if v < 10 { return v == v.rounded() ? String(Int(v)) : fixed(v, 1) }
        if v < 1000 { return fixed(v, 0) }
        if v < 1_000_000 { return fixed(v / 1000, v < 100_000 ? 1 : 0) + "k" }
        if v < 1_000_000_000 { return fixed(v / 1_000_000, v < 100_000_000 ? 1 : 0) + "M" }
        return fixed(v / 1_000_000_000, 1) + "G"
    }

    static func count(_ v: UInt64) -> String {
        v < 1_000_000 ? String(v) : compact(Double(v))
    }

    /// `HH:MM:SS` of a wall-clock time, shifted by `utcOffset` seconds.
    static func clock(_ wallTime: Double, utcOffset: Int) -> String {
        guard wallTime.isFinite else { return "--:--:--" }
        let t = Int64(wallTime.rounded(.down)) + Int64(utcOffset)
        let day = ((t % 86_400) + 86_400) % 86_400
        func two(_ n: Int64) -> String { n < 10 ? "0" + String(n) : String(n) }
        return two(day / 3600) + ":" + two(day / 60 % 60) + ":" + two(day % 60)
    }

    static func hex(_ v: UInt64, width: Int) -> String {
        let s = String(v, radix: 16)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    /// How the trap pane names a vector: decimal below 32 (as exceptions are known), hex above.
    static func vector(_ v: Int) -> String { v < 32 ? String(v) : "0x" + hex(UInt64(v), width: 2) }
}
