import Testing
@testable import Hypervisor

/// Commands on live domains: pause, unpause, shutdown, destroy, and the on_crash=restart action.
@Suite("Domain lifecycle")
struct LifecycleTests {
    @Test("spin runs and uses CPU; pause stops it (--p---); unpause resumes it; destroy removes it")
    func pauseUnpauseDestroy() throws {
        let engine = try Engine()
        defer { engine.shutdownAll() }
        try engine.execute(.create(pv64("spinner", "spin")))

        engine.waitForDomain("spinner", "running (r-----) with CPU time") { $0.state.letters == "r-----" && $0.cpuSeconds > 0.05 }

        try engine.execute(.pause("spinner"))
        engine.waitForDomain("spinner", "paused") { $0.state.letters == "--p---" }
        // Paused means off the CPU: over a quarter second its CPU time stays (nearly) put.
        let pausedAt = engine.snapshot().domain("spinner")?.cpuSeconds ?? 0
        _ = engine.waitUntil(timeout: 0.25) { _ in false }
        let pausedLater = engine.snapshot().domain("spinner")?.cpuSeconds ?? 0
        #expect(pausedLater - pausedAt < 0.05, "a paused domain used \(pausedLater - pausedAt) s of CPU")
        #expect(engine.snapshot().domain("spinner")?.state.letters == "--p---")

        try engine.execute(.unpause("spinner"))
        engine.waitForDomain("spinner", "running again with more CPU time") {
            $0.state.letters == "r-----" && $0.cpuSeconds > pausedLater + 0.05
        }

        try engine.execute(.destroy("spinner"))
        let snap = engine.snapshot()
        #expect(!snap.domains.contains { $0.name == "spinner" })
        let gone = try #require(snap.domain("spinner"))
        #expect(!gone.alive)
        #expect(gone.shutdownReason == nil, "destroyed, not shut down")
        #expect(engine.events(of: "spinner").contains { $0.contains("destroyed (destroyed by command)") })
        // A destroyed domain takes no more commands.
        #expect(throws: DomainError.unknownDomain("spinner")) { try engine.execute(.pause("spinner")) }
    }

    @Test("idle blocks in SCHEDOP_block (-b----) and can be destroyed while blocked")
    func idleBlocks() throws {
        let engine = try Engine()
        defer { engine.shutdownAll() }
        try engine.execute(.create(pv64("idler", "idle")))
        engine.waitForDomain("idler", "blocked") { $0.state.letters == "-b----" }
        let blocked = try #require(engine.snapshot().domain("idler"))
        #expect(blocked.counters.hypercalls[Int(Hypercall.schedOp.rawValue)] >= 1)
        // Blocked costs no CPU: over a quarter second its CPU time stays (nearly) put.
        _ = engine.waitUntil(timeout: 0.25) { _ in false }
        let later = try #require(engine.snapshot().domain("idler"))
        #expect(later.cpuSeconds - blocked.cpuSeconds < 0.05, "a blocked domain used \(later.cpuSeconds - blocked.cpuSeconds) s of CPU")
        #expect(later.state.letters == "-b----")

        try engine.execute(.destroy("idler"))
        #expect(!engine.snapshot().domains.contains { $0.name == "idler" })
        #expect(engine.snapshot().domain("idler")?.alive == false)
    }

    @Test("shutdown of a spinning domain leaves it shut down (---s--) with reason poweroff")
    func shutdownCommand() throws {
        let engine = try Engine()
        defer { engine.shutdownAll() }
        var config = pv64("halter", "spin")
        config.onPoweroff = .preserve
        try engine.execute(.create(config))
        engine.waitForDomain("halter", "running") { $0.state.running }

        try engine.execute(.shutdown("halter"))
        engine.waitForDomain("halter", "shut down") { $0.state.shutdown }
        let snap = try #require(engine.snapshot().domain("halter"))
        #expect(snap.alive)
        #expect(snap.state.letters == "---s--")
        #expect(snap.shutdownReason == .poweroff)
        #expect(snap.crashReason == nil)
        // A stopped vCPU uses no CPU.
        _ = engine.waitUntil(timeout: 5) { $0.events.contains { $0.message.hasPrefix("domain halter (") && $0.message.contains("preserved") } }
        let before = engine.snapshot().domain("halter")?.cpuSeconds ?? 0
        _ = engine.waitUntil(timeout: 0.2) { _ in false }
        #expect((engine.snapshot().domain("halter")?.cpuSeconds ?? 0) - before < 0.05)
        // Shutting down twice is refused, and a shut-down domain cannot be paused.
        #expect(throws: DomainError.self) { try engine.execute(.shutdown("halter")) }
        #expect(throws: DomainError.self) { try engine.execute(.pause("halter")) }
        try engine.execute(.destroy("halter"))
        #expect(!engine.snapshot().domains.contains { $0.name == "halter" })
    }

    @Test("on_crash=restart builds a crashing domain again under a new ID and the same UUID, and stops after a burst")
    func restartOnCrash() throws {
        let engine = try Engine()
        defer { engine.shutdownAll() }
        var config = pv64("phoenix", "crash")
        config.onCrash = .restart
        let firstID = try #require(try engine.execute(.create(config)))

        let gaveUp = engine.waitUntil(timeout: 15) { snap in
            snap.events.contains { $0.message.hasPrefix("domain phoenix restarted") && $0.message.contains("not restarting again") }
        }
        #expect(gaveUp, "events:\n\(engine.events(of: "phoenix").joined(separator: "\n"))")
        let events = engine.events(of: "phoenix")
        #expect(events.contains("domain phoenix (\(firstID)) destroyed (restarting after crash)"))
        let created = events.filter { $0.contains(") created: ") }
        let ids = created.compactMap { line -> Int? in
            guard let open = line.firstIndex(of: "("), let close = line.firstIndex(of: ")") else { return nil }
            return Int(line[line.index(after: open)..<close])
        }
        #expect(ids.first == firstID)
        #expect(ids.count >= 2, "at least one restart: \(created)")
        #expect(Set(ids).count == ids.count, "each restart gets a new ID: \(ids)")
        #expect(ids == ids.sorted())
        // Every incarnation crashed the same way and was torn down; none is left running.
        let ended = engine.snapshot().ended.filter { $0.name == "phoenix" }
        #expect(ended.count == ids.count)
        #expect(Set(ended.map(\.uuid)).count == 1, "every incarnation keeps the UUID: \(ended.map(\.uuid))")
        #expect(ended.allSatisfy { $0.state.crashed && $0.crashReason == "the guest shut down with reason crash" })
        #expect(!engine.snapshot().domains.contains { $0.name == "phoenix" })
    }

    @Test("destroying domains while they run, block or sit paused never traps")
    func destroyRepeatedly() throws {
        let engine = try Engine()
        defer { engine.shutdownAll() }
        for round in 0..<30 {
            let name = "churn-\(round)"
            try engine.execute(.create(pv64(name, round % 3 == 1 ? "idle" : "spin")))
            engine.waitForDomain(name, "started") { $0.state.running || $0.state.blocked }
            if round % 3 == 2 { try engine.execute(.pause(name)) }
            try engine.execute(.destroy(name))
            #expect(engine.snapshot().domain(name)?.alive == false)
        }
        #expect(engine.snapshot().domains.isEmpty)
        #expect(engine.snapshot().ended.count == 30)
    }

    @Test("an engine released while its domains run stops them without trapping")
    func engineReleasedWithLiveDomains() throws {
        do {
            let engine = try Engine()
            try engine.execute(.create(pv64("orphan-spin", "spin")))
            try engine.execute(.create(pv64("orphan-idle", "idle")))
            engine.waitForDomain("orphan-spin", "running") { $0.state.running }
            engine.waitForDomain("orphan-idle", "blocked") { $0.state.blocked }
        }
        // The released engine's vCPU threads wind down after it; give them the time to do so here,
        // so a trap on their way out is charged to this test.
        let witness = try Engine()
        _ = witness.waitUntil(timeout: 0.3) { _ in false }
    }
}
