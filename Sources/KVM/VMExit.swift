/// Direction of a port-I/O exit.
public enum IODirection: Sendable { case input, output }

/// A port-I/O exit: the guest ran `in` or `out`. `data` points into `kvm_run` (valid until the next run).
public struct PortIO: @unchecked Sendable {
    public let port: UInt16
    public let direction: IODirection
    public let size: Int
    public let count: Int
    public let data: UnsafeMutableRawPointer
}

/// A memory-mapped I/O exit: an access to guest-physical memory no region backs.
public struct MMIOAccess: @unchecked Sendable {
    public let address: UInt64
    public let isWrite: Bool
    public let length: Int
    public let data: UnsafeMutableRawPointer
}

/// Why KVM_RUN returned, decoded from `kvm_run.exit_reason`.
public enum VMExit: Sendable {
    case io(PortIO)
    case mmio(MMIOAccess)
    /// The guest executed `hlt` with KVM handling interrupts in userspace.
    case halt
    /// Triple fault (or the guest asked for a reset).
    case shutdown
    /// KVM could not enter the guest; the hardware reason code.
    case failEntry(UInt64)
    /// KVM's emulator gave up (suberror), e.g. on PVM at an `int $N` in compatibility-mode ring 1.
    case internalError(UInt32)
    /// KVM_RUN returned early: a signal or `immediate_exit` (preemption, pause, destroy).
    case interrupted
    /// A system event (KVM_SYSTEM_EVENT_*), e.g. a reset request.
    case systemEvent(UInt32)
    /// Any other exit reason.
    case other(UInt32)

    /// A stable name for counters: `io`, `mmio`, `hlt`, `shutdown`, ...
    public var reasonName: String {
        switch self {
        case .io: return "io"
        case .mmio: return "mmio"
        case .halt: return "hlt"
        case .shutdown: return "shutdown"
        case .failEntry: return "fail_entry"
        case .internalError: return "internal_error"
        case .interrupted: return "interrupted"
        case .systemEvent: return "system_event"
        case .other(let r): return "reason_\(r)"
        }
    }
}
