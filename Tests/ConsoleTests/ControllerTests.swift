import Testing
@testable import Console
@testable import Session

@Suite("Keymap")
struct ControllerTests {
    static let names = [1: "web", 2: "legacy", 3: "win", 4: "broken"]

    static func context(running: Int = 3) -> ControllerContext {
        var frame = FrameInfo()
        frame.domainOrder = [0, 1, 2, 3, 4]
        frame.scrollLimits = [.events: 30, .console: 10, .traps: 5, .syscalls: 4]
        frame.pageSizes = [.domains: 3, .events: 8, .console: 8, .traps: 6]
        frame.overlayScrollLimit = 20
        frame.overlayPage = 10
        return ControllerContext(frame: frame, names: names, running: running, now: 0)
    }

    static func press(_ keys: [Key], _ state: inout ViewState, running: Int = 3) -> [Effect] {
        var effects: [Effect] = []
        for key in keys { effects += Controller.handle(key, state: &state, context: context(running: running)) }
        return effects
    }

    static func typed(_ text: String) -> [Key] { text.map { Key.char($0) } }

    @Test("during a playback: space, ., + -, ] drive it; p u d c are refused; other keys work as always")
    func playbackKeys() {
        var s = ViewState()
        s.playback = PlaybackStatus(record: "r.xkvrec")
        #expect(Self.press([.char(" ")], &s) == [.playback(.togglePause)])
        #expect(Self.press([.char(".")], &s) == [.playback(.step)])
        #expect(Self.press([.char("+"), .char("=")], &s) == [.playback(.faster), .playback(.faster)])
        #expect(Self.press([.char("-")], &s) == [.playback(.slower)])
        #expect(Self.press([.char("]")], &s) == [.playback(.nextCheckpoint)])
        _ = Self.press([.down], &s)
        for key in ["p", "u", "d", "c"] {
            s.status = nil
            #expect(Self.press([.char(Character(key))], &s).isEmpty)
            #expect(s.status?.kind == .error && s.status?.text.hasPrefix("playback: the record drives the domains") == true)
            #expect(s.mode == .normal)
        }
        _ = Self.press([.tab], &s)
        #expect(s.focus == .traps)
        // Without a playback, space and . mean nothing and p pauses.
        var plain = ViewState()
        #expect(Self.press([.char(" "), .char(".")], &plain).isEmpty)
        _ = Self.press([.down], &plain)
        #expect(Self.press([.char("p")], &plain) == [.run(.pause("web"))])
    }

    @Test("Tab and Shift-Tab cycle the panes; number keys jump")
    func panes() {
        var s = ViewState()
        _ = Self.press([.tab], &s)
        #expect(s.focus == .traps && s.detail == .traps)
        _ = Self.press([.tab, .tab, .tab, .tab, .tab], &s)
        #expect(s.focus == .domains && s.detail == .events)
        _ = Self.press([.backTab], &s)
        #expect(s.focus == .events)
        _ = Self.press([.char("5")], &s)
        #expect(s.focus == .console)
    }

    @Test("the : line yields exactly what was typed, edited")
    func commandLine() {
        var s = ViewState()
        let effects = Self.press([.char(":")] + Self.typed("creat name=t1") + [.home, .right, .right, .right, .right, .right, .char("e"), .end, .enter], &s)
        #expect(effects == [.commandLine("create name=t1")])
        #expect(s.mode == .normal)
        _ = Self.press([.char(":"), .up], &s)
        #expect(s.command.line == "create name=t1")
        let none = Self.press([.escape], &s)
        #expect(none.isEmpty && s.mode == .normal)
    }

    @Test("p, u and d act on the selected domain through the shared commands; d asks first")
    func hotkeys() {
        var s = ViewState()
        s.selectedID = 1
        #expect(Self.press([.char("p")], &s) == [.run(.pause("web"))])
        #expect(Self.press([.char("u")], &s) == [.run(.unpause("web"))])
        #expect(Self.press([.char("d")], &s).isEmpty)
        #expect(s.mode == .confirm(.destroy(domain: "web")))
        #expect(Self.press([.char("n")], &s).isEmpty && s.mode == .normal)
        #expect(Self.press([.char("d"), .char("y")], &s) == [.run(.destroy("web"))])
    }

    @Test("hotkeys on Domain-0 say why not, in the status line")
    func domain0() {
        var s = ViewState()
        s.selectedID = 0
        #expect(Self.press([.char("p"), .char("d"), .char("c")], &s).isEmpty)
        #expect(s.status?.kind == .error)
        #expect(s.status?.text.contains("Domain-0 is xkv itself") == true)
        #expect(s.mode == .normal)
    }

    @Test("q asks while domains are up, quits at once when none are")
    func quit() {
        var s = ViewState()
        #expect(Self.press([.char("q")], &s).isEmpty)
        #expect(s.mode == .confirm(.quit(running: 3)))
        #expect(Self.press([.char("y")], &s) == [.quit])
        var empty = ViewState()
        #expect(Self.press([.char("q")], &empty, running: 0) == [.quit])
    }

    @Test("attach sends keys to the guest as a terminal would; Ctrl-] detaches")
    func attach() {
        var s = ViewState()
        s.selectedID = 1
        _ = Self.press([.char("c")], &s)
        #expect(s.mode == .attached(domain: "web") && s.focus == .console)
        let effects = Self.press([.char("l"), .char("s"), .enter, .up, .control(3)], &s)
        #expect(effects == [.consoleInput(domain: "web", bytes: [0x6c]), .consoleInput(domain: "web", bytes: [0x73]),
                            .consoleInput(domain: "web", bytes: [13]), .consoleInput(domain: "web", bytes: [27, 91, 65]),
                            .consoleInput(domain: "web", bytes: [3])])
        #expect(Self.press([.detach], &s).isEmpty && s.mode == .normal)
    }

    @Test("arrows move the selection in Domains and scroll elsewhere, within limits")
    func movement() {
        var s = ViewState()
        s.selectedID = 1
        _ = Self.press([.down, .down], &s)
        #expect(s.selectedID == 3)
        _ = Self.press([.pageDown, .pageDown], &s)
        #expect(s.selectedID == 4)
        _ = Self.press([.home], &s)
        #expect(s.selectedID == 0)
        s.focus = .events
        _ = Self.press([.pageUp, .pageUp, .pageUp, .pageUp, .pageUp], &s)
        #expect(s.scroll(.events) == 30)
        _ = Self.press([.end], &s)
        #expect(s.scroll(.events) == 0)
        s.focus = .traps
        _ = Self.press([.down, .down, .down, .down, .down, .down, .down], &s)
        #expect(s.scroll(.traps) == 5)
    }

    @Test("s cycles the sort column, S flips it")
    func sort() {
        var s = ViewState()
        _ = Self.press([.char("s")], &s)
        #expect(s.sort.column == .kind && !s.sort.descending)
        for _ in 0..<5 { _ = Self.press([.char("s")], &s) }
        #expect(s.sort.column == .cpu && s.sort.descending)
        _ = Self.press([.char("S")], &s)
        #expect(!s.sort.descending)
    }

    @Test("sorting orders rows, Domain-0 stays first")
    func sortedRows() {
        let input = Fixtures.input()
        var sort = DomainSort()
        sort.column = .cpu
        sort.descending = true
        let rows = DomainTable.rows(input.snapshot, metrics: input.metrics, dom0CPUSeconds: 0, sort: sort)
        #expect(rows.map(\.name) == ["Domain-0", "web", "legacy", "win", "broken"])
        sort.column = .name
        sort.descending = false
        #expect(DomainTable.rows(input.snapshot, metrics: input.metrics, dom0CPUSeconds: 0, sort: sort).map(\.name)
                == ["Domain-0", "broken", "legacy", "web", "win"])
    }

    @Test("the selection follows the first guest until chosen, and survives its domain going away")
    func reconcile() {
        var s = ViewState()
        s.reconcile(order: [0], previousOrder: [])
        #expect(s.selectedID == 0)
        s.reconcile(order: [0, 5, 6], previousOrder: [0])
        #expect(s.selectedID == 5)
        s.selectedID = 6
        s.selectionExplicit = true
        s.reconcile(order: [0, 5], previousOrder: [0, 5, 6])
        #expect(s.selectedID == 5)
    }

    @Test("no key sequence traps the controller or the renderer")
    func fuzz() {
        var generator = SplitMix(seed: 0x5eed)
        let keys: [Key] = [.char(":"), .char("q"), .char("y"), .char("n"), .char("d"), .char("p"), .char("c"), .char("s"), .char("S"),
                           .char("?"), .char("1"), .char("6"), .char("é"), .char("漢"), .char(" "), .enter, .escape, .tab, .backTab,
                           .backspace, .delete, .up, .down, .left, .right, .home, .end, .pageUp, .pageDown, .function(1), .function(12),
                           .detach, .interrupt, .control(0), .control(0x0c), .control(0x15), .resize, .insert]
        var s = ViewState()
        for i in 0..<3000 {
            let key = keys[Int(generator.next() % UInt64(keys.count))]
            _ = Controller.handle(key, state: &s, context: Self.context(running: Int(generator.next() % 3)))
            if i % 50 == 0 {
                let w = Int(generator.next() % 200), h = Int(generator.next() % 70)
                _ = Renderer.frame(Fixtures.input(view: s, seconds: 2), width: w, height: h)
            }
        }
    }
}

/// A small deterministic generator, so a failing fuzz run repeats.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
