/// `console_io` (18): a domain writes straight to the hypervisor console. xkv appends it to the
/// domain's console log.
extension PVVCPU {
    static let consoleIOWriteLimit: UInt64 = 1 << 20

    func consoleIO(_ a: HypercallArguments) -> HypercallResult {
        switch a.a1 {
        case 0: // CONSOLEIO_write
            guard a.a2 <= Self.consoleIOWriteLimit else { return .error(.einval) }
            guard let bytes = try? guestRead(a.a3, count: Int(a.a2)) else { return .error(.efault) }
            domain.console.append(bytes)
            return .success
        case 1: // CONSOLEIO_read: Domain-0's own console has no input for a domU.
            return .value(0)
        default:
            return .error(.enosys)
        }
    }
}
