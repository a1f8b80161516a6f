import Foundation
import Hypervisor
import Synchronization

/// A replay in progress: a fresh engine, the record's plan, and how far the replay has got.
/// `xkv replay --headless` applies every step as fast as it can; the console's playback applies
/// them at the recorded pace (`Plan.Step.wall`), can stop between any two, and with `pace`
/// also holds each exact domain at the checkpoints the record reached by then, so the domains
/// move through the session as they did when it was recorded.
///
/// Commands are applied in order. A command whose effect on a domain depends on where the
/// domain was when it arrived (destroy, shutdown, and a pause that lasts until the domain
/// ends) is applied once the domain has been parked at the logical time its recorded "end"
/// checkpoint names: the replay sets that halt as soon as the domain is created, so the domain
/// can never run past it. Other commands (pause then unpause, queries, waits) do not change what
/// an exact domain computes, so they are simply re-executed.
///
/// One thread drives it (`applyNext`, `finish`); `progress` may be read from any thread.
public final class ReplaySession: @unchecked Sendable {
    public let file: RecordFile
    public let engine: Engine
    let plan: Plan
    let options: ReplayOptions
    private let executor: Executor
    private let changedImages: Set<String>
    private var report = ReplayReport()
    private var next = 0
    /// Where each exact domain may run to now (its recorded end, or with `pace` the last
    /// checkpoint the playback reached).
    private var allowed: [String: UInt64] = [:]
    private var finished: ReplayReport?
    /// The exact domains' names (fixed once planned; read from any thread).
    private let exactNames: [String]
    /// Set by `cancel()`: waits end at once and no further step is applied.
    private let cancelled = Atomic<Bool>(false)

    /// How far a replay is, for a status line.
    public struct Progress: Sendable {
        /// Steps applied, of `steps`.
        public var applied = 0
        public var steps = 0
        /// The record number of the last step applied (0 before the first).
        public var seq = 0
        /// Checkpoints replayed so far that matched the record, and the first that did not.
        public var equal = 0
        public var divergence: Divergence?
    }
    private let live = Mutex(LiveComparison())
    private struct LiveComparison {
        var replayed: [String: [Checkpoint]] = [:]
        var equal = 0
        var divergence: Divergence?
        var applied = 0
        var seq = 0
    }

    /// Checks the record's inputs (images, configs), plans it and starts an engine.
    public init(_ file: RecordFile, options: ReplayOptions = ReplayOptions(), pace: Bool = false) throws(RecordError) {
        self.file = file
        self.options = options
        if let note = file.truncationNote { report.notes.append(note) }
        changedImages = try Replayer.checkImages(file, allowChange: options.allowImageChange, notes: &report.notes)
        plan = try Plan(file, pace: pace)
        report.domains = plan.domainNames
        report.preemptionsRecorded = plan.preemptions
        for name in plan.domainNames {
            if let why = plan.notExactReason[name] { report.notExact.append((name, why)) } else { report.exact.append(name) }
        }
        exactNames = report.exact
        do { engine = try Engine(pcpus: options.pcpus) } catch { throw RecordError("replay: cannot start an engine: \(error.message)") }
        executor = Executor(engine: engine)
        let recorded = plan.checkpoints, exact = Set(report.exact)
        engine.checkpointObserver = { [weak self] c in
            self?.live.withLock { l in
                let index = l.replayed[c.domain]?.count ?? 0
                l.replayed[c.domain, default: []].append(c)
                guard exact.contains(c.domain), l.divergence == nil else { return }
                if let r = recorded[c.domain], index < r.count {
                    if r[index].checkpoint == c { l.equal += 1; return }
                    if let d = r[index].checkpoint.firstDifference(from: c) {
                        l.divergence = Divergence(seq: r[index].seq, domain: c.domain, field: d.field, recorded: d.mine, replayed: d.theirs)
                    }
                }
            }
        }
    }

    /// The steps: `(seq, wall, text)` of each, wall in seconds since the record's first event.
    public var steps: [(seq: Int, wall: Double, text: String)] {
        plan.steps.map { ($0.seq, $0.wall - plan.startWall, $0.text) }
    }

    /// Recorded seconds from the first event to the last.
    public var duration: Double { plan.endWall - plan.startWall }

    /// The next step's recorded time (seconds since the first event), or nil at the end.
    public var nextWall: Double? { next < plan.steps.count ? plan.steps[next].wall - plan.startWall : nil }
    /// The next step's record number, or nil at the end.
    public var nextSeq: Int? { next < plan.steps.count ? plan.steps[next].seq : nil }

    public var progress: Progress {
        live.withLock { l in Progress(applied: l.applied, steps: plan.steps.count, seq: l.seq, equal: l.equal, divergence: l.divergence) }
    }

    /// A checkpoint a seek can stop at: a recorded checkpoint of an exact domain.
    public struct SeekTarget: Sendable, Equatable {
        public var seq: Int
        public var domain: String
        public var logicalTime: UInt64
        /// Steps to apply before holding the domain there (every step recorded before it).
        public var stepsBefore: Int
    }

    /// The first checkpoint of an exact domain at or after record `seq`, if any.
    public func checkpoint(atOrAfter seq: Int) -> SeekTarget? {
        var best: (seq: Int, checkpoint: Checkpoint)?
        for name in exactNames {
            guard let list = plan.checkpoints[name] else { continue }
            // Checkpoints are in record order: the first at or after `seq`, by binary search.
            var lo = 0, hi = list.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if list[mid].seq < seq { lo = mid + 1 } else { hi = mid }
            }
            guard let found = list[lo...].first(where: { $0.checkpoint.reason != .end }) else { continue }
            if best == nil || found.seq < best!.seq { best = found }
        }
        guard let best else { return nil }
        let before = plan.steps.firstIndex { $0.seq > best.seq } ?? plan.steps.count
        return SeekTarget(seq: best.seq, domain: best.checkpoint.domain, logicalTime: best.checkpoint.logicalTime, stepsBefore: before)
    }

    /// Lets `domain` run to `logicalTime` and holds it there (a seek's last move).
    public func hold(_ domain: String, at logicalTime: UInt64) {
        allowed[domain] = logicalTime
        try? engine.halt(domain, atLogicalTime: logicalTime)
    }

    /// The index of the next step to apply (safe to read from any thread).
    public var nextIndex: Int { live.withLock { $0.applied } }

    /// Stops the replay where it is: a wait in progress ends now, no step is applied after it,
    /// and `finish` only stops the engine. From any thread.
    public func cancel() { cancelled.store(true, ordering: .releasing) }

    private var isCancelled: Bool { cancelled.load(ordering: .acquiring) }

    /// Applies the next step (waiting for its domain to reach the recorded point first when the
    /// step needs that); false when there was none left.
    @discardableResult
    public func applyNext() -> Bool {
        guard next < plan.steps.count, !isCancelled else { return false }
        let step = plan.steps[next]
        next += 1
        apply(step)
        live.withLock { $0.applied = next; $0.seq = step.seq }
        return true
    }

    private func apply(_ step: Plan.Step) {
        let name = step.domain
        if let logical = step.progress, let name {
            // Pace: the record had this domain here by now; let it run to here and hold it.
            guard plan.instances.indices.contains(step.instance), engine.snapshot().domain(name)?.alive == true else { return }
            allowed[name] = logical
            try? engine.halt(name, atLogicalTime: logical)
            return
        }
        if let bytes = step.input, let name {
            do throws(DomainError) { try engine.execute(.consoleInput(domain: name, bytes: bytes)) } catch {
                report.notes.append("record \(step.seq): console input to \(name) failed in the replay: \(error.description)")
            }
            return
        }
        let end = name.flatMap { plan.haltTarget(for: $0, at: step.instance) }
        switch step.command {
        case .create:
            // The halts go in before the domain exists, so its guest never runs past them.
            if let name, let end {
                let first = plan.firstProgress[step.instance] ?? end
                allowed[name] = first
                engine.haltWhenCreated(name, atLogicalTimes: plan.createHalts(step.instance, first: first))
            }
            if Replayer.run(step, executor, &report) != true, let name { engine.haltWhenCreated(name, atLogicalTimes: []) }
        case .destroy, .shutdown:
            if let name, let end { reach(name, end, before: step.text, seq: step.seq) }
            _ = Replayer.run(step, executor, &report)
        case .pause:
            if let name, let end, step.pauseLastsToEnd { reach(name, end, before: step.text, seq: step.seq) }
            _ = Replayer.run(step, executor, &report)
        case .unpause:
            // The halt may have fired already (the domain got to where it may run while paused
            // by command): set it again first, so the domain stops there.
            if let name, let limit = allowed[name] ?? end { try? engine.halt(name, atLogicalTime: limit) }
            _ = Replayer.run(step, executor, &report)
        case .wait(let domain, let state, let seconds):
            let limit = allowed[domain] ?? end
            let ok = engine.waitUntil(timeout: seconds) { s in
                if isCancelled { return true }
                guard let d = s.domain(domain) else { return false }
                if d.state.matches(state) == true { return true }
                // Held where the record had it, an exact domain has done all it did by then.
                if let limit { return d.alive && (d.state.paused || d.state.blocked) && d.logicalTime >= limit }
                return false
            }
            if !ok { report.notes.append("record \(step.seq): `\(step.text)` timed out in the replay") }
        default:
            _ = Replayer.run(step, executor, &report)
        }
    }

    /// Lets `name` run to `logical` and waits until it is held there (or stopped).
    private func reach(_ name: String, _ logical: UInt64, before text: String, seq: Int) {
        allowed[name] = logical
        try? engine.halt(name, atLogicalTime: logical)
        let ok = engine.waitUntil(timeout: options.reachTimeout) { s in
            guard !isCancelled, let d = s.domain(name), d.alive else { return true }
            // A vCPU blocked in the hypervisor at that point is as still as a held one.
            return ((d.state.paused || d.state.blocked) && d.logicalTime >= logical) || d.state.shutdown || d.state.crashed
        }
        if !ok {
            let now = engine.snapshot().domain(name)?.logicalTime ?? 0
            report.notes.append("record \(seq): domain \(name) did not reach logical time \(logical) (at \(now)) within \(Int(options.reachTimeout)) s before `\(text)`")
        }
    }

    /// Applies what is left, ends the domains where the record ended them, stops the engine and
    /// compares every checkpoint. Call once, from the driving thread.
    public func finish() -> ReplayReport {
        if let finished { return finished }
        while applyNext() {}
        if isCancelled {
            engine.shutdownAll()
            report.notes.append("replay stopped before the end of the record")
            finished = report
            return report
        }
        // What happens after the last command without one (a domain restarted by on_crash, a
        // poweroff's destroy) comes in its own time: wait for every checkpoint the record has of
        // each exact domain, but the end its final shutdown makes (the same whoever ends it).
        let wanted = report.exact.map { ($0, max(0, (plan.checkpoints[$0]?.count ?? 0) - 1)) }
        _ = engine.waitUntil(timeout: options.reachTimeout) { _ in
            isCancelled || live.withLock { l in l.divergence != nil || wanted.allSatisfy { (l.replayed[$0.0]?.count ?? 0) >= $0.1 } }
        }
        // Domains still alive when the recording ended were ended by xkv's exit there.
        let alive = Set(engine.snapshot().domains.map(\.name))
        for (name, end) in plan.liveAtEnd where alive.contains(name) {
            reach(name, end, before: "the end of the record", seq: file.events.count)
        }
        engine.shutdownAll()

        let got = live.withLock { $0.replayed }
        var first: Divergence?
        for name in report.exact {
            let recorded = plan.checkpoints[name] ?? []
            let mine = got[name] ?? []
            var divergence: Divergence?
            for i in 0..<max(recorded.count, mine.count) {
                if i < recorded.count && i < mine.count {
                    if let d = recorded[i].checkpoint.firstDifference(from: mine[i]) {
                        divergence = Divergence(seq: recorded[i].seq, domain: name, field: d.field, recorded: d.mine, replayed: d.theirs)
                        break
                    }
                    report.checkpointsEqual += 1
                } else if i < recorded.count {
                    let c = recorded[i].checkpoint
                    divergence = Divergence(seq: recorded[i].seq, domain: name, field: "checkpoint",
                                            recorded: "\(c.reason.rawValue) at logical time \(c.logicalTime)", replayed: "none (the domain stopped before it)")
                    break
                } else {
                    // Past the end of a truncated record, the replay goes on where the record stops.
                    if file.truncatedAfter != nil { break }
                    let c = mine[i]
                    divergence = Divergence(seq: recorded.last?.seq ?? 0, domain: name, field: "checkpoint",
                                            recorded: "none after this", replayed: "\(c.reason.rawValue) at logical time \(c.logicalTime)")
                    break
                }
            }
            if var d = divergence {
                if let image = plan.images[name], changedImages.contains(image) { d.imageNote = "guest image builtin:\(image) changed since the recording" }
                if first == nil || d.seq < first!.seq { first = d }
            }
        }
        report.divergence = first
        finished = report
        return report
    }
}
