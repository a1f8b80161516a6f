import Foundation
import Testing
@testable import Hypervisor

@Suite("Credit scheduler", .serialized)
struct SchedulerTests {
    @Test("two spinning domains with weights 2:1 on one pCPU get CPU time within 15% of 2:1")
    func weights() throws {
        let engine = try Engine(pcpus: 1)
        defer { engine.shutdownAll() }
        for name in ["heavy", "light"] {
            var c = DomainConfig(name: name)
            c.memoryMiB = 16
            c.cmdline = "spin"
            try engine.execute(.create(c))
        }
        try engine.execute(.schedule(domain: "heavy", weight: 512, cap: nil))
        try engine.execute(.schedule(domain: "light", weight: 256, cap: nil))
        // Measure over a window that starts once both are spinning.
        #expect(engine.waitUntil(timeout: 10) { s in s.domains.allSatisfy { $0.state.running || $0.cpuSeconds > 0.05 } })
        let start = engine.snapshot()
        let base = Dictionary(uniqueKeysWithValues: start.domains.map { ($0.name, $0.cpuSeconds) })
        let grew = engine.waitUntil(timeout: 30) { s in
            s.domains.reduce(0) { $0 + $1.cpuSeconds - (base[$1.name] ?? 0) } >= 3.0
        }
        #expect(grew)
        let end = engine.snapshot()
        let heavy = end.domain("heavy")!.cpuSeconds - base["heavy"]!
        let light = end.domain("light")!.cpuSeconds - base["light"]!
        let ratio = heavy / max(light, 0.001)
        #expect(abs(ratio - 2.0) / 2.0 <= 0.15, "heavy \(heavy) s, light \(light) s, ratio \(ratio)")
        #expect(end.domain("heavy")!.counters.scheduleIns > 5, "context switches are counted")
    }

    @Test("a cap holds a spinning domain to its share of one pCPU")
    func cap() throws {
        let engine = try Engine(pcpus: 1)
        defer { engine.shutdownAll() }
        var c = DomainConfig(name: "capped")
        c.memoryMiB = 16
        c.cmdline = "spin"
        try engine.execute(.create(c))
        try engine.execute(.schedule(domain: "capped", weight: nil, cap: 25))
        #expect(engine.waitUntil(timeout: 10) { $0.domain("capped")?.cpuSeconds ?? 0 > 0.05 })
        let t0 = Date(), c0 = engine.snapshot().domain("capped")!.cpuSeconds
        // Wait for a second and a half of wall time to pass, observed through snapshots.
        _ = engine.waitUntil(timeout: 1.5) { _ in Date().timeIntervalSince(t0) >= 1.5 }
        let used = engine.snapshot().domain("capped")!.cpuSeconds - c0
        let share = used / Date().timeIntervalSince(t0)
        #expect(share < 0.40, "capped at 25% but used \(share * 100)% of the pCPU")
        #expect(share > 0.10, "the capped domain still runs (\(share * 100)%)")
    }

    @Test("64 small domains, idle and spinning, run at once and all shut down when asked")
    func sixtyFour() throws {
        let engine = try Engine()
        defer { engine.shutdownAll() }
        for i in 0..<64 {
            var c = DomainConfig(name: "d\(i)")
            c.memoryMiB = 8
            c.cmdline = i % 2 == 0 ? "idle" : "spin"
            c.onPoweroff = .preserve
            try engine.execute(.create(c))
        }
        let allUp = engine.waitUntil(timeout: 60) { s in
            s.domains.count == 64 && s.domains.allSatisfy { $0.state.blocked || $0.counters.scheduleIns > 0 && $0.cpuSeconds > 0 }
        }
        #expect(allUp, "every domain got a pCPU")
        for i in 0..<64 { try engine.execute(.shutdown("d\(i)")) }
        let allDown = engine.waitUntil(timeout: 60) { s in s.domains.allSatisfy { $0.state.shutdown } }
        #expect(allDown)
    }
}
