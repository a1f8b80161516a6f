import Foundation
import KVM

/// A digest of one domain's state at a deterministic point of its run, for record and replay
/// (DESIGN.md, "One way in"). Checkpoints are taken where the guest itself stops — at each
/// hypercall, at every `Checkpoint.exitInterval`-th other guest-caused exit, at its shutdown or
/// crash — and when a command ends it ("end", with only what is deterministic there). Their
/// `logicalTime` is the domain's count of guest-caused exits, which host scheduling does not
/// change (kicks out of KVM_RUN are not counted).
///
/// The state is numbers, not text: a checkpoint is taken on the vCPU's thread at every
/// hypercall, so taking one must cost next to nothing (issue 5: recording costs <= 5%).
public struct Checkpoint: Sendable, Equatable {
    public enum Reason: String, Sendable, CaseIterable {
        /// At a hypercall's return (registers as the guest will see them).
        case hypercall
        /// At the `exitInterval`-th guest-caused exit since the vCPU's last checkpoint.
        case exit
        case shutdown, crash
        /// Where a command (destroy, the end of the session) ended the domain.
        case end
    }

    public var domain: String
    public var logicalTime: UInt64
    public var reason: Reason
    /// The vCPU it was taken on; nil for `end` (taken by the engine, with counters only).
    public var vcpu: Int?
    /// The state, in the order of `names` (`vcpuNames` or `counterNames`).
    public var values: [UInt64]
    /// A digest of guest RAM, when this checkpoint carries one.
    public var memory: UInt64?

    /// Checkpoints at other guest-caused exits come at least this often (exits of a vCPU).
    public static let exitInterval: UInt64 = 64

    /// What a vCPU checkpoint holds: the registers, then the domain's deterministic counters.
    public static let vcpuNames = ["rip", "rflags", "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rsp", "rbp",
                                   "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"] + counterNames
    /// Counters that only the guest's own actions move (no timing, no scheduling).
    public static let counterNames = ["hypercalls", "hypercalls_by_number", "exceptions_by_vector", "syscalls_routed"]

    public init(domain: String, logicalTime: UInt64, reason: Reason, vcpu: Int?, values: [UInt64], memory: UInt64? = nil) {
        self.domain = domain
        self.logicalTime = logicalTime
        self.reason = reason
        self.vcpu = vcpu
        self.values = values
        self.memory = memory
    }

    /// The names of `values`.
    public var names: [String] { vcpu == nil ? Self.counterNames : Self.vcpuNames }

    /// Every field as `name`, `value` (hex for registers and digests), for people to read.
    public var fields: [(name: String, value: String)] {
        var all: [(String, String)] = []
        if let vcpu { all.append(("vcpu", String(vcpu))) }
        for (name, value) in zip(names, values) { all.append((name, String(value, radix: 16))) }
        if let memory { all.append(("memory", String(memory, radix: 16))) }
        return all
    }

    /// The first field whose value differs from `other`'s (or that only one of them has).
    public func firstDifference(from other: Checkpoint) -> (field: String, mine: String, theirs: String)? {
        if logicalTime != other.logicalTime { return ("logical_time", String(logicalTime), String(other.logicalTime)) }
        if reason != other.reason { return ("reason", reason.rawValue, other.reason.rawValue) }
        if vcpu != other.vcpu { return ("vcpu", vcpu.map(String.init) ?? "none", other.vcpu.map(String.init) ?? "none") }
        let mine = fields, theirs = other.fields
        for (index, field) in mine.enumerated() {
            guard index < theirs.count else { return (field.name, field.value, "(missing)") }
            if theirs[index].name != field.name || theirs[index].value != field.value { return (field.name, field.value, theirs[index].value) }
        }
        if theirs.count > mine.count { return (theirs[mine.count].name, "(missing)", theirs[mine.count].value) }
        return nil
    }
}

extension Domain {
    /// Guest-caused exits so far, summed over the vCPUs: the domain's logical time.
    var logicalTime: UInt64 {
        vcpus.reduce(0) { total, v in total &+ v.published.withLock { $0.counters.guestExits } }
    }

    /// A 64-bit digest of guest RAM: every page holding something other than zeros, by its
    /// number and contents (multiply-xorshift over 8-byte words, four lanes a page).
    ///
    /// Pages the host never backed (mincore) are zeros and are skipped without touching them:
    /// reading them would fault in every untouched page of the domain (4 ms for 16 MiB here).
    /// Zero pages count as nothing either way, so the digest does not depend on residency.
    func memoryDigest() -> UInt64 {
        guard let region = memory.physical.regions.first(where: { $0.guestPhysical == 0 }) else { return 0 }
        let pageSize = 4096
        let pages = Int(min(region.size, memory.nrPages * 4096)) / pageSize
        var resident = [UInt8](repeating: 1, count: pages)
        if mincore(region.host, pages * pageSize, &resident) != 0 { resident = [UInt8](repeating: 1, count: pages) }
        let words = UnsafePointer(region.host.assumingMemoryBound(to: UInt64.self))
        @inline(__always) func mix(_ h: inout UInt64, _ w: UInt64) {
            h = (h ^ w) &* 0xff51_afd7_ed55_8ccd
            h ^= h >> 29
        }
        var hash: UInt64 = 0x9e37_79b9_7f4a_7c15
        for page in 0..<pages where resident[page] & 1 != 0 {
            let w = words + page * (pageSize / 8)
            var any: UInt64 = 0
            for i in 0..<pageSize / 8 { any |= w[i] }
            guard any != 0 else { continue }
            var lanes: (UInt64, UInt64, UInt64, UInt64) = (UInt64(page), 0xbf58_476d_1ce4_e5b9, 0x94d0_49bb_1331_11eb, 0x2545_f491_4f6c_dd1d)
            var i = 0
            while i < pageSize / 8 {
                mix(&lanes.0, w[i]); mix(&lanes.1, w[i + 1]); mix(&lanes.2, w[i + 2]); mix(&lanes.3, w[i + 3])
                i += 4
            }
            mix(&hash, lanes.0); mix(&hash, lanes.1); mix(&hash, lanes.2); mix(&hash, lanes.3)
        }
        return hash
    }

    /// `Checkpoint.counterNames`, summed over the vCPUs, and the logical time (one lock a vCPU).
    @discardableResult
    func appendDeterministicCounters(to values: inout [UInt64]) -> UInt64 {
        var hypercalls: UInt64 = 0, byNumber: UInt64 = 0, byVector: UInt64 = 0, routed: UInt64 = 0, logical: UInt64 = 0
        for v in vcpus {
            v.published.withLock { p in
                hypercalls &+= p.counters.hypercallTotal
                byNumber &+= p.counters.hypercallSignature
                byVector &+= p.counters.exceptionSignature
                routed &+= p.counters.syscallsRouted
                logical &+= p.counters.guestExits
            }
        }
        values.append(hypercalls)
        values.append(byNumber)
        values.append(byVector)
        values.append(routed)
        return logical
    }

    /// The `end` checkpoint: where a command ended the domain, and its counters.
    func endCheckpoint() -> Checkpoint {
        var values: [UInt64] = []
        values.reserveCapacity(Checkpoint.counterNames.count)
        let logical = appendDeterministicCounters(to: &values)
        return Checkpoint(domain: name, logicalTime: logical, reason: .end, vcpu: nil, values: values)
    }
}

extension PVVCPU {
    /// Tells the engine's observer about a checkpoint of this vCPU's domain (on this thread).
    func checkpoint(_ reason: Checkpoint.Reason, memory: Bool) {
        guard let observe = domain.checkpointObserver else { return }
        exitsSinceCheckpoint = 0
        let r = vcpu.registers
        // One buffer per vCPU, reused: an observer that keeps the checkpoint keeps a copy.
        var values = checkpointValues
        checkpointValues = []
        values.removeAll(keepingCapacity: true)
        values.reserveCapacity(Checkpoint.vcpuNames.count)
        values.append(r.rip); values.append(r.rflags); values.append(r.rax); values.append(r.rbx); values.append(r.rcx)
        values.append(r.rdx); values.append(r.rsi); values.append(r.rdi); values.append(r.rsp); values.append(r.rbp)
        values.append(r.r8); values.append(r.r9); values.append(r.r10); values.append(r.r11); values.append(r.r12)
        values.append(r.r13); values.append(r.r14); values.append(r.r15)
        let logical = domain.appendDeterministicCounters(to: &values)
        observe(Checkpoint(domain: domain.name, logicalTime: logical, reason: reason, vcpu: id, values: values,
                           memory: memory ? domain.memoryDigest() : nil))
        checkpointValues = values
    }

    /// After a guest-caused exit that took no checkpoint of its own: one every
    /// `Checkpoint.exitInterval` such exits, so a domain that makes no hypercalls is still checked.
    func countExitTowardsCheckpoint() {
        guard domain.takesCheckpoints else { return }
        exitsSinceCheckpoint += 1
        if exitsSinceCheckpoint >= Checkpoint.exitInterval { checkpoint(.exit, memory: false) }
    }
}
