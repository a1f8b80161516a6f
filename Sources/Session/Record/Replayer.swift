import Foundation
import GuestImages
import Hypervisor
import Synchronization

/// How to replay.
public struct ReplayOptions: Sendable {
    /// Replay a record made with other guest images (or configs); divergences then name them.
    public var allowImageChange = false
    /// How long to wait for a domain to reach a recorded point before calling it a divergence.
    public var reachTimeout: Double = 120
    /// pCPUs for the replay's engine (nil: one per host core; the schedule does not matter).
    public var pcpus: Int?

    public init(allowImageChange: Bool = false, reachTimeout: Double = 120, pcpus: Int? = nil) {
        self.allowImageChange = allowImageChange
        self.reachTimeout = reachTimeout
        self.pcpus = pcpus
    }
}

/// The first point where the replay did not do what the record says.
public struct Divergence: Sendable, Equatable, CustomStringConvertible {
    public var seq: Int
    public var domain: String
    public var field: String
    public var recorded: String
    public var replayed: String
    /// Set when the domain's guest image changed since the recording (`--allow-image-change`).
    public var imageNote: String?

    public var description: String {
        "divergence at record \(seq): domain \(domain), field \(field): recorded \(recorded), replayed \(replayed)"
            + (imageNote.map { " (\($0))" } ?? "")
    }
}

/// What a replay found.
public struct ReplayReport: Sendable {
    /// Checkpoints compared and equal.
    public var checkpointsEqual = 0
    /// Every domain name in the record, in order of creation.
    public var domains: [String] = []
    /// Domains replayed exactly (checkpoints compared).
    public var exact: [String] = []
    /// Domains replayed command-for-command only, with why.
    public var notExact: [(name: String, why: String)] = []
    public var divergence: Divergence?
    /// Timer preemptions in the record: the schedule it ran under, which exact domains do not
    /// depend on (the replay runs under its own).
    public var preemptionsRecorded = 0
    /// Things worth saying that are not divergences (a truncated record, a command that failed).
    public var notes: [String] = []

    public var succeeded: Bool { divergence == nil }

    /// The last line of `xkv replay`.
    public var verdict: String {
        if let divergence { return divergence.description }
        var line = "replay: \(checkpointsEqual) checkpoints equal across \(domains.count) domain\(domains.count == 1 ? "" : "s"); exact: "
            + (exact.isEmpty ? "none" : exact.joined(separator: ", "))
        if !notExact.isEmpty {
            line += "; not exact (replayed command-for-command): " + notExact.map { "\($0.name) (\($0.why))" }.joined(separator: ", ")
        }
        return line
    }
}

/// Re-runs a recorded session on a fresh engine and compares every checkpoint of every exact
/// domain with the record (DESIGN.md, "One way in"; issue 5): `ReplaySession`, as fast as it
/// goes.
public enum Replayer {
    public static func replay(_ file: RecordFile, options: ReplayOptions = ReplayOptions()) throws(RecordError) -> ReplayReport {
        let session = try ReplaySession(file, options: options)
        while session.applyNext() {}
        return session.finish()
    }

    /// Runs one recorded command; nil if it was not run, else whether it succeeded.
    static func run(_ step: Plan.Step, _ executor: Executor, _ report: inout ReplayReport) -> Bool? {
        do {
            _ = try executor.run(step.command)
            return true
        } catch {
            if !step.failedWhenRecorded { report.notes.append("record \(step.seq): `\(step.text)` failed in the replay: \(error.message)") }
            return false
        }
    }

    /// Compares the header's image and config hashes with what this xkv has; returns the
    /// changed images (refusing them unless `allowChange`).
    static func checkImages(_ file: RecordFile, allowChange: Bool, notes: inout [String]) throws(RecordError) -> Set<String> {
        var recorded: [(String, String)] = []
        for (name, hash) in file.header["images"]?.objectPairs ?? [] { if let h = hash.stringValue { recorded.append((name, h)) } }
        for event in file.events where event["type"]?.stringValue == "image" {
            if let name = event["name"]?.stringValue, let h = event["sha256"]?.stringValue { recorded.append((name, h)) }
        }
        var changed = Set<String>()
        var problems: [String] = []
        for (name, hash) in recorded {
            let now = (try? GuestImage.builtin(named: name))?.sha256Hex
            guard now != hash else { continue }
            changed.insert(name)
            problems.append("guest image builtin:\(name) differs (recorded sha256 \(hash.prefix(16))..., this xkv's "
                            + (now.map { "\($0.prefix(16))..." } ?? "is missing") + ")")
        }
        let base = file.header["script"]?.stringValue.map { ($0 as NSString).deletingLastPathComponent }
        for (name, hash) in file.header["configs"]?.objectPairs ?? [] {
            let path = CommandParser(baseDirectory: base?.isEmpty == true ? "." : base).resolvedPath(name)
            let now = SessionRecorder.fileSHA256(path)
            guard now != hash.stringValue else { continue }
            problems.append("config file \(name) differs from the one recorded" + (now == nil ? " (cannot read it)" : ""))
        }
        guard !problems.isEmpty else { return changed }
        guard allowChange else {
            throw RecordError("\(file.path): made with different inputs: " + problems.joined(separator: "; ")
                              + ". Replay with --allow-image-change to run it anyway.")
        }
        notes += problems.map { "--allow-image-change: " + $0 }
        return changed
    }
}

/// A record read as a replay plan: its commands, parsed, with each domain's recorded end.
struct Plan {
    struct Step {
        var seq: Int
        /// When the record has it (Unix seconds).
        var wall: Double
        var text: String
        var command: SessionCommand
        var domain: String?
        /// Which creation of `domain` the command touches (names can be reused).
        var instance: Int
        var failedWhenRecorded: Bool
        /// A pause with no unpause before the domain's end: it holds the domain where it ends.
        var pauseLastsToEnd = false
        /// Console keystrokes to `domain` (an `input` event; `command` is then unused).
        var input: [UInt8]?
        /// A pace point (playback): hold `domain` at this logical time (`command` is unused).
        var progress: UInt64?
    }

    struct Instance {
        var name: String
        /// Where the domain's run ends in the record: its "end" checkpoint, or (in a record cut
        /// short) its last checkpoint.
        var end: UInt64?
        var ended = false
        var lastCheckpoint: UInt64?
        /// Created by xkv itself (on_crash/on_reboot=restart), not by a command.
        var restart = false
        /// The restarts that followed this created instance, in order (indices).
        var restarts: [Int] = []
    }

    var steps: [Step] = []
    var checkpoints: [String: [(seq: Int, checkpoint: Checkpoint)]] = [:]
    var domainNames: [String] = []
    var notExactReason: [String: String] = [:]
    /// The built-in image each domain runs.
    var images: [String: String] = [:]
    var instances: [Instance] = []
    /// Each name's last domain with the logical time of its recorded end (a replay parks those
    /// still alive there before ending them, as the recording's exit did).
    var liveAtEnd: [(String, UInt64)] = []

    /// Wall time of the record's first and last event (Unix seconds).
    var startWall = 0.0
    var endWall = 0.0
    /// Timer preemptions the recording had (outside events exact domains do not depend on).
    var preemptions = 0
    /// With `pace`: the first logical time each instance (by index) is held at after its create.
    var firstProgress: [Int: UInt64] = [:]

    /// `pace`: add a step for the checkpoints of exact domains (one every 50 ms of recorded
    /// time, and each instance's last), so a playback can hold each domain where the record had
    /// it at that time.
    init(_ file: RecordFile, pace: Bool = false) throws(RecordError) {
        let base = file.header["script"]?.stringValue.map { ($0 as NSString).deletingLastPathComponent }
        var pacePoints: [Step] = []
        startWall = file.events.first?["wall"]?.doubleValue.flatMap { $0.isFinite ? $0 : nil } ?? 0
        endWall = file.events.last?["wall"]?.doubleValue.flatMap { $0.isFinite ? $0 : nil } ?? startWall
        var current: [String: Int] = [:]
        var pauses: [String: Int] = [:]   // domain -> index of its open pause step
        // Commands the gate recorded that then failed (a `failed` event names them).
        let failedCommands = Set(file.events.compactMap { $0["type"]?.stringValue == "failed" ? $0["command"]?.intValue.map(Int.init) : nil })
        var lastValues: [String: [UInt64]] = [:]   // "domain/vcpu" -> its last checkpoint's values
        for event in file.events {
            let seq = Int(event["seq"]?.intValue ?? 0)
            let wall = event["wall"]?.doubleValue.flatMap { $0.isFinite ? $0 : nil } ?? startWall
            switch event["type"]?.stringValue {
            case "command":
                guard let text = event["text"]?.stringValue else { throw RecordError("\(file.path): record \(seq): command without text") }
                guard var words = try? CommandLexer.words(in: text) else { throw RecordError("\(file.path): record \(seq): cannot read `\(text)`") }
                words.removeAll { $0 == "--json" }
                guard !words.isEmpty else { continue }
                let parser = CommandParser(baseDirectory: base?.isEmpty == true ? "." : base, origin: file.path, line: seq)
                var command: SessionCommand
                do { command = try parser.parse(words: words) } catch {
                    throw RecordError("\(file.path): record \(seq): `\(text)`: \(error.message)")
                }
                var domain: String?
                switch command {
                case .create(var config):
                    if let uuid = event["uuid"]?.stringValue.flatMap(UUIDValue.init) { config.uuid = uuid }
                    command = .create(config)
                    domain = config.name
                    if event["error"] == nil, !failedCommands.contains(seq), current[config.name].map({ instances[$0].ended }) ?? true {
                        current[config.name] = instances.count
                        instances.append(Instance(name: config.name))
                        if !domainNames.contains(config.name) { domainNames.append(config.name) }
                        if let why = Self.notExact(config) { notExactReason[config.name] = why }
                        if case .builtin(let image) = config.kernel { images[config.name] = image }
                    }
                case .pause(let d):
                    domain = d
                    pauses[d] = steps.count
                case .unpause(let d):
                    domain = d
                    pauses[d] = nil
                case .shutdown(let d), .destroy(let d): domain = d
                case .wait(let d, _, _), .console(let d), .traps(let d, _): domain = d
                case .counters(let d), .sched(let d, _, _): domain = d
                default: break
                }
                steps.append(Step(seq: seq, wall: wall, text: text, command: command, domain: domain,
                                  instance: domain.flatMap { current[$0] } ?? -1,
                                  failedWhenRecorded: event["error"] != nil || failedCommands.contains(seq)))
            case "checkpoint":
                guard let name = event["domain"]?.stringValue, let reasonText = event["reason"]?.stringValue,
                      let signedLogical = event["logical"]?.intValue, signedLogical >= 0 else {
                    throw RecordError("\(file.path): record \(seq): incomplete checkpoint")
                }
                let logical = UInt64(signedLogical)
                guard let reason = Checkpoint.Reason(rawValue: reasonText) else {
                    throw RecordError("\(file.path): record \(seq): unknown checkpoint reason '\(reasonText)'")
                }
                let vcpu = event["vcpu"]?.intValue.map(Int.init)
                if let vcpu, vcpu < 0 || vcpu > 4096 { throw RecordError("\(file.path): record \(seq): bad vcpu \(vcpu)") }
                let key = "\(name)/\(vcpu ?? -1)"
                let width = vcpu == nil ? Checkpoint.counterNames.count : Checkpoint.vcpuNames.count
                var values = lastValues[key] ?? [UInt64](repeating: 0, count: width)
                for change in (event["set"]?.stringValue ?? "").split(separator: " ") {
                    let parts = change.split(separator: "=")
                    guard parts.count == 2, let index = Int(parts[0]), index >= 0, index < width, let value = UInt64(parts[1], radix: 16) else {
                        throw RecordError("\(file.path): record \(seq): bad checkpoint value '\(change)'")
                    }
                    values[index] = value
                }
                lastValues[key] = values
                var memory: UInt64?
                if let text = event["memory"]?.stringValue {
                    guard let m = UInt64(text, radix: 16) else { throw RecordError("\(file.path): record \(seq): bad memory digest") }
                    memory = m
                }
                let checkpoint = Checkpoint(domain: name, logicalTime: logical, reason: reason, vcpu: vcpu, values: values, memory: memory)
                checkpoints[name, default: []].append((seq, checkpoint))
                if reason != .end, let previous = current[name], instances[previous].ended {
                    // Checkpoints after the domain ended, with no create between: xkv restarted it.
                    var root = previous
                    while instances[root].restart, let parent = instances.indices.last(where: { instances[$0].restarts.contains(root) }) { root = parent }
                    current[name] = instances.count
                    instances[root].restarts.append(instances.count)
                    instances.append(Instance(name: name, restart: true))
                }
                if let index = current[name], !instances[index].ended {
                    instances[index].lastCheckpoint = logical
                    if pace && reason != .end && !instances[index].restart {
                        pacePoints.append(Step(seq: seq, wall: wall, text: "\(name) \(reason.rawValue) at logical time \(logical)", command: .info,
                                               domain: name, instance: index, failedWhenRecorded: false, progress: logical))
                    }
                }
                if reason == .end, let index = current[name], !instances[index].ended {
                    instances[index].end = logical
                    instances[index].ended = true
                    if let open = pauses[name] { steps[open].pauseLastsToEnd = true }
                    pauses[name] = nil
                }
            case "input":
                guard let name = event["domain"]?.stringValue, let hex = event["bytes"]?.stringValue,
                      let bytes = Self.bytes(hex: hex) else { throw RecordError("\(file.path): record \(seq): bad input event") }
                // Keystrokes reach the guest whenever it looks, not at an exit: its run can no
                // longer be expected to repeat exactly.
                if notExactReason[name] == nil { notExactReason[name] = "takes console input" }
                steps.append(Step(seq: seq, wall: wall, text: "console input", command: .info, domain: name,
                                  instance: current[name] ?? -1, failedWhenRecorded: false, input: bytes))
            case "preempt":
                preemptions += 1
            default:
                continue   // image events were checked; frames are the console's
            }
        }
        // A domain whose end the record does not hold (it was cut short) stops where the record does.
        for index in instances.indices where !instances[index].ended { instances[index].end = instances[index].lastCheckpoint }
        // Names whose every instance replays exactly get halts; the others run command-for-command.
        for index in instances.indices where notExactReason[instances[index].name] != nil { instances[index].end = nil }
        for (name, index) in current.sorted(by: { $0.value < $1.value }) {
            if let end = instances[index].end { liveAtEnd.append((name, end)) }
        }
        guard pace else { return }
        // Thin the pace points: holding and releasing a domain costs a schedule, so one every
        // 50 ms of recorded time (and each instance's last) is enough to follow the record.
        var kept: [Step] = []
        var lastKept: [Int: Double] = [:]
        for (i, point) in pacePoints.enumerated() where instances[point.instance].end != nil {
            let isLast = !pacePoints[(i + 1)...].contains { $0.instance == point.instance }
            guard isLast || point.wall >= (lastKept[point.instance] ?? -.infinity) + 0.05 else { continue }
            lastKept[point.instance] = point.wall
            kept.append(point)
            if firstProgress[point.instance] == nil { firstProgress[point.instance] = 0 }
        }
        var merged: [Step] = []
        merged.reserveCapacity(steps.count + kept.count)
        var k = 0
        for step in steps {
            while k < kept.count && kept[k].seq < step.seq { merged.append(kept[k]); k += 1 }
            merged.append(step)
        }
        merged.append(contentsOf: kept[k...])
        steps = merged
    }

    /// The halts a create of `instance` sets up front: its own first one, then its restarts'
    /// ends (each incarnation xkv creates again takes the next).
    func createHalts(_ instance: Int, first: UInt64) -> [UInt64] {
        guard instances.indices.contains(instance) else { return [] }
        return [first] + instances[instance].restarts.compactMap { instances[$0].end }
    }

    /// The logical time to halt `name` at, for the instance a step touches.
    func haltTarget(for name: String, at instance: Int) -> UInt64? {
        guard instance >= 0, instance < instances.count, instances[instance].name == name else { return nil }
        return instances[instance].end
    }

    static func bytes(hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        for i in stride(from: 0, to: digits.count, by: 2) {
            guard let b = UInt8(String(decoding: digits[i..<i + 2], as: UTF8.self), radix: 16) else { return nil }
            out.append(b)
        }
        return out
    }

    /// Why a domain cannot replay exactly, or nil.
    static func notExact(_ config: DomainConfig) -> String? {
        if config.cmdline.split(separator: " ").contains(where: { $0 == "cycles" }) { return "reads the TSC: cycles" }
        if config.vcpus > 1 { return "\(config.vcpus) vCPUs interleave" }
        if config.type != .pv { return "\(config.type.rawValue) takes asynchronous input" }
        return nil
    }
}
