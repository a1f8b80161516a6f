import Foundation
@testable import Console
@testable import Hypervisor

/// Hand-built engine snapshots: test data for the pure renderers. Every snapshot type is a plain
/// struct; these say exactly what a frame is drawn from, so the expected screens are stable.
/// `domain(...)` is the one place that calls DomainSnapshot's memberwise initializer.
enum Fixtures {
    static let host = HostInfo(kind: "software PVM", kindShort: "pvm", hardwareVirtualization: false, cpuModel: "Test CPU",
                               cpus: 2, memoryMiB: 8192, syncRegisters: true, xenVersion: "4.19.0-xkv", capabilities: "xen-3.0-x86_64")
    static let epoch = 1_700_000_000.0

    static func counters(exits: UInt64, hypercalls: UInt64, routed: UInt64 = 0, bounced: [Int: UInt64] = [:]) -> VCPUCounters {
        var c = VCPUCounters()
        c.exits[ExitReason.io.rawValue] = exits
        c.hypercalls[Int(Hypercall.xenVersion.rawValue)] = hypercalls
        c.syscallsRouted = routed
        for (v, n) in bounced { c.exceptionsBounced[v] = n }
        return c
    }

    static func total(_ per: [VCPUCounters]) -> VCPUCounters {
        var t = VCPUCounters()
        for c in per { t.add(c) }
        return t
    }

    static func state(running: Bool = false, blocked: Bool = false, paused: Bool = false, shutdown: Bool = false, crashed: Bool = false) -> DomainState {
        var s = DomainState()
        s.running = running
        s.blocked = blocked
        s.paused = paused
        s.shutdown = shutdown
        s.crashed = crashed
        return s
    }

    static func domain(id: Int, name: String, type: DomainType = .pv, kernel: String = "builtin:pv64", state: DomainState,
                       cpu: Double, per: [VCPUCounters], traps: [[TrapEntry]], syscalls: SyscallCounts, cmdline: String,
                       crashReason: String? = nil) -> DomainSnapshot {
        DomainSnapshot(id: id, name: name, uuid: "00000000-0000-4000-8000-00000000000\(id)", type: type, memoryMiB: 16 * id, vcpus: per.count,
                       state: state, cpuSeconds: cpu, counters: total(per), perVCPU: per, shutdownReason: crashReason == nil ? nil : .crash,
                       crashReason: crashReason, kernel: kernel, cmdline: cmdline, guestOS: "xkv", alive: true, trapTables: traps,
                       syscalls: syscalls, vcpuInfo: per.indices.map { VCPUInfo(id: $0, state: "r", pcpu: $0, cpuSeconds: cpu / Double(per.count)) },
                       weight: 256, cap: 0, logicalTime: total(per).totalExits)
    }

    static func entry(_ vector: UInt8, cs: UInt16, dpl: UInt8, address: UInt64) -> TrapEntry {
        TrapEntry(vector: vector, flags: dpl, cs: cs, address: address)
    }

    /// The engine after `step` seconds of work: web (pv64, 2 vCPUs, faulting and routing
    /// syscalls), legacy (pv32, paused), win (hvm, blocked) and broken (pv64, crashed).
    static func snapshot(step: Int) -> EngineSnapshot {
        let s = UInt64(step)
        // Routed syscalls grow by a different amount each second (a sparkline with a shape).
        let routed = (0..<max(0, step)).reduce(UInt64(120_000)) { $0 + 1000 + 300 * UInt64([3, 7, 2, 9, 5][$1 % 5]) }
        let pv64 = [entry(3, cs: 0xe033, dpl: 3, address: 0xffff_ffff_8000_1000), entry(6, cs: 0xe033, dpl: 0, address: 0xffff_ffff_8000_1040),
                    entry(13, cs: 0xe033, dpl: 0, address: 0xffff_ffff_8000_1080), entry(14, cs: 0xe033, dpl: 0, address: 0xffff_ffff_8000_10c0)]
        let pv32 = [entry(14, cs: 0xe019, dpl: 0, address: 0xc010_2000), entry(0x80, cs: 0xe019, dpl: 3, address: 0xc010_3000)]
        let web = domain(id: 1, name: "web", state: state(running: true), cpu: 10 + 0.9 * Double(step),
                         per: [counters(exits: 5000 + 2000 * s, hypercalls: 4000 + 1500 * s, routed: routed - 20_000 - 500 * s,
                                        bounced: [14: 50 + 20 * s, 6: 3]),
                               counters(exits: 1000 + 500 * s, hypercalls: 800 + 400 * s, routed: 20_000 + 500 * s, bounced: [14: 10])],
                         traps: [pv64, pv64], syscalls: SyscallCounts(routed: routed, directGuestReported: 0,
                                                                       gateInstalls: 0, visible: true),
                         cmdline: "syscalls=endless faults=endless")
        let legacy = domain(id: 2, name: "legacy", kernel: "builtin:pv32", state: state(paused: true), cpu: 4.5,
                            per: [counters(exits: 700, hypercalls: 650)], traps: [pv32],
                            syscalls: SyscallCounts(routed: 0, directGuestReported: 98_765 + 100 * s, gateInstalls: 42 + s, visible: true),
                            cmdline: "syscalls=endless")
        let win = domain(id: 3, name: "win", type: .hvm, kernel: "builtin:hvm64", state: state(blocked: true), cpu: 1.25,
                         per: [counters(exits: 90 + 10 * s, hypercalls: 0)], traps: [[]],
                         syscalls: SyscallCounts(routed: 0, directGuestReported: 0, gateInstalls: 0, visible: false), cmdline: "")
        let broken = domain(id: 4, name: "broken", state: state(shutdown: true, crashed: true), cpu: 0.5,
                            per: [counters(exits: 12, hypercalls: 9)], traps: [[]],
                            syscalls: SyscallCounts(routed: 0, directGuestReported: 0, gateInstalls: 0, visible: true),
                            cmdline: "fault", crashReason: "unhandled #PF at 0xdead000")
        let events = [
            EngineEvent(wallTime: epoch + 1, message: "domain web (1) created: builtin:pv64, 16 MiB, 2 vCPU(s)"),
            EngineEvent(wallTime: epoch + 2, message: "domain legacy (2) created: builtin:pv32, 32 MiB, 1 vCPU(s)"),
            EngineEvent(wallTime: epoch + 3, message: "domain broken (4) crashed: unhandled #PF at 0xdead000 with no trap table registered"),
            EngineEvent(wallTime: epoch + 4, message: "domain legacy (2) paused"),
            EngineEvent(wallTime: epoch + 5, message: "sched: pCPU1 switched legacy.0 -> web.1 (credit exhausted)"),
        ]
        let pcpus = [
            PCPUSnapshot(id: 0, running: (domain: 1, vcpu: 0), gate80: (domain: 2, vcpu: 0, cs: 0xe019, address: 0xc010_3000)),
            PCPUSnapshot(id: 1, running: (domain: 1, vcpu: 1), gate80: nil),
        ]
        return EngineSnapshot(host: host, domains: [web, legacy, win, broken], ended: [], events: events, commandsExecuted: 9,
                              pcpus: pcpus, globalIDT: HypervisorHole.gates(compat: false))
    }

    /// Metrics from `seconds` + 1 snapshots a second apart (a sparkline `seconds` long).
    static func history(seconds: Int = 20) -> History {
        var h = History()
        for step in 0...seconds { h.add(snapshot(step: step), at: Double(step), dom0CPUSeconds: 2 + 0.03 * Double(step)) }
        return h
    }

    static let consoleLines = [
        "xkv-pv64: booting on Xen 4.19.0-xkv",
        "cmdline: syscalls=endless faults=endless",
        "xkv-pv64: console_io ok",
        "syscalls: looping forever; each getpid goes syscall -> xkv -> guest callback",
        "faults: touching unmapped pages; each #PF is bounced to the guest's handler",
    ]

    /// A frame's input at the end of `history(seconds:)`, `web` selected.
    static func input(view: ViewState = ViewState(), seconds: Int = 20) -> RenderInput {
        var v = view
        if v.selectedID == nil {
            v.selectedID = 1
            v.selectionExplicit = true
        }
        let h = history(seconds: seconds)
        return RenderInput(snapshot: snapshot(step: seconds), metrics: h.metrics, view: v, dom0CPUSeconds: 2 + 0.03 * Double(seconds),
                           consoleLines: consoleLines, now: Double(seconds), wallTime: epoch + 3600 + Double(seconds), utcOffset: 0)
    }
}

/// Compares rendered text with `Tests/ConsoleTests/Expected/NAME.txt`. With
/// `XKV_UPDATE_EXPECTED=1` in the environment it writes the file instead (then review the diff).
enum Expected {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Expected")

    static func check(_ actual: String, _ name: String) -> String? {
        let url = directory.appendingPathComponent(name + ".txt")
        let text = actual + "\n"
        if ProcessInfo.processInfo.environment["XKV_UPDATE_EXPECTED"] == "1" {
            try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try? text.write(to: url, atomically: true, encoding: .utf8)
            return nil
        }
        guard let data = FileManager.default.contents(atPath: url.path) else {
            return "no expectation \(url.path); run the tests with XKV_UPDATE_EXPECTED=1 to write it. Rendered:\n\(actual)"
        }
        let expected = String(decoding: data, as: UTF8.self)
        guard expected != text else { return nil }
        let e = expected.split(separator: "\n", omittingEmptySubsequences: false)
        let a = text.split(separator: "\n", omittingEmptySubsequences: false)
        let line = zip(e, a).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(e.count, a.count)
        return "\(name) differs from line \(line + 1):\n  expected: \(line < e.count ? String(e[line]) : "(end)")\n"
            + "  rendered: \(line < a.count ? String(a[line]) : "(end)")\nRendered:\n\(actual)"
    }
}
