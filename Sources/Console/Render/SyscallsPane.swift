import Hypervisor

/// Syscall routing: for each domain, how many system calls went which way (direct into the
/// guest kernel, routed by xkv, or never visible), their rate with a one-minute sparkline, and
/// the path that kind of guest's system calls take.
enum SyscallsPane {
    static func sparkline(_ values: [Double], width: Int) -> String {
        guard width > 0 else { return "" }
        let shown = Array(values.suffix(width))
        let top = shown.max() ?? 0
        var s = String.UnicodeScalarView()
        for v in shown {
            let level = top > 0 ? Int((v / top * Double(Glyph.levels.count - 1)).rounded()) : 0
            s.append(Glyph.levels[max(0, min(Glyph.levels.count - 1, level))])
        }
        return String(repeating: " ", count: width - shown.count) + String(s)
    }

    /// Where the sparkline starts: after name, kind, direct, routed, not visible and rate.
    static let sparkColumn = 14 + 1 + 5 + 1 + 9 + 1 + 9 + 1 + 11 + 1 + 7 + 1

    static func draw(_ input: RenderInput, order: [Int], in rect: Rect, focused: Bool, on buffer: inout ScreenBuffer, info: inout FrameInfo) {
        let byID = Dictionary(input.snapshot.domains.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let domains = order.compactMap { byID[$0] }
        let inner = max(0, rect.width - 2)
        let sparkWidth = max(0, min(History.sparklineSeconds, inner - sparkColumn - 1))
        let legend: [(String, StyleRole, Bool)] = [
            ("direct: guest-reported (the guest counts them; xkv cannot see them by design) " + Glyph.dot + " routed: counted by xkv "
                + Glyph.dot + " not visible: HVM system calls never reach xkv", .dim, false),
        ]
        let tableHeight = max(0, rect.height - 3 - legend.count)
        let limit = max(0, 2 * domains.count - tableHeight)
        let offset = PaneChrome.clamp(input.view.scroll(.syscalls), limit: limit)
        info.scrollLimits[.syscalls] = limit
        info.pageSizes[.syscalls] = max(1, tableHeight)
        // Two rows per domain; only the domains in view are formatted.
        var lines: [(String, StyleRole, Bool)] = []  // text, role, is the selected domain's name line
        let first = offset / 2, last = min(domains.count, (offset + tableHeight + 1) / 2 + 1)
        for d in domains[min(first, last)..<last] {
            let kind = GuestKind(d)
            let rates = input.metrics.rates[d.id]
            let direct: String, routed: String, hidden: String, rate: String
            switch kind {
            case .pv32:
                direct = Format.count(d.syscalls.directGuestReported)
                routed = Format.count(d.syscalls.routed)
                hidden = "-"
                rate = rates.map { Format.compact($0.syscallsPerSecond) } ?? "-"
            case .pv64:
                direct = d.syscalls.directGuestReported > 0 ? Format.count(d.syscalls.directGuestReported) : "-"
                routed = Format.count(d.syscalls.routed)
                hidden = "-"
                rate = rates.map { Format.compact($0.syscallsPerSecond) } ?? "-"
            case .hvm:
                direct = "-"
                routed = "-"
                hidden = "all"
                rate = "n/a"
            }
            var line = TextCells.pad(d.name, 14) + " " + TextCells.pad(kind.rawValue, 5) + " " + TextCells.lpad(direct, 9) + " "
                + TextCells.lpad(routed, 9) + " " + TextCells.lpad(hidden, 11) + " " + TextCells.lpad(rate, 7)
            if sparkWidth > 0 {
                line += " " + (kind == .hvm ? String(repeating: " ", count: sparkWidth) : sparkline(input.metrics.syscallHistory[d.id] ?? [], width: sparkWidth))
            }
            lines.append((line, .normal, d.id == input.view.selectedID))
            var path = "  " + kind.syscallPath
            if kind == .pv32 { path += " " + Glyph.dot + " 0x80 gate installs \(Format.count(d.syscalls.gateInstalls))" }
            if let r = rates, kind != .hvm, r.routedPerSecond > 0 && r.directPerSecond > 0 {
                // Both kinds at once (a guest that reports direct calls and also has routed ones).
                let split = " " + Glyph.dot + " direct " + Format.compact(r.directPerSecond) + "/s, routed " + Format.compact(r.routedPerSecond) + "/s"
                if TextCells.width(path + split) <= inner { path += split }
            }
            lines.append((path, .dim, false))
        }
        let remaining = 2 * domains.count - offset - tableHeight
        let area = PaneChrome.box(&buffer, rect, title: Pane.syscalls.title, focused: focused,
                                  footer: remaining > 0 ? "\(remaining) more ↓" : nil)
        guard !area.isEmpty else { return }
        var header = TextCells.pad("Domain", 14) + " " + TextCells.pad("Kind", 5) + " " + TextCells.lpad("Direct", 9) + " "
            + TextCells.lpad("Routed", 9) + " " + TextCells.lpad("Not visible", 11) + " " + TextCells.lpad("Sysc/s", 7)
        if sparkWidth > 0 { header += " " + TextCells.pad("last \(sparkWidth) s", sparkWidth) }
        buffer.put(header, x: area.x, y: area.y, role: .header, maxWidth: area.width)
        if domains.isEmpty {
            buffer.put("No guest domains. `:create name=NAME cmdline=spin` starts one.", x: area.x, y: area.y + 1, role: .dim, maxWidth: area.width)
        }
        for (i, line) in lines.dropFirst(offset - 2 * min(first, last)).prefix(tableHeight).enumerated() {
            let y = area.y + 1 + i
            buffer.put(line.0, x: area.x, y: y, role: line.1, maxWidth: area.width)
            if sparkWidth > 0, line.1 == .normal {
                buffer.restyle(Rect(x: area.x + sparkColumn, y: y, width: sparkWidth, height: 1), role: .sparkline)
            }
            if line.2 { buffer.restyle(Rect(x: area.x, y: y, width: 14, height: 1), role: .selectedUnfocused) }
        }
        let legendTop = area.maxY - legend.count
        for (i, line) in legend.enumerated() where legendTop + i > area.y {
            buffer.put(line.0, x: area.x, y: legendTop + i, role: line.1, maxWidth: area.width)
        }
    }
}
