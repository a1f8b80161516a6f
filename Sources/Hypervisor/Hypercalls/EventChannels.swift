/// `event_channel_op` (32): xkv's domains have two interdomain channels to Domain-0 from boot,
/// xenstore and console (`start_info.store_evtchn`, `console.domU.evtchn`). A send on the
/// console channel makes Domain-0 drain the console ring at once, as xenconsoled does.
extension PVVCPU {
    static let maxPorts: UInt32 = 4096

    func eventChannelOp(_ a: HypercallArguments) -> HypercallResult {
        switch a.a1 {
        case 4: // EVTCHNOP_send(&port)
            guard let port = try? guestLoad(UInt32.self, at: a.a2) else { return .error(.efault) }
            switch port {
            case PVDomainBuilder.consoleEvtchn:
                domain.drainConsoleRing()
                return .success
            case PVDomainBuilder.xenstoreEvtchn:
                return .success   // no xenstored yet: the notification is delivered and ignored
            default:
                return .error(.einval)
            }
        case 5: // EVTCHNOP_status
            guard let raw = try? guestRead(a.a2, count: EvtchnStatus.size) else { return .error(.efault) }
            let dom = UInt16(raw[0]) | UInt16(raw[1]) << 8
            let port = UInt32(truncatingIfNeeded: raw.littleEndian(4..<8))
            guard UInt64(dom) == Self.domidSelf || Int(dom) == domain.id else { return .error(.esrch) }
            guard port < Self.maxPorts else { return .error(.einval) }
            let bound = port == PVDomainBuilder.consoleEvtchn || port == PVDomainBuilder.xenstoreEvtchn
            do {
                try guestStore(bound ? EvtchnStatus.interdomain : EvtchnStatus.closed, at: a.a2 &+ UInt64(EvtchnStatus.status))
                try guestStore(UInt32(0), at: a.a2 &+ UInt64(EvtchnStatus.vcpu))
                if bound {
                    try guestStore(UInt16(0), at: a.a2 &+ UInt64(EvtchnStatus.remoteDom))
                    try guestStore(port, at: a.a2 &+ UInt64(EvtchnStatus.remotePort))
                }
            } catch { return .error(.efault) }
            return .success
        default:
            return .error(.enosys)
        }
    }
}

/// `grant_table_op` (20): set-up and version only; grant mapping comes with split drivers.
extension PVVCPU {
    func grantTableOp(_ a: HypercallArguments) -> HypercallResult {
        switch a.a1 {
        case 2: // GNTTABOP_setup_table
            guard a.a3 == 1 else { return a.a3 == 0 ? .success : .error(.einval) }
            // 64-bit: {u16 dom; u32 nr_frames; i16 status; u64 frame_list}; 32-bit: the handle is a u32 at 12.
            guard let raw = try? guestRead(a.a2, count: compat ? 16 : GnttabSetupTable.size) else { return .error(.efault) }
            let dom = UInt16(raw[0]) | UInt16(raw[1]) << 8
            let frames = UInt32(truncatingIfNeeded: raw.littleEndian(4..<8))
            let list = compat ? raw.littleEndian(12..<16)
                              : raw.littleEndian(16..<24)
            let statusAt = a.a2 &+ UInt64(GnttabSetupTable.status)
            guard UInt64(dom) == Self.domidSelf || Int(dom) == domain.id else {
                return (try? guestStore(Int16(-2), at: statusAt)) == nil ? .error(.efault) : .success  // GNTST_bad_domain
            }
            guard UInt64(frames) <= PrivateLayout.grantFrameCount else {
                return (try? guestStore(Int16(-1), at: statusAt)) == nil ? .error(.efault) : .success  // GNTST_general_error
            }
            do {
                for i in 0..<UInt64(frames) {
                    let mfn = domain.memory.privateFrame(domain.memory.layout.grantFrames + i) >> 12
                    domain.memory.allowMapping(mfn)
                    if compat { try guestStore(UInt32(truncatingIfNeeded: mfn), at: list &+ i * 4) }
                    else { try guestStore(mfn, at: list &+ i * 8) }
                }
                try guestStore(Int16(0), at: statusAt)
            } catch { return .error(.efault) }
            return .success
        case 8: // GNTTABOP_set_version
            guard let version = try? guestLoad(UInt32.self, at: a.a2) else { return .error(.efault) }
            guard version == 1 || version == 2 else { return .error(.einval) }
            domain.grantTableVersion = version
            return .success
        default:
            return .error(.enosys)
        }
    }

    /// `vm_assist(cmd, type)`: enable (0) or disable (1) an assist Xen offers 64-bit PV guests.
    func vmAssist(_ a: HypercallArguments) -> HypercallResult {
        let allowed: Set<UInt64> = [0, 1, 2, 3, 4, 5, 32]   // 4gb_segments ... runstate_update_flag, m2p_strict
        guard a.a1 <= 1, allowed.contains(a.a2) else { return .error(.einval) }
        domain.setVMAssist(type: Int(a.a2), enabled: a.a1 == 0)
        return .success
    }
}
