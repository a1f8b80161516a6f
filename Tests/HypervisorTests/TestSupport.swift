import Foundation
import Testing
@testable import Hypervisor

/// What the pv64 kernel itself counted, from its last line
/// `summary: hypercalls=T xen_version=V` (main.c, `summary()`).
struct GuestSummary: Equatable {
    /// Every hypercall the kernel made, including the summary's console_io and the final shutdown.
    var hypercalls: UInt64
    /// Its xen_version calls.
    var xenVersion: UInt64

    init?(console: String) {
        guard let line = console.split(separator: "\n").last(where: { $0.hasPrefix("summary: ") }) else { return nil }
        var fields: [String: UInt64] = [:]
        for word in line.dropFirst("summary: ".count).split(separator: " ") {
            let pair = word.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, let value = UInt64(pair[1]) else { return nil }
            fields[String(pair[0])] = value
        }
        guard let total = fields["hypercalls"], let version = fields["xen_version"] else { return nil }
        hypercalls = total
        xenVersion = version
    }
}

/// What the pv64 kernel does on every boot before its workloads, and at the end (main.c,
/// console.c): the hypercalls a run with no workload output makes, by number.
enum PV64Boot {
    /// `boot_banner`: XENVER_version and XENVER_extraversion.
    static let xenVersionCalls: UInt64 = 2
    /// `console_init` asks for XENMEM_machphys_mapping once.
    static let memoryOpCalls: UInt64 = 1
    /// `boot_banner`'s console_io line and `summary()`'s.
    static let consoleIOCalls: UInt64 = 2
    /// One EVTCHNOP_send per console ring line: the banner and the cmdline line.
    static let bannerRingLines: UInt64 = 2
    /// `shutdown(SHUTDOWN_poweroff)`.
    static let schedOpCalls: UInt64 = 1
}

/// A pv64 domain configuration small enough for tests.
func pv64(_ name: String, _ cmdline: String, memoryMiB: Int = 16) -> DomainConfig {
    var config = DomainConfig(name: name)
    config.cmdline = cmdline
    config.memoryMiB = memoryMiB
    return config
}

/// A random token that cannot appear in a console by chance.
func randomToken(_ prefix: String) -> String {
    prefix + "-" + String(UInt64.random(in: 1 << 40...UInt64.max), radix: 36)
}

/// The final picture of a domain after it ended and the engine destroyed it.
struct Ended {
    var snapshot: DomainSnapshot
    var console: String
}

extension Engine {
    /// Creates `config` with on_poweroff and on_crash = destroy and waits until the engine has
    /// destroyed it, so its counters are final. Nil if it did not end within `timeout` (the
    /// domain is then destroyed, and the caller's expectations fail).
    func runToEnd(_ config: DomainConfig, timeout: Double = 15) throws -> Ended? {
        var config = config
        config.onPoweroff = .destroy
        config.onCrash = .destroy
        config.onReboot = .destroy
        let id = try execute(.create(config))
        let idText = id.map(String.init) ?? config.name
        let ended = waitUntil(timeout: timeout) { $0.ended.contains { String($0.id) == idText } }
        if !ended {
            Issue.record("domain \(config.name) did not end within \(timeout) s; console:\n\((try? consoleText(idText)) ?? "")")
            _ = try? execute(.destroy(idText))
            return nil
        }
        guard let snapshot = snapshot().ended.last(where: { String($0.id) == idText }) else { return nil }
        return Ended(snapshot: snapshot, console: try consoleText(idText))
    }

    /// Waits for `name`'s state to satisfy `predicate`; records an issue naming `what` if it does not.
    @discardableResult
    func waitForDomain(_ name: String, _ what: String, timeout: Double = 10,
                       sourceLocation: SourceLocation = #_sourceLocation,
                       _ predicate: (DomainSnapshot) -> Bool) -> Bool {
        let ok = waitUntil(timeout: timeout) { snap in snap.domain(name).map(predicate) ?? false }
        if !ok {
            let state = snapshot().domain(name).map { "\($0.state.letters) crash=\($0.crashReason ?? "-")" } ?? "absent"
            Issue.record("domain \(name) never became \(what) (now \(state))", sourceLocation: sourceLocation)
        }
        return ok
    }

    /// The event log's lines that mention `name` as a domain (`domain NAME (ID) ...`).
    func events(of name: String) -> [String] {
        snapshot().events.map(\.message).filter { $0.hasPrefix("domain \(name) (") }
    }
}
