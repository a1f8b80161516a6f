import Testing
@testable import Hypervisor

/// The pv64 kernel boots, prints, counts its own hypercalls, and powers off; xkv's counters must
/// agree with what the guest counted.
@Suite("PV64 boot and hypercall accounting")
struct PV64BootTests {
    @Test("an echo token reaches the console after a banner naming Xen 4.19.0-xkv")
    func echo() throws {
        let engine = try Engine()
        defer { engine.shutdownAll() }
        let token = randomToken("echo")
        let ended = try #require(try engine.runToEnd(pv64("echo", "echo=\(token)")))
        let lines = ended.console.split(separator: "\n").map(String.init)

        #expect(lines.first == "xkv-pv64: booting on Xen 4.19.0-xkv", "console:\n\(ended.console)")
        #expect(lines.contains("cmdline: echo=\(token)"))
        #expect(lines.contains("xkv-pv64: console_io ok"))
        #expect(lines.contains(token))
        #expect(ended.snapshot.state.shutdown && !ended.snapshot.state.crashed)
        #expect(ended.snapshot.shutdownReason == .poweroff)
        #expect(ended.snapshot.crashReason == nil)
        #expect(ended.snapshot.guestOS == "xkv-pv64")
        #expect(engine.events(of: "echo").contains { $0.contains("shut down: poweroff") })
    }

    @Test("hypercalls=N: xkv's counters equal the guest's own, and xen_version is N plus the boot's")
    func hypercallCount() throws {
        let engine = try Engine()
        defer { engine.shutdownAll() }
        let n = UInt64.random(in: 50...3000)
        let ended = try #require(try engine.runToEnd(pv64("count", "hypercalls=\(n)")))
        let summary = try #require(GuestSummary(console: ended.console), "no summary line in:\n\(ended.console)")
        let counters = ended.snapshot.counters

        #expect(ended.console.contains("hypercalls: done \(n)\n"))
        #expect(counters.hypercalls[Int(Hypercall.xenVersion.rawValue)] == summary.xenVersion, "N = \(n)")
        #expect(counters.totalHypercalls == summary.hypercalls, "N = \(n)")
        #expect(summary.xenVersion == n + PV64Boot.xenVersionCalls, "N = \(n)")
        // The rest of the run, call by call: nothing else may be counted (or go uncounted).
        #expect(counters.hypercalls[Int(Hypercall.memoryOp.rawValue)] == PV64Boot.memoryOpCalls)
        #expect(counters.hypercalls[Int(Hypercall.consoleIO.rawValue)] == PV64Boot.consoleIOCalls)
        #expect(counters.hypercalls[Int(Hypercall.eventChannelOp.rawValue)] == PV64Boot.bannerRingLines + 1) // + "hypercalls: done"
        #expect(counters.hypercalls[Int(Hypercall.schedOp.rawValue)] == PV64Boot.schedOpCalls)
        #expect(counters.totalHypercalls == n + PV64Boot.xenVersionCalls + PV64Boot.memoryOpCalls + PV64Boot.consoleIOCalls
                + PV64Boot.bannerRingLines + 1 + PV64Boot.schedOpCalls, "N = \(n)")
        // Nothing faulted on the way.
        #expect(counters.exceptionsBounced.allSatisfy { $0 == 0 })
        #expect(ended.snapshot.shutdownReason == .poweroff)
    }

    @Test("a bad hypercalls= count is refused by the guest, which still powers off")
    func badCount() throws {
        let engine = try Engine()
        defer { engine.shutdownAll() }
        let ended = try #require(try engine.runToEnd(pv64("badcount", "hypercalls=12x")))
        #expect(ended.console.contains("hypercalls: bad count '12x'"))
        let summary = try #require(GuestSummary(console: ended.console))
        #expect(summary.xenVersion == PV64Boot.xenVersionCalls)
        #expect(ended.snapshot.counters.totalHypercalls == summary.hypercalls)
    }
}
