#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import GuestImages
import Hypervisor
import Synchronization

/// Where a recorded command came from.
public enum CommandSource: String, Sendable {
    case script, console, hotkey
}

/// What the header says about the session's inputs, known before the first domain starts.
public struct RecordHeader: Sendable {
    /// Built-in image names (without `builtin:`) the session uses.
    public var images: [String] = []
    /// Config files the session reads, as the script names them, with their resolved paths.
    public var configs: [(name: String, path: String)] = []
    /// The terminal's size (nil headless).
    public var terminal: (columns: Int, rows: Int)?
    /// The script that was recorded (nil for the console).
    public var script: String?

    public init(images: [String] = [], configs: [(name: String, path: String)] = [], terminal: (columns: Int, rows: Int)? = nil,
                script: String? = nil) {
        self.images = images
        self.configs = configs
        self.terminal = terminal
        self.script = script
    }

    /// What a script will use: the built-in images and config files its `create` lines name.
    /// Lines that do not parse are left to the run to report.
    public static func scanning(script text: String, file: String) -> RecordHeader {
        let base = file == "-" ? nil : (file as NSString).deletingLastPathComponent
        var header = RecordHeader(script: file)
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            guard var words = try? CommandLexer.words(in: String(line)) else { continue }
            words.removeAll { $0 == "--json" }
            guard words.first?.lowercased() == "create", words.count > 1 else { continue }
            let parser = CommandParser(baseDirectory: base?.isEmpty == true ? "." : base, origin: file, line: index + 1)
            if !words[1].contains("="), !header.configs.contains(where: { $0.name == words[1] }) {
                header.configs.append((words[1], parser.resolvedPath(words[1])))
            }
            if case .create(let config)? = try? parser.parse(words: words), case .builtin(let name) = config.kernel,
               !header.images.contains(name) {
                header.images.append(name)
            }
        }
        return header
    }
}

/// A failure to write or read a session record.
public struct RecordError: Error, CustomStringConvertible, Sendable, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Writes a session record (see `RecordFormat`) as the session runs: the header when attached,
/// then every command at the engine's gate and every checkpoint the engine takes. Thread-safe:
/// checkpoints arrive on vCPU threads. Records reach the file whole and in `seq` order
/// (`RecordWriter`: through a shared mapping, so each is the kernel's once written).
public final class SessionRecorder: Sendable {
    public let path: String

    private struct State {
        var writer: RecordWriter
        var seq: UInt64 = 0
        var closed = false
        var writeError: String?
        /// The command line being run (from `recording`), waiting for its gate record.
        var pending: (text: String, source: CommandSource, uuid: String?)?
        var pendingWritten = false
        /// The record number the gate gave the pending command.
        var pendingSeq: UInt64 = 0
        var images: Set<String> = []
        /// The gate's last sequence number: the engine's logical time, for frames.
        var gateSequence: UInt64 = 0
        /// Each domain name's and vCPU's last checkpoint values (checkpoints are written as changes).
        var lastValues: [CheckpointSlot] = []
        /// The slot the last checkpoint used (the next is most often the same vCPU's).
        var lastSlot = 0
    }
    /// A domain name and vCPU with its last checkpoint's values. A short list searched from
    /// the last slot used: cheaper on the vCPU's thread than hashing the name every time.
    private struct CheckpointSlot {
        var domain: String
        var vcpu: Int
        var values: [UInt64]
    }
    private let state: Mutex<State>

    /// Creates (or truncates) `path` for a new record.
    public init(path: String) throws(RecordError) {
        self.path = path
        state = Mutex(State(writer: try RecordWriter(path: path)))
    }

    /// Writes the header and starts taking the engine's commands and checkpoints. Call before
    /// the first domain is created (the engine hands its checkpoint observer to new domains).
    public func attach(to engine: Engine, header: RecordHeader) {
        writeHeader(header, engine: engine)
        engine.gateObserver = { [weak self] record in self?.gate(record) }
        engine.checkpointObserver = { [weak self] checkpoint in self?.checkpoint(checkpoint) }
        engine.preemptionObserver = { [weak self] domain, vcpu, logical in self?.preemption(domain, vcpu: vcpu, logical: logical) }
    }

    /// Stops recording (later events are dropped) and closes the file; returns the first write
    /// error, if any.
    @discardableResult
    public func close() -> RecordError? {
        let error = state.withLock { s -> String? in
            guard !s.closed else { return s.writeError }
            s.closed = true
            if let error = s.writer.close(), s.writeError == nil { s.writeError = error }
            return s.writeError
        }
        return error.map { RecordError("record '\(path)': \($0)") }
    }

    /// Events written so far.
    public var eventCount: UInt64 { state.withLock { $0.seq } }

    /// Gives a `create` without a fixed UUID a random one now, so the record can carry it and a
    /// replay can give the guest the same UUID (the only random thing a guest can read).
    public func seeded(_ command: SessionCommand) -> SessionCommand {
        guard case .create(var config) = command, config.uuid == nil else { return command }
        config.uuid = .random()
        return .create(config)
    }

    /// Runs one command line, recording it as `text` from `source`. A state-changing command is
    /// written when the gate stamps it (so it precedes what it causes); a query after it ran.
    public func recording<T>(text: String, source: CommandSource, _ command: SessionCommand,
                             _ body: () throws(CommandError) -> T) throws(CommandError) -> T {
        var uuid: String?
        if case .create(let config) = command { uuid = config.uuid?.description }
        state.withLock { $0.pending = (text, source, uuid); $0.pendingWritten = false }
        let result: Result<T, CommandError>
        do throws(CommandError) { result = .success(try body()) } catch { result = .failure(error) }
        let (unwritten, writtenSeq) = state.withLock { s -> ((text: String, source: CommandSource, uuid: String?)?, UInt64?) in
            defer { s.pending = nil }
            return s.pendingWritten ? (nil, s.pendingSeq) : (s.pending, nil)
        }
        if let writtenSeq, case .failure(let error) = result {
            // The gate wrote it before it failed: say so, so a replay expects the failure.
            var json = begin("failed", logical: 0)
            json.key("command"); json.uint(writtenSeq)
            json.key("error"); json.string(error.message)
            emit(json)
        }
        if let unwritten {
            var failure: String?
            if case .failure(let error) = result { failure = error.message }
            writeCommand(text: unwritten.text, source: unwritten.source, domain: nil, uuid: nil, logical: 0, error: failure)
        }
        return try result.get()
    }

    // MARK: Events

    private func gate(_ record: GateRecord) {
        state.withLock { $0.gateSequence = record.sequence }
        let domain: String?
        switch record.command {
        case .lifecycleAction:
            return   // engine-internal: it follows from the guest's own shutdown, which replays
        case .consoleInput(let name, let bytes):
            var json = begin("input", logical: record.logicalTime)
            json.key("domain"); json.string(name)
            json.key("bytes"); json.string(bytes.map { String(format: "%02x", $0) }.joined())
            emit(json)
            return
        case .create(let config):
            domain = config.name
            if case .builtin(let name) = config.kernel { noteImage(name) }
        case .pause(let d), .unpause(let d), .shutdown(let d), .destroy(let d): domain = d
        case .schedule(let d, _, _): domain = d
        }
        let pending = state.withLock { s -> (text: String, source: CommandSource, uuid: String?)? in
            guard let p = s.pending, !s.pendingWritten else { return nil }
            s.pendingWritten = true
            return p
        }
        var uuid: String?, asynchronous: String?
        if case .create(let config) = record.command {
            uuid = config.uuid?.description
            asynchronous = Plan.notExact(config)
        }
        let seq = writeCommand(text: pending?.text ?? Self.reconstructed(record.command), source: pending?.source ?? .console, domain: domain,
                               uuid: uuid ?? pending?.uuid, logical: record.logicalTime, error: nil, asynchronous: asynchronous)
        if pending != nil { state.withLock { $0.pendingSeq = seq } }
    }

    /// A checkpoint, formatted straight into the record's pages (it is taken on the vCPU's
    /// thread at every hypercall): its values as changes from the last checkpoint of the same
    /// domain name and vCPU in this record (`RecordFormat`), worked out under the write lock so
    /// the record's order and the deltas' order are one.
    private func checkpoint(_ c: Checkpoint) {
        let wall = Self.nowMicroseconds()
        var name = c.domain
        let vcpu = c.vcpu ?? -1
        state.withLock { s in
            guard !s.closed else { return }
            // Everything but the name is bounded: 23 values of at most 20 bytes, and the keys.
            let size = 640 + name.utf8.count * 6
            guard let room = s.writer.reserve(size) else {
                if s.writeError == nil { s.writeError = "cannot grow the record" }
                return
            }
            s.seq += 1
            var line = LineCursor(room)
            line.put("{\"seq\":"); line.decimal(s.seq)
            line.put(",\"type\":\"checkpoint\",\"wall\":"); line.seconds(microseconds: wall)
            line.put(",\"logical\":"); line.decimal(c.logicalTime)
            line.put(",\"domain\":")
            if name.utf8.allSatisfy({ $0 >= 0x20 && $0 != 0x22 && $0 != 0x5c }) {
                line.byte(0x22)
                name.withUTF8 { line.put(UnsafeRawBufferPointer($0)) }
                line.byte(0x22)
            } else {
                var json = JSONBytes(capacity: name.utf8.count * 6 + 2)
                json.string(name)
                json.bytes.withUnsafeBytes { line.put($0) }
            }
            line.put(",\"reason\":\"")
            switch c.reason {
            case .hypercall: line.put("hypercall")
            case .exit: line.put("exit")
            case .shutdown: line.put("shutdown")
            case .crash: line.put("crash")
            case .end: line.put("end")
            }
            line.byte(0x22)
            if let vcpu = c.vcpu { line.put(",\"vcpu\":"); line.decimal(UInt64(vcpu)) }
            if let memory = c.memory { line.put(",\"memory\":\""); line.hex(memory); line.byte(0x22) }
            line.put(",\"set\":\"")
            var first = true
            var slot = s.lastSlot
            if slot >= s.lastValues.count || s.lastValues[slot].vcpu != vcpu || s.lastValues[slot].domain != name {
                slot = s.lastValues.firstIndex { $0.vcpu == vcpu && $0.domain == name } ?? s.lastValues.count
                if slot == s.lastValues.count { s.lastValues.append(CheckpointSlot(domain: name, vcpu: vcpu, values: [])) }
                s.lastValues[slot].domain = name   // shares the checkpoint's string
                s.lastSlot = slot
            }
            s.lastValues[slot].values.withUnsafeMutableBufferPointer { previous in
                for (i, value) in c.values.enumerated() where i >= previous.count ? value != 0 : previous[i] != value {
                    if !first { line.byte(0x20) }
                    first = false
                    line.decimal(UInt64(i)); line.byte(0x3d); line.hex(value)
                    if i < previous.count { previous[i] = value }
                }
            }
            if s.lastValues[slot].values.count != c.values.count { s.lastValues[slot].values = c.values }
            line.put("\"}")
            line.frame()
            if let error = s.writer.commit(line.count), s.writeError == nil { s.writeError = error }
        }
    }

    /// The scheduler's timer took a vCPU off its pCPU: an outside event. Exact domains do not
    /// depend on where it fell (their logical time counts only exits the guest caused); the
    /// record keeps it so a reader can see the schedule the recording ran under.
    private func preemption(_ domain: String, vcpu: Int, logical: UInt64) {
        var json = begin("preempt", logical: logical)
        json.key("domain"); json.string(domain)
        json.key("vcpu"); json.int(vcpu)
        emit(json)
    }

    /// A frame of the console's screen (`RecordedFrame`), stamped with the engine's logical time.
    public func frame(_ frame: RecordedFrame) {
        var json = begin("frame", logical: state.withLock { $0.gateSequence })
        json.key("columns"); json.int(frame.columns)
        json.key("rows"); json.int(frame.rows)
        if frame.full { json.key("full"); json.raw("true") }
        json.key("lines"); json.openArray()
        for row in frame.changed {
            json.openArray(); json.int(row.index); json.string(row.text); json.string(row.roles); json.closeArray()
        }
        json.closeArray()
        json.key("cursor")
        if let c = frame.cursor { json.openArray(); json.int(c.x); json.int(c.y); json.closeArray() } else { json.null() }
        json.key("digest"); json.hex(frame.digest)
        emit(json)
    }

    private func noteImage(_ name: String) {
        let isNew = state.withLock { $0.images.insert(name).inserted }
        guard isNew, let image = try? GuestImage.builtin(named: name) else { return }
        var json = begin("image", logical: 0)
        json.key("name"); json.string(name)
        json.key("sha256"); json.string(image.sha256Hex)
        emit(json)
    }

    @discardableResult
    private func writeCommand(text: String, source: CommandSource, domain: String?, uuid: String?, logical: UInt64, error: String?,
                              asynchronous: String? = nil) -> UInt64 {
        var json = begin("command", logical: logical)
        json.key("text"); json.string(text)
        json.key("source"); json.string(source.rawValue)
        if let domain { json.key("domain"); json.string(domain) }
        if let uuid { json.key("uuid"); json.string(uuid) }
        if let error { json.key("error"); json.string(error) }
        if let asynchronous { json.key("asynchronous"); json.string(asynchronous) }
        return emit(json)
    }

    /// The start of an event, up to its `logical` key; `emit` puts `seq` in front and closes it.
    private func begin(_ type: StaticString, logical: UInt64, capacity: Int = 256) -> JSONBytes {
        var json = JSONBytes(capacity: capacity + 64)
        json.key("type")
        json.openString()
        type.withUTF8Buffer { json.bytes.append(contentsOf: $0) }
        json.closeString()
        json.key("wall"); json.seconds(microseconds: Self.nowMicroseconds())
        json.key("logical"); json.uint(logical)
        return json
    }

    /// Numbers the event, frames it and writes it (in `seq` order); its `seq`.
    @discardableResult
    private func emit(_ body: JSONBytes) -> UInt64 {
        state.withLock { s -> UInt64 in
            guard !s.closed else { return 0 }
            s.seq += 1
            var json = JSONBytes(capacity: body.bytes.count + 40)
            json.open()
            json.key("seq"); json.uint(s.seq)
            json.bytes.append(0x2c)
            json.bytes.append(contentsOf: body.bytes)
            json.close()
            RecordFormat.frameInPlace(&json.bytes)
            if let error = s.writer.append(json.bytes), s.writeError == nil { s.writeError = error }
            return s.seq
        }
    }

    private func writeHeader(_ header: RecordHeader, engine: Engine) {
        var json = JSONBytes(capacity: 1024)
        json.open()
        json.key("type"); json.string("header")
        json.key("format"); json.string(RecordFormat.name)
        json.key("version"); json.int(RecordFormat.version)
        json.key("xkv_version"); json.string(RecordFormat.xkvVersion)
        json.key("build"); json.open()
        json.key("configuration"); json.string(RecordFormat.buildConfiguration)
        let executable = Self.executableIdentity()
        json.key("executable_bytes"); json.int(executable.bytes)
        json.key("executable_modified"); json.seconds(microseconds: executable.modifiedMicroseconds)
        json.close()
        json.key("host"); json.open()
        json.key("kind"); json.string(engine.host.kindShort)
        json.key("cpu"); json.string(engine.host.cpuModel)
        json.close()
        json.key("pcpus"); json.int(engine.snapshot().pcpus.count)
        json.key("terminal")
        if let t = header.terminal {
            json.open(); json.key("columns"); json.int(t.columns); json.key("rows"); json.int(t.rows); json.close()
        } else {
            json.null()
        }
        json.key("script")
        if let script = header.script { json.string(script) } else { json.null() }
        json.key("images"); json.open()
        for name in header.images {
            guard let image = try? GuestImage.builtin(named: name) else { continue }
            json.key(name); json.string(image.sha256Hex)
        }
        json.close()
        json.key("configs"); json.open()
        for config in header.configs {
            json.key(config.name)
            if let hash = Self.fileSHA256(config.path) { json.string(hash) } else { json.null() }
        }
        json.close()
        json.key("seeds"); json.open(); json.close()
        json.close()
        state.withLock { s in
            s.images.formUnion(header.images)
            if let error = s.writer.append(RecordFormat.frame(json.bytes)) { s.writeError = error }
        }
    }

    /// The running xkv binary's size and modification time: which build wrote a record.
    static func executableIdentity() -> (bytes: Int, modifiedMicroseconds: UInt64) {
        var info = stat()
        guard stat("/proc/self/exe", &info) == 0 else { return (0, 0) }
        return (Int(info.st_size), UInt64(max(0, info.st_mtim.tv_sec)) * 1_000_000 + UInt64(max(0, info.st_mtim.tv_nsec)) / 1000)
    }

    static func nowMicroseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(ts.tv_sec) * 1_000_000 + UInt64(ts.tv_nsec) / 1000
    }

    /// The SHA-256 of a config file: a regular file of at most 16 MiB (a record's header is
    /// untrusted, and `/dev/zero` never ends).
    static func fileSHA256(_ path: String) -> String? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              attributes[.type] as? FileAttributeType == .typeRegular,
              ((attributes[.size] as? NSNumber)?.intValue ?? Int.max) <= 16 << 20,
              let data = FileManager.default.contents(atPath: path) else { return nil }
        return GuestImage(name: path, bytes: [UInt8](data), summary: "").sha256Hex
    }

    /// A command line for a gate command that arrived without its text.
    static func reconstructed(_ command: Command) -> String {
        switch command {
        case .create(let c):
            return "create name=\(c.name) type=\(c.type.rawValue) kernel=\(c.kernel) memory=\(c.memoryMiB) vcpus=\(c.vcpus) cmdline=\"\(c.cmdline)\""
        default:
            return command.summary
        }
    }
}

extension CommandParser {
    /// The path a config-file argument is read from (the script's folder first, then the cwd).
    func resolvedPath(_ path: String) -> String {
        guard !path.hasPrefix("/"), let base = baseDirectory else { return path }
        let candidate = base + "/" + path
        return FileManager.default.fileExists(atPath: candidate) ? candidate : path
    }
}
