import Testing
@testable import Hypervisor

/// Every offset and size in `ABI/Layouts.swift` against the number the Xen public headers give
/// (XEN-ABI.md). The expected numbers are written out here, each next to the header field it
/// comes from, so a slip in Layouts.swift cannot also slip into its check.
@Suite("Xen ABI layouts")
struct LayoutTests {
    @Test("start_info (public/xen.h, x86_64)")
    func startInfo() {
        #expect(StartInfo64.magic == 0)            // char magic[32]
        #expect(StartInfo64.magicLength == 32)
        #expect(StartInfo64.nrPages == 32)         // unsigned long nr_pages
        #expect(StartInfo64.sharedInfo == 40)      // unsigned long shared_info
        #expect(StartInfo64.flags == 48)           // uint32_t flags
        #expect(StartInfo64.storeMFN == 56)        // xen_pfn_t store_mfn
        #expect(StartInfo64.storeEvtchn == 64)     // uint32_t store_evtchn
        #expect(StartInfo64.consoleMFN == 72)      // console.domU.mfn
        #expect(StartInfo64.consoleEvtchn == 80)   // console.domU.evtchn
        #expect(StartInfo64.ptBase == 88)          // unsigned long pt_base
        #expect(StartInfo64.nrPtFrames == 96)      // unsigned long nr_pt_frames
        #expect(StartInfo64.mfnList == 104)        // unsigned long mfn_list
        #expect(StartInfo64.modStart == 112)       // unsigned long mod_start
        #expect(StartInfo64.modLength == 120)      // unsigned long mod_len
        #expect(StartInfo64.cmdLine == 128)        // int8_t cmd_line[MAX_GUEST_CMDLINE]
        #expect(StartInfo64.cmdLineLength == 1024) // MAX_GUEST_CMDLINE
        #expect(StartInfo64.firstP2MPFN == 1152)   // unsigned long first_p2m_pfn
        #expect(StartInfo64.nrP2MFrames == 1160)   // unsigned long nr_p2m_frames
        #expect(StartInfo64.size == 1168)          // sizeof(start_info_t)
        #expect(StartInfo64.magicValue == "xen-3.0-x86_64")
    }

    @Test("start_info as a 32-bit PV guest sees it (public/xen.h, x86_32p)")
    func startInfo32() {
        #expect(StartInfo32.magic == 0)            // char magic[32]
        #expect(StartInfo32.nrPages == 32)         // unsigned long nr_pages (4 bytes)
        #expect(StartInfo32.sharedInfo == 36)      // unsigned long shared_info
        #expect(StartInfo32.flags == 40)           // uint32_t flags
        #expect(StartInfo32.storeMFN == 44)        // xen_pfn_t store_mfn (unsigned long)
        #expect(StartInfo32.storeEvtchn == 48)     // uint32_t store_evtchn
        #expect(StartInfo32.consoleMFN == 52)      // console.domU.mfn
        #expect(StartInfo32.consoleEvtchn == 56)   // console.domU.evtchn
        #expect(StartInfo32.ptBase == 60)          // unsigned long pt_base
        #expect(StartInfo32.nrPtFrames == 64)      // unsigned long nr_pt_frames
        #expect(StartInfo32.mfnList == 68)         // unsigned long mfn_list
        #expect(StartInfo32.modStart == 72)        // unsigned long mod_start
        #expect(StartInfo32.modLength == 76)       // unsigned long mod_len
        #expect(StartInfo32.cmdLine == 80)         // int8_t cmd_line[MAX_GUEST_CMDLINE]
        #expect(StartInfo32.firstP2MPFN == 1104)   // unsigned long first_p2m_pfn
        #expect(StartInfo32.nrP2MFrames == 1108)   // unsigned long nr_p2m_frames
        #expect(StartInfo32.size == 1112)          // sizeof(start_info_t) on x86_32
        #expect(StartInfo32.magicValue == "xen-3.0-x86_32p")
    }

    @Test("trap_info and callback_register as a 32-bit PV guest sees them (public/arch-x86/xen-x86_32.h)")
    func trapInfoAndCallback32() {
        #expect(TrapInfo32.vector == 0)    // uint8_t vector
        #expect(TrapInfo32.flags == 1)     // uint8_t flags
        #expect(TrapInfo32.cs == 2)        // uint16_t cs
        #expect(TrapInfo32.address == 4)   // unsigned long address (4 bytes)
        #expect(TrapInfo32.size == 8)
        #expect(CallbackRegister32.type == 0)   // uint16_t type
        #expect(CallbackRegister32.flags == 2)  // uint16_t flags
        #expect(CallbackRegister32.cs == 4)     // xen_callback_t address: { unsigned long cs; ...
        #expect(CallbackRegister32.eip == 8)    // ... unsigned long eip; }
        #expect(CallbackRegister32.size == 12)
    }

    @Test("trap_info (public/arch-x86/xen.h, x86_64)")
    func trapInfo() {
        #expect(TrapInfo64.vector == 0)    // uint8_t vector
        #expect(TrapInfo64.flags == 1)     // uint8_t flags
        #expect(TrapInfo64.cs == 2)        // uint16_t cs
        #expect(TrapInfo64.address == 8)   // unsigned long address
        #expect(TrapInfo64.size == 16)     // sizeof(struct trap_info)
    }

    @Test("callback_register (public/callback.h, x86_64)")
    func callbackRegister() {
        #expect(CallbackRegister64.type == 0)     // uint16_t type
        #expect(CallbackRegister64.flags == 2)    // uint16_t flags
        #expect(CallbackRegister64.address == 8)  // xen_callback_t address (unsigned long)
        #expect(CallbackRegister64.size == 16)
    }

    @Test("xencons_interface (public/io/console.h)")
    func consoleRing() {
        #expect(ConsoleRing.input == 0)         // char in[1024]
        #expect(ConsoleRing.inputSize == 1024)
        #expect(ConsoleRing.output == 1024)     // char out[2048]
        #expect(ConsoleRing.outputSize == 2048)
        #expect(ConsoleRing.inCons == 3072)     // XENCONS_RING_IDX in_cons
        #expect(ConsoleRing.inProd == 3076)     // XENCONS_RING_IDX in_prod
        #expect(ConsoleRing.outCons == 3080)    // XENCONS_RING_IDX out_cons
        #expect(ConsoleRing.outProd == 3084)    // XENCONS_RING_IDX out_prod
        // Ring indexes are masked with size - 1: both sizes must be powers of two.
        #expect(ConsoleRing.inputSize & (ConsoleRing.inputSize - 1) == 0)
        #expect(ConsoleRing.outputSize & (ConsoleRing.outputSize - 1) == 0)
    }

    @Test("shared_info and vcpu_info (public/xen.h, public/arch-x86/xen.h, x86_64)")
    func sharedInfo() {
        #expect(SharedInfo64.upcallPending == 0)    // vcpu_info.evtchn_upcall_pending (uint8_t)
        #expect(SharedInfo64.upcallMask == 1)       // vcpu_info.evtchn_upcall_mask (uint8_t)
        #expect(SharedInfo64.pendingSelector == 8)  // vcpu_info.evtchn_pending_sel (xen_ulong_t)
        #expect(SharedInfo64.cr2 == 16)             // vcpu_info.arch.cr2 (arch_vcpu_info)
        #expect(SharedInfo64.vcpuInfoSize == 64)    // sizeof(vcpu_info): ... + vcpu_time_info (32 bytes)
        #expect(SharedInfo64.maxVCPUs == 32)        // XEN_LEGACY_MAX_VCPUS
        #expect(SharedInfo64.evtchnPending == 2048) // shared_info.evtchn_pending[sizeof(xen_ulong_t) * 8]
        #expect(SharedInfo64.evtchnMask == 2560)    // shared_info.evtchn_mask[sizeof(xen_ulong_t) * 8]
    }

    @Test("iret_context (public/arch-x86/xen-x86_64.h)")
    func iretContext() {
        #expect(IretContext64.rax == 0)     // uint64_t rax
        #expect(IretContext64.r11 == 8)     // uint64_t r11
        #expect(IretContext64.rcx == 16)    // uint64_t rcx
        #expect(IretContext64.flags == 24)  // uint64_t flags
        #expect(IretContext64.rip == 32)    // uint64_t rip
        #expect(IretContext64.cs == 40)     // uint64_t cs
        #expect(IretContext64.rflags == 48) // uint64_t rflags
        #expect(IretContext64.rsp == 56)    // uint64_t rsp
        #expect(IretContext64.ss == 64)     // uint64_t ss
        #expect(IretContext64.size == 72)
        #expect(IretContext64.inSyscall == 0x100)  // VGCF_in_syscall = 1 << _VGCF_in_syscall (8)
    }

    @Test("evtchn_status (public/event_channel.h)")
    func evtchnStatus() {
        #expect(EvtchnStatus.dom == 0)          // domid_t dom
        #expect(EvtchnStatus.port == 4)         // evtchn_port_t port
        #expect(EvtchnStatus.status == 8)       // uint32_t status
        #expect(EvtchnStatus.vcpu == 12)        // uint32_t vcpu
        #expect(EvtchnStatus.remoteDom == 16)   // u.interdomain.dom (domid_t)
        #expect(EvtchnStatus.remotePort == 20)  // u.interdomain.port (evtchn_port_t)
        #expect(EvtchnStatus.size == 24)
        #expect(EvtchnStatus.closed == 0)       // EVTCHNSTAT_closed
        #expect(EvtchnStatus.unbound == 1)      // EVTCHNSTAT_unbound
        #expect(EvtchnStatus.interdomain == 2)  // EVTCHNSTAT_interdomain
    }

    @Test("gnttab_setup_table (public/grant_table.h, x86_64)")
    func gnttabSetupTable() {
        #expect(GnttabSetupTable.dom == 0)        // domid_t dom
        #expect(GnttabSetupTable.nrFrames == 4)   // uint32_t nr_frames
        #expect(GnttabSetupTable.status == 8)     // int16_t status
        #expect(GnttabSetupTable.frameList == 16) // XEN_GUEST_HANDLE(xen_pfn_t) frame_list
        #expect(GnttabSetupTable.size == 24)
    }

    @Test("mmu_update and mmuext_op (public/xen.h, x86_64)")
    func mmuOps() {
        #expect(MMUUpdateRequest.ptr == 0)   // uint64_t ptr
        #expect(MMUUpdateRequest.val == 8)   // uint64_t val
        #expect(MMUUpdateRequest.size == 16)
        #expect(MMUExtOp64.cmd == 0)         // unsigned int cmd
        #expect(MMUExtOp64.arg1 == 8)        // union { xen_pfn_t mfn; unsigned long linear_addr; } arg1
        #expect(MMUExtOp64.arg2 == 16)       // union { unsigned int nr_ents; ... xen_pfn_t src_mfn; } arg2
        #expect(MMUExtOp64.size == 24)
    }

    @Test("every field lies inside its structure, none overlap")
    func fieldsFit() {
        // (offset, width) per field, in declaration order; each must start at or after the last's end.
        let structures: [(String, Int, [(Int, Int)])] = [
            ("start_info", StartInfo64.size, [
                (StartInfo64.magic, StartInfo64.magicLength), (StartInfo64.nrPages, 8), (StartInfo64.sharedInfo, 8),
                (StartInfo64.flags, 4), (StartInfo64.storeMFN, 8), (StartInfo64.storeEvtchn, 4),
                (StartInfo64.consoleMFN, 8), (StartInfo64.consoleEvtchn, 4), (StartInfo64.ptBase, 8),
                (StartInfo64.nrPtFrames, 8), (StartInfo64.mfnList, 8), (StartInfo64.modStart, 8),
                (StartInfo64.modLength, 8), (StartInfo64.cmdLine, StartInfo64.cmdLineLength),
                (StartInfo64.firstP2MPFN, 8), (StartInfo64.nrP2MFrames, 8),
            ]),
            ("start_info (32-bit)", StartInfo32.size, [
                (StartInfo32.magic, 32), (StartInfo32.nrPages, 4), (StartInfo32.sharedInfo, 4), (StartInfo32.flags, 4),
                (StartInfo32.storeMFN, 4), (StartInfo32.storeEvtchn, 4), (StartInfo32.consoleMFN, 4),
                (StartInfo32.consoleEvtchn, 4), (StartInfo32.ptBase, 4), (StartInfo32.nrPtFrames, 4), (StartInfo32.mfnList, 4),
                (StartInfo32.modStart, 4), (StartInfo32.modLength, 4), (StartInfo32.cmdLine, 1024),
                (StartInfo32.firstP2MPFN, 4), (StartInfo32.nrP2MFrames, 4),
            ]),
            ("trap_info (32-bit)", TrapInfo32.size, [(TrapInfo32.vector, 1), (TrapInfo32.flags, 1), (TrapInfo32.cs, 2), (TrapInfo32.address, 4)]),
            ("callback_register (32-bit)", CallbackRegister32.size,
             [(CallbackRegister32.type, 2), (CallbackRegister32.flags, 2), (CallbackRegister32.cs, 4), (CallbackRegister32.eip, 4)]),
            ("trap_info", TrapInfo64.size, [(TrapInfo64.vector, 1), (TrapInfo64.flags, 1), (TrapInfo64.cs, 2), (TrapInfo64.address, 8)]),
            ("callback_register", CallbackRegister64.size,
             [(CallbackRegister64.type, 2), (CallbackRegister64.flags, 2), (CallbackRegister64.address, 8)]),
            ("xencons_interface", 4096, [
                (ConsoleRing.input, ConsoleRing.inputSize), (ConsoleRing.output, ConsoleRing.outputSize),
                (ConsoleRing.inCons, 4), (ConsoleRing.inProd, 4), (ConsoleRing.outCons, 4), (ConsoleRing.outProd, 4),
            ]),
            ("iret_context", IretContext64.size, [
                (IretContext64.rax, 8), (IretContext64.r11, 8), (IretContext64.rcx, 8), (IretContext64.flags, 8),
                (IretContext64.rip, 8), (IretContext64.cs, 8), (IretContext64.rflags, 8), (IretContext64.rsp, 8),
                (IretContext64.ss, 8),
            ]),
            ("evtchn_status", EvtchnStatus.size, [
                (EvtchnStatus.dom, 2), (EvtchnStatus.port, 4), (EvtchnStatus.status, 4), (EvtchnStatus.vcpu, 4),
                (EvtchnStatus.remoteDom, 2), (EvtchnStatus.remotePort, 4),
            ]),
            ("gnttab_setup_table", GnttabSetupTable.size, [
                (GnttabSetupTable.dom, 2), (GnttabSetupTable.nrFrames, 4), (GnttabSetupTable.status, 2),
                (GnttabSetupTable.frameList, 8),
            ]),
            ("mmuext_op", MMUExtOp64.size, [(MMUExtOp64.cmd, 4), (MMUExtOp64.arg1, 8), (MMUExtOp64.arg2, 8)]),
            ("shared_info", 4096, [
                (0, SharedInfo64.vcpuInfoSize * SharedInfo64.maxVCPUs), (SharedInfo64.evtchnPending, 512),
                (SharedInfo64.evtchnMask, 512),
            ]),
        ]
        for (name, size, fields) in structures {
            var end = 0
            for (offset, width) in fields {
                #expect(offset >= end, "\(name): field at \(offset) overlaps the one before (ends at \(end))")
                #expect(offset % min(width, 8) == 0, "\(name): field at \(offset) is not naturally aligned")
                end = offset + width
            }
            #expect(end <= size, "\(name): fields end at \(end), past its size \(size)")
        }
    }
}
