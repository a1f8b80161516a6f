import Foundation
import Hypervisor

/// One command of xkv's command language: what a script line, the console's `:` line and a
/// replayed record all say. One language, one parser.
public enum SessionCommand: Sendable, Equatable {
    case create(DomainConfig)
    case list
    case wait(domain: String, state: String, seconds: Double)
    case console(domain: String)
    case counters(domain: String?)
    case pause(String), unpause(String), shutdown(String), destroy(String)
    case info
    case help
    /// A domain's virtual IDT (all vCPUs, or one).
    case traps(domain: String, vcpu: Int?)
    /// xkv's global IDT and which pCPU has whose 0x80 handler installed.
    case idt
    /// The credit scheduler: show, or set a domain's weight and cap.
    case sched(domain: String?, weight: Int?, cap: Int?)
    /// Every vCPU: state, pCPU, time.
    case vcpus

    /// Every command word, for help and "did you mean".
    public static let words = ["create", "list", "wait", "console", "counters", "pause", "unpause", "shutdown",
                               "destroy", "info", "help", "traps", "idt", "sched", "vcpus"]

    /// Whether it changes a domain (not just reads): what a playback, where the record drives
    /// the domains, refuses.
    public var changesDomains: Bool {
        switch self {
        case .create, .pause, .unpause, .shutdown, .destroy: return true
        case .sched(_, let weight, let cap): return weight != nil || cap != nil
        default: return false
        }
    }

    /// Default `wait` timeout in seconds.
    public static let defaultWaitSeconds = 30.0
    static let waitStates = ["running", "blocked", "paused", "shutdown", "crashed", "dying", "r", "b", "p", "s", "c", "d"]
}

/// A command that could not be parsed or run; `FILE:LINE: message` when it has a place.
public struct CommandError: Error, CustomStringConvertible, Sendable, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Turns lexed words into a `SessionCommand`.
public struct CommandParser: Sendable {
    /// Where relative config paths are looked up first (the script's folder); then the cwd.
    public var baseDirectory: String?
    /// Names errors in configs: the script's file name, or "command line".
    public var origin: String
    public var line: Int

    public init(baseDirectory: String? = nil, origin: String = "command line", line: Int = 1) {
        self.baseDirectory = baseDirectory
        self.origin = origin
        self.line = line
    }

    /// Parses one command line (lexing included); nil for an empty or comment-only line.
    public func parse(line text: String) throws(CommandError) -> SessionCommand? {
        let words: [String]
        do { words = try CommandLexer.words(in: text) } catch { throw CommandError(error.description) }
        guard !words.isEmpty else { return nil }
        return try parse(words: words)
    }

    public func parse(words: [String]) throws(CommandError) -> SessionCommand {
        let verb = words[0].lowercased()
        let args = Array(words.dropFirst())
        func one(_ usage: String) throws(CommandError) -> String {
            guard args.count == 1 else { throw CommandError("usage: \(usage)") }
            return args[0]
        }
        switch verb {
        case "create":
            return .create(try parseCreate(args))
        case "list", "ls":
            guard args.isEmpty else { throw CommandError("usage: list") }
            return .list
        case "wait":
            guard args.count == 2 || args.count == 3 else { throw CommandError("usage: wait DOMAIN STATE [SECONDS]") }
            guard SessionCommand.waitStates.contains(args[1].lowercased()) else {
                throw CommandError("unknown state '\(args[1])'; use running, blocked, paused, shutdown, crashed (or r b p s c d)")
            }
            var seconds = SessionCommand.defaultWaitSeconds
            if args.count == 3 {
                guard let s = Double(args[2]), s >= 0, s <= 86_400 else { throw CommandError("bad timeout '\(args[2])': seconds from 0 to 86400") }
                seconds = s
            }
            return .wait(domain: args[0], state: args[1].lowercased(), seconds: seconds)
        case "console":
            return .console(domain: try one("console DOMAIN"))
        case "counters":
            guard args.count <= 1 else { throw CommandError("usage: counters [DOMAIN]") }
            return .counters(domain: args.first)
        case "pause": return .pause(try one("pause DOMAIN"))
        case "unpause": return .unpause(try one("unpause DOMAIN"))
        case "shutdown": return .shutdown(try one("shutdown DOMAIN"))
        case "destroy": return .destroy(try one("destroy DOMAIN"))
        case "info":
            guard args.isEmpty else { throw CommandError("usage: info") }
            return .info
        case "help", "?":
            return .help
        case "traps":
            guard args.count == 1 || args.count == 2 else { throw CommandError("usage: traps DOMAIN [VCPU]") }
            var vcpu: Int?
            if args.count == 2 {
                guard let v = Int(args[1]), v >= 0 else { throw CommandError("bad vCPU '\(args[1])': a number from 0") }
                vcpu = v
            }
            return .traps(domain: args[0], vcpu: vcpu)
        case "idt":
            guard args.isEmpty else { throw CommandError("usage: idt") }
            return .idt
        case "vcpus":
            guard args.isEmpty else { throw CommandError("usage: vcpus") }
            return .vcpus
        case "sched":
            guard !args.isEmpty else { return .sched(domain: nil, weight: nil, cap: nil) }
            var weight: Int?, cap: Int?
            for arg in args.dropFirst() {
                let parts = arg.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, let value = Int(parts[1]) else { throw CommandError("usage: sched DOMAIN [weight=W] [cap=C]") }
                switch parts[0] {
                case "weight":
                    guard (1...65535).contains(value) else { throw CommandError("weight must be 1...65535 (got \(value))") }
                    weight = value
                case "cap":
                    guard value >= 0 else { throw CommandError("cap must be 0 (none) or a percentage of one pCPU (got \(value))") }
                    cap = value
                default: throw CommandError("unknown scheduler parameter '\(parts[0])' (weight, cap)")
                }
            }
            return .sched(domain: args[0], weight: weight, cap: cap)
        default:
            let close = SessionCommand.words.filter { editDistance($0, verb) <= 2 }
            let hint = close.isEmpty ? "" : "; did you mean '\(close[0])'?"
            throw CommandError("unknown command '\(words[0])'\(hint) (commands: \(SessionCommand.words.joined(separator: ", ")))")
        }
    }

    /// `create FILE.cfg [key=value ...]` or `create key=value ...`, as `xl create` takes them.
    private func parseCreate(_ args: [String]) throws(CommandError) -> DomainConfig {
        guard !args.isEmpty else { throw CommandError("usage: create FILE.cfg [key=value ...] | create key=value ...") }
        var xl = XLConfig()
        var file = origin
        var assignments = args
        if !args[0].contains("=") {
            let path = resolve(args[0])
            guard let data = FileManager.default.contents(atPath: path) else {
                throw CommandError("cannot read config file '\(args[0])'")
            }
            do {
                xl = try XLConfig.parse(String(decoding: data, as: UTF8.self), file: args[0])
            } catch { throw CommandError(error.description) }
            file = args[0]
            assignments.removeFirst()
        }
        do {
            let inline = try XLConfig.parse(assignments: assignments, origin: origin, line: line)
            for setting in inline.settings { xl.assign(setting) }
            return try DomainConfig(xl, file: file)
        } catch {
            // Inline keys are located by the caller (`FILE:LINE:`); a config file names its own place.
            if error.file == origin && error.line == line {
                throw CommandError(error.key.map { "key '\($0)': \(error.message)" } ?? error.message)
            }
            throw CommandError(error.description)
        }
    }

    private func resolve(_ path: String) -> String {
        guard !path.hasPrefix("/"), let base = baseDirectory else { return path }
        let candidate = base + "/" + path
        return FileManager.default.fileExists(atPath: candidate) ? candidate : path
    }
}
