import CKVM
import Foundation
import KVM
import Synchronization

/// How a vCPU's turn on a pCPU ended.
enum SliceEnd {
    case preempted, yielded, blocked, paused, stopped
}

/// A vCPU's turn on a physical CPU: enter the guest, hand each exit to its owner, and come back
/// to the scheduler when the vCPU blocks, stops, yields, is paused or is preempted. KVM_RUN
/// blocks, so this runs on a pCPU thread, never on Swift's cooperative pool.
extension PVVCPU {
    func runSlice() -> SliceEnd {
        vcpu.bindToCurrentThread()
        defer { vcpu.unbindThread() }
        scheduledIn()
        defer { scheduledOut() }
        while true {
            let (stop, paused) = domain.lifecycle.withLock { ($0.stopRequested, $0.paused) }
            if stop { return .stopped }
            if paused { return .paused }
            let halt = domain.haltAt.load(ordering: .acquiring)
            if halt != UInt64.max && domain.logicalTime >= halt {
                // Replay: the recorded command applies exactly here. Parked under the lifecycle
                // lock, and only if no newer halt arrived meanwhile (`Engine.halt` sets it
                // under the same lock), so a halt is never lost.
                let parked = domain.lifecycle.withLock { l -> Bool in
                    guard domain.haltAt.compareExchange(expected: halt, desired: UInt64.max, ordering: .acquiringAndReleasing).exchanged else {
                        return false
                    }
                    l.paused = true
                    l.heldAtHalt = true
                    return true
                }
                guard parked else { continue }
                domain.onHalt?(domain)
                return .paused
            }
            if blockedInGuest {
                // Back on a pCPU without a wake-up for the guest: stay blocked.
                guard wakePending() else { return .blocked }
                blockedInGuest = false
            }
            if preemptRequested.exchange(false, ordering: .acquiringAndReleasing) {
                domain.preemptionObserver?(domain.name, id, domain.logicalTime)
                return .preempted
            }
            if yieldRequested {
                yieldRequested = false
                return .yielded
            }
            runState.store(1, ordering: .relaxed)
            let exit: VMExit
            do {
                exit = try vcpu.run()
            } catch {
                runState.store(0, ordering: .relaxed)
                _ = crash("KVM_RUN failed: \(error)")
                return .stopped
            }
            runState.store(0, ordering: .relaxed)
            let reason = ExitReason(exit)
            count { $0.countExit(reason) }
            let outcome = hvm ? handleHVM(exit) : handle(exit)
            if reason != .interrupted && outcome != .stop { countExitTowardsCheckpoint() }
            switch outcome {
            case .resume:
                continue
            case .block:
                blockedInGuest = true
                blockedAtGeneration = domain.wakeGeneration.load(ordering: .acquiring)
                runState.store(2, ordering: .relaxed)
                return .blocked
            case .stop:
                return .stopped
            }
        }
    }

    /// Asks the vCPU to leave its pCPU at the next exit, and forces an exit now.
    func preempt() {
        preemptRequested.store(true, ordering: .releasing)
        vcpu.kick()
    }

    /// Whether something happened since the vCPU blocked that should wake it.
    func wakePending() -> Bool {
        domain.lifecycle.withLock { $0.stopRequested } || eventPending
            || domain.wakeGeneration.load(ordering: .acquiring) != blockedAtGeneration
    }

    /// Whether an event is pending for this vCPU (`vcpu_info.evtchn_upcall_pending`).
    var eventPending: Bool {
        ((try? domain.memory.physical.load(UInt8.self, at: vcpuInfoAddress + UInt64(SharedInfo64.upcallPending))) ?? 0) != 0
    }

    /// The vCPU was put on a physical CPU: count it, and for a 32-bit PV vCPU install its 0x80
    /// handler into the slot xkv's ring-0 code reads (Xen's int80 direct trap set-up).
    func scheduledIn() {
        count { $0.scheduleIns += 1 }
        if compat { installInt80Gate() }
    }

    /// The vCPU left its physical CPU: its 0x80 handler leaves the slot with it.
    func scheduledOut() {
        if compat { clearInt80Gate() }
    }

    /// The vCPU stopped for good (the domain shut down, crashed or is being destroyed).
    func finished() {
        // Hold the domain: once the last vCPU is done, `destroy` may drop every other reference.
        let domain = self.domain
        runState.store(3, ordering: .relaxed)
        let last = domain.lifecycle.withLock { l -> Bool in
            l.activeVCPUs -= 1
            return l.activeVCPUs == 0
        }
        domain.wake.lock()
        domain.wake.broadcast()
        domain.wake.unlock()
        if last { domain.onStop?(domain) }
    }

    /// Time this vCPU has spent on a pCPU (in the guest and in xkv's handling of its exits).
    var cpuNanoseconds: UInt64 {
        var total = ranNanoseconds.load(ordering: .relaxed)
        if let pcpu = domain.scheduler?.pcpus.first(where: { $0.id == currentPCPU.load(ordering: .relaxed) }) {
            // Read under the pCPU's lock, which charging also holds, so the two clocks agree; the
            // pCPU thread's clock is only read, never trusted to be ahead: a race must not trap.
            let pending = pcpu.running.withLock { running -> UInt64 in
                guard running === self else { return 0 }
                let now = pcpu.cpuTime, last = pcpu.lastCharge.load(ordering: .relaxed)
                return now > last ? now - last : 0
            }
            total &+= pending
        }
        return total
    }
}
