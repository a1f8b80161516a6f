/// x86 page-table entry bits.
public enum PTE {
    public static let present: UInt64 = 1 << 0
    public static let writable: UInt64 = 1 << 1
    public static let user: UInt64 = 1 << 2
    public static let accessed: UInt64 = 1 << 5
    public static let dirty: UInt64 = 1 << 6
    public static let largePage: UInt64 = 1 << 7
    public static let noExecute: UInt64 = 1 << 63
    /// Bits 12-51: the frame address.
    public static let frameMask: UInt64 = 0x000f_ffff_ffff_f000
}

/// How an access through guest page tables is made: the walk checks the entries allow it.
public struct AccessKind: Sendable, Equatable {
    public var write: Bool
    /// A guest-user access: every level must carry the user bit.
    public var user: Bool
    public init(write: Bool = false, user: Bool = false) { self.write = write; self.user = user }
    public static let read = AccessKind()
    public static let write = AccessKind(write: true)
}

/// Guest-virtual memory seen through the guest's own 4-level page tables (root `cr3`).
/// Every entry the walk reads is checked against guest memory, so a corrupt or hostile table can
/// only make the walk fail, never reach outside the VM.
public struct GuestVirtualMemory: Sendable {
    public let physical: GuestPhysicalMemory
    public let root: UInt64

    public init(physical: GuestPhysicalMemory, cr3: UInt64) {
        self.physical = physical
        self.root = cr3 & PTE.frameMask
    }

    /// Whether `address` is canonical for 48-bit virtual addresses.
    public static func isCanonical(_ address: UInt64) -> Bool {
        let top = address >> 47
        return top == 0 || top == 0x1ffff
    }

    /// Translates `address` to a guest-physical address, checking the access is allowed.
    public func translate(_ address: UInt64, _ access: AccessKind = .read) throws(MemoryFault) -> UInt64 {
        guard Self.isCanonical(address) else { throw .nonCanonical(address: address) }
        var table = root
        var level = 4
        while true {
            let index = (address >> (12 + 9 * UInt64(level - 1))) & 0x1ff
            let entry = try physical.load(UInt64.self, at: table + index * 8)
            guard entry & PTE.present != 0 else { throw .notPresent(address: address, level: level) }
            if access.write && entry & PTE.writable == 0 { throw .readOnly(address: address) }
            if access.user && entry & PTE.user == 0 { throw .supervisorOnly(address: address) }
            if level == 1 || ((level == 2 || level == 3) && entry & PTE.largePage != 0) {
                let pageSize: UInt64 = 1 << (12 + 9 * UInt64(level - 1))
                return (entry & PTE.frameMask & ~(pageSize - 1)) | (address & (pageSize - 1))
            }
            table = entry & PTE.frameMask
            level -= 1
        }
    }

    /// Copies `count` bytes from guest-virtual `address`, page by page.
    public func read(_ address: UInt64, count: Int, _ access: AccessKind = .read) throws(MemoryFault) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        try forEachPage(address, count: count, access) { (gpa: UInt64, n: Int) throws(MemoryFault) in
            bytes.append(contentsOf: try physical.read(gpa, count: n))
        }
        return bytes
    }

    /// Copies `bytes` to guest-virtual `address`, page by page; the pages must be writable.
    public func write(_ bytes: [UInt8], at address: UInt64, user: Bool = false) throws(MemoryFault) {
        var done = 0
        try forEachPage(address, count: bytes.count, AccessKind(write: true, user: user)) { (gpa: UInt64, n: Int) throws(MemoryFault) in
            try physical.write(Array(bytes[done..<done + n]), at: gpa)
            done += n
        }
    }

    public func load<T: FixedWidthInteger>(_ type: T.Type = T.self, at address: UInt64, _ access: AccessKind = .read) throws(MemoryFault) -> T {
        let bytes = try read(address, count: MemoryLayout<T>.size, access)
        var value: T = 0
        for (i, b) in bytes.enumerated() { value |= T(b) << (8 * i) }
        return value
    }

    public func store<T: FixedWidthInteger>(_ value: T, at address: UInt64, user: Bool = false) throws(MemoryFault) {
        let bytes = (0..<MemoryLayout<T>.size).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
        try write(bytes, at: address, user: user)
    }

    /// Walks `[address, address+count)` one page piece at a time; rejects wrap-around.
    private func forEachPage(_ address: UInt64, count: Int, _ access: AccessKind,
                             _ body: (UInt64, Int) throws(MemoryFault) -> Void) throws(MemoryFault) {
        guard count >= 0 else { throw .outOfRange(address: address, length: 0) }
        let (end, overflow) = address.addingReportingOverflow(UInt64(count))
        guard !overflow else { throw .outOfRange(address: address, length: UInt64(count)) }
        var va = address
        while va < end {
            let pageLeft = 4096 - (va & 0xfff)
            let n = Int(min(pageLeft, end - va))
            try body(try translate(va, access), n)
            va += UInt64(n)
        }
    }
}
