import Foundation
import Glibc
import KVM

/// The body of a vCPU's dedicated thread: enter the guest, hand each exit to its owner, and
/// obey the domain's lifecycle (pause, block, stop) between runs. KVM_RUN blocks, so this never
/// runs on Swift's cooperative pool.
extension PVVCPU {
    func runLoop() {
        vcpu.bindToCurrentThread()
        var clock = clockid_t()
        if pthread_getcpuclockid(pthread_self(), &clock) == 0 { cpuClock.store(clock, ordering: .releasing) }
        defer { finishThread() }
        var wasRunning = false
        loop: while true {
            let (stop, paused) = domain.lifecycle.withLock { ($0.stopRequested, $0.paused) }
            if stop { break }
            if paused {
                wasRunning = false
                waitForWake { l in !l.paused || l.stopRequested }
                continue
            }
            if !wasRunning {
                count { $0.scheduleIns += 1 }
                wasRunning = true
            }
            runState.store(1, ordering: .relaxed)
            let exit: VMExit
            do {
                exit = try vcpu.run()
            } catch {
                _ = crash("KVM_RUN failed: \(error)")
                break loop
            }
            runState.store(0, ordering: .relaxed)
            let reason = ExitReason(exit)
            count { $0.exits[reason.rawValue] += 1 }
            switch handle(exit) {
            case .resume:
                continue
            case .block:
                wasRunning = false
                let seen = domain.lifecycle.withLock { $0.wakeups }
                runState.store(2, ordering: .relaxed)
                waitForWake { l in l.stopRequested || l.wakeups != seen || self.eventPending }
            case .stop:
                break loop
            }
        }
    }

    /// Whether an event is pending for this vCPU (`vcpu_info.evtchn_upcall_pending`).
    var eventPending: Bool {
        ((try? domain.memory.physical.load(UInt8.self, at: vcpuInfoAddress + UInt64(SharedInfo64.upcallPending))) ?? 0) != 0
    }

    private func waitForWake(until done: (Domain.Lifecycle) -> Bool) {
        domain.wake.lock()
        while !done(domain.lifecycle.withLock { $0 }) {
            domain.wake.wait()
        }
        domain.wake.unlock()
        runState.store(0, ordering: .relaxed)
    }

    private func finishThread() {
        accumulatedNanoseconds.store(liveCPUNanoseconds(), ordering: .relaxed)
        cpuClock.store(0, ordering: .releasing)
        runState.store(3, ordering: .relaxed)
        vcpu.unbindThread()
        let last = domain.lifecycle.withLock { l -> Bool in
            l.threadsRunning -= 1
            return l.threadsRunning == 0
        }
        domain.wakeAll()
        if last { domain.onStop?(domain) }
    }

    private func liveCPUNanoseconds() -> UInt64 {
        let clock = cpuClock.load(ordering: .acquiring)
        guard clock != 0 else { return accumulatedNanoseconds.load(ordering: .relaxed) }
        var ts = timespec()
        guard clock_gettime(clock, &ts) == 0 else { return accumulatedNanoseconds.load(ordering: .relaxed) }
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// CPU time this vCPU's thread has used.
    var cpuNanoseconds: UInt64 { liveCPUNanoseconds() }
}
