import Testing
@testable import Console
@testable import Hypervisor

extension Pane: CustomTestStringConvertible {
    public var testDescription: String { tab.lowercased() }
}

struct Size: Sendable, CustomTestStringConvertible {
    var width: Int, height: Int
    var testDescription: String { "\(width)x\(height)" }
    static let small = Size(width: 80, height: 24)
    static let large = Size(width: 160, height: 48)
}

@Suite("Pane renderers")
struct PaneRenderTests {
    @Test("each pane renders its expected screen", arguments: Pane.allCases, [Size.small, Size.large])
    func pane(_ pane: Pane, size: Size) {
        var view = ViewState()
        view.focus = pane
        let buffer = Renderer.pane(pane, Fixtures.input(view: view), width: size.width, height: size.height)
        if let problem = Expected.check(buffer.text, "pane-\(pane.tab.lowercased())-\(size.testDescription)") {
            Issue.record(Comment(rawValue: problem))
        }
    }

    @Test("whole frames render their expected screens", arguments: [Size.small, Size.large])
    func frame(_ size: Size) {
        let frame = Renderer.frame(Fixtures.input(), width: size.width, height: size.height)
        if let problem = Expected.check(frame.buffer.text, "frame-\(size.testDescription)") { Issue.record(Comment(rawValue: problem)) }
        #expect(frame.info.domainOrder == [0, 1, 2, 3, 4])
    }

    @Test("frames with the help, a command line, a question and command output", arguments: ["help", "command", "confirm", "output"])
    func modes(_ mode: String) {
        var view = ViewState()
        switch mode {
        case "help": view.mode = .help
        case "command":
            view.mode = .command
            for c in "create name=t1 cmdline=spin" { view.command.insert(c) }
        case "confirm": view.mode = .confirm(.destroy(domain: "web"))
        default: view.mode = .output(title: "list", lines: ["Name  ID", "Domain-0  0", "web  1"])
        }
        view.status = StatusMessage("unknown command 'frobnicate'", kind: .error, time: 0)
        let frame = Renderer.frame(Fixtures.input(view: view), width: 80, height: 24)
        if let problem = Expected.check(frame.buffer.text, "mode-\(mode)-80x24") { Issue.record(Comment(rawValue: problem)) }
        if mode == "command" {
            #expect(frame.buffer.cursor?.y == 23)
            #expect(frame.buffer.cursor?.x == 1 + "create name=t1 cmdline=spin".count)
        } else {
            #expect(frame.buffer.cursor == nil)
        }
    }
}

@Suite("What the renderers mark")
struct RoleTests {
    @Test("the selected row is highlighted, crashed and paused states have their roles")
    func domainRoles() {
        var view = ViewState()
        view.focus = .domains
        let buffer = Renderer.pane(.domains, Fixtures.input(view: view), width: 80, height: 24)
        guard let web = buffer.find("web"), let broken = buffer.find("broken"), let legacy = buffer.find("legacy") else {
            Issue.record("rows missing:\n\(buffer.text)")
            return
        }
        #expect(buffer[web.x, web.y].role == .selected)
        #expect(buffer[40, web.y].role == .selected)
        let stateColumn = buffer.find("State")?.x ?? 0
        #expect(buffer[stateColumn, broken.y].role == .crashed)
        #expect(buffer[stateColumn, legacy.y].role == .paused)
    }

    @Test("trap entries bounced in the last second are highlighted, others are not")
    func hits() {
        let buffer = Renderer.pane(.traps, Fixtures.input(), width: 80, height: 24)
        let rows = (0..<buffer.height).map { buffer.row($0) }
        guard let pf = rows.firstIndex(where: { $0.contains(" #PF ") }), let bp = rows.firstIndex(where: { $0.contains(" #BP ") }) else {
            Issue.record("rows missing:\n\(buffer.text)")
            return
        }
        #expect(buffer[5, pf].role == .hit)
        #expect(rows[pf].contains("     20 "))
        #expect(buffer[5, bp].role != .hit)
    }

    @Test("an error in the status line uses the error role and stays")
    func statusError() {
        var view = ViewState()
        view.status = StatusMessage("usage: pause DOMAIN", kind: .error, time: 0)
        var input = Fixtures.input(view: view)
        input.now = 1000
        let buffer = Renderer.frame(input, width: 80, height: 24).buffer
        #expect(buffer.row(22).contains("usage: pause DOMAIN"))
        #expect(buffer[0, 22].role == .statusError)
    }

    @Test("an info message fades")
    func statusFades() {
        var view = ViewState()
        view.status = StatusMessage("sorted by Name", kind: .info, time: 0)
        var input = Fixtures.input(view: view)
        input.now = StatusMessage.fadeSeconds + 1
        #expect(!Renderer.frame(input, width: 80, height: 24).buffer.row(22).contains("sorted"))
    }

    @Test("a guest's escape sequences and wide characters cannot move the layout")
    func hostileConsole() {
        var input = Fixtures.input()
        input.consoleLines = ["\u{1b}[2J\u{1b}[31mred\u{1b}[0m plain", "tab\there", "wide: 漢字 ok", "bell\u{07}null\u{00}end"]
        input.view.focus = .console
        let buffer = Renderer.pane(.console, input, width: 40, height: 8)
        let text = buffer.text
        #expect(text.contains("red plain"))
        #expect(text.contains("tab here"))
        #expect(text.contains("wide: ?? ok"))
        #expect(text.contains("bellnullend"))
        for y in 0..<buffer.height { #expect(buffer.row(y).unicodeScalars.count == 40) }
    }

    @Test("every size from 1x1 up renders without trapping", arguments: [1, 2, 10, 23, 39, 40, 79, 80, 139, 140, 200])
    func sizes(_ width: Int) {
        for height in [1, 2, 3, 5, 11, 12, 24, 39, 40, 60] {
            for mode: Mode in [.normal, .help, .command, .confirm(.quit(running: 3)), .output(title: "x", lines: ["a"])] {
                var view = ViewState()
                view.mode = mode
                for pane in Pane.allCases {
                    view.focus = pane
                    let frame = Renderer.frame(Fixtures.input(view: view, seconds: 2), width: width, height: height)
                    #expect(frame.buffer.cells.count == width * height)
                }
            }
        }
    }
}
