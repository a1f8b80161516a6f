/// An immutable picture of one domain, for front ends.
public struct DomainSnapshot: Sendable, Equatable {
    public var id: Int
    public var name: String
    public var uuid: String
    public var type: DomainType
    public var memoryMiB: Int
    public var vcpus: Int
    public var state: DomainState
    public var cpuSeconds: Double
    public var counters: VCPUCounters
    public var perVCPU: [VCPUCounters]
    public var shutdownReason: ShutdownReason?
    public var crashReason: String?
    public var kernel: String
    public var cmdline: String
    public var guestOS: String
    /// What the guest is: `pv64`, `pv32` or `hvm`.
    public var kind: String = "pv64"
    /// False for a domain that was destroyed (kept so scripts can still read what it did).
    public var alive: Bool
    /// Each vCPU's virtual IDT: the entries its kernel registered with set_trap_table.
    public var trapTables: [[TrapEntry]]
    /// System-call routing as the hypervisor sees it (or does not).
    public var syscalls: SyscallCounts
    /// Per-vCPU run state and placement.
    public var vcpuInfo: [VCPUInfo]
    /// What the guest reports in its shared page (guest-reported, not counted by xkv).
    public var guestReport: GuestReport?
    /// Scheduler parameters (credit scheduler).
    public var weight: Int
    public var cap: Int
    /// Guest-caused exits so far (record/replay's clock for this domain).
    public var logicalTime: UInt64
    /// From the start of `create` to the domain's first hypercall.
    public var createToFirstHypercallNanoseconds: UInt64?
}

/// How a domain's system calls travel, counted where the hypervisor can count them.
public struct SyscallCounts: Sendable, Equatable {
    /// 64-bit PV user `syscall`s routed by xkv's entry to the guest's callback.
    public var routed: UInt64
    /// 32-bit PV `int $0x80`s that went straight into the guest kernel (the guest counts them
    /// in its shared page; the hypervisor cannot see them by design).
    public var directGuestReported: UInt64
    /// Times the scheduler installed this domain's 0x80 handler on a pCPU.
    public var gateInstalls: UInt64
    /// False for HVM domains: their system calls never reach the hypervisor.
    public var visible: Bool
}

/// One vCPU's state for `vcpus` and the console.
public struct VCPUInfo: Sendable, Equatable {
    public var id: Int
    /// r running, b blocked, p paused, - runnable, o offline, s stopped.
    public var state: Character
    /// The pCPU it runs on now, if running.
    public var pcpu: Int?
    public var cpuSeconds: Double
}

/// One physical CPU (a host thread of the scheduler).
public struct PCPUSnapshot: Sendable, Equatable {
    public var id: Int
    /// Domain ID and vCPU running there now.
    public var running: (domain: Int, vcpu: Int)?
    /// Whose 0x80 handler is installed in this pCPU's slot now: domain, vCPU, cs, address.
    public var gate80: (domain: Int, vcpu: Int, cs: UInt16, address: UInt64)?

    public static func == (a: PCPUSnapshot, b: PCPUSnapshot) -> Bool {
        a.id == b.id && a.running?.domain == b.running?.domain && a.running?.vcpu == b.running?.vcpu
            && a.gate80?.domain == b.gate80?.domain && a.gate80?.vcpu == b.gate80?.vcpu && a.gate80?.address == b.gate80?.address
    }
}

/// One gate of xkv's global IDT, the IDT every PV vCPU really uses.
public struct IDTGate: Sendable, Equatable {
    public var vector: Int
    public var entry: UInt64
    public var gateType: String
    public var dpl: Int
    public var name: String
}

/// An immutable picture of the engine: host, live domains, recently ended ones, the event log.
public struct EngineSnapshot: Sendable {
    public var host: HostInfo
    public var domains: [DomainSnapshot]
    public var ended: [DomainSnapshot]
    public var events: [EngineEvent]
    public var commandsExecuted: UInt64
    /// The scheduler's physical CPUs.
    public var pcpus: [PCPUSnapshot]
    /// xkv's global IDT in 64-bit PV domains.
    public var globalIDT: [IDTGate]
    /// xkv's global IDT in 32-bit PV domains (#UD, #GP and 0x80 reach its ring-0 code).
    public var globalIDT32: [IDTGate] = HypervisorHole.gates(compat: true)

    /// The live domain named `name` (or with ID text `name`), else the most recent ended one.
    public func domain(_ name: String) -> DomainSnapshot? {
        domains.first { $0.name == name || String($0.id) == name }
            ?? ended.last { $0.name == name || String($0.id) == name }
    }
}

/// What xkv knows of the machine it runs on.
public struct HostInfo: Sendable, Equatable {
    public var kind: String
    public var kindShort: String
    public var hardwareVirtualization: Bool
    public var cpuModel: String
    public var cpus: Int
    public var memoryMiB: Int
    public var syncRegisters: Bool
    public var xenVersion: String
    public var capabilities: String
}

/// A line of the engine's event log.
public struct EngineEvent: Sendable, Equatable {
    public var wallTime: Double
    public var message: String
}
