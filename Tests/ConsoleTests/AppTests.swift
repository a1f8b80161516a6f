import Dispatch
import Foundation
import Testing
@testable import Console
@testable import Hypervisor

/// A terminal that plays keys to the app and keeps every frame it is given: the app's real loop,
/// commands, worker and engine, with a screen that is a value.
final class ScriptedTerminal: Terminal {
    enum Step {
        case keys([Key])
        /// Waits (up to `seconds`) for a drawn frame showing the text above the bottom row (which
        /// echoes what is being typed).
        case frame(containing: String, seconds: Double)
        /// Waits for the bottom row (hints, questions, the command line) to show the text.
        case bottom(containing: String, seconds: Double)
    }

    var steps: [Step]
    var frames: [ScreenBuffer] = []
    var themes: [Theme] = []
    var missed: [String] = []
    let width: Int, height: Int
    private var deadline: Double?
    private let pacer = DispatchSemaphore(value: 0)

    init(width: Int = 80, height: Int = 24, steps: [Step]) {
        self.width = width
        self.height = height
        self.steps = steps
    }

    var size: (width: Int, height: Int) { (width, height) }
    var hasColour: Bool { true }
    func apply(_ theme: Theme) { themes.append(theme) }
    func draw(_ buffer: ScreenBuffer) { frames.append(buffer) }
    func invalidate() {}
    func stop() {}

    var last: ScreenBuffer? { frames.last }

    func readKey(timeoutMilliseconds: Int) -> Key? {
        guard !steps.isEmpty else { return .char("q") }
        switch steps[0] {
        case .keys(let keys):
            if keys.count > 1 { steps[0] = .keys(Array(keys.dropFirst())) } else { steps.removeFirst() }
            return keys.first
        case .frame(let text, let seconds), .bottom(let text, let seconds):
            let now = ConsoleApp.monotonic()
            let end = deadline ?? now + seconds
            deadline = end
            var rows = 0..<max(0, height - 1)
            if case .bottom = steps[0] { rows = max(0, height - 1)..<height }
            let shown = last.map { b in rows.contains { b.row($0).contains(text) } } ?? false
            if shown || now >= end {
                if !shown { missed.append(text) }
                steps.removeFirst()
                deadline = nil
                return nil
            }
            // Wait for the app's next frame the way ncurses would: up to the loop's own timeout.
            _ = pacer.wait(timeout: .now() + .milliseconds(max(1, min(timeoutMilliseconds, 20))))
            return nil
        }
    }
}

@Suite("The console app on a real engine", .serialized)
struct AppTests {
    static func run(_ steps: [ScriptedTerminal.Step], theme: String? = nil, environment: [String: String] = [:]) throws -> (ScriptedTerminal, ConsoleApp, Int32) {
        let engine = try Engine()
        let app = ConsoleApp(engine: engine, options: ConsoleApp.Options(theme: theme, startup: .empty, environment: environment))
        let terminal = ScriptedTerminal(steps: steps)
        let signals = SignalWatcher()
        let status = app.loop(terminal, signals)
        signals.cancel()
        engine.shutdownAll()
        return (terminal, app, status)
    }

    static func line(_ text: String) -> [Key] { [.char(":")] + text.map { Key.char($0) } + [.enter] }

    @Test("an unknown command, a bad argument and a bad theme each show an error and the console goes on")
    func errors() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("xkv-app-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let bad = dir.appendingPathComponent("bad.theme").path
        try "normal = default default\n\nborder = blue nocolour\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let (terminal, app, status) = try Self.run([
            .frame(containing: "Domain-0", seconds: 10),
            .keys(Self.line("frobnicate web")),
            .frame(containing: "unknown command 'frobnicate'", seconds: 5),
            .keys(Self.line("wait nosuch sleeping")),
            .frame(containing: "unknown state 'sleeping'", seconds: 5),
            .keys(Self.line("pause nosuch")),
            .frame(containing: "no domain 'nosuch'", seconds: 10),
            .keys(Self.line("theme \(bad)")),
            .frame(containing: "bad.theme:3: unknown colour 'nocolour'", seconds: 5),
            .keys(Self.line("theme light")),
            .frame(containing: "theme light", seconds: 5),
            .keys([.char("q")]),
        ])
        #expect(terminal.missed.isEmpty, "never shown: \(terminal.missed)")
        #expect(status == 0)
        // The bad theme fell back to the default, then `theme light` applied.
        #expect(terminal.themes.map(\.name).suffix(2) == ["dark", "light"])
        let errors = app.view.localEvents.filter(\.isError).map(\.message)
        #expect(errors.count == 4, "\(errors)")
    }

    @Test("a domain created from the command line appears, pauses with p, and its console shows", .timeLimit(.minutes(1)))
    func createAndPause() throws {
        let (terminal, app, _) = try Self.run([
            .frame(containing: "Domain-0", seconds: 10),
            .keys(Self.line(#"create name=t1 cmdline="echo=hello-console idle""#)),
            .frame(containing: "│t1 ", seconds: 20),
            .keys([.char("5")]),
            .frame(containing: "hello-console", seconds: 20),
            .keys([.char("p")]),
            .frame(containing: "--p---", seconds: 10),
            .keys([.char("q")]),
            .bottom(containing: "up; quit xkv and destroy it? (y/n)", seconds: 5),
            .keys([.char("y")]),
        ])
        #expect(terminal.missed.isEmpty, "never shown: \(terminal.missed)\n\(terminal.last?.text ?? "")")
        #expect(app.snapshot.domains.isEmpty || app.snapshot.domains.allSatisfy { $0.name == "t1" })
    }

    @Test("NO_COLOR gives monochrome, and a colour theme is then refused with the reason")
    func noColour() throws {
        let (terminal, _, _) = try Self.run([
            .frame(containing: "Domain-0", seconds: 10),
            .keys(Self.line("theme dark")),
            .frame(containing: "NO_COLOR is set", seconds: 5),
        ], environment: ["NO_COLOR": "1"])
        #expect(terminal.missed.isEmpty, "never shown: \(terminal.missed)")
        #expect(terminal.themes.allSatisfy { $0.monochrome })
    }

    @Test("attach sends keystrokes through the engine's gate; a refusal shows as an error; Ctrl-] detaches")
    func attach() throws {
        let (terminal, app, _) = try Self.run([
            .frame(containing: "Domain-0", seconds: 10),
            .keys(Self.line(#"create name=a1 cmdline="idle""#)),
            .frame(containing: "│a1 ", seconds: 20),
            .keys([.char("c"), .char("x")]),
            .frame(containing: "ATTACHED", seconds: 5),
            .keys([.detach]),
            .frame(containing: "detached", seconds: 5),
            .keys([.char("q"), .char("y")]),
        ])
        #expect(terminal.missed.isEmpty, "never shown: \(terminal.missed)\n\(terminal.last?.text ?? "")")
        // Until the engine takes console input, its refusal is an error in the log, not a crash.
        for event in app.view.localEvents where event.isError { #expect(event.message.hasPrefix("console input to a1: ")) }
    }

    @Test("console.frame: one 160x48 frame of 64 domains costs well under 1% of the 250 ms refresh")
    func bench() throws {
        let ns = ConsoleBench.frameNanoseconds(domains: 64)
        #expect(ns.isFinite && ns > 0)
        // Debug builds are several times slower than release; even so, stay under 10% of the period.
        #expect(ns < 25_000_000, "\(ns) ns")
    }
}
