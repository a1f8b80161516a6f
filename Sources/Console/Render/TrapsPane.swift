import Hypervisor

/// Trap table: the selected domain's virtual IDT (what its kernel registered with
/// set_trap_table) beside xkv's global IDT (what the processor really uses), entries bounced in
/// the last second highlighted, and whose 0x80 handler each pCPU has installed.
enum TrapsPane {
    struct Row {
        var vector: Int
        var guest: TrapEntry?
        var gate: IDTGate?
        var hitsPerSecond: UInt64
        var bounced: UInt64
    }

    /// Vectors worth a row: registered, ever bounced, and the system-call gate.
    static func rows(_ domain: DomainSnapshot, vcpu: Int, metrics: Metrics, globalIDT: [IDTGate], kind: GuestKind) -> [Row] {
        let table = vcpu < domain.trapTables.count ? domain.trapTables[vcpu] : []
        let counters = vcpu < domain.perVCPU.count ? domain.perVCPU[vcpu] : VCPUCounters()
        let hits = metrics.rates[domain.id]?.bouncedHits[vcpu] ?? [:]
        var vectors = Set(table.map { Int($0.vector) })
        for (v, n) in counters.exceptionsBounced.enumerated() where n > 0 { vectors.insert(v) }
        vectors.formUnion(hits.keys)
        vectors.insert(0x80)
        if kind == .pv32 { vectors.insert(0x82) }
        let gates = Dictionary(globalIDT.map { ($0.vector, $0) }, uniquingKeysWith: { a, _ in a })
        return vectors.sorted().map { v in
            Row(vector: v, guest: table.first { Int($0.vector) == v }, gate: gates[v], hitsPerSecond: hits[v] ?? 0,
                bounced: v < counters.exceptionsBounced.count ? counters.exceptionsBounced[v] : 0)
        }
    }

    static func name(_ vector: Int, gate: IDTGate?) -> String {
        let n = gate?.name ?? HypervisorHole.exceptionName(vector)
        return n.hasPrefix("vector ") ? "-" : n
    }

    static func draw(_ input: RenderInput, in rect: Rect, focused: Bool, on buffer: inout ScreenBuffer, info: inout FrameInfo) {
        let snapshot = input.snapshot
        guard let domain = input.selectedDomain else {
            let area = PaneChrome.box(&buffer, rect, title: Pane.traps.title + " " + Glyph.dot + " Domain-0", focused: focused)
            let text = "Domain-0 is xkv itself: it has no virtual IDT. xkv's global IDT (\(snapshot.globalIDT.count) gates) is the "
                + "real IDT of every PV vCPU; select a PV domain to see its virtual IDT beside it."
            PaneChrome.lines(&buffer, area, PaneChrome.wordWrap(text, area.width).map { ($0, .dim) })
            info.scrollLimits[.traps] = 0
            return
        }
        let kind = GuestKind(domain)
        let vcpuCount = max(1, domain.trapTables.count)
        let vcpu = min(max(0, input.view.trapVCPU), vcpuCount - 1)
        let title = Pane.traps.title + " " + Glyph.dot + " " + domain.name + " (\(domain.id)) " + Glyph.dot + " vCPU \(vcpu)/\(vcpuCount)"
        if kind == .hvm {
            let area = PaneChrome.box(&buffer, rect, title: title, focused: focused)
            let text = "HVM: the guest's own IDT is live in VMX/SVM non-root ring 0. xkv keeps no virtual IDT for it, and its "
                + "exceptions and system calls never pass through xkv's global IDT."
            PaneChrome.lines(&buffer, area, PaneChrome.wordWrap(text, area.width).map { ($0, .dim) })
            info.scrollLimits[.traps] = 0
            return
        }
        let rows = rows(domain, vcpu: vcpu, metrics: input.metrics,
                        globalIDT: kind == .pv32 ? snapshot.globalIDT32 : snapshot.globalIDT, kind: kind)
        let gateLines = pcpuLines(snapshot, width: max(0, rect.width - 2))
        let tableHeight = max(0, rect.height - 2 - 1 - gateLines.count)
        let limit = max(0, rows.count - tableHeight)
        let offset = PaneChrome.clamp(input.view.scroll(.traps), limit: limit)
        info.scrollLimits[.traps] = limit
        info.pageSizes[.traps] = max(1, tableHeight)
        let registered = domain.trapTables.indices.contains(vcpu) ? domain.trapTables[vcpu].count : 0
        let remaining = rows.count - offset - tableHeight
        let footer = "\(registered) registered" + (remaining > 0 ? " " + Glyph.dot + " \(remaining) more ↓" : "")
        let area = PaneChrome.box(&buffer, rect, title: title, focused: focused, footer: footer)
        guard !area.isEmpty else { return }
        let wide = area.width >= 96
        // Columns: vector, name, guest cs:address, dpl, [mask], xkv entry, [type, dpl], hits/s, bounced.
        var header = TextCells.lpad("Vec", 4) + " " + TextCells.pad("Name", 8) + " " + TextCells.pad("Guest virtual IDT", 21) + " "
            + TextCells.pad("DPL", 3) + " "
        if wide { header += TextCells.pad("Mask", 4) + " " }
        header += TextCells.pad("xkv global IDT", 16) + " "
        if wide { header += TextCells.pad("Gate", 11) + " " + TextCells.pad("DPL", 3) + " " }
        header += TextCells.lpad("Hits/s", 6) + " " + TextCells.lpad("Bounced", 8)
        buffer.put(header, x: area.x, y: area.y, role: .header, maxWidth: area.width)
        for (i, row) in rows.dropFirst(offset).prefix(tableHeight).enumerated() {
            let y = area.y + 1 + i
            var line = TextCells.lpad(Format.vector(row.vector), 4) + " " + TextCells.pad(name(row.vector, gate: row.gate), 8) + " "
            if let g = row.guest {
                // A 32-bit guest's handlers are 32-bit addresses: 8 digits, as it sees them.
                let digits = kind == .pv32 && g.address <= UInt64(UInt32.max) ? 8 : 16
                line += TextCells.pad(Format.hex(UInt64(g.cs), width: 4) + ":" + Format.hex(g.address, width: digits), 21) + " "
                    + TextCells.pad(String(g.dpl), 3) + " "
                if wide { line += TextCells.pad(g.masksEvents ? "yes" : "no", 4) + " " }
            } else {
                line += TextCells.pad("(none registered)", 21) + " " + TextCells.pad("-", 3) + " "
                if wide { line += TextCells.pad("-", 4) + " " }
            }
            if let gate = row.gate {
                line += Format.hex(gate.entry, width: 16) + " "
                if wide { line += TextCells.pad(gate.gateType, 11) + " " + TextCells.pad(String(gate.dpl), 3) + " " }
            } else {
                line += TextCells.pad("-", 16) + " "
                if wide { line += TextCells.pad("-", 11) + " " + TextCells.pad("-", 3) + " " }
            }
            line += TextCells.lpad(String(row.hitsPerSecond), 6) + " " + TextCells.lpad(Format.count(row.bounced), 8)
            buffer.put(line, x: area.x, y: y, role: row.guest == nil ? .dim : .normal, maxWidth: area.width)
            if row.hitsPerSecond > 0 { buffer.restyle(Rect(x: area.x, y: y, width: area.width, height: 1), role: .hit) }
        }
        let gateTop = area.maxY - gateLines.count
        for (i, line) in gateLines.enumerated() where gateTop + i >= area.y + 1 {
            buffer.put(line.0, x: area.x, y: gateTop + i, role: line.1, maxWidth: area.width)
        }
    }

    /// One line per pCPU saying whose 0x80 handler its slot holds (Xen's int80_direct_trap).
    static func pcpuLines(_ snapshot: EngineSnapshot, width: Int) -> [(String, StyleRole)] {
        guard !snapshot.pcpus.isEmpty else {
            return [("0x80 gates: no pCPU placement published yet (the credit scheduler reports it)", .dim)]
        }
        let names = Dictionary(snapshot.domains.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        var parts: [String] = []
        for p in snapshot.pcpus {
            var s = "pCPU\(p.id) "
            if let g = p.gate80 {
                s += (names[g.domain] ?? "dom\(g.domain)") + ".\(g.vcpu) " + Format.hex(UInt64(g.cs), width: 4) + ":" + Format.hex(g.address, width: 8)
            } else {
                s += "xkv"
            }
            if let r = p.running { s += " (runs " + (names[r.domain] ?? "dom\(r.domain)") + ".\(r.vcpu))" }
            parts.append(s)
        }
        // As many pCPUs per line as fit, at most two lines.
        var lines: [String] = []
        var current = "0x80 gate:"
        for part in parts {
            if TextCells.width(current) + 3 + TextCells.width(part) > width && current != "0x80 gate:" {
                lines.append(current)
                current = "          "
            }
            current += (current.hasSuffix(":") || current.hasSuffix("  ") ? " " : " " + Glyph.dot + " ") + part
        }
        lines.append(current)
        return lines.suffix(2).map { ($0, .accent) }
    }
}
