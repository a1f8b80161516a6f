import CKVM
import Foundation
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
        return rows
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
