import Foundation
import Hypervisor

/// Runs a script of console commands, one per line, `#` comments: `xkv run FILE`.
/// A failing command prints `FILE:LINE: message` on stderr; the run stops there unless
/// `keepGoing`.
public struct ScriptRunner: Sendable {
    public var json: Bool
    public var keepGoing: Bool
    /// Records every command line (`xkv run --record FILE`); attach it to the engine first.
    public var recorder: SessionRecorder?

    public init(json: Bool = false, keepGoing: Bool = false, recorder: SessionRecorder? = nil) {
        self.json = json
        self.keepGoing = keepGoing
        self.recorder = recorder
    }

    /// Runs `text` (named `file` in messages); returns the number of failed commands.
    @discardableResult
    public func run(_ text: String, file: String, executor: Executor,
                    output: (String) -> Void, errors: (String) -> Void) -> Int {
        let base = file == "-" ? nil : (file as NSString).deletingLastPathComponent
        var failures = 0
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let parser = CommandParser(baseDirectory: base?.isEmpty == true ? "." : base, origin: file, line: index + 1)
            do throws(CommandError) {
                var words: [String]
                do { words = try CommandLexer.words(in: String(line)) } catch { throw CommandError(error.description) }
                // `--json` after any command asks for that command's JSON document.
                let wantsJSON = json || words.contains("--json")
                words.removeAll { $0 == "--json" }
                guard !words.isEmpty else { continue }
                let command = try parser.parse(words: words)
                let result: CommandOutput
                if let recorder {
                    let seeded = recorder.seeded(command)
                    result = try recorder.recording(text: String(line), source: .script, seeded) { () throws(CommandError) in
                        try executor.run(seeded)
                    }
                } else {
                    result = try executor.run(command)
                }
                output(wantsJSON ? result.json.rendered : result.text)
            } catch {
                failures += 1
                errors("\(file):\(index + 1): \(error.message)")
                if !keepGoing { break }
            }
        }
        return failures
    }
}

/// The built-in demo: what `xkv` shows on a fresh machine with no config.
public enum DemoScript {
    public static let text = """
        # xkv's built-in demo: three 64-bit PV domains doing different things.
        info
        create name=hello kernel=builtin:pv64 memory=16 cmdline="echo=hello-from-a-xen-pv-guest cpuid cr3" on_poweroff=preserve
        create name=busy kernel=builtin:pv64 memory=16 cmdline="hypercalls=2000 mmu traps" on_poweroff=preserve
        create name=spinner kernel=builtin:pv64 memory=16 cmdline="spin"
        wait hello shutdown
        wait busy shutdown
        wait spinner running
        list
        console hello
        console busy
        counters busy
        destroy spinner
        """
}
