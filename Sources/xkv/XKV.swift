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
        usage: xkv                             run the built-in demo (the console comes with its own issue)
               xkv run [--json] [--keep-going] FILE|-   run a script of console commands
               xkv info [--json] [--check]     host, KVM and Xen identity (--check: prove /dev/kvm can run a vCPU)
               xkv bench [--json] [--quick]    measured costs against baselines measured in the same run
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
        let command = args.first ?? "demo"
        if !args.isEmpty { args.removeFirst() }
        switch command {
        case "run": exit(run(args))
        case "info": exit(info(args))
        case "bench": exit(Bench.main(args))
        case "demo": exit(runScript(DemoScript.text, file: "builtin:demo", json: false, keepGoing: false))
        case "help", "-h", "--help": print(usage); exit(0)
        default:
            fail("unknown command '\(command)'\n\(usage)")
        }
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data(("xkv: " + message + "\n").utf8))
        exit(2)
    }

    static func run(_ args: [String]) -> Int32 {
        var json = false, keepGoing = false
        var file: String?
        for arg in args {
            switch arg {
            case "--json": json = true
            case "--keep-going": keepGoing = true
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
        return runScript(text, file: file, json: json, keepGoing: keepGoing)
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
