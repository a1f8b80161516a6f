/// `sched_op` (29) and the older `sched_op_compat` (6): yield, block, shutdown.
extension PVVCPU {
    func schedOp(_ a: HypercallArguments) -> HypercallResult {
        switch a.a1 {
        case 0: // SCHEDOP_yield: give the pCPU to another runnable vCPU
            domain.yieldCount()
            yieldRequested = true
            return .success
        case 1: // SCHEDOP_block: events are enabled and the vCPU sleeps until one is pending.
            eventMask = 0
            return .block
        case 2: // SCHEDOP_shutdown(&reason)
            guard let raw = try? guestLoad(UInt32.self, at: a.a2) else { return .error(.efault) }
            return shutdown(raw)
        case 5: // SCHEDOP_shutdown_code(&reason): remembered for the shutdown to come
            guard let raw = try? guestLoad(UInt32.self, at: a.a2) else { return .error(.efault) }
            guard let reason = ShutdownReason(rawValue: raw) else { return .error(.einval) }
            domain.setShutdownCode(reason)
            return .success
        case 4: // SCHEDOP_remote_shutdown: only a privileged domain may
            return .error(.eperm)
        default:
            return .error(.enosys)
        }
    }

    func schedOpCompat(_ a: HypercallArguments) -> HypercallResult {
        switch a.a1 {
        case 0, 1: return schedOp(a)
        case 2: return shutdown(UInt32(truncatingIfNeeded: a.a2))
        default: return .error(.enosys)
        }
    }

    private func shutdown(_ raw: UInt32) -> HypercallResult {
        guard let reason = ShutdownReason(rawValue: raw) else { return .error(.einval) }
        checkpoint(reason == .crash ? .crash : .shutdown, memory: true)
        domain.guestShutdown(reason: reason, vcpu: id)
        return .stop
    }
}
