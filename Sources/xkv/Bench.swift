import Console
import Foundation
import Hypervisor
import Session

/// `xkv bench [--json] [--quick] [--only GROUP]`: prints each row beside its baseline and the
/// ratio. GROUP is `engine` (the exit, hypercall, syscall, exception and create rows),
/// `console` or `record`.
enum Bench {
    static func main(_ args: [String]) -> Int32 {
        let json = args.contains("--json"), quick = args.contains("--quick")
        var only: String?
        if let index = args.firstIndex(of: "--only") {
            guard index + 1 < args.count, ["engine", "console", "record"].contains(args[index + 1]) else {
                FileHandle.standardError.write(Data("xkv bench: --only takes engine, console or record\n".utf8))
                return 2
            }
            only = args[index + 1]
        }
        let engine = XKV.makeEngine()
        var rows: [BenchRow] = []
        if only == nil || only == "engine" {
            do { rows = try Benchmarks.run(engine: engine, quick: quick) } catch {
                FileHandle.standardError.write(Data("xkv bench: \(error)\n".utf8))
                return 1
            }
        }
        if only == nil || only == "console" {
            // One full console frame from a snapshot of 64 domains, against the 250 ms refresh period.
            rows.append(BenchRow(name: "console.frame", xkvNanoseconds: ConsoleBench.frameNanoseconds(domains: 64),
                                 baseline: "console refresh period", baselineNanoseconds: 250_000_000,
                                 note: "render every pane of a 160x48 screen, 64 domains"))
        }
        engine.shutdownAll()
        if only == nil || only == "record" {
            // A syscall-heavy pv64 session recorded against the same session unrecorded (issue 5).
            do { rows.append(try RecordBench.overhead(pcpus: XKV.pcpus, quick: quick)) } catch {
                FileHandle.standardError.write(Data("xkv bench: record.overhead: \(error)\n".utf8))
            }
        }
        let host = engine.host.kindShort
        if json {
            print(JSON.array(rows.map { row in
                .object([("name", .string(row.name)), ("xkv_ns", .double(round(row.xkvNanoseconds))),
                         ("baseline", .string(row.baseline)), ("baseline_ns", .double(round(row.baselineNanoseconds))),
                         ("ratio", .double(row.ratio < 0.01 ? (row.ratio * 1_000_000).rounded() / 1_000_000 : (row.ratio * 1000).rounded() / 1000)), ("host", .string(host))])
            }).rendered)
        } else {
            print("xkv bench on \(engine.host.kind) (\(engine.host.cpuModel))\(quick ? ", quick run" : "")")
            print(pad("name", 23) + lpad("xkv ns", 12) + lpad("baseline ns", 13) + lpad("ratio", 8) + "  baseline / what")
            for row in rows {
                print(pad(row.name, 23) + lpad(String(format: "%.0f", row.xkvNanoseconds), 12)
                      + lpad(String(format: "%.0f", row.baselineNanoseconds), 13) + lpad(String(format: row.ratio < 0.01 ? "%.4f" : "%.2f", row.ratio), 8)
                      + "  \(row.baseline); \(row.note)")
            }
        }
        return 0
    }

    static func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
    static func lpad(_ s: String, _ n: Int) -> String { s.count >= n ? s : String(repeating: " ", count: n - s.count) + s }
}
