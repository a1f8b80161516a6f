import Foundation
import Hypervisor

/// Text and JSON renderings of engine snapshots, shared by scripts and the console.
public enum Formatters {
    // MARK: list (as `xl list`)

    public static func listText(_ snapshot: EngineSnapshot) -> String {
        var lines = [pad("Name", 40) + " " + lpad("ID", 5) + " " + lpad("Mem", 5) + " " + lpad("VCPUs", 5) + "\tState\tTime(s)"]
        for row in rows(snapshot) {
            lines.append(pad(row.name, 40) + " " + lpad(String(row.id), 5) + " " + lpad(String(row.memoryMiB), 5) + " "
                         + lpad(String(row.vcpus), 5) + "     " + row.state + " " + lpad(String(format: "%.1f", row.cpuSeconds), 10))
        }
        return lines.joined(separator: "\n")
    }

    public static func listJSON(_ snapshot: EngineSnapshot) -> JSON {
        .array(rows(snapshot).map { row in
            .object([("name", .string(row.name)), ("id", .int(Int64(row.id))), ("mem", .int(Int64(row.memoryMiB))),
                     ("vcpus", .int(Int64(row.vcpus))), ("state", .string(row.state)), ("time", .double(round(row.cpuSeconds * 10) / 10))])
        })
    }

    struct Row { var name: String; var id: Int; var memoryMiB: Int; var vcpus: Int; var state: String; var cpuSeconds: Double }

    /// Domain-0 (xkv itself) first, then the live domains by ID.
    static func rows(_ snapshot: EngineSnapshot) -> [Row] {
        var rows = [Row(name: "Domain-0", id: 0, memoryMiB: snapshot.host.memoryMiB, vcpus: snapshot.host.cpus, state: "r-----",
                        cpuSeconds: processCPUSeconds())]
        for d in snapshot.domains {
            rows.append(Row(name: d.name, id: d.id, memoryMiB: d.memoryMiB, vcpus: d.vcpus, state: d.state.letters, cpuSeconds: d.cpuSeconds))
        }
        return rows
    }

    static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    // MARK: counters

    public static func countersJSON(_ d: DomainSnapshot) -> JSON {
        let c = d.counters
        return .object([
            ("domain", .string(d.name)),
            ("id", .int(Int64(d.id))),
            ("state", .string(d.state.letters)),
            ("exits", .counts(exitPairs(c))),
            ("hypercalls", .counts(hypercallPairs(c))),
            ("exceptions", .counts(exceptionPairs(c))),
            ("emulations", .counts(c.emulations.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })),
            ("compensations", .counts(PVMCompensation.allCases.map { ($0.name, c.compensations[$0.rawValue]) })),
            ("syscalls", .object([("routed", .int(Int64(d.syscalls.routed))),
                                  ("direct_guest_reported", .int(Int64(d.syscalls.directGuestReported))),
                                  ("gate_installs", .int(Int64(d.syscalls.gateInstalls))),
                                  ("visible", .bool(d.syscalls.visible))])),
            ("guest_reported", d.guestReport.map { r in
                .object([("syscalls", .int(Int64(r.syscalls))), ("int80_direct", .int(Int64(r.int80Direct))),
                         ("faults", .int(Int64(r.faults))), ("soft_interrupts", .int(Int64(r.softInterrupts))),
                         ("cycles_per_syscall", .int(Int64(r.cyclesPerSyscall))), ("cycles_per_fault", .int(Int64(r.cyclesPerFault))),
                         ("hypercalls", .int(Int64(r.hypercalls))), ("done", .bool(r.done))])
            } ?? .null),
            ("per_vcpu", .array(d.perVCPU.enumerated().map { i, v in
                .object([("vcpu", .int(Int64(i))), ("exits", .counts(exitPairs(v))), ("hypercalls", .counts(hypercallPairs(v))),
                         ("exceptions", .counts(exceptionPairs(v))), ("syscalls_routed", .int(Int64(v.syscallsRouted))),
                         ("schedule_ins", .int(Int64(v.scheduleIns)))])
            })),
            ("schedule_ins", .int(Int64(c.scheduleIns))),
            ("cpu_seconds", .double(d.cpuSeconds)),
            ("total_exits", .int(Int64(c.totalExits))),
            ("total_hypercalls", .int(Int64(c.totalHypercalls))),
        ])
    }

    public static func countersText(_ d: DomainSnapshot) -> String {
        let c = d.counters
        func line(_ title: String, _ pairs: [(String, UInt64)]) -> String {
            "  \(title): " + (pairs.isEmpty ? "none" : pairs.map { "\($0.0)=\($0.1)" }.joined(separator: " "))
        }
        var lines = ["domain \(d.name) (\(d.id)) \(d.state.letters)  cpu \(String(format: "%.3f", d.cpuSeconds)) s"]
        lines.append(line("exits", exitPairs(c)))
        lines.append(line("hypercalls", hypercallPairs(c)) + "  (total \(c.totalHypercalls))")
        lines.append(line("exceptions bounced", exceptionPairs(c)))
        lines.append(line("emulated", c.emulations.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }))
        let visibility = d.syscalls.visible ? "" : "  (HVM: system calls are not visible to the hypervisor)"
        lines.append("  syscalls routed: \(d.syscalls.routed)   direct 0x80 (guest-reported): \(d.syscalls.directGuestReported)"
                     + "   0x80 gate installs: \(d.syscalls.gateInstalls)   schedule-ins: \(c.scheduleIns)" + visibility)
        lines.append(line("host compensations", PVMCompensation.allCases.map { ($0.name, c.compensations[$0.rawValue]) }.filter { $0.1 > 0 }))
        return lines.joined(separator: "\n")
    }

    static func exitPairs(_ c: VCPUCounters) -> [(String, UInt64)] {
        ExitReason.allCases.map { ($0.name, c.exits[$0.rawValue]) }.filter { $0.1 > 0 }
    }

    static func hypercallPairs(_ c: VCPUCounters) -> [(String, UInt64)] {
        c.hypercalls.enumerated().filter { $0.element > 0 }.map { (Hypercall.name(of: $0.offset), $0.element) }
    }

    static func exceptionPairs(_ c: VCPUCounters) -> [(String, UInt64)] {
        c.exceptionsBounced.enumerated().filter { $0.element > 0 }.map { (String($0.offset), $0.element) }
    }

    // MARK: info

    public static func infoPairs(_ host: HostInfo, images: [String]) -> [(String, String)] {
        [
            ("host", host.kind),
            ("hardware_virtualization", host.hardwareVirtualization ? "yes" : "no (HVM domains refused)"),
            ("cpu", host.cpuModel),
            ("nr_cpus", String(host.cpus)),
            ("total_memory", "\(host.memoryMiB) MiB"),
            ("kvm_sync_regs", host.syncRegisters ? "yes" : "no"),
            ("xen_version", host.xenVersion),
            ("xen_caps", host.capabilities),
            ("guest_images", images.map { "builtin:\($0)" }.joined(separator: " ")),
        ]
    }

    static func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
    static func lpad(_ s: String, _ n: Int) -> String { s.count >= n ? s : String(repeating: " ", count: n - s.count) + s }
}
