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
    /// False for a domain that was destroyed (kept so scripts can still read what it did).
    public var alive: Bool
}

/// An immutable picture of the engine: host, live domains, recently ended ones, the event log.
public struct EngineSnapshot: Sendable {
    public var host: HostInfo
    public var domains: [DomainSnapshot]
    public var ended: [DomainSnapshot]
    public var events: [EngineEvent]
    public var commandsExecuted: UInt64

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
