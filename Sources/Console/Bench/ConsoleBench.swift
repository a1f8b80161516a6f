import Dispatch
import Hypervisor

/// `console.frame`: the cost of rendering one full frame (every pane, 160x48) from a snapshot of
/// many domains, against the console's 250 ms refresh period.
public enum ConsoleBench {
    public static let width = 160
    public static let height = 48

    /// Median nanoseconds to render one frame from a snapshot of `domains` domains. The domains
    /// are copies of one real domain's snapshot (NaN when no domain can be created here).
    // Departure: snapshot types have no public initializers, so the template comes from one
    // real, idle domain on a private engine; with public initializers this builds it directly.
    public static func frameNanoseconds(domains: Int = 64) -> Double {
        guard let (base, domain) = realTemplate() else { return .nan }
        return frameNanoseconds(base: base, template: domain, domains: domains)
    }

    /// As above, from a given engine snapshot and one domain snapshot to copy.
    public static func frameNanoseconds(base: EngineSnapshot, template: DomainSnapshot, domains: Int, frames: Int = 61) -> Double {
        let before = snapshot(base: base, template: template, domains: domains, step: 0)
        let after = snapshot(base: base, template: template, domains: domains, step: 1)
        var history = History()
        history.add(before, at: 0, dom0CPUSeconds: 1)
        history.add(after, at: 1, dom0CPUSeconds: 1.02)
        var view = ViewState()
        view.selectedID = after.domains.first?.id
        view.selectionExplicit = true
        let console = (0..<300).map { "console line \($0): the guest printed something moderately long here" }
        let input = RenderInput(snapshot: after, metrics: history.metrics, view: view, dom0CPUSeconds: 1.02, consoleLines: console,
                                now: 1, wallTime: 1_700_000_000, utcOffset: 0)
        var samples: [Double] = []
        var sink = 0
        for i in 0..<(frames + 5) {
            let start = DispatchTime.now().uptimeNanoseconds
            let frame = Renderer.frame(input, width: width, height: height)
            let end = DispatchTime.now().uptimeNanoseconds
            sink &+= frame.buffer.cells.count
            if i >= 5 { samples.append(Double(end - start)) }
        }
        precondition(sink > 0)
        samples.sort()
        return samples[samples.count / 2]
    }

    /// `domains` copies of `template` with distinct IDs, names and counters, the counters
    /// advanced by `step` seconds' worth of work.
    static func snapshot(base: EngineSnapshot, template: DomainSnapshot, domains: Int, step: UInt64) -> EngineSnapshot {
        var s = base
        s.domains = (0..<domains).map { i in
            var d = template
            d.id = i + 1
            d.name = "bench-\(i + 1)"
            d.cpuSeconds = Double(i) + Double(step) * 0.5
            if !d.counters.exits.isEmpty { d.counters.exits[0] = UInt64(1000 * i) + step * 5000 }
            if !d.counters.hypercalls.isEmpty { d.counters.hypercalls[17] = UInt64(900 * i) + step * 4000 }
            d.syscalls.routed = UInt64(100 * i) + step * 300
            if !d.perVCPU.isEmpty, d.perVCPU[0].exceptionsBounced.count > 14 { d.perVCPU[0].exceptionsBounced[14] = UInt64(i) + step * 7 }
            return d
        }
        // A full event log (EngineEvent has no public initializer: repeat the real ones).
        s.events = Array((0..<200).flatMap { _ in base.events }.prefix(200))
        return s
    }

    /// A snapshot of one real, idle domain (with a trap table) on a private engine, which is
    /// torn down again before the frames are timed.
    static func realTemplate() -> (EngineSnapshot, DomainSnapshot)? {
        guard let engine = try? Engine(pcpus: 1) else { return nil }
        defer { engine.shutdownAll() }
        var config = DomainConfig(name: "console-bench-template")
        config.memoryMiB = 16
        config.cmdline = "traps idle"
        config.onPoweroff = .preserve
        guard (try? engine.execute(.create(config))) != nil else { return nil }
        _ = engine.waitUntil(timeout: 5) { $0.domains.first?.trapTables.first?.isEmpty == false }
        let s = engine.snapshot()
        guard let d = s.domains.first else { return nil }
        return (s, d)
    }
}
