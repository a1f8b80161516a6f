/// Why a guest-memory access was refused. The engine turns these into -EFAULT for hypercalls
/// and into a crash reason for its own walks.
public enum MemoryFault: Error, Equatable, Sendable, CustomStringConvertible {
    /// No memory region covers `[address, address+length)` (guest-physical).
    case outOfRange(address: UInt64, length: UInt64)
    /// A virtual address outside the canonical ranges.
    case nonCanonical(address: UInt64)
    /// The page-table walk for `address` found a non-present entry at `level` (4 = top).
    case notPresent(address: UInt64, level: Int)
    /// A write through a read-only mapping.
    case readOnly(address: UInt64)
    /// A guest-user access to a supervisor page.
    case supervisorOnly(address: UInt64)

    public var description: String {
        switch self {
        case .outOfRange(let a, let n): return "guest-physical \(a.hex)+\(n) is outside guest memory"
        case .nonCanonical(let a): return "\(a.hex) is not a canonical address"
        case .notPresent(let a, let level): return "\(a.hex) is not mapped (level \(level) entry not present)"
        case .readOnly(let a): return "\(a.hex) is mapped read-only"
        case .supervisorOnly(let a): return "\(a.hex) is a supervisor page"
        }
    }
}

/// Checked access to a VM's guest-physical memory. Every address and length is checked against
/// the regions before a byte moves, with overflow-safe arithmetic: no guest value reaches outside.
public struct GuestPhysicalMemory: @unchecked Sendable {
    /// The regions, sorted by guest-physical address.
    public let regions: [MemoryRegion]

    /// The host pointer for `[address, address+length)`, which must lie inside one region.
    @inline(__always)
    public func pointer(_ address: UInt64, length: UInt64) throws(MemoryFault) -> UnsafeMutableRawPointer {
        for region in regions {
            if address >= region.guestPhysical {
                let offset = address - region.guestPhysical
                if offset < region.size {
                    guard length <= region.size - offset else { break }
                    return region.host.advanced(by: Int(offset))
                }
            }
        }
        throw .outOfRange(address: address, length: length)
    }

    /// Whether the whole range lies in guest memory.
    public func contains(_ address: UInt64, length: UInt64) -> Bool {
        (try? pointer(address, length: length)) != nil
    }

    public func load<T: FixedWidthInteger>(_ type: T.Type = T.self, at address: UInt64) throws(MemoryFault) -> T {
        let p = try pointer(address, length: UInt64(MemoryLayout<T>.size))
        return T(littleEndian: p.loadUnaligned(as: T.self))
    }

    public func store<T: FixedWidthInteger>(_ value: T, at address: UInt64) throws(MemoryFault) {
        let p = try pointer(address, length: UInt64(MemoryLayout<T>.size))
        p.storeBytes(of: value.littleEndian, as: T.self)
    }

    public func read(_ address: UInt64, count: Int) throws(MemoryFault) -> [UInt8] {
        guard count > 0 else { return [] }
        let p = try pointer(address, length: UInt64(count))
        return Array(UnsafeRawBufferPointer(start: p, count: count))
    }

    public func write(_ bytes: [UInt8], at address: UInt64) throws(MemoryFault) {
        guard !bytes.isEmpty else { return }
        let p = try pointer(address, length: UInt64(bytes.count))
        bytes.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    }

    /// Fills `[address, address+count)` with `byte`.
    public func fill(_ address: UInt64, count: Int, with byte: UInt8) throws(MemoryFault) {
        guard count > 0 else { return }
        let p = try pointer(address, length: UInt64(count))
        p.initializeMemory(as: UInt8.self, repeating: byte, count: count)
    }
}
