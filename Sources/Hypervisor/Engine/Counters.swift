import KVM

/// Counters one vCPU keeps, each counted from a real event on that vCPU. Written by the vCPU's
/// thread, read by snapshots, under the vCPU's lock.
public struct VCPUCounters: Sendable, Equatable {
    /// KVM exits by reason (`ExitReason`).
    public var exits = [UInt64](repeating: 0, count: ExitReason.allCases.count)
    /// Hypercalls by number (0..<Hypercall.slots; larger numbers count in the last slot).
    public var hypercalls = [UInt64](repeating: 0, count: Hypercall.slots)
    /// Exceptions bounced to the guest's handlers, by vector.
    public var exceptionsBounced = [UInt64](repeating: 0, count: 256)
    /// Privileged or forced-emulation instructions emulated (`cpuid`, `mov from cr3`).
    public var emulations: [String: UInt64] = [:]
    /// Host differences made up for on this vCPU (`PVMCompensation`), by kind.
    public var compensations = [UInt64](repeating: 0, count: PVMCompensation.allCases.count)
    /// Guest user system calls routed by xkv to the guest kernel's callback.
    public var syscallsRouted: UInt64 = 0
    /// Times this vCPU was put on a physical CPU (entered KVM_RUN after not running).
    public var scheduleIns: UInt64 = 0
    /// Times the scheduler installed this vCPU's 0x80 handler in its pCPU's slot (32-bit PV).
    public var gateInstalls: UInt64 = 0
    /// Exits the guest caused (every exit but a kick out of KVM_RUN): the vCPU's logical time.
    public var guestExits: UInt64 = 0
    /// Sums over every hypercall and every bounced exception of a fixed mix of its number or
    /// vector: which ones happened, how often, kept as they happen (checkpoints read them at
    /// every hypercall; summing the arrays there would cost more than the rest of it).
    public var hypercallSignature: UInt64 = 0
    public var exceptionSignature: UInt64 = 0
    public var hypercallTotal: UInt64 = 0

    public init() {}

    /// The mix `hypercallSignature` and `exceptionSignature` add up.
    @inline(__always) static func signature(_ n: Int) -> UInt64 { (UInt64(truncatingIfNeeded: n) &+ 1) &* 0x9e37_79b9_7f4a_7c15 }

    public mutating func countExit(_ reason: ExitReason) {
        exits[reason.rawValue] += 1
        if reason != .interrupted { guestExits += 1 }
    }

    public mutating func countHypercall(slot: Int) {
        hypercalls[slot] += 1
        hypercallTotal += 1
        hypercallSignature &+= Self.signature(slot)
    }

    public mutating func countBounce(vector: Int) {
        exceptionsBounced[vector] += 1
        exceptionSignature &+= Self.signature(vector)
    }

    public var totalExits: UInt64 { exits.reduce(0, +) }
    public var totalHypercalls: UInt64 { hypercalls.reduce(0, +) }

    public mutating func add(_ other: VCPUCounters) {
        for i in exits.indices { exits[i] += other.exits[i] }
        for i in hypercalls.indices { hypercalls[i] += other.hypercalls[i] }
        for i in exceptionsBounced.indices { exceptionsBounced[i] += other.exceptionsBounced[i] }
        for i in compensations.indices { compensations[i] += other.compensations[i] }
        for (k, v) in other.emulations { emulations[k, default: 0] += v }
        syscallsRouted += other.syscallsRouted
        scheduleIns += other.scheduleIns
        gateInstalls += other.gateInstalls
        guestExits += other.guestExits
        hypercallSignature &+= other.hypercallSignature
        exceptionSignature &+= other.exceptionSignature
        hypercallTotal += other.hypercallTotal
    }
}

/// KVM exit reasons as counters name them.
public enum ExitReason: Int, CaseIterable, Sendable {
    case io, mmio, hlt, shutdown, failEntry, internalError, interrupted, systemEvent, other

    public init(_ exit: VMExit) {
        switch exit {
        case .io: self = .io
        case .mmio: self = .mmio
        case .halt: self = .hlt
        case .shutdown: self = .shutdown
        case .failEntry: self = .failEntry
        case .internalError: self = .internalError
        case .interrupted: self = .interrupted
        case .systemEvent: self = .systemEvent
        case .other: self = .other
        }
    }

    public var name: String {
        switch self {
        case .io: return "io"
        case .mmio: return "mmio"
        case .hlt: return "hlt"
        case .shutdown: return "shutdown"
        case .failEntry: return "fail_entry"
        case .internalError: return "internal_error"
        case .interrupted: return "interrupted"
        case .systemEvent: return "system_event"
        case .other: return "other"
        }
    }
}
