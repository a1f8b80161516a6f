import KVM
import Synchronization

/// A PV domain's memory as the hypervisor tracks it: the guest's own frames (pseudo-physical
/// frame == machine frame, one VM per domain), xkv's private frames above them, and which guest
/// frames are page tables (Xen's page types, in the small form xkv needs: a frame that is a
/// page table is never mapped writable).
public final class PVMemory: Sendable {
    /// Guest RAM in frames; frames `0..<nrPages` belong to the guest.
    public let nrPages: UInt64
    /// Guest-physical address of xkv's private frames (hole pages, M2P, shared_info, grants).
    public let privateBase: UInt64
    public let privateFrames: UInt64
    public let physical: GuestPhysicalMemory
    /// Where each private frame is.
    let layout: PrivateLayout
    /// A 32-bit PV (compat) domain.
    public let compat: Bool

    struct Tables {
        /// Page-table frames and their level (1-4).
        var levels: [UInt64: Int] = [:]
        /// Frames outside guest RAM the guest may map (shared_info, grant frames).
        var mappableExtra: Set<UInt64> = []
    }
    let tables = Mutex(Tables())

    init(nrPages: UInt64, privateBase: UInt64, layout: PrivateLayout, compat: Bool, physical: GuestPhysicalMemory) {
        self.nrPages = nrPages
        self.privateBase = privateBase
        self.privateFrames = layout.count
        self.layout = layout
        self.compat = compat
        self.physical = physical
    }

    /// The guest-physical end of xkv's private frames.
    var privateEnd: UInt64 { privateBase + privateFrames * 4096 }

    /// Guest-physical address of private frame `index`.
    func privateFrame(_ index: UInt64) -> UInt64 { privateBase + index * 4096 }

    /// Whether the guest may put `mfn` in a page-table entry at all.
    func guestMayMap(_ mfn: UInt64) -> Bool {
        mfn < nrPages || tables.withLock { $0.mappableExtra.contains(mfn) }
    }

    func level(of mfn: UInt64) -> Int? { tables.withLock { $0.levels[mfn] } }

    func setLevel(_ level: Int?, of mfn: UInt64) { tables.withLock { $0.levels[mfn] = level } }

    func allowMapping(_ mfn: UInt64) { _ = tables.withLock { $0.mappableExtra.insert(mfn) } }

    /// Number of frames currently typed as page tables.
    public var pageTableFrames: Int { tables.withLock { $0.levels.count } }
}
