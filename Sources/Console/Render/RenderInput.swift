import Hypervisor

/// Everything one frame is drawn from. Rendering is a pure function of this and a size.
public struct RenderInput: Sendable {
    public var snapshot: EngineSnapshot
    public var metrics: Metrics
    public var view: ViewState
    /// Domain-0's (xkv's own) CPU seconds, sampled with the snapshot.
    public var dom0CPUSeconds: Double
    /// The selected domain's console output, split into lines (oldest first).
    public var consoleLines: [String]
    /// Monotonic seconds now (status messages fade by it).
    public var now: Double
    /// Wall-clock seconds since the epoch (the clock in the header, event times).
    public var wallTime: Double
    /// Seconds east of UTC for the clock and event times.
    public var utcOffset: Int

    public init(snapshot: EngineSnapshot, metrics: Metrics = Metrics(), view: ViewState = ViewState(), dom0CPUSeconds: Double = 0,
                consoleLines: [String] = [], now: Double = 0, wallTime: Double = 0, utcOffset: Int = 0) {
        self.snapshot = snapshot
        self.metrics = metrics
        self.view = view
        self.dom0CPUSeconds = dom0CPUSeconds
        self.consoleLines = consoleLines
        self.now = now
        self.wallTime = wallTime
        self.utcOffset = utcOffset
    }

    /// The selected live domain (nil for Domain-0 or nothing selected).
    public var selectedDomain: DomainSnapshot? {
        guard let id = view.selectedID, id != 0 else { return nil }
        return snapshot.domains.first { $0.id == id }
    }
}

/// What the controller needs to know about the frame it last drew: the row order on screen and
/// how far each pane can scroll.
public struct FrameInfo: Equatable, Sendable {
    /// Domain IDs in the order the Domains pane shows them (Domain-0 first).
    public var domainOrder: [Int] = [0]
    /// The largest useful scroll offset per pane.
    public var scrollLimits: [Pane: Int] = [:]
    /// Visible content rows per pane (a page for PgUp/PgDn).
    public var pageSizes: [Pane: Int] = [:]
    public var overlayScrollLimit = 0
    public var overlayPage = 10
    /// The panes on screen, in drawing order.
    public var visiblePanes: [Pane] = []

    public init() {}
}

/// A rendered frame.
public struct Frame: Sendable {
    public var buffer: ScreenBuffer
    public var info: FrameInfo
}
