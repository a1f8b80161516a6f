/// A change of engine state, from the console, a script or a replayed record. Every command and
/// every outside input passes through the engine's one ordered gate (DESIGN.md, "One way in").
public enum Command: Sendable, Equatable {
    case create(DomainConfig)
    case pause(String)
    case unpause(String)
    /// Ask the domain to shut down (xkv's guests have no xenstore watch yet, so the engine
    /// shuts it down as a poweroff, as `xl shutdown` ends for a guest that acknowledges).
    case shutdown(String)
    case destroy(String)
    /// Outside input: bytes typed at a domain's console (its ring's `in[]`).
    case consoleInput(domain: String, bytes: [UInt8])
    /// Credit-scheduler parameters (`xl sched-credit -d DOMAIN -w W -c C`); nil keeps the value.
    case schedule(domain: String, weight: Int?, cap: Int?)
    /// Engine-internal: a domain stopped and its `on_poweroff`/`on_crash` action applies.
    case lifecycleAction(domainID: Int)

    /// One line for logs and records.
    public var summary: String {
        switch self {
        case .create(let c): return "create name=\(c.name) type=\(c.type.rawValue) kernel=\(c.kernel) memory=\(c.memoryMiB) cmdline=\"\(c.cmdline)\""
        case .pause(let d): return "pause \(d)"
        case .unpause(let d): return "unpause \(d)"
        case .shutdown(let d): return "shutdown \(d)"
        case .destroy(let d): return "destroy \(d)"
        case .consoleInput(let d, let bytes): return "console-input \(d) \(bytes.count) bytes"
        case .lifecycleAction(let id): return "lifecycle-action \(id)"
        case .schedule(let d, let w, let c): return "sched \(d)" + (w.map { " weight=\($0)" } ?? "") + (c.map { " cap=\($0)" } ?? "")
        }
    }

    /// The domain the command touches, by name or ID text.
    var target: String? {
        switch self {
        case .create(let c): return c.name
        case .pause(let d), .unpause(let d), .shutdown(let d), .destroy(let d): return d
        case .consoleInput(let d, _): return d
        case .schedule(let d, _, _): return d
        case .lifecycleAction(let id): return String(id)
        }
    }
}

/// One command as the gate stamped it.
public struct GateRecord: Sendable, Equatable {
    /// Order of arrival at the gate, from 1.
    public let sequence: UInt64
    /// Logical time: the touched domain's exit count, or the engine's command count.
    public let logicalTime: UInt64
    /// Wall-clock seconds since the Unix epoch.
    public let wallTime: Double
    public let command: Command
}
