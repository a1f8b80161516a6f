import Dispatch
import Foundation
import Hypervisor
import Session

/// The full-screen console: reads keys, runs commands, and draws a frame from a fresh engine
/// snapshot at least four times a second. It owns the terminal from `run()` until it returns,
/// and gives it back on every way out (quit, a signal, an error).
public final class ConsoleApp {
    public enum Startup: Equatable, Sendable {
        /// The embedded default (`DemoDomains`).
        case demo
        /// Domain-0 only.
        case empty
        /// Playing a record back: the playback creates the domains.
        case playback
        /// A script of commands, run as `xkv run` runs it.
        case script(String)
        /// xl.cfg files, each created with `create FILE`.
        case configs([String])
    }

    public struct Options: Sendable {
        public var theme: String?
        public var startup: Startup
        public var environment: [String: String]
        /// `xkv --record FILE`: write a session record (commands, hotkeys, keystrokes to guests,
        /// checkpoints and the screen's frames) to this file.
        public var recordPath: String?
        /// `xkv replay FILE`: the playback to drive and show (its session's engine is the app's).
        public var playback: PlaybackDriver?

        public init(theme: String? = nil, startup: Startup = .demo, environment: [String: String] = ProcessInfo.processInfo.environment,
                    recordPath: String? = nil, playback: PlaybackDriver? = nil) {
            self.theme = theme
            self.startup = playback == nil ? startup : .playback
            self.environment = environment
            self.recordPath = recordPath
            self.playback = playback
        }
    }

    /// Lines of a command's output the overlay keeps (`console` of a chatty guest can be 1 MiB).
    static let outputLines = 5000

    /// Frames per second at least; keys redraw at once.
    public static let refreshPeriod = 0.25

    let engine: Engine
    let executor: Executor
    let options: Options
    let runner = CommandRunner()
    let themes = ThemeLoader.standard()
    var view = ViewState()
    var history = History()
    var frameInfo = FrameInfo()
    var lastOrder: [Int] = [0]
    var snapshot: EngineSnapshot
    var consoleCache: (name: String, bytes: Int, end: [UInt8], lines: [String]) = ("", -1, [], [])
    /// Why colours are off, when they are (NO_COLOR, or a terminal without colour).
    var monochromeReason: String?
    /// The session record being written (`--record`), and what of the screen it has.
    var recorder: SessionRecorder?
    var screenRecording = ScreenRecording()

    public init(engine: Engine, options: Options) {
        self.engine = engine
        self.executor = Executor(engine: engine)
        self.options = options
        self.snapshot = engine.snapshot()
    }

    static func monotonic() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    /// Runs the console until the operator quits or a signal arrives; returns the exit status.
    /// The terminal is restored before this returns; the domains are destroyed after that.
    public func run() -> Int32 {
        let signals = SignalWatcher()
        defer { signals.cancel() }
        let terminal: NcursesTerminal
        do { terminal = try NcursesTerminal() } catch {
            FileHandle.standardError.write(Data("xkv: \(error)\n".utf8))
            return 1
        }
        if let path = options.recordPath {
            do {
                let recorder = try SessionRecorder(path: path)
                recorder.attach(to: engine, header: recordHeader(terminal: terminal.size))
                self.recorder = recorder
            } catch {
                terminal.stop()
                FileHandle.standardError.write(Data("xkv: \(error.message)\n".utf8))
                return 1
            }
        }
        options.playback?.start()
        let status = loop(terminal, signals)
        options.playback?.stop()
        terminal.stop()
        let live = engine.snapshot().domains.count
        if live > 0 {
            FileHandle.standardError.write(Data("xkv: destroying \(live) domain\(live == 1 ? "" : "s") on the way out\n".utf8))
        }
        engine.shutdownAll()
        if let recorder {
            if let error = recorder.close() {
                FileHandle.standardError.write(Data("xkv: \(error.message)\n".utf8))
                return status == 0 ? 1 : status
            }
            FileHandle.standardError.write(Data("xkv: recorded \(recorder.eventCount) events (\(screenRecording.frames) screen frames) to \(recorder.path)\n".utf8))
        }
        return status
    }

    func loop(_ terminal: Terminal, _ signals: SignalWatcher) -> Int32 {
        setUpTheme(terminal)
        start()
        var nextFrame = 0.0
        var dirty = true
        while true {
            if let sig = signals.caught { return 128 + sig }
            let now = Self.monotonic()
            let wait = dirty ? 0 : max(0, Int((nextFrame - now) * 1000))
            if let key = terminal.readKey(timeoutMilliseconds: min(wait, Int(Self.refreshPeriod * 1000))) {
                if perform(handle(key), terminal) { return 0 }
                // Take every key already typed before drawing (a paste, a fast typist).
                var batch = 0
                while batch < 256, let more = terminal.readKey(timeoutMilliseconds: 0) {
                    if perform(handle(more), terminal) { return 0 }
                    batch += 1
                }
                dirty = true
            }
            if absorbOutcomes() { dirty = true }
            let t = Self.monotonic()
            if dirty || t >= nextFrame {
                drawFrame(terminal, at: t)
                nextFrame = t + Self.refreshPeriod
                dirty = false
            }
        }
    }

    // MARK: Frames

    func drawFrame(_ terminal: Terminal, at time: Double) {
        if let playback = options.playback {
            let status = playback.status
            if let verdict = status.verdict, view.playback?.verdict == nil {
                let ok = playback.report?.succeeded ?? false
                view.log(verdict, error: !ok, wallTime: Date().timeIntervalSince1970)
                view.status = StatusMessage(verdict, kind: ok ? .ok : .error, time: time)
            }
            view.playback = status
        }
        snapshot = engine.snapshot()
        let dom0 = dom0CPUSeconds(snapshot)
        history.add(snapshot, at: time, dom0CPUSeconds: dom0)
        let rows = DomainTable.rows(snapshot, metrics: history.metrics, dom0CPUSeconds: 0, sort: view.sort)
        let order = rows.map(\.id)
        view.reconcile(order: order, previousOrder: lastOrder)
        lastOrder = order
        view.busy = runner.current
        let size = terminal.size
        let input = RenderInput(snapshot: snapshot, metrics: history.metrics, view: view, dom0CPUSeconds: dom0,
                                consoleLines: consoleLines(), now: time, wallTime: Date().timeIntervalSince1970,
                                utcOffset: TimeZone.current.secondsFromGMT())
        let frame = Renderer.frame(input, width: size.width, height: size.height)
        frameInfo = frame.info
        terminal.draw(frame.buffer)
        if let recorder, let recorded = screenRecording.frame(for: frame.buffer) { recorder.frame(recorded) }
    }

    /// xkv's own CPU time less its guests' (vCPU threads run guests on the process's clock).
    func dom0CPUSeconds(_ s: EngineSnapshot) -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let process = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
        return max(0, process - s.domains.reduce(0) { $0 + $1.cpuSeconds })
    }

    /// The selected domain's console as lines, re-split only when it changed (its length, or its
    /// end once the engine's bounded log is full and drops old bytes).
    func consoleLines() -> [String] {
        guard let id = view.selectedID, id != 0, let d = snapshot.domains.first(where: { $0.id == id }) else { return [] }
        guard let text = try? engine.consoleText(d.name) else { return [] }
        let count = text.utf8.count, end = Array(text.utf8.suffix(256))
        if consoleCache.name == d.name && consoleCache.bytes == count && consoleCache.end == end { return consoleCache.lines }
        // The pane keeps the newest 5000 lines of scrollback.
        let tail = text.utf8.count > 512 * 1024 ? String(decoding: Array(text.utf8.suffix(512 * 1024)), as: UTF8.self) : text
        var lines = TextCells.stripEscapes(tail).split(separator: "\n", omittingEmptySubsequences: false).map { line in
            String(line.split(separator: "\r", omittingEmptySubsequences: false).last ?? "")
        }
        if lines.last == "" { lines.removeLast() }
        if lines.count > 5000 { lines.removeFirst(lines.count - 5000) }
        consoleCache = (d.name, count, end, lines)
        return lines
    }

    // MARK: Keys and effects

    func handle(_ key: Key) -> [Effect] {
        let names = Dictionary(snapshot.domains.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        let running = snapshot.domains.filter { !$0.state.shutdown && !$0.state.crashed }.count
        let context = ControllerContext(frame: frameInfo, names: names, running: running, now: Self.monotonic())
        return Controller.handle(key, state: &view, context: context)
    }

    /// Carries out effects; true when the console should quit.
    func perform(_ effects: [Effect], _ terminal: Terminal) -> Bool {
        for effect in effects {
            switch effect {
            case .quit: return true
            case .redraw: terminal.invalidate()
            case .commandLine(let line): if commandLine(line, terminal) { return true }
            case .run(let command):
                // The keymap refuses these during a playback; the record drives the domains.
                guard options.playback == nil else { break }
                submit(command, label: Self.label(command), source: .hotkey)
            case .playback(let action):
                guard let playback = options.playback else { break }
                let outcome = playback.perform(action)
                view.status = StatusMessage(outcome.message, kind: outcome.error ? .error : .info, time: Self.monotonic())
            case .consoleInput(let domain, let bytes) where options.playback == nil:
                let engine = self.engine
                runner.submit("console input") { post in
                    do throws(DomainError) { try engine.execute(.consoleInput(domain: domain, bytes: bytes)) } catch {
                        post(.failure(label: "console input to \(domain)", message: error.description))
                    }
                }
            case .consoleInput:
                break   // a playback's domains take only the record's input
            }
        }
        return false
    }

    static func label(_ command: SessionCommand) -> String {
        switch command {
        case .pause(let d): return "pause \(d)"
        case .unpause(let d): return "unpause \(d)"
        case .destroy(let d): return "destroy \(d)"
        case .shutdown(let d): return "shutdown \(d)"
        default: return "command"
        }
    }

    /// A `:` line. `theme` and `quit` belong to the console; everything else is the shared
    /// command language, parsed by the one parser scripts use. True when the console should quit.
    func commandLine(_ line: String, _ terminal: Terminal) -> Bool {
        let now = Self.monotonic()
        let words: [String]
        do { words = try CommandLexer.words(in: line) } catch {
            fail(error.description, now: now)
            return false
        }
        switch words.first?.lowercased() {
        case nil:
            return false
        case "theme":
            guard words.count <= 2 else {
                fail("usage: theme NAME (themes: \(themes.available.joined(separator: ", ")))", now: now)
                return false
            }
            guard words.count == 2 else {
                view.status = StatusMessage("theme \(view.themeName); themes: \(themes.available.joined(separator: ", "))", kind: .info, time: now)
                return false
            }
            applyTheme(words[1], terminal)
            return false
        case "quit", "exit":
            let effects = handle(.char("q"))
            return perform(effects, terminal)
        case "seek":
            guard let playback = options.playback else {
                fail("seek: only while playing a record back (`xkv replay FILE`)", now: now)
                return false
            }
            guard words.count == 2, let record = Int(words[1]), record > 0 else {
                fail("usage: seek RECORD (the record number of a checkpoint to run ahead to)", now: now)
                return false
            }
            return perform([.playback(.seek(record: record))], terminal)
        default:
            let parser = CommandParser(baseDirectory: FileManager.default.currentDirectoryPath, origin: "command line", line: 1)
            let command: SessionCommand?
            do { command = try parser.parse(line: line) } catch {
                fail(error.message, now: now)
                return false
            }
            if options.playback != nil, let command, command.changesDomains {
                fail("playback: the record drives the domains; queries (list, counters, traps, console ...) work", now: now)
                return false
            }
            if let command { submit(command, label: line.trimmingCharacters(in: .whitespaces), source: .console) }
            return false
        }
    }

    /// Runs a command on the worker; `label` is also its text in a record.
    func submit(_ command: SessionCommand, label: String, source: CommandSource) {
        let executor = self.executor
        let recorder = self.recorder
        runner.submit(label) { post in
            do throws(CommandError) {
                let output = try Self.run(command, text: label, source: source, executor: executor, recorder: recorder)
                post(.output(label: label, text: output.text))
            } catch {
                post(.failure(label: label, message: error.message))
            }
        }
    }

    /// Runs a command, through the recorder when there is one (a `create` gets its UUID there).
    static func run(_ command: SessionCommand, text: String, source: CommandSource, executor: Executor,
                    recorder: SessionRecorder?) throws(CommandError) -> CommandOutput {
        guard let recorder else { return try executor.run(command) }
        let seeded = recorder.seeded(command)
        return try recorder.recording(text: text, source: source, seeded) { () throws(CommandError) in try executor.run(seeded) }
    }

    func fail(_ message: String, now: Double) {
        view.status = StatusMessage(message, kind: .error, time: now)
        view.log(message, error: true, wallTime: Date().timeIntervalSince1970)
    }

    /// Takes in what the worker finished; true when something changed.
    func absorbOutcomes() -> Bool {
        let outcomes = runner.drain()
        let now = Self.monotonic(), wall = Date().timeIntervalSince1970
        for outcome in outcomes {
            switch outcome {
            case .output(let label, let text):
                var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
                if lines.count > Self.outputLines {
                    let cut = lines.count - Self.outputLines
                    lines = ["(\(cut) earlier lines not shown)"] + lines.suffix(Self.outputLines)
                }
                if lines.count > 1 {
                    if view.mode == .normal {
                        view.mode = .output(title: label, lines: lines)
                        view.outputScroll = 0
                    }
                    view.status = StatusMessage("\(label): \(lines.count) lines", kind: .ok, time: now)
                } else {
                    view.status = StatusMessage(text.isEmpty ? "\(label): done" : text, kind: .ok, time: now)
                }
            case .failure(let label, let message):
                view.status = StatusMessage(message, kind: .error, time: now)
                view.log("\(label): \(message)", error: true, wallTime: wall)
            case .log(let message, let error, let time):
                view.log(message, error: error, wallTime: time)
                if error { view.status = StatusMessage(message, kind: .error, time: now) }
            }
        }
        return !outcomes.isEmpty
    }
}
