import Foundation
import GuestImages
import Hypervisor

/// What a command printed: text for people, JSON for programs.
public struct CommandOutput: Sendable {
    public var text: String
    public var json: JSON
    public init(text: String, json: JSON) { self.text = text; self.json = json }
}

/// Runs `SessionCommand`s against an engine. State changes go through the engine's gate;
/// queries read snapshots.
public final class Executor: Sendable {
    public let engine: Engine

    public init(engine: Engine) { self.engine = engine }

    public func run(_ command: SessionCommand) throws(CommandError) -> CommandOutput {
        switch command {
        case .create(let config):
            let id = try gate(.create(config))
            return CommandOutput(text: "created domain \(config.name) (id \(id ?? -1))",
                                 json: .object([("created", .string(config.name)), ("id", .int(Int64(id ?? -1)))]))
        case .list:
            let snapshot = engine.snapshot()
            return CommandOutput(text: Formatters.listText(snapshot), json: Formatters.listJSON(snapshot))
        case .wait(let name, let state, let seconds):
            return try wait(name, state, seconds)
        case .console(let name):
            let text: String
            do { text = try engine.consoleText(name) } catch { throw CommandError(error.description) }
            return CommandOutput(text: text.hasSuffix("\n") ? String(text.dropLast()) : text,
                                 json: .object([("domain", .string(name)), ("console", .string(text))]))
        case .counters(let name):
            let snapshot = engine.snapshot()
            let domains: [DomainSnapshot]
            if let name {
                guard let d = snapshot.domain(name) else { throw CommandError("no domain '\(name)'") }
                domains = [d]
            } else {
                domains = snapshot.domains
            }
            let json: JSON = name == nil ? .array(domains.map(Formatters.countersJSON)) : Formatters.countersJSON(domains[0])
            return CommandOutput(text: domains.map(Formatters.countersText).joined(separator: "\n"), json: json)
        case .pause(let d):
            _ = try gate(.pause(d))
            return done("paused", d)
        case .unpause(let d):
            _ = try gate(.unpause(d))
            return done("unpaused", d)
        case .shutdown(let d):
            _ = try gate(.shutdown(d))
            return done("shut down", d)
        case .destroy(let d):
            _ = try gate(.destroy(d))
            return done("destroyed", d)
        case .info:
            let pairs = Formatters.infoPairs(engine.host, images: GuestImage.builtinNames)
            let width = pairs.map(\.0.count).max() ?? 0
            return CommandOutput(text: pairs.map { Formatters.pad($0.0, width) + " : " + $0.1 }.joined(separator: "\n"),
                                 json: .object(pairs.map { ($0.0, .string($0.1)) } + [("host_kind", .string(engine.host.kindShort))]))
        case .help:
            return CommandOutput(text: Self.helpText, json: .object([("commands", .array(SessionCommand.words.map { .string($0) }))]))
        case .traps(let name, let vcpu):
            guard let d = engine.snapshot().domain(name) else { throw CommandError("no domain '\(name)'") }
            if let vcpu, vcpu >= d.trapTables.count { throw CommandError("domain \(name) has no vCPU \(vcpu) (it has \(d.vcpus))") }
            return Formatters.traps(d, vcpu: vcpu)
        case .idt:
            return Formatters.idt(engine.snapshot())
        case .vcpus:
            return Formatters.vcpus(engine.snapshot())
        case .sched(let name, let weight, let cap):
            if let name, weight != nil || cap != nil { _ = try gate(.schedule(domain: name, weight: weight, cap: cap)) }
            let snapshot = engine.snapshot()
            if let name, snapshot.domain(name) == nil { throw CommandError("no domain '\(name)'") }
            return Formatters.sched(snapshot, only: name)
        }
    }

    private func gate(_ command: Command) throws(CommandError) -> Int? {
        do { return try engine.execute(command) } catch { throw CommandError(error.description) }
    }

    private func done(_ verb: String, _ domain: String) -> CommandOutput {
        CommandOutput(text: "\(verb) \(domain)", json: .object([("domain", .string(domain)), ("done", .string(verb))]))
    }

    private func wait(_ name: String, _ state: String, _ seconds: Double) throws(CommandError) -> CommandOutput {
        func reached(_ s: EngineSnapshot) -> Bool { s.domain(name)?.state.matches(state) == true }
        let ok = engine.waitUntil(timeout: seconds, reached)
        let snapshot = engine.snapshot()
        guard let d = snapshot.domain(name) else { throw CommandError("no domain '\(name)'") }
        guard ok else {
            throw CommandError("timed out after \(Self.seconds(seconds)) s waiting for \(name) to be \(state) (state now \(d.state.letters))")
        }
        return CommandOutput(text: "\(name) is \(state) (\(d.state.letters))",
                             json: .object([("domain", .string(name)), ("state", .string(d.state.letters)), ("reached", .string(state))]))
    }

    static func seconds(_ s: Double) -> String { s == s.rounded() ? String(Int(s)) : String(s) }

    public static let helpText = """
        create FILE.cfg [key=value ...]    create a domain from an xl.cfg file (keys override)
        create key=value ...               create from inline xl.cfg keys, e.g. name=web kernel=builtin:pv64 cmdline="echo=hi"
        list                               domains, as `xl list`
        wait DOMAIN STATE [SECONDS]        wait for running|blocked|paused|shutdown|crashed (default 30 s)
        console DOMAIN                     what the domain printed
        counters [DOMAIN]                  exits, hypercalls, exceptions, emulations, host compensations
        pause|unpause|shutdown|destroy DOMAIN
        info                               host, KVM and Xen identity
        traps DOMAIN [VCPU]                the virtual IDT the domain's kernel registered
        idt                                xkv's global IDT; which pCPU has whose 0x80 handler installed
        sched [DOMAIN [weight=W] [cap=C]]  the credit scheduler (weight 256, cap 0 by default)
        vcpus                              every vCPU: state, pCPU, CPU time
        """
}
