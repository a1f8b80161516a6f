import Foundation
import Testing
@testable import Hypervisor

/// Issue 3: how system calls and exceptions travel for each kind of guest, counted exactly.
@Suite("Syscall routing and trap bounce")
struct SyscallRoutingTests {
    static func config(_ kernel: String, _ name: String, _ cmdline: String) -> DomainConfig {
        var c = DomainConfig(name: name)
        c.kernel = .builtin(kernel)
        c.memoryMiB = 16
        c.cmdline = cmdline
        return c
    }

    /// The value of `key=` in the guest's line that starts with `prefix`.
    static func field(_ console: String, line prefix: String, _ key: String) -> String? {
        guard let line = console.split(separator: "\n").last(where: { $0.hasPrefix(prefix) }) else { return nil }
        for word in line.split(separator: " ") where word.hasPrefix(key + "=") { return String(word.dropFirst(key.count + 1)) }
        return nil
    }

    @Test("pv64: N user syscalls are routed by xkv's entry, N times, and the guest counts N")
    func pv64Routed() throws {
        let engine = try Engine()
        let n = Int.random(in: 50...600)
        let ended = try #require(try engine.runToEnd(Self.config("pv64", "r64", "syscalls=\(n)"), timeout: 60))
        #expect(Self.field(ended.console, line: "syscalls: done", "ok") == String(n), "\(ended.console)")
        #expect(ended.snapshot.syscalls.routed == UInt64(n))
        #expect(ended.snapshot.syscalls.visible)
        #expect(ended.snapshot.guestReport?.syscalls == UInt64(n))
    }

    @Test("pv32: int $0x80 enters the guest kernel directly; nothing is routed and exits do not grow with N")
    func pv32Direct() throws {
        let engine = try Engine()
        var exits: [UInt64] = []
        for n in [Int.random(in: 20...60), Int.random(in: 300...500)] {
            let ended = try #require(try engine.runToEnd(Self.config("pv32", "d32-\(n)", "syscalls=\(n)"), timeout: 120))
            #expect(Self.field(ended.console, line: "syscalls: done", "ok") == String(n), "\(ended.console)")
            #expect(ended.snapshot.syscalls.routed == 0)
            #expect(ended.snapshot.syscalls.directGuestReported == UInt64(n))
            #expect(ended.snapshot.syscalls.gateInstalls > 0)
            exits.append(ended.snapshot.counters.totalExits)
        }
        #expect(exits[0] == exits[1], "VM exits must not depend on the number of direct system calls: \(exits)")
    }

    @Test("pv32: a 0x80 entry that masks events takes the slow path through the engine")
    func pv32Masked() throws {
        let engine = try Engine()
        let n = Int.random(in: 5...30)
        let ended = try #require(try engine.runToEnd(Self.config("pv32", "m32", "int80=masked syscalls=\(n)"), timeout: 120))
        #expect(Self.field(ended.console, line: "syscalls: done", "ok") == String(n), "\(ended.console)")
        #expect(ended.snapshot.syscalls.gateInstalls == 0)
        // Every int $0x80 went through the engine: the N calls and the one that ends the user session.
        #expect(ended.snapshot.syscalls.routed == UInt64(n + 1))
        #expect(ended.snapshot.counters.exceptionsBounced[0x80] == UInt64(n + 1))
    }

    @Test("pv32: with no 0x80 entry the guest gets #GP with error code (0x80<<3)|2")
    func pv32NoEntry() throws {
        let engine = try Engine()
        let ended = try #require(try engine.runToEnd(Self.config("pv32", "n32", "int80=none int=128"), timeout: 120))
        #expect(ended.console.contains("int: vector=128 gp error=0x402"), "\(ended.console)")
        #expect(ended.snapshot.syscalls.routed == 0)
        #expect(ended.snapshot.counters.exceptionsBounced[13] >= 1)
    }

    @Test("faults=N bounces exactly N exceptions of the right vectors, and the guest checks every frame",
          arguments: ["pv64", "pv32"])
    func faults(kernel: String) throws {
        let engine = try Engine()
        let n = Int.random(in: 12...60)
        let ended = try #require(try engine.runToEnd(Self.config(kernel, "f-\(kernel)", "faults=\(n)"), timeout: 120))
        #expect(Self.field(ended.console, line: "faults: done", "ok") == String(n), "\(ended.console)")
        #expect(Self.field(ended.console, line: "faults: done", "bad") == "0")
        // vectors=6:a,3:b,14:c[,13:d]: what the guest's handlers saw, vector by vector.
        let vectors = try #require(Self.field(ended.console, line: "faults: done", "vectors"))
        var total: UInt64 = 0
        for pair in vectors.split(separator: ",") {
            let parts = pair.split(separator: ":").compactMap { Int($0) }
            try #require(parts.count == 2)
            #expect(ended.snapshot.counters.exceptionsBounced[parts[0]] == UInt64(parts[1]), "vector \(parts[0])")
            total += UInt64(parts[1])
        }
        #expect(total == UInt64(n))
    }

    @Test("int=V follows the DPL rule: delivered through a DPL-3 entry, #GP (V<<3)|2 otherwise", arguments: ["pv64", "pv32"])
    func softwareInterrupts(kernel: String) throws {
        let engine = try Engine()
        let ended = try #require(try engine.runToEnd(Self.config(kernel, "i-\(kernel)", "int=3 int=200"), timeout: 120))
        #expect(ended.console.contains("int: vector=3 delivered"), "\(ended.console)")
        #expect(ended.console.contains("int: vector=200 gp error=0x642"), "\(ended.console)")
    }

    @Test("traps lists what the kernel registered; idt shows whose 0x80 handler a pCPU holds")
    func trapsAndGate() throws {
        let engine = try Engine()
        defer { engine.shutdownAll() }
        try engine.execute(.create(Self.config("pv32", "g32", "int80=unmasked spin")))
        let installed = engine.waitUntil(timeout: 60) { s in
            s.pcpus.contains { $0.gate80?.domain == s.domain("g32")?.id }
                && ((try? engine.consoleText("g32"))?.contains("traps: cs=") ?? false)
        }
        #expect(installed, "a pCPU holds g32's 0x80 handler while it spins")
        let snap = engine.snapshot()
        let domain = try #require(snap.domain("g32"))
        let entry80 = try #require(domain.trapTables[0].first { $0.vector == 0x80 })
        #expect(entry80.dpl == 3 && !entry80.masksEvents && entry80.cs == 0xe019)
        let gate = try #require(snap.pcpus.compactMap(\.gate80).first { $0.domain == domain.id })
        #expect(gate.address == entry80.address && gate.cs == entry80.cs)
        // The guest printed its table; every address it printed is in the snapshot.
        let console = try engine.consoleText("g32")
        let line = try #require(console.split(separator: "\n").first { $0.hasPrefix("traps: cs=") })
        for word in line.split(separator: " ").dropFirst(2) {
            let parts = word.split(separator: "@")
            let vector = Int(parts[0].split(separator: ":")[0])!
            let address = UInt64(parts[1].dropFirst(2), radix: 16)!
            #expect(domain.trapTables[0].contains { Int($0.vector) == vector && $0.address == address }, "\(word)")
        }
        try engine.execute(.destroy("g32"))
        #expect(engine.snapshot().pcpus.allSatisfy { $0.gate80 == nil }, "the slot leaves with the vCPU")
    }

    @Test("bad trap tables and callbacks get Xen's error codes; a low selector RPL is raised, not refused")
    func badTrapTables() throws {
        let engine = try Engine()
        let ended = try #require(try engine.runToEnd(Self.config("pv64", "bt", "badtraps"), timeout: 30))
        #expect(ended.console.contains("badtraps: wild=-14 lowrpl=0 cbtype=-22 cbaddr=-22 cbwild=-14 cbunreg=-22"), "\(ended.console)")
        #expect(ended.snapshot.shutdownReason == .poweroff)
    }

    @Test("a kernel whose trap handler faults crashes only itself")
    func handlerFaults() throws {
        let engine = try Engine()
        defer { engine.shutdownAll() }
        var bad = Self.config("pv64", "hf", "handlerfault")
        bad.onCrash = .preserve
        var good = Self.config("pv64", "ok", "hypercalls=200")
        good.onPoweroff = .preserve
        try engine.execute(.create(bad))
        try engine.execute(.create(good))
        #expect(engine.waitUntil(timeout: 60) { $0.domain("hf")?.state.crashed == true && $0.domain("ok")?.state.shutdown == true })
        let snap = engine.snapshot()
        #expect(snap.domain("hf")?.crashReason?.contains("cannot bounce #UD") == true, "\(snap.domain("hf")?.crashReason ?? "")")
        #expect((snap.domain("hf")?.counters.exceptionsBounced[6] ?? 0) > 10, "the handler's own #UDs were bounced until the stack ran out")
        #expect(snap.domain("ok")?.shutdownReason == .poweroff)
    }

    @Test("HVM: refused on hosts without hardware virtualization, with the reason")
    func hvmRefused() throws {
        let engine = try Engine()
        var c = DomainConfig(name: "h")
        c.type = .hvm
        if engine.host.hardwareVirtualization {
            // The HVM builder comes with its own work; on VT-x/AMD-V hosts the refusal must not cite hardware.
            #expect(throws: DomainError.self) { try engine.execute(.create(c)) }
        } else {
            #expect {
                try engine.execute(.create(c))
            } throws: { error in
                "\(error)".contains("hardware virtualization")
            }
        }
    }
}
