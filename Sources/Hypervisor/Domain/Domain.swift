import Foundation
import KVM
import Synchronization

/// One guest domain: its KVM VM, its memory as the PV layer tracks it, its vCPUs, its console,
/// and its lifecycle. Created and destroyed by the `Engine`; a crash of one domain touches
/// nothing outside it.
public final class Domain: @unchecked Sendable {
    public let id: Int
    public let name: String
    public let uuid: UUIDValue
    public let config: DomainConfig
    public let console = ConsoleLog()
    let vm: VirtualMachine
    let memory: PVMemory
    let layout: PVBootLayout
    let cpuid: CPUIDModel
    let engineInfo: EngineInfo
    private(set) var vcpus: [PVVCPU] = []
    let createdAt = Date()

    struct Lifecycle {
        var paused = false
        /// Paused by a replay halt (not by a command): the next `halt` lets it run on.
        var heldAtHalt = false
        var stopRequested = false
        var shutdownReason: ShutdownReason?
        var shutdownCode: ShutdownReason?
        var crashReason: String?
        var dying = false
        /// vCPUs that have not finished (the scheduler still owns them).
        var activeVCPUs = 0
    }
    let lifecycle = Mutex(Lifecycle())
    /// Wakes blocked or paused vCPU threads.
    let wake = NSCondition()
    var grantTableVersion: UInt32 = 1
    private let assists = Atomic<UInt64>(0)
    private let yields = Atomic<UInt64>(0)
    /// Monotonic nanoseconds when `create` began and when the first hypercall arrived (0: none yet).
    var createStartedAt: UInt64 = 0
    let firstHypercallAt = Atomic<UInt64>(0)
    /// Bumped by every wake-up, so a vCPU that blocks just after one does not miss it.
    let wakeGeneration = Atomic<UInt64>(0)
    /// The scheduler that runs this domain's vCPUs.
    weak var scheduler: Scheduler?
    /// Credit-scheduler weight (default 256) and cap (% of one pCPU, 0 = none).
    private let weightValue = Atomic<Int>(256), capValue = Atomic<Int>(0)
    var weight: Int {
        get { weightValue.load(ordering: .relaxed) }
        set { weightValue.store(newValue, ordering: .relaxed) }
    }
    var cap: Int {
        get { capValue.load(ordering: .relaxed) }
        set { capValue.store(newValue, ordering: .relaxed) }
    }
    /// CPU time burned in the current accounting period (for the cap).
    let burned = Atomic<UInt64>(0)
    /// Told of each checkpoint (record/replay); called on the vCPU's thread.
    var checkpointObserver: (@Sendable (Checkpoint) -> Void)? {
        didSet { takesCheckpoints = checkpointObserver != nil }
    }
    /// Whether a checkpoint observer is set: what the exit loop asks on every exit, without
    /// loading (and retaining) the closure.
    private(set) var takesCheckpoints = false
    /// Told when the timer preempts one of its vCPUs (record/replay); on the vCPU's thread.
    var preemptionObserver: (@Sendable (String, Int, UInt64) -> Void)?
    /// Replay: park the domain (as paused) when its logical time reaches this value.
    let haltAt = Atomic<UInt64>(UInt64.max)
    /// Hypercall checkpoints so far; every `memoryDigestInterval`-th carries a memory digest.
    let checkpoints = Atomic<UInt64>(0)
    static let memoryDigestInterval: UInt64 = 4096
    /// Told when a replay halt parks the domain.
    var onHalt: (@Sendable (Domain) -> Void)?
    /// Told when the domain stops (shutdown or crash), off the vCPU thread.
    var onStop: (@Sendable (Domain) -> Void)?
    /// Told of events worth a line in the engine's log.
    var log: (@Sendable (String) -> Void)?

    init(id: Int, config: DomainConfig, uuid: UUIDValue, vm: VirtualMachine, memory: PVMemory, layout: PVBootLayout,
         cpuid: CPUIDModel, engineInfo: EngineInfo) {
        self.id = id
        self.name = config.name
        self.uuid = uuid
        self.config = config
        self.vm = vm
        self.memory = memory
        self.layout = layout
        self.cpuid = cpuid
        self.engineInfo = engineInfo
    }

    func attach(_ vcpus: [PVVCPU]) { self.vcpus = vcpus }

    // MARK: Events from the guest (called on a vCPU thread)

    func guestShutdown(reason: ShutdownReason, vcpu: Int) {
        drainConsoleRing()
        let first = lifecycle.withLock { l -> Bool in
            guard l.shutdownReason == nil, l.crashReason == nil else { return false }
            l.shutdownReason = reason == .crash ? .crash : (l.shutdownCode ?? reason)
            if reason == .crash { l.crashReason = "the guest shut down with reason crash" }
            l.stopRequested = true
            return true
        }
        if first {
            log?("domain \(name) (\(id)) shut down: \(reason.name) (vcpu \(vcpu))")
            stopAllVCPUs()
        }
    }

    func crash(reason: String, vcpu: Int) {
        drainConsoleRing()
        let first = lifecycle.withLock { l -> Bool in
            guard l.shutdownReason == nil, l.crashReason == nil else { return false }
            l.shutdownReason = .crash
            l.crashReason = reason
            l.stopRequested = true
            return true
        }
        if first {
            console.append(Array("(xkv) domain crashed: \(reason)\n".utf8))
            log?("domain \(name) (\(id)) crashed on vcpu \(vcpu): \(reason)")
            stopAllVCPUs()
        }
    }

    func setShutdownCode(_ reason: ShutdownReason) { lifecycle.withLock { $0.shutdownCode = reason } }

    func setVMAssist(type: Int, enabled: Bool) {
        if enabled { assists.bitwiseOr(1 << UInt64(type), ordering: .relaxed) }
        else { assists.bitwiseAnd(~(1 << UInt64(type)), ordering: .relaxed) }
    }

    func yieldCount() { yields.add(1, ordering: .relaxed) }

    /// Domain-0's console backend: moves the guest's output ring into the console log.
    /// The ring indexes are guest-written: a producer more than a ring ahead is clamped.
    func drainConsoleRing() {
        guard config.type != .hvm else { return }   // HVM consoles arrive through the debug port
        let page = layout.consoleMFN << 12
        let phys = memory.physical
        guard let cons = try? phys.load(UInt32.self, at: page + UInt64(ConsoleRing.outCons)),
              let prod = try? phys.load(UInt32.self, at: page + UInt64(ConsoleRing.outProd)) else { return }
        var pending = prod &- cons
        if pending > UInt32(ConsoleRing.outputSize) {
            console.append(Array("(xkv) console ring indexes corrupt (cons \(cons), prod \(prod)); output dropped\n".utf8))
            pending = 0
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(pending))
        for i in 0..<pending {
            let index = UInt64((cons &+ i) & UInt32(ConsoleRing.outputSize - 1))
            bytes.append((try? phys.load(UInt8.self, at: page + UInt64(ConsoleRing.output) + index)) ?? 0)
        }
        console.append(bytes)
        try? phys.store(prod, at: page + UInt64(ConsoleRing.outCons))
    }

    /// Domain-0's console backend, input side: puts `bytes` in the ring's `in[]`, moves `in_prod`,
    /// and signals the console event channel (pending bit, selector, upcall pending), waking the
    /// domain, as xenconsoled does when a user types at `xl console`.
    func deliverConsoleInput(_ bytes: [UInt8]) throws(DomainError) {
        guard config.type != .hvm else { throw .unsupported("HVM domains have no PV console ring; their console is output-only (port 0xe9)") }
        guard shutdownReason == nil else { throw .invalidState("domain '\(name)' is not running") }
        let page = layout.consoleMFN << 12
        let phys = memory.physical
        do {
            let cons = try phys.load(UInt32.self, at: page + UInt64(ConsoleRing.inCons))
            var prod = try phys.load(UInt32.self, at: page + UInt64(ConsoleRing.inProd))
            guard prod &- cons <= UInt32(ConsoleRing.inputSize) else { throw DomainError.invalidState("console input ring indexes corrupt") }
            guard UInt32(bytes.count) <= UInt32(ConsoleRing.inputSize) - (prod &- cons) else {
                throw DomainError.invalidState("console input ring full (the guest is not reading its console)")
            }
            for byte in bytes {
                try phys.store(byte, at: page + UInt64(ConsoleRing.input) + UInt64(prod & UInt32(ConsoleRing.inputSize - 1)))
                prod &+= 1
            }
            try phys.store(prod, at: page + UInt64(ConsoleRing.inProd))
            let shared = memory.privateFrame(memory.layout.sharedInfo)
            let port = UInt64(PVDomainBuilder.consoleEvtchn)
            if memory.compat {
                // compat shared_info: 32-bit pending words and selector (at vcpu_info offset 4).
                let word = shared + UInt64(SharedInfo64.evtchnPending) + (port / 32) * 4
                try phys.store(try phys.load(UInt32.self, at: word) | 1 << UInt32(port % 32), at: word)
                try phys.store(UInt32(1) << UInt32(port / 32), at: shared + 4)
            } else {
                let word = shared + UInt64(SharedInfo64.evtchnPending) + (port / 64) * 8
                try phys.store(try phys.load(UInt64.self, at: word) | 1 << (port % 64), at: word)
                try phys.store(UInt64(1) << (port / 64), at: shared + UInt64(SharedInfo64.pendingSelector))
            }
            try phys.store(UInt8(1), at: shared + UInt64(SharedInfo64.upcallPending))
        } catch let error as DomainError {
            throw error
        } catch {
            throw .invalidState("cannot reach the console ring: \(error)")
        }
        wakeAll()
    }

    // MARK: Control (from the engine)

    /// Kicks every vCPU out of the guest so it looks at the lifecycle flags.
    func stopAllVCPUs() {
        lifecycle.withLock { $0.stopRequested = true }
        for vcpu in vcpus { vcpu.vcpu.kick() }
        wakeAll()
    }

    func setPaused(_ paused: Bool) {
        lifecycle.withLock { $0.paused = paused; $0.heldAtHalt = false }
        if paused { for vcpu in vcpus { vcpu.vcpu.kick() } }
        reschedule()
    }

    /// Puts the vCPUs back on the run queue to look at the lifecycle flags (after a pause, an
    /// unpause, a replay halt). Not a wake-up for the guest: a vCPU blocked in SCHEDOP_block
    /// stays blocked until an event comes (pausing and unpausing must not change what the
    /// guest sees, or a recorded session could not replay exactly).
    func reschedule() {
        for vcpu in vcpus where vcpu.online { scheduler?.wake(vcpu) }
        wake.lock()
        wake.broadcast()
        wake.unlock()
    }

    /// An event for the guest (console input, an event channel, a stop): vCPUs blocked in
    /// SCHEDOP_block or paused go back on the run queue, and blocked ones return to the guest.
    func wakeAll() {
        wakeGeneration.add(1, ordering: .acquiringAndReleasing)
        for vcpu in vcpus where vcpu.online { scheduler?.wake(vcpu) }
        wake.lock()
        wake.broadcast()
        wake.unlock()
    }

    var isPaused: Bool { lifecycle.withLock { $0.paused } }

    /// Whether the cap keeps the domain off the pCPUs for the rest of this accounting period.
    func isCapped(now: UInt64) -> Bool {
        cap > 0 && burned.load(ordering: .relaxed) >= Scheduler.accountingPeriod * UInt64(cap) / 100
    }

    /// The domain's state as xl shows it.
    public var state: DomainState {
        let l = lifecycle.withLock { $0 }
        var s = DomainState()
        s.paused = l.paused && l.shutdownReason == nil
        s.crashed = l.shutdownReason == .crash
        s.shutdown = l.shutdownReason != nil && l.shutdownReason != .crash
        s.dying = l.dying
        if l.shutdownReason == nil && !l.dying && !s.paused {
            let states = vcpus.map { $0.runState.load(ordering: .relaxed) }
            s.running = states.contains(1)
            s.blocked = !states.isEmpty && states.allSatisfy { $0 == 2 }
        }
        return s
    }

    public var shutdownReason: ShutdownReason? { lifecycle.withLock { $0.shutdownReason } }
    public var crashReason: String? { lifecycle.withLock { $0.crashReason } }

    /// CPU time all vCPU threads have used, in seconds.
    public var cpuSeconds: Double {
        vcpus.reduce(0.0) { $0 + Double($1.cpuNanoseconds) / 1e9 }
    }

    /// Counters summed over the vCPUs.
    public var counters: VCPUCounters {
        var total = VCPUCounters()
        for vcpu in vcpus { total.add(vcpu.published.withLock { $0.counters }) }
        return total
    }
}

/// What every domain may ask the engine about itself (xen_version capabilities).
struct EngineInfo: Sendable {
    var capabilities: String
    /// The host's KVM is PVM (see `PVMCompensation`).
    var hostIsPVM: Bool
}
