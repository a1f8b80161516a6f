import Console
import Session
import Foundation

/// `xkv [--pcpus N] [--theme NAME] [--empty | --script FILE | FILE.cfg ...]`: the full-screen
/// console.
enum ConsoleMain {
    static let usage = """
        usage: xkv [--theme NAME] [--record FILE] [--empty | --script FILE | FILE.cfg ...]
          (no arguments)   the console on its built-in demo domains
          --empty          start with Domain-0 only
          --script FILE    run a script of commands (as `xkv run`) in the console
          FILE.cfg ...     create these domains (xl.cfg files)
          --theme NAME     dark, light, high-contrast, monochrome, or a .theme file
          --record FILE    record the session (commands, keys to guests, checkpoints, screens)
                           for `xkv replay FILE` and `xkv export --asciicast OUT.cast FILE`
        """

    static func main(_ args: [String]) -> Int32 {
        var theme: String?
        var empty = false
        var script: String?
        var configs: [String] = []
        var record: String?
        var i = 0
        func fail(_ message: String) -> Int32 {
            FileHandle.standardError.write(Data("xkv: \(message)\n\(usage)\n".utf8))
            return 2
        }
        while i < args.count {
            let arg = args[i]
            func value() -> String? {
                i += 1
                return i < args.count ? args[i] : nil
            }
            switch arg {
            case "--theme":
                guard let v = value() else { return fail("--theme needs a NAME") }
                theme = v
            case "--empty":
                empty = true
            case "--script":
                guard let v = value() else { return fail("--script needs a FILE") }
                guard script == nil else { return fail("one --script at a time") }
                script = v
            case "--record":
                guard let v = value() else { return fail("--record needs a FILE to write the record to") }
                record = v
            case "-h", "--help":
                print(usage)
                return 0
            default:
                if arg.hasPrefix("-") { return fail("unknown option \(arg)") }
                configs.append(arg)
            }
            i += 1
        }
        let startup: ConsoleApp.Startup
        switch (empty, script, configs.isEmpty) {
        case (false, nil, true): startup = .demo
        case (true, nil, true): startup = .empty
        case (false, let s?, true): startup = .script(s)
        case (false, nil, false): startup = .configs(configs)
        default: return fail("--empty, --script and config files do not go together")
        }
        for file in configs where !FileManager.default.isReadableFile(atPath: file) {
            return fail("cannot read config file '\(file)'")
        }
        if let script, !FileManager.default.isReadableFile(atPath: script) {
            return fail("cannot read script '\(script)'")
        }
        guard isatty(STDIN_FILENO) == 1, isatty(STDOUT_FILENO) == 1 else {
            FileHandle.standardError.write(Data("xkv: the console needs a terminal; use `xkv run FILE` for scripts\n".utf8))
            return 1
        }
        // `--pcpus N` (taken by XKV before this runs) applies here as everywhere.
        return ConsoleApp(engine: XKV.makeEngine(), options: ConsoleApp.Options(theme: theme, startup: startup, recordPath: record)).run()
    }

    /// `xkv replay RECORD [--speed X] [--paused] [--theme NAME]`: the console on a playback.
    /// Exit status 0 when every checkpoint replayed so far matched (and the verdict if it got
    /// to the end), 1 on a divergence.
    static func playback(_ session: ReplaySession, args: [String]) -> Int32 {
        var theme: String?, speed = 1.0, paused = false
        var rest = args[...]
        while let arg = rest.popFirst() {
            switch arg {
            case "--paused": paused = true
            case "--theme": theme = rest.popFirst()
            case "--speed":
                guard let v = rest.popFirst().flatMap(Double.init), PlaybackStatus.speeds.contains(v) else {
                    return fail("--speed takes a number from 0.25 to 16")
                }
                speed = v
            default: return fail("unknown option \(arg)")
            }
        }
        guard isatty(STDIN_FILENO) == 1, isatty(STDOUT_FILENO) == 1 else {
            FileHandle.standardError.write(Data("xkv: playback needs a terminal; `xkv replay FILE --headless` verifies a record without one\n".utf8))
            session.engine.shutdownAll()
            return 1
        }
        let driver = PlaybackDriver(session: session, paused: paused, speed: speed)
        let status = ConsoleApp(engine: session.engine, options: ConsoleApp.Options(theme: theme, playback: driver)).run()
        let final = driver.status
        if let report = driver.report {
            print(report.verdict)
            return report.succeeded ? status : 1
        }
        let line = "playback stopped at step \(final.applied) of \(final.steps) (record \(final.seq)): \(final.equal) checkpoints equal so far"
            + (final.divergence.map { "; " + $0 } ?? "")
        print(line)
        return final.divergence == nil ? status : 1
    }

    private static func fail(_ message: String) -> Int32 {
        FileHandle.standardError.write(Data("xkv: \(message)\n".utf8))
        return 2
    }
}
