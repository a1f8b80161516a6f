/// The console's panes, in Tab order.
public enum Pane: Int, CaseIterable, Sendable {
    case domains, traps, syscalls, stubdoms, console, events

    public var title: String {
        switch self {
        case .domains: return "Domains"
        case .traps: return "Trap table"
        case .syscalls: return "Syscall routing"
        case .stubdoms: return "Stubdoms"
        case .console: return "Console"
        case .events: return "Event log"
        }
    }

    /// The short name on the tab bar.
    public var tab: String {
        switch self {
        case .domains: return "Domains"
        case .traps: return "Traps"
        case .syscalls: return "Syscalls"
        case .stubdoms: return "Stubdoms"
        case .console: return "Console"
        case .events: return "Events"
        }
    }
}

/// Something the operator must say yes to first.
public enum Confirmation: Equatable, Sendable {
    case destroy(domain: String)
    /// Quit while `running` guest domains are up, running or paused (they are destroyed on the way out).
    case quit(running: Int)

    public var question: String {
        switch self {
        case .destroy(let d): return "Destroy domain \(d)? Its vCPUs stop and its memory is freed. (y/n)"
        case .quit(let n): return "\(n) guest domain\(n == 1 ? " is" : "s are") up; quit xkv and destroy \(n == 1 ? "it" : "them")? (y/n)"
        }
    }
}

/// What keys mean right now.
public enum Mode: Equatable, Sendable {
    case normal
    /// Typing a `:` command.
    case command
    case confirm(Confirmation)
    case help
    /// A command's multi-line output, shown over the panes.
    case output(title: String, lines: [String])
    /// Keystrokes go to the guest's console (Ctrl-] detaches).
    case attached(domain: String)
}

/// A line in the status bar.
public struct StatusMessage: Equatable, Sendable {
    public enum Kind: Sendable { case info, ok, error }
    public var text: String
    public var kind: Kind
    /// Monotonic seconds when it was set (info and ok messages fade after a while).
    public var time: Double

    public init(_ text: String, kind: Kind, time: Double) {
        self.text = text
        self.kind = kind
        self.time = time
    }

    public static let fadeSeconds = 8.0
}

/// A line the console itself adds to the event log (command errors, the demo's notes).
public struct LocalEvent: Equatable, Sendable {
    public var wallTime: Double
    public var message: String
    public var isError: Bool

    public init(wallTime: Double, message: String, isError: Bool = false) {
        self.wallTime = wallTime
        self.message = message
        self.isError = isError
    }
}

/// Everything about what the operator is looking at, apart from the engine's state.
public struct ViewState: Equatable, Sendable {
    public var focus: Pane = .domains
    /// The detail pane shown beside Domains on a small screen (the last non-Domains pane focused).
    public var detail: Pane = .traps
    public var mode: Mode = .normal
    /// The selected domain by ID (stable when the order changes); 0 is Domain-0.
    public var selectedID: Int?
    /// True once the operator chose a row; until then the first guest domain is selected as
    /// domains appear.
    public var selectionExplicit = false
    public var sort = DomainSort()
    /// Lines scrolled: from the top for traps, syscalls and help; back from the newest line for
    /// the console and the event log (0 follows new output).
    public var scroll: [Pane: Int] = [:]
    public var helpScroll = 0
    public var outputScroll = 0
    /// The vCPU whose virtual IDT the trap pane shows.
    public var trapVCPU = 0
    public var command = LineEditor()
    public var status: StatusMessage?
    /// A command is running on the worker (its text), for the status bar.
    public var busy: String?
    public var themeName = "dark"
    public var localEvents: [LocalEvent] = []
    /// Set while playing a record back (`xkv replay FILE`): the record drives the domains.
    public var playback: PlaybackStatus?

    public init() {}

    public func scroll(_ pane: Pane) -> Int { scroll[pane] ?? 0 }

    /// Keeps the selection on a row that exists: the first guest domain until the operator
    /// chooses, the row now at the same place when the selected domain goes away.
    public mutating func reconcile(order: [Int], previousOrder: [Int]) {
        guard !order.isEmpty else { selectedID = nil; return }
        if let id = selectedID, order.contains(id), selectionExplicit || id != 0 || order.count == 1 { return }
        if !selectionExplicit || selectedID == nil {
            selectedID = order.count > 1 ? order[1] : order[0]
            return
        }
        let oldIndex = selectedID.flatMap { previousOrder.firstIndex(of: $0) } ?? 0
        selectedID = order[min(oldIndex, order.count - 1)]
        scroll[.traps] = 0
        scroll[.console] = 0
    }

    public mutating func log(_ message: String, error: Bool = false, wallTime: Double) {
        localEvents.append(LocalEvent(wallTime: wallTime, message: message, isError: error))
        if localEvents.count > 500 { localEvents.removeFirst(localEvents.count - 500) }
    }
}
