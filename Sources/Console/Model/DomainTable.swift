import Hypervisor

/// One row of the Domains pane: `xl list`'s columns plus `xentop`'s rates.
public struct DomainRow: Equatable, Sendable {
    public var id: Int
    public var name: String
    public var kind: String
    public var state: String
    public var memoryMiB: Int
    public var vcpus: Int
    public var cpuSeconds: Double
    public var rates: DomainRates?
    public var isDomain0: Bool
    public var crashed: Bool
    public var paused: Bool
    public var shutdown: Bool
    public var running: Bool
    public var cmdline: String
}

/// A column of the Domains pane.
public enum DomainColumn: Int, CaseIterable, Sendable {
    case name, id, kind, state, memory, vcpus, time, cpu, exits, hypercalls, syscalls, cmdline

    public var title: String {
        switch self {
        case .name: return "Name"
        case .id: return "ID"
        case .kind: return "Type"
        case .state: return "State"
        case .memory: return "Mem"
        case .vcpus: return "VCPUs"
        case .time: return "Time(s)"
        case .cpu: return "CPU%"
        case .exits: return "Exits/s"
        case .hypercalls: return "Hcalls/s"
        case .syscalls: return "Sysc/s"
        case .cmdline: return "Cmdline"
        }
    }

    /// Text columns sort A to Z first; numbers sort biggest first, as in `top`.
    var descendingFirst: Bool {
        switch self {
        case .name, .id, .kind, .state, .cmdline: return false
        default: return true
        }
    }

    var rightAligned: Bool {
        switch self {
        case .name, .kind, .state, .cmdline: return false
        default: return true
        }
    }

    func compare(_ a: DomainRow, _ b: DomainRow) -> Int {
        func c<T: Comparable>(_ x: T, _ y: T) -> Int { x < y ? -1 : (x > y ? 1 : 0) }
        switch self {
        case .name: return c(a.name, b.name)
        case .id: return c(a.id, b.id)
        case .kind: return c(a.kind, b.kind)
        case .state: return c(a.state, b.state)
        case .memory: return c(a.memoryMiB, b.memoryMiB)
        case .vcpus: return c(a.vcpus, b.vcpus)
        case .time: return c(a.cpuSeconds, b.cpuSeconds)
        case .cpu: return c(a.rates?.cpuPercent ?? -1, b.rates?.cpuPercent ?? -1)
        case .exits: return c(a.rates?.exitsPerSecond ?? -1, b.rates?.exitsPerSecond ?? -1)
        case .hypercalls: return c(a.rates?.hypercallsPerSecond ?? -1, b.rates?.hypercallsPerSecond ?? -1)
        case .syscalls: return c(a.rates?.syscallsPerSecond ?? -1, b.rates?.syscallsPerSecond ?? -1)
        case .cmdline: return c(a.cmdline, b.cmdline)
        }
    }
}

/// How the Domains pane is ordered: `s` moves to the next column, `S` flips the direction.
public struct DomainSort: Equatable, Sendable {
    public var column: DomainColumn = .id
    public var descending = false

    public init() {}

    public mutating func cycle() {
        let all = DomainColumn.allCases
        column = all[(column.rawValue + 1) % all.count]
        descending = column.descendingFirst
    }

    public mutating func reverse() { descending.toggle() }
}

public enum DomainTable {
    /// Domain-0 first (it is xkv itself), then the live domains in `sort` order; ties by ID.
    public static func rows(_ snapshot: EngineSnapshot, metrics: Metrics, dom0CPUSeconds: Double, sort: DomainSort) -> [DomainRow] {
        let dom0 = DomainRow(id: 0, name: "Domain-0", kind: "dom0", state: "r-----", memoryMiB: snapshot.host.memoryMiB,
                             vcpus: snapshot.host.cpus, cpuSeconds: dom0CPUSeconds, rates: metrics.rates[0], isDomain0: true,
                             crashed: false, paused: false, shutdown: false, running: true, cmdline: "xkv")
        var rows = snapshot.domains.map { d in
            DomainRow(id: d.id, name: d.name, kind: GuestKind(d).rawValue, state: d.state.letters, memoryMiB: d.memoryMiB,
                      vcpus: d.vcpus, cpuSeconds: d.cpuSeconds, rates: metrics.rates[d.id], isDomain0: false,
                      crashed: d.state.crashed, paused: d.state.paused, shutdown: d.state.shutdown, running: d.state.running,
                      cmdline: d.cmdline)
        }
        rows.sort { a, b in
            let r = sort.column.compare(a, b)
            if r == 0 { return a.id < b.id }
            return sort.descending ? r > 0 : r < 0
        }
        return [dom0] + rows
    }
}
