import CKVM
import Foundation
import GuestImages
import KVM
import Synchronization

/// The hypervisor engine: owns the domains, runs their vCPUs on dedicated threads, and applies
/// every command through one ordered gate. Front ends read `snapshot()` and call `execute`.
public final class Engine: @unchecked Sendable {
    public let kvm: KVMSystem
    public let host: HostInfo
    let cpuid: CPUIDModel

    private struct Tables {
        var domains: [Int: Domain] = [:]
        var ended: [DomainSnapshot] = []
        var nextID = 1
        var events: [EngineEvent] = []
        var restarts: [String: [Date]] = [:]
        /// Console output of ended domains, by name and by ID text.
        var endedConsoles: [String: String] = [:]
        /// Destroyed domains whose vCPUs did not stop in time: kept alive until they do, since
        /// the scheduler may still hold them.
        var zombies: [Domain] = []
    }
    private let tables = Mutex(Tables())
    /// Serializes commands: the gate's order is the order they take effect.
    private let gateLock = NSLock()
    private let journal = Mutex<(sequence: UInt64, records: [GateRecord])>((0, []))
    /// Broadcast on every state change, for `waitUntil`.
    private let changed = NSCondition()
    private let reaper = DispatchQueue(label: "xkv.engine.lifecycle")
    /// Called with each record as the gate stamps it (record/replay hooks in here).
    public var gateObserver: (@Sendable (GateRecord) -> Void)?
    /// Called with every domain checkpoint (see `Checkpoint`), on the thread that took it.
    /// Set before creating domains.
    public var checkpointObserver: (@Sendable (Checkpoint) -> Void)?
    /// Called when the scheduler's timer takes a vCPU off its pCPU (domain, vCPU, the domain's
    /// logical time then), on the vCPU's thread. Set before creating domains.
    public var preemptionObserver: (@Sendable (_ domain: String, _ vcpu: Int, _ logicalTime: UInt64) -> Void)?

    /// Replay: parks `name` (as paused) when its logical time reaches `logicalTime`, so a recorded
    /// command can be applied at exactly the point it was. `unpause` lets it run on.
    ///
    /// A domain an earlier halt holds runs on to the new point (a domain paused by a command
    /// stays paused). A vCPU blocked in the hypervisor is not woken: that would hand its guest
    /// a wake-up the recording never had; it parks when something real wakes it.
    public func halt(_ name: String, atLogicalTime logicalTime: UInt64) throws(DomainError) {
        let domain = try live(name)
        let resume = domain.lifecycle.withLock { l -> Bool in
            domain.haltAt.store(logicalTime, ordering: .releasing)
            guard l.heldAtHalt else { return false }
            l.heldAtHalt = false
            l.paused = false
            return true
        }
        if resume {
            domain.reschedule()
        } else if domain.logicalTime >= logicalTime {
            // Running in the guest (perhaps without exits for a while): out now, to park.
            for vcpu in domain.vcpus where vcpu.online { vcpu.vcpu.kick() }
        }
    }

    /// Replay: halts for domains not created yet, by name, one per creation in order (a
    /// restart creates the domain again): set before the create, so the guest never runs past.
    private let pendingHalts = Mutex<[String: [UInt64]]>([:])

    /// Replay: the next creations of `name` (a create, then any restarts) start with these
    /// halts, one each, in order.
    public func haltWhenCreated(_ name: String, atLogicalTimes times: [UInt64]) {
        pendingHalts.withLock { $0[name] = times.isEmpty ? nil : times }
    }

    /// Ended domains kept for scripts to inspect.
    static let endedLimit = 256
    static let eventLimit = 1000

    /// Runs the vCPUs on `pcpus` physical CPUs (host threads).
    let scheduler: Scheduler

    /// An engine on `kvm` with `pcpus` physical CPUs (default: one per host core).
    public init(kvm: KVMSystem, pcpus: Int? = nil) throws(KVMError) {
        self.kvm = kvm
        self.scheduler = Scheduler(pcpuCount: pcpus ?? ProcessInfo.processInfo.activeProcessorCount)
        self.cpuid = CPUIDModel(hostLeaves: try kvm.supportedCPUID())
        let hw = kvm.hostKind.hasHardwareVirtualization
        var caps = "xen-3.0-x86_64"
        if hw { caps += " hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64" }
        self.host = HostInfo(kind: kvm.hostKind.rawValue, kindShort: kvm.hostKind.shortName, hardwareVirtualization: hw,
                             cpuModel: HostKind.cpuModel(), cpus: ProcessInfo.processInfo.activeProcessorCount,
                             memoryMiB: Int(ProcessInfo.processInfo.physicalMemory >> 20), syncRegisters: kvm.hasSyncRegisters,
                             xenVersion: XenIdentity.versionString, capabilities: caps)
    }

    /// Opens /dev/kvm and starts an engine on it.
    public convenience init(pcpus: Int? = nil) throws(KVMError) {
        try self.init(kvm: KVMSystem(), pcpus: pcpus)
    }

    deinit {
        shutdownAll()
        scheduler.stop()
    }

    // MARK: The gate

    /// Applies one command, in gate order. Returns the created domain's ID for `create`.
    @discardableResult
    public func execute(_ command: Command) throws(DomainError) -> Int? {
        gateLock.lock()
        defer { gateLock.unlock() }
        stamp(command)
        defer { notifyChanged() }
        switch command {
        case .create(let config):
            return try create(config)
        case .pause(let name):
            let domain = try live(name)
            guard domain.shutdownReason == nil else { throw .invalidState("domain '\(domain.name)' is not running") }
            domain.setPaused(true)
            record("domain \(domain.name) (\(domain.id)) paused")
        case .unpause(let name):
            let domain = try live(name)
            domain.setPaused(false)
            record("domain \(domain.name) (\(domain.id)) unpaused")
        case .shutdown(let name):
            let domain = try live(name)
            guard domain.shutdownReason == nil else { throw .invalidState("domain '\(domain.name)' is already shut down") }
            domain.guestShutdown(reason: .poweroff, vcpu: 0)
        case .destroy(let name):
            destroy(try live(name), reason: "destroyed by command")
        case .consoleInput(let name, let bytes):
            let domain = try live(name)
            try domain.deliverConsoleInput(bytes)
        case .lifecycleAction(let id):
            applyLifecycleAction(id)
        case .schedule(let name, let weight, let cap):
            let domain = try live(name)
            if let weight {
                guard (1...65535).contains(weight) else { throw .invalidState("weight must be 1...65535 (got \(weight))") }
                domain.weight = weight
            }
            if let cap {
                guard (0...100 * scheduler.pcpus.count).contains(cap) else {
                    throw .invalidState("cap must be 0 (none) ... \(100 * scheduler.pcpus.count) % (got \(cap))")
                }
                domain.cap = cap
            }
            record("domain \(domain.name) (\(domain.id)) scheduler: weight \(domain.weight), cap \(domain.cap)")
        }
        return nil
    }

    private func stamp(_ command: Command) {
        let logical: UInt64
        if let target = command.target, let domain = try? live(target) {
            logical = domain.logicalTime   // guest-caused exits: kicks are the host's, not the guest's
        } else {
            logical = journal.withLock { $0.sequence }
        }
        let record = journal.withLock { j -> GateRecord in
            j.sequence += 1
            let r = GateRecord(sequence: j.sequence, logicalTime: logical, wallTime: Date().timeIntervalSince1970, command: command)
            j.records.append(r)
            if j.records.count > 10_000 { j.records.removeFirst(j.records.count - 10_000) }
            return r
        }
        gateObserver?(record)
    }

    /// The gate's records so far (bounded to the last 10,000).
    public var gateRecords: [GateRecord] { journal.withLock { $0.records } }

    // MARK: Domains

    private func live(_ name: String) throws(DomainError) -> Domain {
        let found = tables.withLock { t in t.domains.values.first { $0.name == name || String($0.id) == name } }
        guard let found else { throw .unknownDomain(name) }
        return found
    }

    private func create(_ config: DomainConfig) throws(DomainError) -> Int {
        switch config.type {
        case .pv: break
        case .hvm:
            guard host.hardwareVirtualization else {
                throw .unsupported("type=hvm needs hardware virtualization (VT-x/AMD-V), and this host's KVM is \(host.kind): an unmodified HVM kernel's ring 0 cannot run here (its syscall lands at LSTAR still in ring 3). Use type=pv.")
            }
            break
        case .pvh:
            throw .unsupported("type=pvh is not supported yet; use type=pv")
        }
        guard config.name != "Domain-0", !config.name.isEmpty else { throw .invalidState("the name '\(config.name)' is reserved") }
        guard config.vcpus >= 1 && config.vcpus <= DomainConfig.maximumVCPUs else { throw .invalidState("vcpus must be 1...\(DomainConfig.maximumVCPUs)") }
        guard config.memoryMiB >= 1 && config.memoryMiB <= DomainConfig.maximumMemoryMiB else {
            throw .invalidState("memory must be 1...\(DomainConfig.maximumMemoryMiB) MiB")
        }
        // Guest memory is claimed as the guest touches it; like Xen, count what live domains were
        // promised, so several large domains cannot each pass on the same free memory.
        let available = Self.availableHostMemoryMiB()
        let promised = tables.withLock { $0.domains.values.reduce(0) { $0 + $1.config.memoryMiB } }
        guard config.memoryMiB <= available, promised + config.memoryMiB <= host.memoryMiB else {
            throw .hostCannotGive("memory=\(config.memoryMiB) MiB is more than this host can give (\(available) MiB available, \(promised) MiB promised to running domains)")
        }
        let id = try tables.withLock { t throws(DomainError) -> Int in
            guard !t.domains.values.contains(where: { $0.name == config.name }) else { throw .nameInUse(config.name) }
            defer { t.nextID += 1 }
            return t.nextID
        }
        let started = ckvm_monotonic_ns()
        let image = try loadImage(config.kernel)
        let domain = config.type == .hvm ? try buildHVM(id: id, config: config, image: image)
                                         : try buildPV(id: id, config: config, image: image)
        domain.createStartedAt = started
        let inUse = tables.withLock { t -> Bool in
            if t.domains.values.contains(where: { $0.name == config.name }) { return true }
            t.domains[id] = domain
            return false
        }
        guard !inUse else { throw .nameInUse(config.name) }
        start(domain)
        record("domain \(domain.name) (\(id)) created: \(config.kernel), \(config.memoryMiB) MiB, \(config.vcpus) vCPU(s)")
        return id
    }

    private func loadImage(_ source: KernelSource) throws(DomainError) -> ELFImage {
        let bytes: [UInt8]
        switch source {
        case .builtin(let name):
            do { bytes = try GuestImage.builtin(named: name).bytes } catch { throw .badImage(error.description) }
        case .file(let path):
            guard let data = FileManager.default.contents(atPath: path) else { throw .badImage("cannot read kernel '\(path)'") }
            bytes = [UInt8](data)
        }
        do { return try ELFImage(bytes) } catch { throw .badImage("kernel \(source): \(error)") }
    }

    private func buildPV(id: Int, config: DomainConfig, image: ELFImage) throws(DomainError) -> Domain {
        if image.is32Bit && config.vcpus > 1 {
            throw .unsupported("32-bit PV domains have one vCPU in this build (vcpus=\(config.vcpus))")
        }
        do {
            let vm = try kvm.createVM()
            let ramBytes = UInt64(config.memoryMiB) << 20
            let nrPages = ramBytes >> 12
            try vm.addMemory(guestPhysical: 0, size: ramBytes)
            let privateBase = (ramBytes + 0x1f_ffff) & ~0x1f_ffff
            let frames = PrivateLayout(nrPages: nrPages, compat: image.is32Bit)
            try vm.addMemory(guestPhysical: privateBase, size: frames.count * 4096)
            let memory = PVMemory(nrPages: nrPages, privateBase: privateBase, layout: frames, compat: image.is32Bit, physical: vm.memory)
            let builder = PVDomainBuilder(image: image, memory: memory, cmdline: config.cmdline)
            let layout = try builder.build()
            let domain = Domain(id: id, config: config, uuid: config.uuid ?? .random(), vm: vm, memory: memory, layout: layout,
                                cpuid: cpuid, engineInfo: EngineInfo(capabilities: host.capabilities, hostIsPVM: kvm.hostKind == .pvm))
            var vcpus: [PVVCPU] = []
            for index in 0..<config.vcpus {
                let vcpu = try vm.createVCPU(id: index)
                try PVBoot.prepare(vcpu, layout: layout, cpuid: cpuid, boot: index == 0)
                let pv = PVVCPU(vcpu: vcpu, domain: domain)
                pv.kernelBase = layout.rootTableMFN << 12
                pv.compat = layout.compat
                vcpus.append(pv)
            }
            domain.attach(vcpus)
            return domain
        } catch {
            throw Self.buildError(error)
        }
    }

    /// An HVM domain: guest RAM only (no hypervisor hole; the guest owns ring 0), xkv's HVM
    /// boot, SMBIOS and CPUID identity, and the debug-console and power device models.
    private func buildHVM(id: Int, config: DomainConfig, image: ELFImage) throws(DomainError) -> Domain {
        do {
            let vm = try kvm.createVM()
            let ramBytes = UInt64(config.memoryMiB) << 20
            try vm.addMemory(guestPhysical: 0, size: ramBytes)
            if kvm.hostKind == .vmx { try vm.setTSSAddress(0xfffb_d000) }
            let uuid = config.uuid ?? .random()
            let entry = try HVMDomainBuilder(image: image, physical: vm.memory, memoryBytes: ramBytes, cmdline: config.cmdline,
                                             uuid: uuid).build()
            let memory = PVMemory(nrPages: ramBytes >> 12, privateBase: ramBytes, layout: PrivateLayout(nrPages: 0, compat: false),
                                  compat: false, physical: vm.memory)
            let layout = PVBootLayout(virtBase: 0, entry: entry, hypercallPage: nil, startInfo: 0, p2m: 0, xenstoreMFN: 0, consoleMFN: 0,
                                      sharedInfoMFN: 0, pageTableBase: HVMDomainBuilder.pml4Address, rootTableMFN: HVMDomainBuilder.pml4Address >> 12,
                                      pageTableFrames: 6, stackTop: HVMDomainBuilder.stackTop, mappedEnd: 1 << 32, guestOS: "hvm",
                                      reportPage: image.reportPage.flatMap { $0 < ramBytes && $0 & 0xfff == 0 ? $0 : nil },
                                      compat: false, hardwareRoot: HVMDomainBuilder.pml4Address)
            let domain = Domain(id: id, config: config, uuid: uuid, vm: vm, memory: memory, layout: layout, cpuid: cpuid,
                                engineInfo: EngineInfo(capabilities: host.capabilities, hostIsPVM: false))
            var vcpus: [PVVCPU] = []
            for index in 0..<config.vcpus {
                let vcpu = try vm.createVCPU(id: index)
                try HVMDomainBuilder.prepare(vcpu, entry: entry, cpuid: cpuid)
                let v = PVVCPU(vcpu: vcpu, domain: domain)
                v.hvm = true
                vcpus.append(v)
            }
            domain.attach(vcpus)
            return domain
        } catch {
            throw Self.buildError(error)
        }
    }

    /// A builder's failure as the domain error a command reports.
    private static func buildError(_ error: any Error) -> DomainError {
        switch error {
        case let error as DomainError: return error
        case let error as KVMError where error.operation == "mmap": return .hostCannotGive(error.message)
        case let error as KVMError: return .kvm(error.message)
        default: return .kvm("\(error)")
        }
    }

    private func start(_ domain: Domain) {
        domain.log = { [weak self] in self?.record($0) }
        domain.checkpointObserver = checkpointObserver
        domain.preemptionObserver = preemptionObserver
        domain.onHalt = { [weak self] _ in self?.notifyChanged() }
        domain.onStop = { [weak self] stopped in
            self?.reaper.async { [weak self] in _ = try? self?.execute(.lifecycleAction(domainID: stopped.id)) }
            self?.notifyChanged()
        }
        // Secondary vCPUs stay down until the guest brings them up (VCPUOP_up), as on Xen.
        let boot = domain.vcpus[0]
        boot.online = true
        domain.scheduler = scheduler
        domain.lifecycle.withLock { $0.activeVCPUs = 1 }
        if let halt = pendingHalts.withLock({ p -> UInt64? in
            guard var queue = p[domain.name], !queue.isEmpty else { return nil }
            let first = queue.removeFirst()
            p[domain.name] = queue.isEmpty ? nil : queue
            return first
        }) {
            domain.haltAt.store(halt, ordering: .releasing)
        }
        scheduler.enqueue(boot)
    }

    /// Stops the domain's vCPUs, waits for their threads, and forgets it (keeping a final snapshot).
    private func destroy(_ domain: Domain, reason: String) {
        // Once: the reaper's on_poweroff action and shutdownAll can both come for a domain.
        let first = domain.lifecycle.withLock { l -> Bool in
            defer { l.dying = true }
            return !l.dying
        }
        guard first, tables.withLock({ $0.domains[domain.id] != nil }) else { return }
        domain.stopAllVCPUs()
        let deadline = Date().addingTimeInterval(10)
        domain.wake.lock()
        while domain.lifecycle.withLock({ $0.activeVCPUs }) > 0 && Date() < deadline {
            _ = domain.wake.wait(until: min(deadline, Date().addingTimeInterval(0.05)))
            for vcpu in domain.vcpus { vcpu.vcpu.kick() }
        }
        domain.wake.unlock()
        domain.drainConsoleRing()
        if let observe = checkpointObserver {
            // What is deterministic where a command ends a domain: how far it got and its counters.
            observe(domain.endCheckpoint())
        }
        let console = domain.console.text
        var final = snapshot(of: domain)
        final.alive = false
        final.state.dying = false
        let stopped = domain.lifecycle.withLock { $0.activeVCPUs } == 0
        tables.withLock { t in
            t.domains[domain.id] = nil
            t.zombies.removeAll { $0.lifecycle.withLock { $0.activeVCPUs } == 0 }
            if !stopped { t.zombies.append(domain) }
            t.ended.append(final)
            t.endedConsoles[domain.name] = console
            t.endedConsoles[String(domain.id)] = console
            if t.endedConsoles.count > 2 * Self.endedLimit { t.endedConsoles = [domain.name: console, String(domain.id): console] }
            if t.ended.count > Self.endedLimit { t.ended.removeFirst(t.ended.count - Self.endedLimit) }
        }
        record("domain \(domain.name) (\(domain.id)) destroyed (\(reason))")
    }

    private func applyLifecycleAction(_ id: Int) {
        guard let domain = tables.withLock({ $0.domains[id] }) else { return }
        guard let reason = domain.shutdownReason else { return }
        let action: LifecycleAction
        switch reason {
        case .crash: action = domain.config.onCrash
        case .reboot: action = domain.config.onReboot
        default: action = domain.config.onPoweroff
        }
        switch action {
        case .preserve:
            record("domain \(domain.name) (\(id)) preserved after \(reason.name)")
        case .destroy:
            destroy(domain, reason: "on_\(reason == .crash ? "crash" : reason == .reboot ? "reboot" : "poweroff")=destroy")
        case .restart:
            destroy(domain, reason: "restarting after \(reason.name)")
            let now = Date()
            let recent = tables.withLock { t -> Int in
                let kept = (t.restarts[domain.name] ?? []).filter { now.timeIntervalSince($0) < 10 } + [now]
                t.restarts[domain.name] = kept
                return kept.count
            }
            guard recent <= 5 else {
                record("domain \(domain.name) restarted \(recent) times in 10 s; not restarting again")
                return
            }
            // As xl does, the new incarnation keeps the domain's UUID (a guest can read it, and a
            // replay must give it the same one; the record only has the first create's).
            var config = domain.config
            config.uuid = domain.uuid
            do { _ = try create(config) } catch { record("restart of \(domain.name) failed: \(error)") }
        }
    }

    // MARK: Reading

    public func snapshot() -> EngineSnapshot {
        let (domains, ended, events) = tables.withLock { ($0.domains.values.sorted { $0.id < $1.id }, $0.ended, $0.events) }
        return EngineSnapshot(host: host, domains: domains.map { snapshot(of: $0) }, ended: ended, events: events,
                              commandsExecuted: journal.withLock { $0.sequence }, pcpus: scheduler.pcpuSnapshots(),
                              globalIDT: HypervisorHole.gates(compat: false))
    }

    private func snapshot(of d: Domain) -> DomainSnapshot {
        var per = d.vcpus.map { $0.published.withLock { $0.counters } }
        if d.memory.compat, let boot = d.vcpus.first, !per.isEmpty {
            // Counted by xkv's ring-0 code (32-bit PV domains have one vCPU).
            for (kind, n) in boot.ring0Compensations { per[0].compensations[kind.rawValue] += n }
        }
        var total = VCPUCounters()
        for c in per { total.add(c) }
        let report = d.guestReport
        return DomainSnapshot(id: d.id, name: d.name, uuid: d.uuid.description, type: d.config.type, memoryMiB: d.config.memoryMiB,
                              vcpus: d.config.vcpus, state: d.state, cpuSeconds: d.cpuSeconds, counters: total, perVCPU: per,
                              shutdownReason: d.shutdownReason, crashReason: d.crashReason, kernel: d.config.kernel.description,
                              cmdline: d.config.cmdline, guestOS: d.layout.guestOS,
                              kind: d.config.type == .hvm ? "hvm" : (d.memory.compat ? "pv32" : "pv64"), alive: true,
                              trapTables: d.vcpus.map { $0.trapTable.registered },
                              syscalls: SyscallCounts(routed: total.syscallsRouted, directGuestReported: report?.int80Direct ?? 0, gateInstalls: total.gateInstalls,
                                                      visible: d.config.type != .hvm),
                              vcpuInfo: d.vcpus.map { v in
                                  let state: Character
                                  switch v.runState.load(ordering: .relaxed) {
                                  case 1: state = "r"
                                  case 2: state = "b"
                                  case 3: state = "s"
                                  default: state = d.lifecycle.withLock { $0.paused } ? "p" : (v.online ? "-" : "o")
                                  }
                                  let pcpu = v.currentPCPU.load(ordering: .relaxed)
                                  return VCPUInfo(id: v.id, state: state, pcpu: pcpu >= 0 ? pcpu : nil, cpuSeconds: Double(v.cpuNanoseconds) / 1e9)
                              },
                              guestReport: report, weight: d.weight, cap: d.cap, logicalTime: d.logicalTime,
                              createToFirstHypercallNanoseconds: d.firstHypercallAt.load(ordering: .relaxed) == 0 ? nil
                                  : d.firstHypercallAt.load(ordering: .relaxed) &- d.createStartedAt)
    }

    /// A domain's console output (live or ended).
    public func consoleText(_ name: String) throws(DomainError) -> String {
        if let domain = try? live(name) {
            domain.drainConsoleRing()
            return domain.console.text
        }
        if let text = tables.withLock({ t in t.endedConsoles[name] }) { return text }
        throw .unknownDomain(name)
    }

    /// Blocks until `predicate` holds for a snapshot or `timeout` seconds pass; true if it held.
    public func waitUntil(timeout: Double, _ predicate: (EngineSnapshot) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        changed.lock()
        defer { changed.unlock() }
        while true {
            if predicate(snapshot()) { return true }
            if Date() >= deadline { return false }
            // State such as running/blocked changes without a notification: look again often.
            _ = changed.wait(until: min(deadline, Date().addingTimeInterval(0.02)))
        }
    }

    private func notifyChanged() {
        changed.lock()
        changed.broadcast()
        changed.unlock()
    }

    /// A front end's line in the engine's event log (so every view, and a recording, sees it).
    public func note(_ message: String) { record(message) }

    func record(_ message: String) {
        tables.withLock { t in
            t.events.append(EngineEvent(wallTime: Date().timeIntervalSince1970, message: message))
            if t.events.count > Self.eventLimit { t.events.removeFirst(t.events.count - Self.eventLimit) }
        }
        notifyChanged()
    }

    /// Host memory that can still be handed to guests (MemAvailable), in MiB.
    static func availableHostMemoryMiB() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return Int.max }
        for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            let kib = line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
            return kib / 1024
        }
        return Int.max
    }

    /// Stops every domain (for process exit).
    public func shutdownAll() {
        gateLock.lock()
        // Read under the gate: a lifecycle action (a restart) may have changed the list.
        let all = tables.withLock { Array($0.domains.values) }.sorted { $0.id < $1.id }
        for domain in all { destroy(domain, reason: "xkv exiting") }
        gateLock.unlock()
    }
}
