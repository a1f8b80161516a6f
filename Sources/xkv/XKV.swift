import Console
import Foundation
import GuestImages
import Hypervisor
import KVM
import Session

/// xkv: a Xen-style hypervisor on Linux KVM. Subcommands and wiring only; the work lives in the
/// libraries.
@main
struct XKV {
    static let usage = """
        usage: xkv [--theme NAME] [--record FILE] [--empty | --script FILE | FILE.cfg ...]   the console
                                               (no arguments: on its built-in demo domains)
               xkv demo                        the built-in demo, headless
               xkv run [--json] [--keep-going] [--record FILE] SCRIPT|-   run a script of console commands
                                               (--record: write a session record of it)
               xkv replay RECORD [--headless] [--allow-image-change] [--speed X] [--paused]
                                               re-run a record and verify it: in the console at the
                                               recorded pace (space, ., + -, ], :seek N), or headless
               xkv export --asciicast OUT.cast RECORD   a console recording's screens as asciicast v2
               xkv info [--json] [--check]     host, KVM and Xen identity (--check: prove /dev/kvm can run a vCPU)
               xkv bench [--json] [--quick] [--only engine|console|record]
                                               measured costs against baselines measured in the same run
               xkv help
        global option: --pcpus N (physical CPUs the scheduler runs vCPUs on; default one per host core)
        """

    /// `--pcpus N`: physical CPUs (scheduler threads); default one per host core.
    nonisolated(unsafe) static var pcpus: Int?

    static func main() {
        var args = Array(CommandLine.arguments.dropFirst())
        if let index = args.firstIndex(of: "--pcpus") {
            guard index + 1 < args.count, let n = Int(args[index + 1]), (1...256).contains(n) else {
                fail("--pcpus takes a number of physical CPUs from 1 to 256")
            }
            pcpus = n
            args.removeSubrange(index...index + 1)
        }
        // No subcommand (nothing, an option, or config files): the full-screen console.
        let subcommands: Set<String> = ["run", "info", "bench", "demo", "help", "-h", "--help", "replay", "export"]
        guard let command = args.first, subcommands.contains(command) else {
            exit(ConsoleMain.main(args))
        }
        args.removeFirst()
        switch command {
        case "run": exit(run(args))
        case "replay": exit(replay(args))
        case "export": exit(export(args))
        case "info": exit(info(args))
        case "bench": exit(Bench.main(args))
        case "demo": exit(runScript(DemoScript.text, file: "builtin:demo", json: false, keepGoing: false))
        case "help", "-h", "--help": print(usage); exit(0)
        default:
            fail("'\(command)' is not available in this build\n\(usage)")
        }
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data(("xkv: " + message + "\n").utf8))
        exit(2)
    }

    static func run(_ args: [String]) -> Int32 {
        var json = false, keepGoing = false
        var file: String?, record: String?
        var rest = args[...]
        while let arg = rest.popFirst() {
            switch arg {
            case "--json": json = true
            case "--keep-going": keepGoing = true
            case "--record":
                guard let path = rest.popFirst() else { fail("run: --record takes a file to write the record to") }
                record = path
            default:
                if arg.hasPrefix("--") { fail("run: unknown option \(arg)") }
                guard file == nil else { fail("run: one script at a time") }
                file = arg
            }
        }
        guard let file else { fail("run: which script? (`-` for standard input)") }
        let text: String
        if file == "-" {
            text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        } else {
            guard let data = FileManager.default.contents(atPath: file) else { fail("cannot read script '\(file)'") }
            text = String(decoding: data, as: UTF8.self)
        }
        if let record { return runRecorded(text, file: file, json: json, keepGoing: keepGoing, record: record) }
        return runScript(text, file: file, json: json, keepGoing: keepGoing)
    }

    /// `xkv run --record FILE SCRIPT`.
    static func runRecorded(_ text: String, file: String, json: Bool, keepGoing: Bool, record: String) -> Int32 {
        let engine = makeEngine()
        do {
            let failures = try ScriptRunner(json: json, keepGoing: keepGoing).runRecording(
                text, file: file, engine: engine, to: record,
                output: { print($0) },
                errors: { FileHandle.standardError.write(Data(($0 + "\n").utf8)) })
            return failures == 0 ? 0 : 1
        } catch {
            fail(error.message)
        }
    }

    /// `xkv replay RECORD --headless [--allow-image-change]`: re-runs the record on a fresh
    /// engine and compares every checkpoint; exit status 1 on a divergence or a bad record.
    static func replay(_ args: [String]) -> Int32 {
        var headless = false, allowImageChange = false
        var file: String?
        var consoleArgs: [String] = []
        var rest = args[...]
        while let arg = rest.popFirst() {
            switch arg {
            case "--headless": headless = true
            case "--allow-image-change": allowImageChange = true
            case "--paused": consoleArgs.append(arg)
            case "--speed", "--theme":
                guard let value = rest.popFirst() else { fail("replay: \(arg) takes a value") }
                consoleArgs += [arg, value]
            default:
                if arg.hasPrefix("--") { fail("replay: unknown option \(arg)") }
                guard file == nil else { fail("replay: one record at a time") }
                file = arg
            }
        }
        guard let file else { fail("replay: which record?") }
        let stderr = FileHandle.standardError
        guard headless else {
            do {
                let record = try RecordFile.load(path: file)
                let session = try ReplaySession(record, options: ReplayOptions(allowImageChange: allowImageChange, pcpus: pcpus), pace: true)
                let status = ConsoleMain.playback(session, args: consoleArgs)
                return status
            } catch {
                stderr.write(Data((error.message + "\n").utf8))
                return 1
            }
        }
        do {
            let record = try RecordFile.load(path: file)
            if let note = record.truncationNote { print(note) }
            let report = try Replayer.replay(record, options: ReplayOptions(allowImageChange: allowImageChange, pcpus: pcpus))
            for note in report.notes where note != record.truncationNote { print("note: " + note) }
            if report.preemptionsRecorded > 0 {
                print("the recording was preempted by the scheduler's timer \(report.preemptionsRecorded) times; exact domains do not depend on where")
            }
            if report.succeeded {
                print(report.verdict)
                return 0
            }
            stderr.write(Data((report.verdict + "\n").utf8))
            return 1
        } catch {
            stderr.write(Data((error.message + "\n").utf8))
            return 1
        }
    }

    /// `xkv export --asciicast OUT.cast RECORD [--theme NAME]`.
    static func export(_ args: [String]) -> Int32 {
        var out: String?, record: String?, themeName: String?
        var rest = args[...]
        while let arg = rest.popFirst() {
            switch arg {
            case "--asciicast":
                guard let path = rest.popFirst() else { fail("export: --asciicast takes the .cast file to write") }
                out = path
            case "--theme":
                guard let name = rest.popFirst() else { fail("export: --theme takes a theme name") }
                themeName = name
            default:
                if arg.hasPrefix("--") { fail("export: unknown option \(arg)") }
                guard record == nil else { fail("export: one record at a time") }
                record = arg
            }
        }
        guard let out else { fail("export: which format? `xkv export --asciicast OUT.cast RECORD`") }
        guard let record else { fail("export: which record? `xkv export --asciicast OUT.cast RECORD`") }
        do {
            let file = try RecordFile.load(path: record)
            let theme: Theme
            do { theme = try themeName.map { name throws(ThemeError) in try ThemeLoader.standard().load(name) } ?? ThemeLoader.fallback } catch {
                fail("export: \(error)")
            }
            let result = try AsciicastExport.export(file, theme: theme)
            guard FileManager.default.createFile(atPath: out, contents: Data(result.text.utf8)) else {
                fail("export: cannot write '\(out)'")
            }
            if let note = file.truncationNote { print(note) }
            print("exported \(result.frames) frames\(result.resizes > 0 ? " and \(result.resizes) resizes" : "") to \(out)")
            return 0
        } catch {
            FileHandle.standardError.write(Data(("xkv: export: " + error.message + "\n").utf8))
            return 1
        }
    }

    static func runScript(_ text: String, file: String, json: Bool, keepGoing: Bool) -> Int32 {
        let engine = makeEngine()
        let executor = Executor(engine: engine)
        let failures = ScriptRunner(json: json, keepGoing: keepGoing).run(
            text, file: file, executor: executor,
            output: { print($0) },
            errors: { FileHandle.standardError.write(Data(($0 + "\n").utf8)) })
        engine.shutdownAll()
        return failures == 0 ? 0 : 1
    }

    static func makeEngine() -> Engine {
        do { return try Engine(pcpus: pcpus) } catch { fail(error.message) }
    }

    static func info(_ args: [String]) -> Int32 {
        let json = args.contains("--json")
        if args.contains("--check") {
            do {
                try KVMSystem().selfTest()
            } catch {
                fail(error.message)
            }
        }
        let engine = makeEngine()
        guard let output = try? Executor(engine: engine).run(.info) else { return 1 }
        print(json ? output.json.rendered : output.text)
        return 0
    }
}
