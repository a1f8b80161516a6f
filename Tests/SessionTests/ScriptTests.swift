import Foundation
import Testing
@testable import Hypervisor
@testable import Session

@Suite("Command parser")
struct CommandParserTests {
    let parser = CommandParser(origin: "t.xkv", line: 7)

    @Test("every command word parses")
    func verbs() throws {
        #expect(try parser.parse(line: "list") == .list)
        #expect(try parser.parse(line: "wait web shutdown 5") == .wait(domain: "web", state: "shutdown", seconds: 5))
        #expect(try parser.parse(line: "wait web b") == .wait(domain: "web", state: "b", seconds: SessionCommand.defaultWaitSeconds))
        #expect(try parser.parse(line: "console web") == .console(domain: "web"))
        #expect(try parser.parse(line: "counters") == .counters(domain: nil))
        #expect(try parser.parse(line: "pause 3") == .pause("3"))
        #expect(try parser.parse(line: "destroy web # gone") == .destroy("web"))
        #expect(try parser.parse(line: "   # nothing") == nil)
        guard case .create(let config)? = try parser.parse(line: #"create name=web memory=24 cmdline="echo=a b" on_crash=preserve"#) else {
            Issue.record("create did not parse")
            return
        }
        #expect(config.name == "web" && config.memoryMiB == 24 && config.cmdline == "echo=a b" && config.onCrash == .preserve)
    }

    @Test("bad commands say what is wrong", arguments: [
        ("frobnicate web", "unknown command 'frobnicate'"),
        ("pasue web", "did you mean 'pause'"),
        ("pause", "usage: pause DOMAIN"),
        ("wait web sleeping", "unknown state 'sleeping'"),
        ("wait web shutdown soon", "bad timeout 'soon'"),
        ("create", "usage: create"),
        ("create name=x memroy=4", "did you mean 'memory'"),
        ("create name=x memory=0", "memory"),
        ("create memory=4", "name"),
        ("create /no/such/file.cfg", "cannot read config file"),
        (#"console "web"#, "unterminated"),
    ])
    func errors(line: String, expected: String) {
        do {
            _ = try parser.parse(line: line)
            Issue.record("'\(line)' parsed")
        } catch {
            #expect(error.message.contains(expected), "\(error.message)")
        }
    }
}

@Suite("Scripts on a real engine", .serialized)
struct ScriptRunnerTests {
    static func run(_ script: String, json: Bool = false, keepGoing: Bool = false) throws -> (out: [String], err: [String], failures: Int) {
        let engine = try Engine()
        defer { engine.shutdownAll() }
        var out: [String] = [], err: [String] = []
        let failures = ScriptRunner(json: json, keepGoing: keepGoing).run(script, file: "test.xkv", executor: Executor(engine: engine),
                                                                           output: { out.append($0) }, errors: { err.append($0) })
        return (out, err, failures)
    }

    @Test("a script boots a guest, waits for it and reads its console and counters")
    func bootAndRead() throws {
        let token = "tok\(UInt32.random(in: 0...UInt32.max))"
        let n = Int.random(in: 10...300)
        let (out, err, failures) = try Self.run("""
            create name=s1 memory=16 cmdline="echo=\(token) hypercalls=\(n)" on_poweroff=preserve
            wait s1 shutdown 30
            console s1
            counters s1
            list
            """)
        #expect(failures == 0, "\(err)")
        #expect(out.contains { $0.contains(token) })
        #expect(out.contains { $0.contains("xen_version=\(n + 2)") })
        #expect(out.last?.contains("Domain-0") == true && out.last?.contains("---s--") == true)
    }

    @Test("--json prints one JSON document per command, counters with exits and hypercalls by name")
    func json() throws {
        let (out, err, failures) = try Self.run("""
            create name=j1 memory=16 cmdline="hypercalls=5" on_poweroff=preserve
            wait j1 shutdown 30
            counters j1
            list
            """, json: true)
        #expect(failures == 0, "\(err)")
        #expect(out.count == 4)
        for line in out {
            #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) != nil, "not JSON: \(line)")
        }
        let counters = try #require(try JSONSerialization.jsonObject(with: Data(out[2].utf8)) as? [String: Any])
        #expect(counters["domain"] as? String == "j1")
        let hypercalls = try #require(counters["hypercalls"] as? [String: Any])
        #expect(hypercalls["xen_version"] as? Int == 7)
        let exits = try #require(counters["exits"] as? [String: Any])
        #expect((exits["io"] as? Int ?? 0) > 0)
    }

    @Test("a failing command names file and line and stops the script")
    func stopsAtFirstError() throws {
        let (out, err, failures) = try Self.run("info\n\npause nobody\nlist\n")
        #expect(failures == 1)
        #expect(err == ["test.xkv:3: no domain 'nobody'"])
        #expect(out.count == 1)
    }

    @Test("--keep-going runs the rest and counts every failure")
    func keepGoing() throws {
        let (out, err, failures) = try Self.run("bogus\nlist\nwait ghost running 0.2\n", keepGoing: true)
        #expect(failures == 2)
        #expect(err.first?.hasPrefix("test.xkv:1: unknown command") == true)
        #expect(err.last?.hasPrefix("test.xkv:3: no domain 'ghost'") == true)
        #expect(out.count == 1)
    }

    @Test("a bad config file names its file, line and key")
    func badConfigFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("xkv-bad-\(UInt32.random(in: 0...UInt32.max)).cfg").path
        try "name = \"bad\"\nmemory = \"lots\"\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (_, err, failures) = try Self.run("create \(path)\n")
        #expect(failures == 1)
        #expect(err.first?.contains("\(path):2: key 'memory'") == true, "\(err)")
    }

    @Test("wait times out with the state it saw")
    func waitTimeout() throws {
        let (_, err, failures) = try Self.run("create name=w1 memory=16 cmdline=spin\nwait w1 shutdown 0.3\n")
        #expect(failures == 1)
        #expect(err.first?.contains("timed out") == true && err.first?.contains("r-----") == true, "\(err)")
    }
}
