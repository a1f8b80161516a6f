/// What a guest says it did, from the report page it shares with xkv (announced by an ELF note
/// named "XKV", type 1; layout in `Kernels/common/xkv-report.h`). Guest-written and so untrusted:
/// shown as guest-reported, never mixed with what the hypervisor counted.
public struct GuestReport: Sendable, Equatable {
    public static let magic: UInt64 = 0x5256_4b58
    public var syscalls: UInt64 = 0
    public var int80Direct: UInt64 = 0
    public var faults: UInt64 = 0
    public var softInterrupts: UInt64 = 0
    public var cyclesPerSyscall: UInt64 = 0
    public var cyclesPerFault: UInt64 = 0
    public var hypercalls: UInt64 = 0
    public var done: Bool = false

    public init() {}
}

extension Domain {
    /// The guest's report page, if it has one and it carries the magic.
    var guestReport: GuestReport? {
        guard let page = layout.reportPage,
              let words = try? memory.physical.read(page, count: 80) else { return nil }
        func word(_ i: Int) -> UInt64 { words.littleEndian(i * 8..<i * 8 + 8) }
        guard word(0) == GuestReport.magic else { return nil }
        var r = GuestReport()
        r.syscalls = word(2); r.int80Direct = word(3); r.faults = word(4); r.softInterrupts = word(5)
        r.cyclesPerSyscall = word(6); r.cyclesPerFault = word(7); r.hypercalls = word(8); r.done = word(9) != 0
        return r
    }
}
