import CKVM
import Foundation
import GuestImages
import KVM
import Synchronization

/// One measured cost beside its baseline, measured in the same run.
public struct BenchRow: Sendable {
    public var name: String
    public var xkvNanoseconds: Double
    public var baseline: String
    public var baselineNanoseconds: Double
    public var note: String
    public var ratio: Double { baselineNanoseconds > 0 ? xkvNanoseconds / baselineNanoseconds : .nan }

    public init(name: String, xkvNanoseconds: Double, baseline: String, baselineNanoseconds: Double, note: String) {
        self.name = name
        self.xkvNanoseconds = xkvNanoseconds
        self.baseline = baseline
        self.baselineNanoseconds = baselineNanoseconds
        self.note = note
    }
}

/// `xkv bench`: per-operation costs of xkv's paths against a raw C KVM loop.
public enum Benchmarks {
    /// Runs every benchmark; `quick` shrinks the counts for tests (numbers are then rough).
    public static func run(engine: Engine, quick: Bool = false) throws -> [BenchRow] {
        let raw = try rawExitBaseline(kvm: engine.kvm, quick: quick)
        var rows = [try exitIO(kvm: engine.kvm, baseline: raw, quick: quick)]
        let hypercall = try hypercallPV64(engine: engine, baseline: raw, quick: quick)
        rows.append(hypercall)
        // The same hypercall against a raw loop that pays the host's `syscall` transition too:
        // what is left is xkv's own work (decode, dispatch, Swift handler, resume).
        let rawSyscall = try RawGuest(kvm: engine.kvm, code: .syscallThenPortIO)
        let count: UInt64 = quick ? 200 : 5000
        var samples: [Double] = []
        for _ in 0..<(quick ? 3 : 7) {
            if let ns = rawSyscall.vcpu.baselineIOLoop(port: RawGuest.port, count: count) { samples.append(Double(ns) / Double(count)) }
        }
        rows.append(BenchRow(name: "hypercall.pv64.xkv", xkvNanoseconds: hypercall.xkvNanoseconds,
                             baseline: "raw C loop: syscall + port-I/O exit", baselineNanoseconds: median(samples),
                             note: "xkv's share of a hypercall"))
        rows += try guestMeasured(engine: engine, baseline: raw, quick: quick)
        rows.append(try domainCreate(engine: engine, quick: quick))
        return rows
    }

    /// Nanoseconds per TSC tick on this host (the guest's rdtsc counts the same ticks).
    static func nanosecondsPerTick() -> Double {
        let t0 = ckvm_monotonic_ns(), c0 = ckvm_rdtsc()
        var spin: UInt64 = 0
        while ckvm_monotonic_ns() - t0 < 20_000_000 { spin &+= 1 }
        let t1 = ckvm_monotonic_ns(), c1 = ckvm_rdtsc()
        return Double(t1 - t0) / Double(max(1, c1 &- c0))
    }

    /// Paths measured inside the guest with rdtsc over many calls (the guest's report page),
    /// each against the raw KVM exit round trip.
    static func guestMeasured(engine: Engine, baseline: Baseline, quick: Bool) throws -> [BenchRow] {
        let perTick = nanosecondsPerTick()
        let n = quick ? 200 : 5000
        var cases: [(String, String, String, KeyPath<GuestReport, UInt64>, String)] = [
            ("syscall.pv64.routed", "pv64", "syscalls=\(n) cycles", \.cyclesPerSyscall,
             "user syscall -> xkv entry -> exit -> bounce to the guest's callback -> iret hypercall back"),
            ("exception.pv64.bounce", "pv64", "faults=\(n) cycles", \.cyclesPerFault,
             "user fault -> xkv stub -> exit -> Xen bounce frame -> handler -> iret hypercall back"),
        ]
        if GuestImage.builtinNames.contains("pv32") {
            cases += [
                ("syscall.pv32.direct", "pv32", "syscalls=\(n) cycles", \.cyclesPerSyscall,
                 "int $0x80 -> xkv ring-0 code -> guest kernel handler, no exit; iret back (all emulated on PVM)"),
                ("exception.pv32.bounce", "pv32", "faults=\(n) cycles", \.cyclesPerFault,
                 "fault -> xkv stub -> exit -> compat bounce frame -> ring-1 handler -> iret back"),
            ]
        }
        var rows: [BenchRow] = []
        for (name, kernel, cmdline, field, note) in cases {
            var config = DomainConfig(name: "bench-\(name)-\(UInt32.random(in: 0...UInt32.max))")
            config.memoryMiB = 16
            config.kernel = .builtin(kernel)
            config.cmdline = cmdline
            config.onPoweroff = .preserve
            try engine.execute(.create(config))
            defer { try? engine.execute(.destroy(config.name)) }
            guard engine.waitUntil(timeout: 600, { $0.domain(config.name)?.state.shutdown == true }),
                  let report = engine.snapshot().domain(config.name)?.guestReport, report.done else {
                throw KVMError(operation: "bench", message: "\(name): the guest did not finish its workload")
            }
            rows.append(BenchRow(name: name, xkvNanoseconds: Double(report[keyPath: field]) * perTick,
                                 baseline: "raw C KVM_RUN loop", baselineNanoseconds: baseline.nanoseconds, note: note))
        }
        return rows
    }

    /// `domain.create`: from the start of `create` (image, VM, memory, builder, vCPU) to the
    /// domain's first hypercall, against a raw VM with one vCPU created and run to its first exit.
    static func domainCreate(engine: Engine, quick: Bool) throws -> BenchRow {
        var ours: [Double] = [], raw: [Double] = []
        for round in 0..<(quick ? 2 : 7) {
            var config = DomainConfig(name: "bench-create-\(round)-\(UInt32.random(in: 0...UInt32.max))")
            config.memoryMiB = 16
            config.cmdline = "idle"
            try engine.execute(.create(config))
            guard engine.waitUntil(timeout: 30, { $0.domain(config.name)?.createToFirstHypercallNanoseconds != nil }),
                  let ns = engine.snapshot().domain(config.name)?.createToFirstHypercallNanoseconds else {
                throw KVMError(operation: "bench", message: "domain.create: no first hypercall")
            }
            try engine.execute(.destroy(config.name))
            ours.append(Double(ns))
            let start = ckvm_monotonic_ns()
            _ = try RawGuest(kvm: engine.kvm)
            raw.append(Double(ckvm_monotonic_ns() - start))
        }
        return BenchRow(name: "domain.create", xkvNanoseconds: median(ours), baseline: "raw KVM VM + vCPU to first exit",
                        baselineNanoseconds: median(raw), note: "create to first hypercall (16 MiB PV domain)")
    }

    struct Baseline { var nanoseconds: Double; var guest: RawGuest }

    /// The raw C KVM_RUN loop over the port-I/O guest: median of several rounds.
    static func rawExitBaseline(kvm: KVMSystem, quick: Bool) throws -> Baseline {
        let guest = try RawGuest(kvm: kvm)
        let count: UInt64 = quick ? 200 : 5000
        var samples: [Double] = []
        for _ in 0..<(quick ? 3 : 7) {
            guard let ns = guest.vcpu.baselineIOLoop(port: RawGuest.port, count: count) else {
                throw KVMError(operation: "bench", message: "the raw baseline loop saw an unexpected exit")
            }
            samples.append(Double(ns) / Double(count))
        }
        return Baseline(nanoseconds: median(samples), guest: guest)
    }

    /// `exit.io`: the same guest through xkv's exit path (VirtualCPU.run with sync regs, exit
    /// decoding, per-vCPU counters under their lock, dispatch by reason), rounds interleaved
    /// with the raw loop so both see the same machine.
    static func exitIO(kvm: KVMSystem, baseline: Baseline, quick: Bool) throws -> BenchRow {
        let guest = baseline.guest
        let count = quick ? 200 : 5000
        let counters = Mutex(VCPUCounters())
        var ours: [Double] = [], theirs: [Double] = []
        for _ in 0..<(quick ? 3 : 7) {
            let start = ckvm_monotonic_ns()
            for _ in 0..<count {
                let exit = try guest.vcpu.run()
                let reason = ExitReason(exit)
                counters.withLock { $0.exits[reason.rawValue] += 1 }
                guard case .io(let io) = exit, io.port == RawGuest.port else {
                    throw KVMError(operation: "bench", message: "xkv's loop saw an unexpected exit \(exit.reasonName)")
                }
            }
            ours.append(Double(ckvm_monotonic_ns() - start) / Double(count))
            if let ns = guest.vcpu.baselineIOLoop(port: RawGuest.port, count: UInt64(count)) {
                theirs.append(Double(ns) / Double(count))
            }
        }
        return BenchRow(name: "exit.io", xkvNanoseconds: median(ours), baseline: "raw C KVM_RUN loop",
                        baselineNanoseconds: median(theirs + [baseline.nanoseconds]),
                        note: "guest port-I/O exit round trip")
    }

    /// `hypercall.pv64`: a `xen_version` round trip from a PV guest. Two domains run
    /// `hypercalls=N` with different N; the difference in wall time over the difference in
    /// calls removes boot and shutdown costs.
    static func hypercallPV64(engine: Engine, baseline: Baseline, quick: Bool) throws -> BenchRow {
        let small = quick ? 100 : 1000, large = quick ? 600 : 11000
        func timed(_ n: Int, _ tag: String) throws -> Double {
            var config = DomainConfig(name: "bench-hypercall-\(tag)-\(UInt32.random(in: 0...UInt32.max))")
            config.memoryMiB = 16
            config.cmdline = "hypercalls=\(n)"
            let start = ckvm_monotonic_ns()
            try engine.execute(.create(config))
            let done = engine.waitUntil(timeout: 120) { $0.domain(config.name)?.alive == false || $0.domain(config.name)?.state.shutdown == true }
            let elapsed = Double(ckvm_monotonic_ns() - start)
            guard done, engine.snapshot().domain(config.name)?.shutdownReason == .poweroff else {
                throw KVMError(operation: "bench", message: "the hypercall bench domain did not power off")
            }
            return elapsed
        }
        var perCall: [Double] = []
        for round in 0..<(quick ? 1 : 3) {
            let a = try timed(small, "a\(round)"), b = try timed(large, "b\(round)")
            perCall.append((b - a) / Double(large - small))
        }
        return BenchRow(name: "hypercall.pv64", xkvNanoseconds: median(perCall), baseline: "raw C KVM_RUN loop",
                        baselineNanoseconds: baseline.nanoseconds,
                        note: "syscall -> xkv entry -> exit -> xen_version in Swift -> resume")
    }

    static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return .nan }
        let sorted = values.sorted()
        return sorted[sorted.count / 2]
    }
}
