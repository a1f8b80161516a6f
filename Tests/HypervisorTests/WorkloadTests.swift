import Testing
@testable import Hypervisor

/// The pv64 workloads that exercise one hypervisor path each: crashes, bad pointers, emulated
/// instructions, page-table updates and the trap table.
@Suite("PV64 workloads")
struct WorkloadTests {
    /// Runs `cmdline` (preserved when it crashes) next to a healthy `hypercalls=` domain, and
    /// checks the neighbour is untouched.
    private func crashBesideHealthy(_ cmdline: String) throws -> DomainSnapshot {
        let engine = try Engine()
        defer { engine.shutdownAll() }
        let n = UInt64.random(in: 500...5000)
        var victim = pv64("victim", cmdline)
        victim.onCrash = .preserve
        var healthy = pv64("healthy", "hypercalls=\(n)")
        healthy.onPoweroff = .preserve
        try engine.execute(.create(victim))
        try engine.execute(.create(healthy))

        engine.waitForDomain("victim", "crashed") { $0.state.crashed }
        engine.waitForDomain("healthy", "shut down") { $0.state.shutdown }
        let snap = engine.snapshot()
        let crashed = try #require(snap.domain("victim"))
        let neighbour = try #require(snap.domain("healthy"))

        #expect(crashed.alive, "on_crash=preserve keeps the domain")
        #expect(crashed.state.letters == "----c-")
        #expect(crashed.shutdownReason == .crash)
        #expect(!(crashed.crashReason ?? "").isEmpty)
        #expect(engine.events(of: "victim").contains { $0.contains("preserved after crash") })

        #expect(neighbour.state.letters == "---s--")
        #expect(neighbour.shutdownReason == .poweroff)
        #expect(neighbour.crashReason == nil)
        let console = try engine.consoleText("healthy")
        let summary = try #require(GuestSummary(console: console), "healthy console:\n\(console)")
        #expect(summary.xenVersion == n + PV64Boot.xenVersionCalls)
        #expect(neighbour.counters.totalHypercalls == summary.hypercalls)
        #expect(neighbour.counters.hypercalls[Int(Hypercall.xenVersion.rawValue)] == summary.xenVersion)

        try engine.execute(.destroy("victim"))
        #expect(engine.snapshot().domains.allSatisfy { $0.name != "victim" })
        return crashed
    }

    @Test("crash: the guest's SHUTDOWN_crash crashes it, and only it")
    func crash() throws {
        let crashed = try crashBesideHealthy("crash")
        #expect(crashed.crashReason?.contains("crash") == true)
        #expect(crashed.counters.hypercalls[Int(Hypercall.schedOp.rawValue)] == 1)
    }

    @Test("fault: an unhandled #PF crashes the domain, naming the vector and address")
    func fault() throws {
        let crashed = try crashBesideHealthy("fault")
        let reason = crashed.crashReason ?? ""
        #expect(reason.contains("#PF"), "reason: \(reason)")
        #expect(reason.contains("dead000"), "reason: \(reason)")
        // Crashed by the fault, not by the guest's own shutdown after it.
        #expect(crashed.counters.hypercalls[Int(Hypercall.schedOp.rawValue)] == 0)
        #expect(crashed.counters.exceptionsBounced[14] == 0)
    }

    @Test("badptr: console_io with an unmapped buffer returns -EFAULT and the guest carries on")
    func badPointer() throws {
        let engine = try Engine()
        defer { engine.shutdownAll() }
        let ended = try #require(try engine.runToEnd(pv64("badptr", "badptr")))
        #expect(ended.console.contains("badptr: console_io returned -14\n"), "console:\n\(ended.console)")
        let summary = try #require(GuestSummary(console: ended.console))
        #expect(ended.snapshot.counters.totalHypercalls == summary.hypercalls)
        #expect(ended.snapshot.shutdownReason == .poweroff)
        #expect(ended.snapshot.crashReason == nil)
    }

    @Test("cpuid behind Xen's forced-emulation prefix answers XenVMMXenVMM")
    func cpuid() throws {
        let engine = try Engine()
        defer { engine.shutdownAll() }
        let ended = try #require(try engine.runToEnd(pv64("cpuid", "cpuid")))
        #expect(ended.console.contains("cpuid: 40000000 XenVMMXenVMM max=40000002\n"), "console:\n\(ended.console)")
        #expect(ended.snapshot.counters.emulations["cpuid"] == 1)
        #expect(ended.snapshot.counters.exceptionsBounced[6] == 0)
        #expect(ended.snapshot.shutdownReason == .poweroff)
    }

    @Test("mov from cr3 is emulated and returns the kernel's page-table base")
    func cr3() throws {
        let engine = try Engine()
        defer { engine.shutdownAll() }
        let ended = try #require(try engine.runToEnd(pv64("cr3", "cr3")))
        let line = ended.console.split(separator: "\n").first { $0.hasPrefix("cr3: ") }
        #expect(line?.hasSuffix(" match=yes") == true, "console:\n\(ended.console)")
        #expect(ended.snapshot.counters.emulations["mov_from_cr3"] == 1)
        #expect(ended.snapshot.counters.exceptionsBounced[13] == 0)
        #expect(ended.snapshot.shutdownReason == .poweroff)
    }

    @Test("update_va_mapping remaps a page of the guest's own and refuses a foreign frame")
    func mmu() throws {
        let engine = try Engine()
        defer { engine.shutdownAll() }
        let ended = try #require(try engine.runToEnd(pv64("mmu", "mmu")))
        #expect(ended.console.contains("mmu: remap=ok foreign=-22\n"), "console:\n\(ended.console)")
        // Two remaps and the refused foreign one; nothing more (foreign was refused, so no restore).
        #expect(ended.snapshot.counters.hypercalls[Int(Hypercall.updateVAMapping.rawValue)] == 3)
        #expect(ended.snapshot.shutdownReason == .poweroff)
    }

    @Test("set_trap_table takes a good table and refuses a non-canonical handler")
    func traps() throws {
        let engine = try Engine()
        defer { engine.shutdownAll() }
        let ended = try #require(try engine.runToEnd(pv64("traps", "traps")))
        #expect(ended.console.contains("traps: rc=0\n"), "console:\n\(ended.console)")
        #expect(ended.console.contains("traps: bad rc=-22\n"))
        #expect(ended.snapshot.counters.hypercalls[Int(Hypercall.setTrapTable.rawValue)] == 2)
        #expect(ended.snapshot.shutdownReason == .poweroff)
    }

    @Test("a #PF with a registered handler is bounced with Xen's frame: rip, and the error code of a kernel-mode read")
    func faultBounced() throws {
        let engine = try Engine()
        defer { engine.shutdownAll() }
        let ended = try #require(try engine.runToEnd(pv64("bounce", "traps fault")))
        // head.S trap_page_fault reads the error code at rsp+16 and rip at rsp+24 of the bounce
        // frame {rcx, r11, error, rip, cs, ...}. A read of a not-present page from guest kernel
        // mode: P=0, W=0, and U=0 (the guest kernel is "kernel" even though it runs in ring 3).
        let line = ended.console.split(separator: "\n").first { $0.hasPrefix("trap: ") }.map(String.init)
        let fields = Dictionary(uniqueKeysWithValues: (line ?? "").dropFirst("trap: ".count).split(separator: " ").compactMap { word -> (String, String)? in
            let pair = word.split(separator: "=", maxSplits: 1)
            return pair.count == 2 ? (String(pair[0]), String(pair[1])) : nil
        })
        #expect(fields["vector"] == "14", "console:\n\(ended.console)")
        #expect(fields["error"] == "0")
        let rip = fields["rip"].flatMap { UInt64($0, radix: 16) } ?? 0
        #expect(rip >= 0xffff_ffff_8000_0000, "the faulting rip lies in the kernel image")
        #expect(ended.snapshot.counters.exceptionsBounced[14] == 1)
        // The handler then crashes the domain itself.
        #expect(ended.snapshot.state.crashed)
        #expect(ended.snapshot.crashReason == "the guest shut down with reason crash")
    }

    @Test("an unknown workload is reported by the guest, which still powers off")
    func unknownWorkload() throws {
        let engine = try Engine()
        defer { engine.shutdownAll() }
        let ended = try #require(try engine.runToEnd(pv64("unknown", "frobnicate")))
        #expect(ended.console.contains("unknown workload: frobnicate\n"))
        #expect(GuestSummary(console: ended.console) != nil)
    }
}
