import Dispatch
import Foundation
import Testing

/// The built `xkv` binary in a private tmux server: what an operator sees and types.
@Suite("Console end to end in tmux", .serialized)
struct EndToEndTests {
    /// A private tmux server (`tmux -L xkv-test-N`) with one window running a shell.
    final class Tmux {
        let socket = "xkv-test-\(UInt32.random(in: 0...UInt32.max))"
        let pane: String

        init(width: Int, height: Int) throws {
            pane = socket + ":0.0"
            let shell = "env -i PATH=/usr/bin:/bin HOME=/tmp TERM=tmux-256color LANG=C.UTF-8 PS1='xkv-test> ' bash --norc --noprofile"
            let result = Self.tmux(socket, ["-f", "/dev/null", "new-session", "-d", "-s", socket, "-x", String(width), "-y", String(height), shell])
            guard result.status == 0 else { throw TmuxError("tmux new-session failed: \(result.output)") }
        }

        deinit {
            _ = Self.tmux(socket, ["kill-server"])
            let dir = ProcessInfo.processInfo.environment["TMUX_TMPDIR"] ?? "/tmp"
            unlink("\(dir)/tmux-\(getuid())/\(socket)")
        }

        struct TmuxError: Error, CustomStringConvertible {
            var description: String
            init(_ d: String) { description = d }
        }

        @discardableResult
        static func tmux(_ socket: String, _ args: [String]) -> (status: Int32, output: String) {
            Subprocess.run(["tmux", "-L", socket] + args)
        }

        func run(_ args: [String]) { Self.tmux(socket, args) }
        func keys(_ keys: String...) { Self.tmux(socket, ["send-keys", "-t", pane] + keys) }
        func literal(_ text: String) { Self.tmux(socket, ["send-keys", "-t", pane, "-l", text]) }
        var screen: String { Self.tmux(socket, ["capture-pane", "-p", "-t", pane]).output }

        /// Polls the screen until `condition` holds or `seconds` pass (monotonic clock); the last
        /// screen either way.
        @discardableResult
        func waitFor(_ what: String, seconds: Double = 20, _ condition: (String) -> Bool) -> (ok: Bool, screen: String) {
            let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(seconds * 1e9)
            let pacer = DispatchSemaphore(value: 0)
            var last = ""
            while DispatchTime.now().uptimeNanoseconds < deadline {
                last = screen
                if condition(last) { return (true, last) }
                // Pace the polling (each poll is a tmux process); this is not a fixed delay.
                _ = pacer.wait(timeout: .now() + .milliseconds(40))
            }
            Issue.record("timed out waiting for \(what); screen:\n\(last)")
            return (false, last)
        }

        @discardableResult
        func waitFor(text: String, seconds: Double = 20) -> (ok: Bool, screen: String) {
            waitFor("'\(text)'", seconds: seconds) { $0.contains(text) }
        }
    }

    /// `xkv` beside the test bundle (what `swift test` built), else `$XKV_BINARY`, else built now.
    static func binary() throws -> String {
        if let env = ProcessInfo.processInfo.environment["XKV_BINARY"], !env.isEmpty { return env }
        let bundleDir = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        let candidates = [bundleDir.appendingPathComponent("xkv").path,
                          bundleDir.deletingLastPathComponent().appendingPathComponent("xkv").path]
        if let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) { return found }
        let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized.path
        let build = Subprocess.run(["swift", "build", "--package-path", package, "--product", "xkv"])
        let built = package + "/.build/debug/xkv"
        guard build.status == 0, FileManager.default.isExecutableFile(atPath: built) else {
            throw Tmux.TmuxError("cannot find or build xkv (looked at \(candidates)): \(build.output)")
        }
        return built
    }

    /// A new empty folder for one test's files (the caller removes it).
    static func scratchDirectory(_ prefix: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// The status the shell printed after xkv exited (`XKV-EXIT-N` on a line of its own).
    static func exitStatus(in screen: String) -> Int? {
        for line in screen.split(separator: "\n") where line.hasPrefix("XKV-EXIT-") {
            if let n = Int(line.dropFirst("XKV-EXIT-".count)) { return n }
        }
        return nil
    }

    /// The row of `name` in the Domains pane, split into its columns.
    static func row(_ name: String, in screen: String) -> [String]? {
        for line in screen.split(separator: "\n") {
            let cells = line.split(whereSeparator: { $0 == " " || $0 == "│" }).map(String.init)
            if cells.first == name, cells.count >= 10 { return cells }
        }
        return nil
    }

    @Test("start, watch the demo run, create, pause, resize, survive bad input, quit and restore the terminal", .timeLimit(.minutes(3)))
    func operatorSession() throws {
        let xkv = try Self.binary()
        let dir = try Self.scratchDirectory("xkv-e2e")
        defer { try? FileManager.default.removeItem(at: dir) }
        let badTheme = dir.appendingPathComponent("bad.theme").path
        try "normal = default default\ntitle = cyan default\nhit = black yellow blinking\n".write(toFile: badTheme, atomically: true, encoding: .utf8)

        let tmux = try Tmux(width: 100, height: 30)
        tmux.waitFor(text: "xkv-test>", seconds: 10)
        // One pCPU keeps the demo's busy domains to one host core while other tests run; should
        // this test process die, the SIGTERM from `timeout` still ends xkv within minutes.
        tmux.literal("timeout --foreground -s TERM 300 '\(xkv)' --pcpus 1; echo XKV-EXIT-$?; stty -a | grep -o -- '-\\?icanon'")
        tmux.keys("Enter")

        // The demo domains appear, and their counters move: system calls per second for the
        // syscall domains, and CPU time growing between two screens.
        let up = tmux.waitFor("the demo domains", seconds: 60) { s in
            if Self.exitStatus(in: s) != nil { return true }  // it never opened the console: fail now
            guard let pv64 = Self.row("pv64-syscalls", in: s), let pv32 = Self.row("pv32-syscalls", in: s),
                  Self.row("pv64-faults", in: s) != nil, Self.row("pv32-faults", in: s) != nil else { return false }
            return ![pv64[9], pv32[9]].contains { $0 == "-" || $0 == "0" }
        }
        let opened = up.ok && Self.exitStatus(in: up.screen) == nil
        #expect(opened, "xkv did not open the console on its demo (is `xkv` with no arguments wired to ConsoleMain.main?)")
        guard opened, let first = Self.row("pv64-faults", in: up.screen), let t0 = Double(first[5]) else { return }
        tmux.waitFor("pv64-faults's CPU time to grow", seconds: 30) { s in
            (Self.row("pv64-faults", in: s).flatMap { Double($0[5]) } ?? 0) > t0
        }

        // `:create` through the shared command line.
        tmux.literal(":create name=t1 cmdline=spin")
        tmux.keys("Enter")
        tmux.waitFor("t1 in the domain list", seconds: 30) { Self.row("t1", in: $0) != nil }

        // Select t1 (the last row, by ID) and pause it.
        tmux.keys("End")
        tmux.waitFor(text: "Trap table · t1 (")
        tmux.keys("p")
        tmux.waitFor("t1 paused") { Self.row("t1", in: $0)?[2] == "--p---" }

        // Resize to 80x24: the layout follows.
        tmux.run(["resize-window", "-t", tmux.socket, "-x", "80", "-y", "24"])
        let small = tmux.waitFor("the 80x24 layout") { s in
            let lines = s.split(separator: "\n", omittingEmptySubsequences: false)
            return lines.contains { $0.hasPrefix("┌─ Domains") && $0.hasSuffix("┐") && $0.count == 80 }
        }
        #expect(small.ok)

        // Errors go to the status line; the console goes on.
        tmux.literal(":frobnicate")
        tmux.keys("Enter")
        tmux.waitFor(text: "unknown command 'frobnicate'")
        tmux.literal(":pause")
        tmux.keys("Enter")
        tmux.waitFor(text: "usage: pause DOMAIN")
        tmux.literal(":theme \(badTheme)")
        tmux.keys("Enter")
        tmux.waitFor(text: "bad.theme:3: unknown attribute 'blinking'")
        tmux.waitFor("the console still running") { Self.row("t1", in: $0) != nil && $0.contains("┌─ Domains") }

        // Quit: asked first while domains are up; then the shell is back as it was.
        tmux.keys("q")
        tmux.waitFor(text: "quit xkv and destroy them? (y/n)")
        tmux.keys("y")
        let gone = tmux.waitFor("xkv to exit", seconds: 60) { Self.exitStatus(in: $0) != nil }
        #expect(Self.exitStatus(in: gone.screen) == 0)
        // The alternate screen is gone (the shell's own lines are back), the modes are cooked again.
        let restored = tmux.waitFor("the terminal restored") { s in
            let lines = s.split(separator: "\n").map(String.init)
            return lines.contains("XKV-EXIT-0") && lines.contains("icanon") && lines.last == "xkv-test>" && !s.contains("┌─ Domains")
        }
        #expect(restored.ok)
        #expect(!restored.screen.contains("-icanon"), "the terminal was left in raw mode:\n\(restored.screen)")
    }

    @Test("a recorded console session replays headless with every checkpoint equal and exports as asciicast v2", .timeLimit(.minutes(3)))
    func recordedSession() throws {
        let xkv = try Self.binary()
        let dir = try Self.scratchDirectory("xkv-e2e-rec")
        defer { try? FileManager.default.removeItem(at: dir) }
        let record = dir.appendingPathComponent("session.xkvrec").path, cast = dir.appendingPathComponent("session.cast").path

        let tmux = try Tmux(width: 100, height: 30)
        tmux.waitFor(text: "xkv-test>", seconds: 10)
        tmux.literal("timeout --foreground -s TERM 300 '\(xkv)' --pcpus 1 --record '\(record)' --empty; echo XKV-EXIT-$?")
        tmux.keys("Enter")
        let up = tmux.waitFor("the console on Domain-0 alone", seconds: 30) { Self.row("Domain-0", in: $0) != nil }
        guard up.ok else { return }

        // A 64-bit domain that runs its workloads to the end, typed at the `:` prompt.
        tmux.literal(#":create name=r64 kernel=builtin:pv64 memory=16 cmdline="hypercalls=400 syscalls=200 faults=5" on_poweroff=preserve"#)
        tmux.keys("Enter")
        tmux.waitFor("r64 shut down", seconds: 30) { Self.row("r64", in: $0)?[2] == "---s--" }
        // A 32-bit one that never stops: paused and unpaused by hotkey, then destroyed by hotkey.
        tmux.literal(#":create name=r32 kernel=builtin:pv32 memory=16 cmdline="syscalls=forever""#)
        tmux.keys("Enter")
        tmux.waitFor("r32 running", seconds: 30) { Self.row("r32", in: $0)?[2] == "r-----" }
        tmux.keys("End")
        tmux.waitFor(text: "Trap table · r32 (")
        tmux.keys("p")
        tmux.waitFor("r32 paused") { Self.row("r32", in: $0)?[2] == "--p---" }
        tmux.keys("u")
        tmux.waitFor("r32 unpaused") { s in Self.row("r32", in: s).map { $0[2] != "--p---" } ?? false }
        // A resize is a full frame in the record and an "r" event in the export.
        tmux.run(["resize-window", "-t", tmux.socket, "-x", "80", "-y", "24"])
        tmux.waitFor("the 80x24 layout") { s in
            s.split(separator: "\n", omittingEmptySubsequences: false).contains { $0.hasPrefix("┌─ Domains") && $0.count == 80 }
        }
        tmux.keys("d")
        tmux.waitFor(text: "Destroy domain r32?")
        tmux.keys("y")
        tmux.waitFor("r32 gone") { Self.row("r32", in: $0) == nil && $0.contains("┌─ Domains") }
        tmux.keys("q")
        let gone = tmux.waitFor("xkv to exit", seconds: 60) { Self.exitStatus(in: $0) != nil }
        #expect(Self.exitStatus(in: gone.screen) == 0, "\(gone.screen)")

        // Replayed on a fresh engine: every checkpoint of both domains equal.
        let replay = Subprocess.run([xkv, "replay", record, "--headless"])
        #expect(replay.status == 0, "\(replay.output)")
        #expect(replay.output.contains("checkpoints equal across 2 domains; exact: r64, r32"), "\(replay.output)")
        let events = try String(contentsOfFile: record, encoding: .utf8).split(separator: "\n")
        let frames = events.filter { $0.contains(#""type":"frame""#) }.count
        #expect(events.contains { $0.contains(#""text":"pause r32","source":"hotkey""#) })
        #expect(events.contains { $0.contains(#""source":"console""#) && $0.contains("create name=r64") })
        #expect(frames >= 4, "\(frames) frames")

        // The export parses as asciicast v2: a header, then one "o" event per recorded frame.
        let export = Subprocess.run([xkv, "export", "--asciicast", cast, record])
        #expect(export.status == 0, "\(export.output)")
        let lines = try String(contentsOfFile: cast, encoding: .utf8).split(separator: "\n").map { Data($0.utf8) }
        let first = try #require(lines.first)
        let header = try #require(try JSONSerialization.jsonObject(with: first) as? [String: Any])
        #expect(header["version"] as? Int == 2)
        #expect(header["width"] as? Int == 100 && header["height"] as? Int == 30)
        var outputs = 0, resizes: [String] = [], last = -1.0
        for line in lines.dropFirst() {
            let event = try #require(try JSONSerialization.jsonObject(with: line) as? [Any])
            let stamp = event.first as? Double ?? (event.first as? Int).map(Double.init)
            let time = try #require(stamp)
            #expect(event.count == 3 && time >= last)
            last = time
            switch event[1] as? String {
            case "o": outputs += 1
            case "r": resizes.append(event[2] as? String ?? "")
            default: Issue.record("unknown asciicast event \(event)")
            }
        }
        #expect(outputs == frames)
        #expect(resizes == ["80x24"])
        #expect(export.output.contains("exported \(frames) frames and 1 resizes"), "\(export.output)")
    }

    @Test("xkv replay plays a record back in the console: paused, seek to a checkpoint, step, resume, verdict", .timeLimit(.minutes(3)))
    func playback() throws {
        let xkv = try Self.binary()
        let dir = try Self.scratchDirectory("xkv-e2e-play")
        defer { try? FileManager.default.removeItem(at: dir) }
        let script = dir.appendingPathComponent("s.xkv").path, record = dir.appendingPathComponent("s.xkvrec").path
        try """
            create name=p64 kernel=builtin:pv64 memory=16 cmdline="hypercalls=2000 syscalls=3000" on_poweroff=preserve
            wait p64 shutdown 60
            """.write(toFile: script, atomically: true, encoding: .utf8)
        let run = Subprocess.run([xkv, "run", "--record", record, script])
        #expect(run.status == 0, "\(run.output)")
        let lines = try String(contentsOfFile: record, encoding: .utf8).split(separator: "\n")
        let checkpoints = lines.filter { $0.contains(#""type":"checkpoint""#) }
        // A checkpoint in the middle of the run, and the logical time it was taken at.
        let middle = String(checkpoints[checkpoints.count / 2])
        func number(_ key: String, in line: String) -> Int? {
            guard let r = line.range(of: "\"\(key)\":") else { return nil }
            return Int(line[r.upperBound...].prefix { $0.isNumber })
        }
        let seq = try #require(number("seq", in: middle)), logical = try #require(number("logical", in: middle))

        let tmux = try Tmux(width: 120, height: 30)
        tmux.waitFor(text: "xkv-test>", seconds: 10)
        tmux.literal("timeout --foreground -s TERM 300 '\(xkv)' --pcpus 1 replay '\(record)' --paused; echo XKV-EXIT-$?")
        tmux.keys("Enter")
        tmux.waitFor(text: "PLAYBACK ❚❚ paused", seconds: 30)
        tmux.literal(":seek \(seq)")
        tmux.keys("Enter")
        tmux.waitFor(text: "seeking to record \(seq): p64 at logical time \(logical)")
        // Held exactly there: every checkpoint before it replayed and equal.
        let equalBefore = checkpoints.prefix { number("seq", in: String($0)) ?? 0 < seq }.count + 1
        tmux.waitFor(text: "\(equalBefore) checkpoints equal", seconds: 30)
        tmux.keys(".")
        tmux.keys("+")
        tmux.waitFor(text: "playback speed ×2")
        tmux.keys("Space")
        let done = tmux.waitFor(text: "PLAYBACK ■ done", seconds: 60)
        #expect(done.screen.contains("replay: \(checkpoints.count) checkpoints equal across 1 domain; exact: p64"), "\(done.screen)")
        tmux.keys("q")
        let gone = tmux.waitFor("xkv to exit", seconds: 60) { Self.exitStatus(in: $0) != nil }
        #expect(Self.exitStatus(in: gone.screen) == 0, "\(gone.screen)")
    }
}
