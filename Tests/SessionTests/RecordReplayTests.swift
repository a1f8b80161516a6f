import Foundation
import Testing
@testable import Hypervisor
@testable import Session

/// Record and replay of headless sessions (issue 5), on real guests.
@Suite("Record and replay", .serialized)
struct RecordReplayTests {
    /// A session with random workloads: pv64 and pv32 domains, one paused and unpaused mid-run,
    /// one `syscalls=forever` domain destroyed, one idle domain ended by the session's end.
    static func randomScript() -> String {
        var rng = SystemRandomNumberGenerator()
        func n(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &rng) }
        return """
            create name=w64 kernel=builtin:pv64 memory=16 cmdline="hypercalls=\(n(1500...3000)) syscalls=\(n(20...400)) faults=\(n(1...30))" on_poweroff=preserve
            pause w64
            create name=w32 kernel=builtin:pv32 memory=16 cmdline="hypercalls=\(n(20...300)) syscalls=\(n(10...200)) faults=\(n(1...20))" on_poweroff=preserve
            create name=spin kernel=builtin:pv32 memory=16 cmdline="syscalls=forever"
            create name=loop kernel=builtin:pv64 memory=16 cmdline="syscalls=forever hypercalls=\(n(1...50))"
            wait w64 paused
            list
            wait spin running
            unpause w64
            counters w64
            wait w64 shutdown
            wait w32 shutdown
            destroy spin
            wait loop running
            """
    }

    static func temporaryPath(_ name: String) -> String {
        NSTemporaryDirectory() + "/xkv-record-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))-\(name)"
    }

    /// Records `script` to a new file; returns its path.
    static func record(_ script: String, pcpus: Int? = nil) throws -> String {
        let path = temporaryPath("session.rec")
        let engine = try Engine(pcpus: pcpus)
        var errors: [String] = []
        _ = try ScriptRunner(keepGoing: true).runRecording(script, file: "test.xkv", engine: engine, to: path,
                                                           output: { _ in }, errors: { errors.append($0) })
        #expect(errors.isEmpty, "\(errors)\n\(script)")
        return path
    }

    static func lines(_ path: String) throws -> [[UInt8]] {
        let data = try #require(FileManager.default.contents(atPath: path))
        return [UInt8](data).split(separator: 0x0a, omittingEmptySubsequences: false).map(Array.init)
    }

    static func write(_ lines: [[UInt8]], to path: String) {
        _ = FileManager.default.createFile(atPath: path, contents: Data(Array(lines.joined(separator: [0x0a]))))
    }

    /// A line with its JSON changed by `edit` and its checksum fixed up.
    static func reframed(_ line: [UInt8], _ edit: (String) -> String) throws -> [UInt8] {
        let tab = try #require(line.lastIndex(of: 0x09))
        let json = edit(String(decoding: line[..<tab], as: UTF8.self))
        return Array(RecordFormat.frame(Array(json.utf8)).dropLast())
    }

    @Test("a recorded session with random workloads replays with every checkpoint equal")
    func replaysExactly() throws {
        let script = Self.randomScript()
        // Recorded on one pCPU (the timer preempts), replayed on one per host core.
        let path = try Self.record(script, pcpus: 1)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let file = try RecordFile.load(path: path)
        #expect(file.truncatedAfter == nil)
        #expect(file.header["images"]?["pv64"]?.stringValue?.count == 64)
        #expect(file.header["images"]?["pv32"]?.stringValue?.count == 64)
        let texts = file.events.compactMap { $0["type"]?.stringValue == "command" ? $0["text"]?.stringValue : nil }
        #expect(texts == script.split(separator: "\n").map(String.init), "commands are recorded as the script had them")
        let ends = file.events.filter { $0["reason"]?.stringValue == "end" }.compactMap { $0["domain"]?.stringValue }
        #expect(Set(ends) == ["w64", "w32", "spin", "loop"])

        let report = try Replayer.replay(file)
        #expect(report.succeeded, "\(report.verdict)\n\(report.notes)\n\(script)")
        #expect(report.exact == ["w64", "w32", "spin", "loop"])
        let recorded = file.events.filter { $0["type"]?.stringValue == "checkpoint" }.count
        #expect(report.checkpointsEqual == recorded)
        #expect(report.verdict == "replay: \(recorded) checkpoints equal across 4 domains; exact: w64, w32, spin, loop")
        #expect(report.notes.isEmpty, "\(report.notes)")
        let preemptions = file.events.filter { $0["type"]?.stringValue == "preempt" }.count
        #expect(preemptions > 0, "two never-ending domains on one pCPU are preempted by the timer")
        #expect(report.preemptionsRecorded == preemptions)
    }

    @Test("a paced replay (the console's playback) holds domains where the record had them; a seek stops a domain exactly at a checkpoint")
    func pacedAndSeek() throws {
        let script = Self.randomScript()
        let path = try Self.record(script)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let file = try RecordFile.load(path: path)
        let session = try ReplaySession(file, pace: true)
        let commands = file.events.filter { $0["type"]?.stringValue == "command" }.count
        #expect(session.steps.count > commands, "pace points are steps too")
        #expect(session.steps.map(\.seq) == session.steps.map(\.seq).sorted(), "steps are in record order")

        let w32 = file.events.filter { $0["domain"]?.stringValue == "w32" && $0["reason"]?.stringValue == "hypercall" }
        let mid = try #require(w32.dropFirst(w32.count / 2).first?["seq"]?.intValue)
        let target = try #require(session.checkpoint(atOrAfter: Int(mid)))
        #expect(target.seq == Int(mid) && target.domain == "w32")
        while session.nextIndex < target.stepsBefore { session.applyNext() }
        session.hold(target.domain, at: target.logicalTime)
        let held = session.engine.waitUntil(timeout: 60) { s in
            s.domain("w32").map { $0.state.paused && $0.logicalTime == target.logicalTime } ?? false
        }
        #expect(held, "w32 held at logical time \(target.logicalTime): \(String(describing: session.engine.snapshot().domain("w32")?.logicalTime))")
        #expect(session.progress.divergence == nil)

        let report = session.finish()
        #expect(report.succeeded, "\(report.verdict)\n\(report.notes)\n\(script)")
        #expect(report.checkpointsEqual == file.events.filter { $0["type"]?.stringValue == "checkpoint" }.count)
    }

    /// SplitMix64: a seeded generator, so a failing mutation can be found again.
    struct SeededRandom: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9e37_79b9_7f4a_7c15
            var z = state
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            return z ^ (z >> 31)
        }
    }

    @Test("hostile records (valid checksums, bad values) are refused or planned, never a trap")
    func hostileRecords() throws {
        let path = try Self.record("""
            create name=h kernel=builtin:pv64 memory=16 cmdline="hypercalls=30 syscalls=10" on_poweroff=preserve
            pause h
            unpause h
            wait h shutdown
            """)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let original = try Self.lines(path).filter { !$0.isEmpty }
        // A frame event too, as a console recording has them.
        var frame = JSONBytes()
        frame.open()
        frame.key("seq"); frame.uint(UInt64(original.count))
        frame.key("type"); frame.string("frame")
        frame.key("wall"); frame.uint(1)
        frame.key("columns"); frame.uint(4)
        frame.key("rows"); frame.uint(2)
        frame.key("full"); frame.raw("true")
        frame.key("lines"); frame.raw(#"[[0,"ab  ","aaaa"],[1,"cd  ","abab"]]"#)
        frame.key("cursor"); frame.raw("[1,1]")
        frame.key("digest"); frame.string(String(RecordedFrame.digest(texts: ["ab  ", "cd  "], roles: ["aaaa", "abab"]), radix: 16))
        frame.close()
        let base = original + [Array(RecordFormat.frame(frame.bytes).dropLast())]
        let parsed = try RecordFile.parse(Array(base.joined(separator: [0x0a])) + [0x0a], path: "base")
        var screen = ReplayedScreen()
        #expect(try screen.apply(try #require(parsed.events.last), seq: original.count) == [0, 1])

        let numbers = ["-1", "-9223372036854775808", "9223372036854775807", "18446744073709551616", "1e308", "-0.5", "4096", "65536"]
        let strings = [#""""#, #""\u0000""#, #""ffffffffffffffffffff""#, #""0=zz""#, #""99=1 -1=2""#, #""create""#, #""\ud800""#,
                       "\"" + String(repeating: "x", count: 5000) + "\""]
        var rng = SeededRandom(state: 0x5eed)
        var refused = 0, planned = 0
        for round in 0..<400 {
            var lines = base
            let victim = Int.random(in: 0..<lines.count, using: &rng)
            let tab = lines[victim].lastIndex(of: 0x09) ?? lines[victim].count
            var json = String(decoding: lines[victim][..<tab], as: UTF8.self)
            switch round % 4 {
            case 0:   // a number replaced
                let ranges = json.ranges(of: /[:\[,]-?\d+(\.\d+)?/)
                if let r = ranges.randomElement(using: &rng) {
                    json.replaceSubrange(json.index(after: r.lowerBound)..<r.upperBound, with: numbers.randomElement(using: &rng)!)
                }
            case 1:   // a string replaced
                let ranges = json.ranges(of: /"[^"]*"/)
                if !ranges.isEmpty { json.replaceSubrange(ranges.randomElement(using: &rng)!, with: strings.randomElement(using: &rng)!) }
            case 2:   // nested without end
                json = String(repeating: "[", count: 100_000) + json
            default:  // a key dropped
                let ranges = json.ranges(of: /,"[a-z_]+":("[^"]*"|[^,}]*)/)
                if !ranges.isEmpty { json.removeSubrange(ranges.randomElement(using: &rng)!) }
            }
            lines[victim] = Array(RecordFormat.frame(Array(json.utf8)).dropLast())
            let bytes = Array(lines.joined(separator: [0x0a])) + [0x0a]
            guard let file = try? RecordFile.parse(bytes, path: "hostile-\(round)") else { refused += 1; continue }
            if (try? Plan(file, pace: round % 2 == 0)) != nil { planned += 1 } else { refused += 1 }
            var screen = ReplayedScreen()
            for event in file.events where event["type"]?.stringValue == "frame" { _ = try? screen.apply(event, seq: 0) }
        }
        #expect(refused > 0 && planned > 0, "refused \(refused), planned \(planned)")
    }

    @Test("a domain restarted by on_crash=restart replays exactly, every incarnation")
    func restarts() throws {
        let path = Self.temporaryPath("restart.rec")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let engine = try Engine()
        let recorder = try SessionRecorder(path: path)
        recorder.attach(to: engine, header: RecordHeader(images: ["pv64"]))
        let line = #"create name=phoenix kernel=builtin:pv64 memory=16 cmdline="hypercalls=25 crash" on_crash=restart"#
        let command = recorder.seeded(try #require(try CommandParser().parse(line: line)))
        _ = try recorder.recording(text: line, source: .script, command) { () throws(CommandError) in try Executor(engine: engine).run(command) }
        let gaveUp = engine.waitUntil(timeout: 30) { s in s.events.contains { $0.message.contains("not restarting again") } }
        #expect(gaveUp)
        engine.shutdownAll()
        engine.checkpointObserver = nil
        engine.gateObserver = nil
        recorder.close()

        let file = try RecordFile.load(path: path)
        let ends = file.events.filter { $0["reason"]?.stringValue == "end" }.count
        #expect(ends >= 2, "every incarnation ends")
        let report = try Replayer.replay(file)
        #expect(report.succeeded, "\(report.verdict) \(report.notes)")
        #expect(report.checkpointsEqual == file.events.filter { $0["type"]?.stringValue == "checkpoint" }.count)
    }

    @Test("a domain destroyed right after its create, and a blocked domain paused and unpaused, replay exactly")
    func earlyDestroyAndBlockedPause() throws {
        let script = """
            create name=brief kernel=builtin:pv64 memory=16 cmdline="syscalls=forever"
            destroy brief
            create name=sleeper kernel=builtin:pv64 memory=16 cmdline="hypercalls=20 idle"
            wait sleeper blocked
            pause sleeper
            unpause sleeper
            wait sleeper blocked
            counters sleeper
            destroy sleeper
            """
        let path = try Self.record(script)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let file = try RecordFile.load(path: path)
        let report = try Replayer.replay(file, options: ReplayOptions(reachTimeout: 20))
        #expect(report.succeeded, "\(report.verdict)\n\(report.notes)")
        #expect(report.notes.isEmpty, "\(report.notes)")
        #expect(report.exact == ["brief", "sleeper"])
        #expect(report.checkpointsEqual == file.events.filter { $0["type"]?.stringValue == "checkpoint" }.count)
    }

    @Test("a flipped byte inside a record is a checksum failure at that record")
    func flippedByte() throws {
        let path = try Self.record(Self.randomScript())
        defer { try? FileManager.default.removeItem(atPath: path) }
        var lines = try Self.lines(path)
        let victim = lines.count / 2
        lines[victim][lines[victim].count / 3] ^= 0x04
        Self.write(lines, to: path)
        #expect(throws: RecordError("\(path): record \(victim): checksum mismatch")) { try RecordFile.load(path: path) }
    }

    @Test("a record cut mid-event replays to its last whole record and says so")
    func truncated() throws {
        let path = try Self.record(Self.randomScript())
        defer { try? FileManager.default.removeItem(atPath: path) }
        let data = try #require(FileManager.default.contents(atPath: path))
        let lines = try Self.lines(path)
        let keep = lines.count * 2 / 3
        let cut = lines[..<keep].reduce(0) { $0 + $1.count + 1 } + lines[keep].count / 2
        _ = FileManager.default.createFile(atPath: path, contents: data.prefix(cut))
        let file = try RecordFile.load(path: path)
        #expect(file.truncatedAfter == keep - 1)
        #expect(file.truncationNote == "record truncated after record \(keep - 1); replaying the \(keep - 1) whole records")
        let report = try Replayer.replay(file)
        #expect(report.succeeded, "\(report.verdict)\n\(report.notes)")
        #expect(report.notes.first == file.truncationNote)
        #expect(report.checkpointsEqual == file.events.filter { $0["type"]?.stringValue == "checkpoint" }.count)
    }

    @Test("an edited workload count with a fixed-up checksum is a divergence naming the domain and field")
    func editedArgument() throws {
        let path = try Self.record(Self.randomScript())
        defer { try? FileManager.default.removeItem(atPath: path) }
        var lines = try Self.lines(path)
        let index = try #require(lines.firstIndex { String(decoding: $0, as: UTF8.self).contains("create name=w32") })
        lines[index] = try Self.reframed(lines[index]) { json in
            // hypercalls=N -> N+1 for w32
            let range = json.range(of: #"hypercalls=\d+"#, options: .regularExpression)!
            let n = Int(json[range].dropFirst("hypercalls=".count))!
            return json.replacingCharacters(in: range, with: "hypercalls=\(n + 1)")
        }
        Self.write(lines, to: path)
        let report = try Replayer.replay(try RecordFile.load(path: path))
        let divergence = try #require(report.divergence)
        #expect(divergence.domain == "w32")
        #expect(!divergence.field.isEmpty && divergence.recorded != divergence.replayed)
        #expect(report.verdict.hasPrefix("divergence at record \(divergence.seq): domain w32, field \(divergence.field): recorded "))
    }

    @Test("another format version and changed images are refused; --allow-image-change names the image")
    func compatibility() throws {
        let path = try Self.record("""
            create name=one kernel=builtin:pv64 memory=16 cmdline="hypercalls=40" on_poweroff=preserve
            wait one shutdown
            """)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let original = try Self.lines(path)

        var lines = original
        lines[0] = try Self.reframed(lines[0]) { $0.replacingOccurrences(of: #""version":2"#, with: #""version":3"#) }
        Self.write(lines, to: path)
        do {
            _ = try RecordFile.load(path: path)
            Issue.record("version 3 was accepted")
        } catch {
            #expect(error.message.contains("record format version 3 is not supported by this xkv (it reads version 2)"), "\(error)")
        }

        lines = original
        lines[0] = try Self.reframed(lines[0]) { $0.replacingOccurrences(of: #""pv64":""#, with: #""pv64":"00"#) }
        let edit = try #require(lines.firstIndex { String(decoding: $0, as: UTF8.self).contains("create name=one") })
        lines[edit] = try Self.reframed(lines[edit]) { $0.replacingOccurrences(of: "hypercalls=40", with: "hypercalls=41") }
        Self.write(lines, to: path)
        let file = try RecordFile.load(path: path)
        do {
            _ = try Replayer.replay(file)
            Issue.record("a changed image was accepted")
        } catch {
            #expect(error.message.contains("guest image builtin:pv64 differs"), "\(error)")
            #expect(error.message.contains("--allow-image-change"), "\(error)")
        }
        let report = try Replayer.replay(file, options: ReplayOptions(allowImageChange: true))
        #expect(report.notes.contains { $0.contains("builtin:pv64 differs") })
        #expect(report.divergence?.domain == "one")
        #expect(report.verdict.hasSuffix("(guest image builtin:pv64 changed since the recording)"), "\(report.verdict)")
    }

    @Test("xkv run --record and xkv replay --headless, through the built binary")
    func throughTheBinary() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let binary = root.appendingPathComponent(".build/debug/xkv").path
        guard FileManager.default.isExecutableFile(atPath: binary) else { return }   // not built here
        let script = Self.temporaryPath("session.xkv"), record = Self.temporaryPath("session.rec")
        defer { for p in [script, record] { try? FileManager.default.removeItem(atPath: p) } }
        _ = FileManager.default.createFile(atPath: script, contents: Data(Self.randomScript().utf8))

        func xkv(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = args
            let out = Pipe(), err = Pipe()
            process.standardOutput = out
            process.standardError = err
            try process.run()
            let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return (process.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
        }
        let run = try xkv(["run", "--keep-going", "--record", record, script])
        #expect(run.status == 0, "\(run.err)")
        let replay = try xkv(["replay", record, "--headless"])
        #expect(replay.status == 0, "\(replay.err)")
        #expect(replay.out.contains("checkpoints equal across 4 domains; exact: w64, w32, spin, loop"), "\(replay.out)")
        let console = try xkv(["replay", record])
        // Console playback needs a terminal (the tmux tests drive it); without one it says so.
        #expect(console.status == 1 && console.err.contains("playback needs a terminal"), "\(console.err)")
    }

    @Test("the record format: CRC-32, framing and JSON read back in order")
    func format() throws {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xcbf4_3926)
        var json = JSONBytes()
        json.open()
        json.key("seq"); json.uint(7)
        json.key("wall"); json.seconds(microseconds: 1_700_000_000_000_042)
        json.key("text"); json.string("create cmdline=\"a\tb\"\n\u{1}")
        json.key("fields"); json.openArray()
        json.openArray(); json.string("rip"); json.string("ffff"); json.closeArray()
        json.openArray(); json.string("rax"); json.string("0"); json.closeArray()
        json.closeArray()
        json.close()
        let line = RecordFormat.frame(json.bytes)
        #expect(line.last == 0x0a)
        let body = try #require(RecordFile.verified(line.dropLast()))
        let value = try JSONParser.parse(body)
        #expect(value["seq"]?.intValue == 7)
        #expect(value["wall"]?.doubleValue == 1_700_000_000.000042)
        #expect(value["text"]?.stringValue == "create cmdline=\"a\tb\"\n\u{1}")
        #expect(value["fields"]?.arrayValue?.map { $0.arrayValue?.first?.stringValue } == ["rip", "rax"])
        #expect(value.rendered == String(decoding: json.bytes, as: UTF8.self))
        var damaged = Array(line.dropLast())
        damaged[3] ^= 1
        #expect(RecordFile.verified(damaged[...]) == nil)
    }
}
