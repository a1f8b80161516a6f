import Foundation
import Session

/// What the console starts with: the demo, Domain-0 alone, a script, or xl.cfg files. Each runs
/// on the command worker, so the screen is up while domains boot.
extension ConsoleApp {
    func start() {
        let executor = self.executor
        let recorder = self.recorder
        let host = engine.host
        switch options.startup {
        case .playback:
            if let p = options.playback {
                view.log("playing back \(p.session.file.path): space pauses, . steps, + - change speed, ] or :seek N runs ahead to a checkpoint",
                         wallTime: Date().timeIntervalSince1970)
            }
        case .empty:
            view.log("started with Domain-0 only (--empty); `:create name=NAME cmdline=spin` starts a domain", wallTime: Date().timeIntervalSince1970)
        case .demo:
            runner.submit("demo") { post in
                post(CommandRunner.log("demo: starting the built-in demo domains (`xkv --empty` starts with Domain-0 only)", error: false))
                var lines = DemoDomains.commands
                if host.hardwareVirtualization {
                    lines += DemoDomains.hardwareCommands
                } else {
                    post(CommandRunner.log(DemoDomains.noHVMReason(hostKind: host.kind), error: false))
                }
                for line in lines { Self.runLine(line, origin: "builtin:demo", executor: executor, recorder: recorder, post: post) }
            }
        case .configs(let files):
            for file in files {
                runner.submit("create \(file)") { post in
                    do throws(CommandError) {
                        let command = try CommandParser(origin: "command line").parse(words: ["create", file])
                        _ = try Self.run(command, text: "create \(file)", source: .script, executor: executor, recorder: recorder)
                    } catch {
                        post(CommandRunner.log("\(file): \(error.message)", error: true))
                    }
                }
            }
        case .script(let path):
            runner.submit("script \(path)") { post in
                guard let data = FileManager.default.contents(atPath: path) else {
                    post(CommandRunner.log("cannot read script '\(path)'", error: true))
                    return
                }
                post(CommandRunner.log("script \(path): running", error: false))
                let failures = ScriptRunner(recorder: recorder).run(String(decoding: data, as: UTF8.self), file: path, executor: executor,
                                                  output: { text in
                                                      let lines = text.split(separator: "\n")
                                                      guard let first = lines.first else { return }
                                                      let more = lines.count > 1 ? " (+\(lines.count - 1) lines; run it at the : prompt to see all)" : ""
                                                      post(CommandRunner.log("script: " + first + more, error: false))
                                                  },
                                                  errors: { post(CommandRunner.log($0, error: true)) })
                post(CommandRunner.log("script \(path): \(failures == 0 ? "done" : "stopped at a failing command")", error: failures != 0))
            }
        }
    }

    /// What a record's header says of this start: the terminal, and the images and config
    /// files the startup will use (images a later command uses get their own record).
    func recordHeader(terminal size: (width: Int, height: Int)) -> RecordHeader {
        var header: RecordHeader
        switch options.startup {
        case .empty, .playback:
            header = RecordHeader()
        case .demo:
            let lines = DemoDomains.commands + (engine.host.hardwareVirtualization ? DemoDomains.hardwareCommands : [])
            header = RecordHeader.scanning(script: lines.joined(separator: "\n"), file: "builtin:demo")
            header.script = nil
        case .script(let path):
            let text = FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) } ?? ""
            header = RecordHeader.scanning(script: text, file: path)
        case .configs(let files):
            header = RecordHeader(configs: files.map { ($0, $0) })
        }
        header.terminal = (size.width, size.height)
        return header
    }

    static func runLine(_ line: String, origin: String, executor: Executor, recorder: SessionRecorder?,
                        post: @Sendable (CommandRunner.Outcome) -> Void) {
        do throws(CommandError) {
            guard let command = try CommandParser(origin: origin).parse(line: line) else { return }
            // Success needs no line of its own: the engine logs what the command did.
            _ = try run(command, text: line, source: .script, executor: executor, recorder: recorder)
        } catch {
            post(CommandRunner.log("\(origin): \(line): \(error.message)", error: true))
        }
    }
}
