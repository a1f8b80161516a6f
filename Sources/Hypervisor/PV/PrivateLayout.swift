/// Where xkv's private frames sit, as frame indexes from `PVMemory.privateBase`: the hole's page
/// tables and pages, shared_info, grant frames, the M2P (64-bit entries, and for 32-bit guests
/// the compat M2P with 32-bit entries), the direct map, and for 32-bit guests the 4-level root
/// and the per-vCPU copy of the guest's PAE L3 that the root reaches (Xen's compat model).
struct PrivateLayout: Sendable {
    let holeL3: UInt64 = 0, holeL2: UInt64 = 1, holeL1: UInt64 = 2
    /// First of `HypervisorHole.Page.count` frames.
    let holePages: UInt64 = 3
    let sharedInfo: UInt64
    let grantFrames: UInt64
    static let grantFrameCount: UInt64 = 4
    let m2pL3: UInt64, m2pL2: UInt64, m2pL1s: UInt64, m2pL1Count: UInt64, m2pData: UInt64, m2pPages: UInt64
    /// Compat guests only (count 0 otherwise).
    let compatRoot: UInt64, compatL3: UInt64, compatM2PL1s: UInt64, compatM2PL1Count: UInt64
    let compatM2PData: UInt64, compatM2PPages: UInt64
    let directL3: UInt64, directL2s: UInt64, directL2Count: UInt64
    /// Frames in all.
    let count: UInt64

    init(nrPages: UInt64, compat: Bool) {
        var next = holePages + UInt64(HypervisorHole.Page.count)
        func take(_ n: UInt64) -> UInt64 { defer { next += n }; return next }
        sharedInfo = take(1)
        grantFrames = take(Self.grantFrameCount)
        m2pPages = (nrPages * 8 + 4095) / 4096
        m2pL1Count = (m2pPages + 511) / 512
        m2pL3 = take(1)
        m2pL2 = take(1)
        m2pL1s = take(m2pL1Count)
        m2pData = take(m2pPages)
        compatM2PPages = compat ? (nrPages * 4 + 4095) / 4096 : 0
        compatM2PL1Count = (compatM2PPages + 511) / 512
        compatRoot = take(compat ? 1 : 0)
        compatL3 = take(compat ? 1 : 0)
        compatM2PL1s = take(compatM2PL1Count)
        compatM2PData = take(compatM2PPages)
        // The direct map covers guest RAM and these private frames (xkv's ring-0 writes reach both).
        directL3 = take(1)
        let privateEnd = ((nrPages * 4096 + 0x1f_ffff) & ~0x1f_ffff) + (next + 64) * 4096
        let largePages = (privateEnd + 0x1f_ffff) >> 21
        directL2Count = (largePages + 511) / 512 + 1
        directL2s = take(directL2Count)
        count = next
    }
}
