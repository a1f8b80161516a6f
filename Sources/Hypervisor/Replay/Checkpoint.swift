import KVM

/// A digest of one domain's state at a deterministic point of its run, for record and replay
/// (DESIGN.md, "One way in"). Checkpoints are taken where the guest itself stops — at each
/// hypercall, at its shutdown or crash — and when a command ends it ("end", with only what is
/// deterministic there). Their `logicalTime` is the domain's count of guest-caused exits, which
/// host scheduling does not change (kicks out of KVM_RUN are not counted).
public struct Checkpoint: Sendable, Equatable {
    public struct Field: Sendable, Equatable {
        public var name: String
        public var value: String
        public init(_ name: String, _ value: String) { self.name = name; self.value = value }
    }

    public var domain: String
    public var logicalTime: UInt64
    /// `hypercall`, `shutdown`, `crash` or `end`.
    public var reason: String
    /// Named values, in a fixed order, so a divergence can say which one differs.
    public var fields: [Field]

    public init(domain: String, logicalTime: UInt64, reason: String, fields: [Field]) {
        self.domain = domain
        self.logicalTime = logicalTime
        self.reason = reason
        self.fields = fields
    }

    /// A 64-bit FNV-1a digest of every field.
    public var digest: String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for field in fields {
            for byte in field.name.utf8 + [0x3d] + field.value.utf8 + [0x0a] {
                hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
            }
        }
        return String(hash, radix: 16)
    }

    /// The first field whose value differs from `other`'s (or that only one of them has).
    public func firstDifference(from other: Checkpoint) -> (field: String, mine: String, theirs: String)? {
        if logicalTime != other.logicalTime { return ("logical_time", String(logicalTime), String(other.logicalTime)) }
        if reason != other.reason { return ("reason", reason, other.reason) }
        for (index, field) in fields.enumerated() {
            guard index < other.fields.count else { return (field.name, field.value, "(missing)") }
            let theirs = other.fields[index]
            if theirs.name != field.name || theirs.value != field.value { return (field.name, field.value, theirs.value) }
        }
        if other.fields.count > fields.count { return (other.fields[fields.count].name, "(missing)", other.fields[fields.count].value) }
        return nil
    }
}

extension Domain {
    /// Guest-caused exits so far, summed over the vCPUs: the domain's logical time.
    var logicalTime: UInt64 {
        vcpus.reduce(0) { total, v in
            let c = v.published.withLock { $0.counters }
            return total + c.totalExits - c.exits[ExitReason.interrupted.rawValue]
        }
    }

    /// A 64-bit digest of guest RAM (8 bytes at a time; a multiply-xorshift mix per word).
    func memoryDigest() -> String {
        guard let region = memory.physical.regions.first(where: { $0.guestPhysical == 0 }) else { return "none" }
        let words = region.host.assumingMemoryBound(to: UInt64.self)
        let count = Int(min(region.size, memory.nrPages * 4096) / 8)
        var hash: UInt64 = 0x9e37_79b9_7f4a_7c15
        for i in 0..<count {
            hash = (hash ^ words[i]) &* 0xff51_afd7_ed55_8ccd
            hash ^= hash >> 29
        }
        return String(hash, radix: 16)
    }

    /// Counters that only the guest's own actions move (no timing, no scheduling).
    func deterministicCounters() -> [Checkpoint.Field] {
        var total = VCPUCounters()
        for v in vcpus { total.add(v.published.withLock { $0.counters }) }
        var hypercallHash: UInt64 = 0
        for (i, n) in total.hypercalls.enumerated() where n > 0 { hypercallHash = hypercallHash &* 31 &+ UInt64(i) << 40 &+ n }
        var exceptionHash: UInt64 = 0
        for (i, n) in total.exceptionsBounced.enumerated() where n > 0 { exceptionHash = exceptionHash &* 31 &+ UInt64(i) << 40 &+ n }
        return [
            .init("hypercalls", String(total.totalHypercalls)),
            .init("hypercalls_by_number", String(hypercallHash, radix: 16)),
            .init("exceptions_by_vector", String(exceptionHash, radix: 16)),
            .init("syscalls_routed", String(total.syscallsRouted)),
        ]
    }
}

extension PVVCPU {
    /// The vCPU's registers as checkpoint fields.
    func registerFields() -> [Checkpoint.Field] {
        let r = vcpu.registers
        let values: [(String, UInt64)] = [("rip", r.rip), ("rflags", r.rflags), ("rax", r.rax), ("rbx", r.rbx), ("rcx", r.rcx),
                                          ("rdx", r.rdx), ("rsi", r.rsi), ("rdi", r.rdi), ("rsp", r.rsp), ("rbp", r.rbp),
                                          ("r8", r.r8), ("r9", r.r9), ("r10", r.r10), ("r11", r.r11), ("r12", r.r12),
                                          ("r13", r.r13), ("r14", r.r14), ("r15", r.r15)]
        return values.map { .init($0.0, String($0.1, radix: 16)) }
    }

    /// Tells the engine's observer about a checkpoint of this vCPU's domain (on this thread).
    func checkpoint(_ reason: String, memory: Bool) {
        guard let observe = domain.checkpointObserver else { return }
        var fields = [Checkpoint.Field("vcpu", String(id))] + registerFields() + domain.deterministicCounters()
        if memory { fields.append(.init("memory", domain.memoryDigest())) }
        observe(Checkpoint(domain: domain.name, logicalTime: domain.logicalTime, reason: reason, fields: fields))
    }
}
