/// Domains: `xl list`'s columns plus `xentop`'s CPU% and per-second exits, hypercalls and
/// system calls, sorted by any column, with the selected row highlighted.
enum DomainsPane {
    struct Column {
        var kind: DomainColumn
        var width: Int
    }

    /// The columns that fit `width`, the name column taking what is left.
    static func columns(width: Int) -> [Column] {
        let kinds: [DomainColumn]
        if width >= 110 {
            kinds = [.name, .id, .kind, .state, .memory, .vcpus, .time, .cpu, .exits, .hypercalls, .syscalls, .cmdline]
        } else if width >= 66 {
            kinds = [.name, .id, .state, .memory, .vcpus, .time, .cpu, .exits, .hypercalls, .syscalls]
        } else {
            kinds = [.name, .id, .state, .cpu, .exits, .syscalls]
        }
        func fixed(_ k: DomainColumn) -> Int {
            switch k {
            case .id: return 4
            case .kind: return 5
            case .state: return 6
            case .memory: return 6
            case .vcpus: return 5
            case .time: return 9
            case .cpu: return 6
            case .exits, .hypercalls: return 8
            case .syscalls: return 7
            case .name, .cmdline: return 0
            }
        }
        let used = kinds.map(fixed).reduce(0, +) + (kinds.count - 1)
        let spare = max(0, width - used)
        let nameWidth = kinds.contains(.cmdline) ? min(max(8, spare / 3), 24) : max(8, spare)
        return kinds.map { k in
            switch k {
            case .name: return Column(kind: k, width: nameWidth)
            case .cmdline: return Column(kind: k, width: max(0, spare - nameWidth))
            default: return Column(kind: k, width: fixed(k))
            }
        }
    }

    static func value(_ row: DomainRow, _ column: DomainColumn) -> String {
        func rate(_ v: Double?) -> String { v.map(Format.compact) ?? "-" }
        switch column {
        case .name: return row.name
        case .id: return String(row.id)
        case .kind: return row.kind
        case .state: return row.state
        case .memory: return String(row.memoryMiB)
        case .vcpus: return String(row.vcpus)
        case .time: return Format.fixed(row.cpuSeconds, 1)
        case .cpu: return row.rates.map { Format.fixed($0.cpuPercent, 1) } ?? "-"
        case .exits: return row.isDomain0 ? "-" : rate(row.rates?.exitsPerSecond)
        case .hypercalls: return row.isDomain0 ? "-" : rate(row.rates?.hypercallsPerSecond)
        case .syscalls: return row.isDomain0 || row.kind == GuestKind.hvm.rawValue ? "-" : rate(row.rates?.syscallsPerSecond)
        case .cmdline: return row.cmdline
        }
    }

    static func stateRole(_ row: DomainRow) -> StyleRole {
        if row.crashed { return .crashed }
        if row.paused { return .paused }
        if row.shutdown { return .shutdown }
        if row.running { return .running }
        return .blocked
    }

    static func draw(_ input: RenderInput, rows: [DomainRow], in rect: Rect, focused: Bool, on buffer: inout ScreenBuffer, info: inout FrameInfo) {
        let sort = input.view.sort
        let arrow = sort.descending ? Glyph.sortDescending : Glyph.sortAscending
        let title = "Domains " + Glyph.dot + " " + String(rows.count) + " " + Glyph.dot + " sort " + sort.column.title + " " + arrow
        let visibleRows = max(0, rect.height - 3)
        let selectedIndex = rows.firstIndex { $0.id == input.view.selectedID } ?? 0
        let offset = selectedIndex >= visibleRows ? selectedIndex - visibleRows + 1 : 0
        let below = max(0, rows.count - offset - visibleRows)
        var footer: String?
        if offset > 0 || below > 0 {
            footer = (offset > 0 ? "↑ \(offset) " : "") + (below > 0 ? "\(below) more ↓" : "")
        }
        let area = PaneChrome.box(&buffer, rect, title: title, focused: focused, footer: footer)
        info.pageSizes[.domains] = max(1, visibleRows)
        guard !area.isEmpty else { return }
        let columns = columns(width: area.width)

        var x = area.x
        for column in columns where column.width > 0 {
            let t = column.kind.rightAligned ? TextCells.lpad(column.kind.title, column.width) : TextCells.pad(column.kind.title, column.width)
            buffer.put(t, x: x, y: area.y, role: column.kind == sort.column ? .headerSorted : .header, clip: area)
            x += column.width + 1
        }
        for (i, row) in rows.dropFirst(offset).prefix(visibleRows).enumerated() {
            let y = area.y + 1 + i
            var x = area.x
            for column in columns where column.width > 0 {
                let v = value(row, column.kind)
                let t = column.kind.rightAligned ? TextCells.lpad(v, column.width) : TextCells.pad(v, column.width)
                let role: StyleRole = column.kind == .state ? stateRole(row) : (row.isDomain0 ? .dim : .normal)
                buffer.put(t, x: x, y: y, role: role, clip: area)
                x += column.width + 1
            }
            if row.id == input.view.selectedID {
                buffer.restyle(Rect(x: area.x, y: y, width: area.width, height: 1), role: focused ? .selected : .selectedUnfocused)
            }
        }
    }
}
