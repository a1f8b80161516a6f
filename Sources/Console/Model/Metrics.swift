import Hypervisor

/// What happened per second in one domain, from two snapshots about a second apart.
public struct DomainRates: Sendable, Equatable {
    public var cpuPercent: Double = 0
    public var exitsPerSecond: Double = 0
    public var hypercallsPerSecond: Double = 0
    /// System calls the console can count at all: routed (by xkv) plus direct (guest-reported).
    public var syscallsPerSecond: Double = 0
    public var routedPerSecond: Double = 0
    public var directPerSecond: Double = 0
    /// Exceptions bounced in the window, per vCPU, per vector (non-zero only).
    public var bouncedHits: [Int: [Int: UInt64]] = [:]

    public init() {}
}

/// Rates and short histories derived from the snapshots the console has seen.
public struct Metrics: Sendable, Equatable {
    /// By domain ID; Domain-0 (ID 0) has only `cpuPercent`.
    public var rates: [Int: DomainRates] = [:]
    /// Syscalls per second, one value per second, oldest first, at most `History.sparklineSeconds`.
    public var syscallHistory: [Int: [Double]] = [:]
    /// Seconds the rates span (0 before there are two snapshots).
    public var window: Double = 0

    public init() {}
}

/// The console's memory of recent snapshots: enough to turn counters into rates (over the
/// last second) and rates into a one-minute sparkline. Fed one snapshot per refresh.
public struct History: Sendable {
    public static let window = 1.0
    public static let sparklineSeconds = 60

    private struct Sample {
        var time: Double
        var snapshot: EngineSnapshot
        var dom0CPUSeconds: Double
    }
    private var samples: [Sample] = []
    private var perSecond: [Int: [Double]] = [:]
    private var lastBucket: Double?
    public private(set) var metrics = Metrics()

    public init() {}

    /// Takes in `snapshot`, seen at `time` (seconds on a monotonic clock), with Domain-0's CPU
    /// time then, and updates `metrics`.
    public mutating func add(_ snapshot: EngineSnapshot, at time: Double, dom0CPUSeconds: Double) {
        if let last = samples.last, time <= last.time {
            samples[samples.count - 1] = Sample(time: last.time, snapshot: snapshot, dom0CPUSeconds: dom0CPUSeconds)
        } else {
            samples.append(Sample(time: time, snapshot: snapshot, dom0CPUSeconds: dom0CPUSeconds))
        }
        // Keep the newest sample at least `window` old as the baseline, and everything after it.
        if let keep = samples.lastIndex(where: { time - $0.time >= Self.window }), keep > 0 {
            samples.removeFirst(keep)
        }
        guard let latest = samples.last else { return }
        var m = Metrics()
        if let base = samples.first, latest.time - base.time >= 0.2 {
            let dt = latest.time - base.time
            m.window = dt
            let before = Dictionary(base.snapshot.domains.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            for d in latest.snapshot.domains {
                guard let b = before[d.id] else { continue }
                m.rates[d.id] = Self.rates(from: b, to: d, seconds: dt)
            }
            var dom0 = DomainRates()
            dom0.cpuPercent = max(0, latest.dom0CPUSeconds - base.dom0CPUSeconds) / dt * 100
            m.rates[0] = dom0
        }
        // One sparkline value per elapsed second.
        if lastBucket == nil { lastBucket = time }
        if let bucket = lastBucket, time - bucket >= 1.0, m.window > 0 {
            lastBucket = time
            let live = Set(latest.snapshot.domains.map(\.id))
            perSecond = perSecond.filter { live.contains($0.key) }
            for id in live {
                var series = perSecond[id] ?? []
                series.append(m.rates[id]?.syscallsPerSecond ?? 0)
                if series.count > Self.sparklineSeconds { series.removeFirst(series.count - Self.sparklineSeconds) }
                perSecond[id] = series
            }
        }
        m.syscallHistory = perSecond
        metrics = m
    }

    static func rates(from a: DomainSnapshot, to b: DomainSnapshot, seconds dt: Double) -> DomainRates {
        func delta(_ x: UInt64, _ y: UInt64) -> Double { y >= x ? Double(y - x) / dt : 0 }
        var r = DomainRates()
        r.cpuPercent = max(0, b.cpuSeconds - a.cpuSeconds) / dt * 100
        r.exitsPerSecond = delta(a.counters.totalExits, b.counters.totalExits)
        r.hypercallsPerSecond = delta(a.counters.totalHypercalls, b.counters.totalHypercalls)
        r.routedPerSecond = delta(a.syscalls.routed, b.syscalls.routed)
        r.directPerSecond = delta(a.syscalls.directGuestReported, b.syscalls.directGuestReported)
        r.syscallsPerSecond = r.routedPerSecond + r.directPerSecond
        for (v, after) in b.perVCPU.enumerated() where v < a.perVCPU.count {
            let old = a.perVCPU[v].exceptionsBounced
            var hits: [Int: UInt64] = [:]
            for (vector, count) in after.exceptionsBounced.enumerated() where vector < old.count && count > old[vector] {
                hits[vector] = count - old[vector]
            }
            if !hits.isEmpty { r.bouncedHits[v] = hits }
        }
        return r
    }
}
