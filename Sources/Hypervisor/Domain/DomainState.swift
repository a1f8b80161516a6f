/// A domain's run state, as `xl list` shows it in six letters `rbpscd`.
public struct DomainState: Sendable, Equatable, Codable {
    /// A vCPU is in the guest now.
    public var running = false
    /// Every vCPU is blocked waiting for an event.
    public var blocked = false
    public var paused = false
    /// The guest shut itself down (or was shut down), `shutdownReason` says why.
    public var shutdown = false
    public var crashed = false
    /// Being destroyed.
    public var dying = false

    public init() {}

    /// `r-----`, `-b----`, `--p---`, ... as xl prints it.
    public var letters: String {
        [(running, "r"), (blocked, "b"), (paused, "p"), (shutdown, "s"), (crashed, "c"), (dying, "d")]
            .map { $0.0 ? $0.1 : "-" }.joined()
    }

    /// Whether the state has the flag named by a `wait` argument (`running`, `b`, ...).
    public func matches(_ name: String) -> Bool? {
        switch name.lowercased() {
        case "running", "r": return running
        case "blocked", "b": return blocked
        case "paused", "p": return paused
        case "shutdown", "s": return shutdown
        case "crashed", "c": return crashed
        case "dying", "d": return dying
        default: return nil
        }
    }
}

/// Why a domain shut down (`SHUTDOWN_*` in `public/sched.h`).
public enum ShutdownReason: UInt32, Sendable, Codable {
    case poweroff = 0, reboot = 1, suspend = 2, crash = 3, watchdog = 4, softReset = 5

    public var name: String {
        switch self {
        case .poweroff: return "poweroff"
        case .reboot: return "reboot"
        case .suspend: return "suspend"
        case .crash: return "crash"
        case .watchdog: return "watchdog"
        case .softReset: return "soft_reset"
        }
    }
}
