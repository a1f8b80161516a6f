import Testing
@testable import Console
@testable import Hypervisor

@Suite("Rates and history")
struct MetricsTests {
    @Test("rates come from counters one second apart")
    func rates() throws {
        var h = History()
        h.add(Fixtures.snapshot(step: 0), at: 100, dom0CPUSeconds: 1)
        h.add(Fixtures.snapshot(step: 1), at: 101, dom0CPUSeconds: 1.05)
        let web = try #require(h.metrics.rates[1])
        #expect(web.exitsPerSecond == 2500)
        #expect(web.hypercallsPerSecond == 1900)
        #expect(abs(web.cpuPercent - 90) < 1e-9)
        #expect(web.bouncedHits[0]?[14] == 20)
        #expect(web.bouncedHits[1] == nil)
        let legacy = try #require(h.metrics.rates[2])
        #expect(legacy.directPerSecond == 100 && legacy.routedPerSecond == 0 && legacy.syscallsPerSecond == 100)
        #expect(abs((h.metrics.rates[0]?.cpuPercent ?? 0) - 5) < 1e-9)
    }

    @Test("no rates before there are two snapshots far enough apart")
    func noRatesYet() {
        var h = History()
        h.add(Fixtures.snapshot(step: 0), at: 0, dom0CPUSeconds: 0)
        #expect(h.metrics.rates.isEmpty)
        h.add(Fixtures.snapshot(step: 1), at: 0.1, dom0CPUSeconds: 0)
        #expect(h.metrics.rates.isEmpty)
    }

    @Test("the sparkline keeps one value per second, at most a minute")
    func sparkline() {
        var h = History()
        for step in 0...90 { h.add(Fixtures.snapshot(step: step), at: Double(step), dom0CPUSeconds: 0) }
        #expect(h.metrics.syscallHistory[1]?.count == History.sparklineSeconds)
        #expect(h.metrics.syscallHistory[2]?.allSatisfy { $0 == 100 } == true)
    }

    @Test("a counter that goes backwards (a restarted domain reusing an ID) gives no negative rate")
    func backwards() throws {
        var h = History()
        h.add(Fixtures.snapshot(step: 5), at: 0, dom0CPUSeconds: 0)
        h.add(Fixtures.snapshot(step: 0), at: 1, dom0CPUSeconds: 0)
        let web = try #require(h.metrics.rates[1])
        #expect(web.exitsPerSecond == 0 && web.cpuPercent == 0)
    }

    @Test("numbers fit their columns")
    func formats() {
        #expect(Format.compact(0) == "0")
        #expect(Format.compact(2.5) == "2.5")
        #expect(Format.compact(950) == "950")
        #expect(Format.compact(14_930) == "14.9k")
        #expect(Format.compact(123_456) == "123k")
        #expect(Format.compact(34_000_000) == "34.0M")
        #expect(Format.fixed(-1.25, 1) == "-1.3")
        #expect(Format.fixed(0.04, 1) == "0.0")
        #expect(Format.clock(Fixtures.epoch + 3600, utcOffset: 0) == "23:13:20")
        #expect(Format.clock(0, utcOffset: -3600) == "23:00:00")
    }
}
