/// Where everything goes for a screen size. Small screens (80x24 up to 139 columns or 39 rows)
/// show Domains and one detail pane, the focused one; large screens show every pane at once.
struct Layout {
    var header: Rect
    var tabs: Rect
    var status: Rect
    var bottom: Rect
    var panes: [(pane: Pane, rect: Rect)]
    var grid: Bool

    static let gridWidth = 140
    static let gridHeight = 40

    /// `domainRows`: rows the Domains pane would like (Domain-0 included).
    static func make(width: Int, height: Int, focus: Pane, detail: Pane, domainRows: Int) -> Layout {
        let header = Rect(x: 0, y: 0, width: width, height: min(1, height))
        let tabs = Rect(x: 0, y: 1, width: width, height: height > 1 ? 1 : 0)
        let status = Rect(x: 0, y: height - 2, width: width, height: height >= 4 ? 1 : 0)
        let bottom = Rect(x: 0, y: height - 1, width: width, height: height >= 3 ? 1 : 0)
        let body = Rect(x: 0, y: 2, width: width, height: height - 4)
        let wanted = domainRows + 3
        guard width >= gridWidth && height >= gridHeight else {
            let domainsHeight = min(wanted, max(5, body.height / 2))
            let (top, rest) = body.splitTop(domainsHeight)
            let shown = focus == .domains ? detail : focus
            return Layout(header: header, tabs: tabs, status: status, bottom: bottom,
                          panes: [(.domains, top), (shown, rest)], grid: false)
        }
        let domainsHeight = min(wanted, max(5, body.height * 3 / 10))
        let (top, rest) = body.splitTop(domainsHeight)
        let (middle, lower) = rest.splitTop(rest.height * 55 / 100)
        let (traps, right) = middle.splitLeft(middle.width / 2)
        let (syscalls, stubdoms) = right.splitTop(right.height - min(7, right.height / 3))
        let (console, events) = lower.splitLeft(lower.width / 2)
        return Layout(header: header, tabs: tabs, status: status, bottom: bottom,
                      panes: [(.domains, top), (.traps, traps), (.syscalls, syscalls), (.stubdoms, stubdoms),
                              (.console, console), (.events, events)], grid: true)
    }
}
