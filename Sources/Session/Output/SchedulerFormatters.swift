import Foundation
import Hypervisor

/// Renderings of trap tables, the global IDT, the scheduler and vCPUs (`traps`, `idt`, `sched`, `vcpus`).
extension Formatters {
    public static func traps(_ d: DomainSnapshot, vcpu: Int?) -> CommandOutput {
        let indices = vcpu.map { [$0] } ?? Array(d.trapTables.indices)
        var lines: [String] = []
        var json: [JSON] = []
        for v in indices {
            let table = d.trapTables[v]
            lines.append("domain \(d.name) vcpu \(v): \(table.count) entries (virtual IDT from set_trap_table)")
            lines.append("  vector  name          dpl  flags  cs:address")
            for e in table {
                let name = HypervisorHole.exceptionName(Int(e.vector))
                lines.append("  " + lpad(String(e.vector), 6) + "  " + pad(name, 12) + "  " + lpad(String(e.dpl), 3) + "  "
                             + lpad("0x" + String(e.flags, radix: 16), 5) + "  " + String(format: "%04x", e.cs) + ":" + String(e.address, radix: 16))
                json.append(.object([("vcpu", .int(Int64(v))), ("vector", .int(Int64(e.vector))), ("name", .string(name)),
                                     ("dpl", .int(Int64(e.dpl))), ("flags", .int(Int64(e.flags))), ("masks_events", .bool(e.masksEvents)),
                                     ("cs", .int(Int64(e.cs))), ("address", .string("0x" + String(e.address, radix: 16)))]))
            }
        }
        return CommandOutput(text: lines.joined(separator: "\n"),
                             json: .object([("domain", .string(d.name)), ("entries", .array(json))]))
    }

    public static func idt(_ s: EngineSnapshot) -> CommandOutput {
        var lines = ["xkv global IDT (the real IDT of every PV vCPU): 256 gates to xkv's ring-0 entry code",
                     "  vector  name          64-bit PV entry     32-bit PV entry     type         dpl (64/32)"]
        for (g, g32) in zip(s.globalIDT, s.globalIDT32) where g.vector < 32 || g.dpl > 0 || g32.dpl > 0 {
            lines.append("  " + lpad(String(g.vector), 6) + "  " + pad(g.name, 12) + "  " + String(g.entry, radix: 16) + "  "
                         + String(g32.entry, radix: 16) + "  " + pad(g.gateType, 11) + "  " + "\(g.dpl)/\(g32.dpl)")
        }
        lines.append("pCPU 0x80 slots (32-bit PV handlers installed by the scheduler):")
        for p in s.pcpus {
            let gate = p.gate80.map { "domain \($0.domain) vcpu \($0.vcpu) -> \(String(format: "%04x", $0.cs)):\(String($0.address, radix: 16))" } ?? "empty"
            let running = p.running.map { "domain \($0.domain) vcpu \($0.vcpu)" } ?? "idle"
            lines.append("  pcpu \(p.id): running \(running); 0x80 slot \(gate)")
        }
        let gates: [JSON] = zip(s.globalIDT, s.globalIDT32).map { g, g32 in
            .object([("vector", .int(Int64(g.vector))), ("name", .string(g.name)), ("entry", .string("0x" + String(g.entry, radix: 16))),
                     ("entry_pv32", .string("0x" + String(g32.entry, radix: 16))),
                     ("type", .string(g.gateType)), ("dpl", .int(Int64(g.dpl))), ("dpl_pv32", .int(Int64(g32.dpl)))])
        }
        let pcpus: [JSON] = s.pcpus.map { p in
            .object([("pcpu", .int(Int64(p.id))),
                     ("running", p.running.map { .object([("domain", .int(Int64($0.domain))), ("vcpu", .int(Int64($0.vcpu)))]) } ?? .null),
                     ("gate80", p.gate80.map { .object([("domain", .int(Int64($0.domain))), ("vcpu", .int(Int64($0.vcpu))),
                                                         ("cs", .int(Int64($0.cs))), ("address", .string("0x" + String($0.address, radix: 16)))]) } ?? .null)])
        }
        return CommandOutput(text: lines.joined(separator: "\n"), json: .object([("gates", .array(gates)), ("pcpus", .array(pcpus))]))
    }

    public static func sched(_ s: EngineSnapshot, only name: String?) -> CommandOutput {
        let domains = s.domains.filter { name == nil || $0.name == name || String($0.id) == name }
        var lines = ["credit scheduler, \(s.pcpus.count) pCPU(s), timeslice 30 ms",
                     pad("Name", 24) + lpad("ID", 5) + lpad("Weight", 8) + lpad("Cap", 6) + lpad("Time(s)", 10) + lpad("Sched-ins", 11)]
        for d in domains {
            lines.append(pad(d.name, 24) + lpad(String(d.id), 5) + lpad(String(d.weight), 8) + lpad(String(d.cap), 6)
                         + lpad(String(format: "%.2f", d.cpuSeconds), 10) + lpad(String(d.counters.scheduleIns), 11))
        }
        let json: JSON = .array(domains.map { d in
            .object([("name", .string(d.name)), ("id", .int(Int64(d.id))), ("weight", .int(Int64(d.weight))), ("cap", .int(Int64(d.cap))),
                     ("cpu_seconds", .double(d.cpuSeconds)), ("schedule_ins", .int(Int64(d.counters.scheduleIns)))])
        })
        return CommandOutput(text: lines.joined(separator: "\n"), json: json)
    }

    public static func vcpus(_ s: EngineSnapshot) -> CommandOutput {
        var lines = [pad("Name", 24) + lpad("ID", 5) + lpad("VCPU", 6) + lpad("CPU", 5) + lpad("State", 7) + lpad("Time(s)", 10)]
        var json: [JSON] = []
        for d in s.domains {
            for v in d.vcpuInfo {
                lines.append(pad(d.name, 24) + lpad(String(d.id), 5) + lpad(String(v.id), 6) + lpad(v.pcpu.map(String.init) ?? "-", 5)
                             + lpad(String(v.state), 7) + lpad(String(format: "%.2f", v.cpuSeconds), 10))
                json.append(.object([("domain", .string(d.name)), ("id", .int(Int64(d.id))), ("vcpu", .int(Int64(v.id))),
                                     ("pcpu", v.pcpu.map { .int(Int64($0)) } ?? .null), ("state", .string(String(v.state))),
                                     ("cpu_seconds", .double(v.cpuSeconds))]))
            }
        }
        return CommandOutput(text: lines.joined(separator: "\n"), json: .array(json))
    }
}
