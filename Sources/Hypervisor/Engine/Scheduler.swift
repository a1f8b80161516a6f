import CKVM
import Foundation
import Glibc
import Synchronization

/// Xen's credit scheduler (credit1) over xkv's physical CPUs: host threads that run vCPUs.
///
/// Every accounting period (30 ms) each domain with work earns credit in proportion to its
/// weight; a vCPU burns credit while it runs, debited at every 2 ms tick. vCPUs with credit
/// left (UNDER) run before those without (OVER), the one with the most credit first. A vCPU runs until it blocks,
/// stops, yields, or its timeslice (30 ms) ends while another vCPU waits: then the ticker kicks
/// it out of KVM_RUN. A cap limits a domain to a share of one pCPU per period. Every context
/// switch is counted (per vCPU `scheduleIns`, per pCPU `switches`) and traced.
final class Scheduler: @unchecked Sendable {
    static let accountingPeriod: UInt64 = 30_000_000     // ns
    static let timeslice: UInt64 = 30_000_000            // ns
    /// How often the ticker charges running vCPUs and checks timeslices and caps.
    static let tick: Double = 0.002                      // s

    /// One pCPU: its thread and what runs there.
    final class PCPU: @unchecked Sendable {
        let id: Int
        let running = Mutex<PVVCPU?>(nil)
        let sliceStart = Atomic<UInt64>(0)
        /// The pCPU thread's CPU clock when the running vCPU was last charged for its time.
        let lastCharge = Atomic<UInt64>(0)
        let switches = Atomic<UInt64>(0)
        /// The pCPU thread's CPU-time clock: vCPUs are charged the host CPU time they really got,
        /// so a busy host does not skew the weights.
        let clock = Atomic<Int32>(0)
        /// Set once `clock` holds the thread's clock (0 would be CLOCK_REALTIME).
        let clockReady = Atomic<Bool>(false)
        init(id: Int) { self.id = id }

        /// CPU time the pCPU thread has used, in ns.
        var cpuTime: UInt64 {
            var ts = timespec()
            guard clockReady.load(ordering: .acquiring), clock_gettime(clock.load(ordering: .acquiring), &ts) == 0 else {
                return lastCharge.load(ordering: .relaxed)
            }
            return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
        }
    }

    private struct Queue {
        var runnable: [PVVCPU] = []
        var stopping = false
    }
    let pcpus: [PCPU]
    private let queue = Mutex(Queue())
    private let work = NSCondition()
    private var ticker: Thread?
    private let lastAccounting = Atomic<UInt64>(0)
    var trace: (@Sendable (String) -> Void)?

    init(pcpuCount: Int) {
        pcpus = (0..<max(1, pcpuCount)).map { PCPU(id: $0) }
        // The threads hold the scheduler until `stop()` lets them end.
        for pcpu in pcpus {
            let thread = Thread { self.pcpuLoop(pcpu) }
            thread.name = "pcpu \(pcpu.id)"
            thread.stackSize = 1 << 20
            thread.start()
        }
        let ticker = Thread { self.tickLoop() }
        ticker.name = "scheduler tick"
        ticker.start()
        self.ticker = ticker
    }

    /// Stops the pCPU threads (after every domain has been destroyed).
    func stop() {
        queue.withLock { $0.stopping = true }
        work.lock(); work.broadcast(); work.unlock()
    }

    // MARK: Making vCPUs runnable

    /// Puts `vcpu` on the run queue (a new vCPU, a woken one, one preempted or yielding).
    func enqueue(_ vcpu: PVVCPU) {
        guard vcpu.schedState.compareExchange(expected: .idle, desired: .queued, ordering: .acquiringAndReleasing).exchanged else { return }
        queue.withLock { $0.runnable.append(vcpu) }
        work.lock(); work.signal(); work.unlock()
    }

    /// Wakes a blocked or parked vCPU.
    func wake(_ vcpu: PVVCPU) {
        if vcpu.schedState.compareExchange(expected: .blocked, desired: .idle, ordering: .acquiringAndReleasing).exchanged {
            enqueue(vcpu)
        } else if vcpu.schedState.load(ordering: .acquiring) == .running {
            vcpu.vcpu.kick()
        }
    }

    // MARK: The pCPU loop

    private func pcpuLoop(_ pcpu: PCPU) {
        var clock = clockid_t()
        if pthread_getcpuclockid(pthread_self(), &clock) == 0 {
            pcpu.clock.store(clock, ordering: .releasing)
            pcpu.clockReady.store(true, ordering: .releasing)
        }
        while let vcpu = next() {
            run(vcpu, on: pcpu)
        }
    }

    /// The next vCPU to run: UNDER before OVER, FIFO within each; nil when stopping.
    private func next() -> PVVCPU? {
        work.lock()
        defer { work.unlock() }
        while true {
            let (picked, stopping) = queue.withLock { q -> (PVVCPU?, Bool) in
                if q.stopping { return (nil, true) }
                let now = ckvm_monotonic_ns()
                let eligible = q.runnable.indices.filter { !q.runnable[$0].domain.isCapped(now: now) }
                // UNDER before OVER falls out of "most credit first"; ties keep arrival order.
                guard let index = eligible.max(by: {
                    q.runnable[$0].credit.load(ordering: .relaxed) < q.runnable[$1].credit.load(ordering: .relaxed) || 
                        (q.runnable[$0].credit.load(ordering: .relaxed) == q.runnable[$1].credit.load(ordering: .relaxed) && $0 > $1)
                }) else { return (nil, false) }
                return (q.runnable.remove(at: index), false)
            }
            if stopping { return nil }
            if let picked { return picked }
            // Enqueues signal; accounting signals too, when capped vCPUs may run again.
            _ = work.wait(until: Date().addingTimeInterval(0.05))
        }
    }

    private func run(_ vcpu: PVVCPU, on pcpu: PCPU) {
        vcpu.schedState.store(.running, ordering: .releasing)
        pcpu.switches.add(1, ordering: .relaxed)
        let start = ckvm_monotonic_ns()
        pcpu.sliceStart.store(start, ordering: .relaxed)
        pcpu.lastCharge.store(pcpu.cpuTime, ordering: .relaxed)
        vcpu.currentPCPU.store(pcpu.id, ordering: .relaxed)
        pcpu.running.withLock { $0 = vcpu }
        let end = vcpu.runSlice()
        pcpu.running.withLock { running in
            charge(vcpu, on: pcpu)
            running = nil
        }
        vcpu.currentPCPU.store(-1, ordering: .relaxed)
        switch end {
        case .preempted, .yielded:
            vcpu.schedState.store(.idle, ordering: .releasing)
            enqueue(vcpu)
        case .blocked:
            vcpu.schedState.store(.blocked, ordering: .releasing)
            // A wake-up that raced with blocking must not be lost.
            if vcpu.wakePending() { wake(vcpu) }
        case .paused:
            vcpu.schedState.store(.blocked, ordering: .releasing)
            if !vcpu.domain.isPaused || vcpu.domain.lifecycle.withLock({ $0.stopRequested }) { wake(vcpu) }
        case .stopped:
            vcpu.schedState.store(.stopped, ordering: .releasing)
            vcpu.finished()
        }
    }

    // MARK: Ticker: timeslices and credit

    private func tickLoop() {
        while !queue.withLock({ $0.stopping }) {
            Thread.sleep(forTimeInterval: Self.tick)
            let now = ckvm_monotonic_ns()
            let bestWaiting = queue.withLock { $0.runnable.map { $0.credit.load(ordering: .relaxed) }.max() }
            for pcpu in pcpus {
                guard let vcpu = pcpu.running.withLock({ running -> PVVCPU? in
                    if let v = running { charge(v, on: pcpu) }
                    return running
                }) else { continue }
                let sliceOver = now &- pcpu.sliceStart.load(ordering: .relaxed) >= Self.timeslice
                let credit = vcpu.credit.load(ordering: .relaxed)
                // Preempt at the end of the slice if anyone waits, at once if an UNDER vCPU waits
                // behind an OVER one, and whenever the cap is reached.
                if let best = bestWaiting, sliceOver || (credit <= 0 && best > 0) {
                    vcpu.preempt()
                } else if vcpu.domain.isCapped(now: now) {
                    vcpu.preempt()
                }
            }
            if now &- lastAccounting.load(ordering: .relaxed) >= Self.accountingPeriod {
                lastAccounting.store(now, ordering: .relaxed)
                account()
            }
        }
    }

    /// Debits the running vCPU for the time since it was last charged (call with `running` locked).
    private func charge(_ vcpu: PVVCPU, on pcpu: PCPU) {
        let now = pcpu.cpuTime
        let elapsed = now &- pcpu.lastCharge.exchange(now, ordering: .relaxed)
        guard elapsed < 1 << 62 else { return }
        vcpu.credit.subtract(Int64(elapsed / 1000), ordering: .relaxed)
        burnedThisPeriod.add(elapsed / 1000, ordering: .relaxed)
        vcpu.domain.burned.add(elapsed, ordering: .relaxed)
        vcpu.ranNanoseconds.add(elapsed, ordering: .relaxed)
    }

    /// Hands out one period's credit to the domains with work, by weight.
    private func account() {
        let active = queue.withLock { q in q.runnable } + pcpus.compactMap { $0.running.withLock { $0 } }
        var byDomain: [ObjectIdentifier: (Domain, [PVVCPU])] = [:]
        for v in active { byDomain[ObjectIdentifier(v.domain), default: (v.domain, [])].1.append(v) }
        for (domain, _) in byDomain.values { domain.burned.store(0, ordering: .relaxed) }
        let totalWeight = byDomain.values.reduce(0) { $0 + max(1, $1.0.weight) }
        guard totalWeight > 0 else { return }
        // Hand out exactly the CPU time the pCPUs delivered this period (credit1 assumes dedicated
        // pCPUs; xkv's are host threads that a busy host may slow down): earned == burned, so the
        // shares follow the weights whatever else the host does.
        let pool = Int64(burnedThisPeriod.exchange(0, ordering: .relaxed))
        guard pool > 0 else { return }
        for (domain, vcpus) in byDomain.values {
            let share = pool * Int64(max(1, domain.weight)) / Int64(totalWeight) / Int64(vcpus.count)
            for v in vcpus {
                // Credit is bounded both ways, as credit1 bounds it, so nothing is hoarded.
                let bound = 2 * Int64(Self.accountingPeriod / 1000) * Int64(pcpus.count)
                let updated = min(bound, max(-bound, v.credit.load(ordering: .relaxed) + share))
                v.credit.store(updated, ordering: .relaxed)
            }
        }
        domainsAccounted.add(1, ordering: .relaxed)
        work.lock(); work.broadcast(); work.unlock()
    }
    let domainsAccounted = Atomic<UInt64>(0)
    /// CPU time (µs) charged to vCPUs since the last accounting.
    private let burnedThisPeriod = Atomic<UInt64>(0)

    /// What each pCPU runs now, for snapshots.
    func pcpuSnapshots() -> [PCPUSnapshot] {
        pcpus.map { p in
            let v = p.running.withLock { $0 }
            var snap = PCPUSnapshot(id: p.id, running: nil, gate80: nil)
            if let v {
                snap.running = (v.domain.id, v.id)
                if let gate = v.installedGate { snap.gate80 = (v.domain.id, v.id, gate.cs, gate.address) }
            }
            return snap
        }
    }
}

/// Where a vCPU is in the scheduler.
enum SchedState: UInt8, AtomicRepresentable {
    case idle, queued, running, blocked, stopped
}
