import Foundation
import Hypervisor

/// `xkv bench` row `record.overhead`: a syscall-heavy pv64 session recorded against the same
/// session unrecorded, measured in the same run (issue 5: target ratio <= 1.05).
public enum RecordBench {
    /// Wall time from `create` to shutdown of a pv64 domain making `syscalls` system calls,
    /// recorded (an engine with a recorder attached) against unrecorded, in alternating rounds.
    public static func overhead(pcpus: Int? = nil, quick: Bool = false) throws -> BenchRow {
        let syscalls = quick ? 1000 : 5000
        let rounds = quick ? 3 : 21
        let path = NSTemporaryDirectory() + "/xkv-record-bench-\(getpid()).rec"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let plain = try Engine(pcpus: pcpus)
        let recorded = try Engine(pcpus: pcpus)
        let recorder = try SessionRecorder(path: path)
        recorder.attach(to: recorded, header: RecordHeader(images: ["pv64"]))
        defer {
            plain.shutdownAll()
            recorded.shutdownAll()
            recorder.close()
        }
        // The end of a run is its on_poweroff=destroy arriving at the gate. (Polling snapshots
        // instead would add its own cost, and runs into an overflow in the engine's CPU-time
        // accounting when a snapshot races a context switch.)
        let stopped = DispatchSemaphore(value: 0)
        for engine in [plain, recorded] {
            let forward = engine.gateObserver
            engine.gateObserver = { record in
                forward?(record)
                if case .lifecycleAction = record.command { stopped.signal() }
            }
        }
        var config = DomainConfig(name: "record-bench")
        config.kernel = .builtin("pv64")
        config.memoryMiB = 16
        config.cmdline = "syscalls=\(syscalls)"
        config.onPoweroff = .destroy

        func once(_ engine: Engine, _ name: String) throws -> Double {
            var c = config
            c.name = name
            c.uuid = .random()
            let start = DispatchTime.now().uptimeNanoseconds
            try engine.execute(.create(c))
            guard stopped.wait(timeout: .now() + 120) == .success else {
                throw RecordError("record.overhead: \(name) did not shut down within 120 s")
            }
            return Double(DispatchTime.now().uptimeNanoseconds - start)
        }
        _ = try once(plain, "warm-plain")
        _ = try once(recorded, "warm-recorded")
        var withRecord: [Double] = [], without: [Double] = []
        for round in 0..<rounds {
            // Alternate which goes first, so neither always runs on a warmer host.
            if round % 2 == 0 {
                without.append(try once(plain, "plain-\(round)"))
                withRecord.append(try once(recorded, "recorded-\(round)"))
            } else {
                withRecord.append(try once(recorded, "recorded-\(round)"))
                without.append(try once(plain, "plain-\(round)"))
            }
        }
        // The host drifts (nested virtualization): compare each recorded run with the unrecorded
        // run beside it, and scale the unrecorded median by the median of those ratios.
        let ratios = zip(withRecord, without).map { $0 / $1 }
        let baseline = median(without)
        let events = recorder.eventCount
        return BenchRow(name: "record.overhead", xkvNanoseconds: baseline * median(ratios), baseline: "the same session unrecorded",
                        baselineNanoseconds: baseline,
                        note: "pv64 syscalls=\(syscalls), create to shutdown; unrecorded median x median of \(rounds) paired ratios "
                            + "(recorded median \(Int(median(withRecord) / 1e6)) ms); \(events / UInt64(rounds + 1)) records a run")
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.isEmpty ? .nan : sorted[sorted.count / 2]
    }
}
