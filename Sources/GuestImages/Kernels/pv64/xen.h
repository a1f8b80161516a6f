/* The Xen PV ABI as this kernel uses it (numbers and layouts from XEN-ABI.md). */
#ifndef XKV_XEN_H
#define XKV_XEN_H

#define PAGE_SHIFT 12
#define PAGE_SIZE (1UL << PAGE_SHIFT)

/* Layout chosen by the ELF notes in head.S: guest VA = paddr + XEN_VIRT_BASE. */
#define XEN_VIRT_BASE 0xffffffff80000000UL
/* Read-only machine-to-phys table the hypervisor maps into every 64-bit PV guest. */
#define XEN_M2P_BASE 0xffff800000000000UL

/* memory_op(XENMEM_machphys_mapping): where the hypervisor maps the M2P for this guest. */
#define XENMEM_machphys_mapping 12

/* ELF note types (public/elfnote.h). */
#define XEN_ELFNOTE_ENTRY 1
#define XEN_ELFNOTE_HYPERCALL_PAGE 2
#define XEN_ELFNOTE_VIRT_BASE 3
#define XEN_ELFNOTE_PADDR_OFFSET 4
#define XEN_ELFNOTE_XEN_VERSION 5
#define XEN_ELFNOTE_GUEST_OS 6
#define XEN_ELFNOTE_LOADER 8
#define XEN_ELFNOTE_PAE_MODE 9

/* Hypercall numbers; the hypercall page has one 32-byte slot per number. */
#define HYPERCALL_SLOT_SIZE 32
#define HYPERCALL_SLOTS (PAGE_SIZE / HYPERCALL_SLOT_SIZE)
#define __HYPERVISOR_set_trap_table 0
#define __HYPERVISOR_stack_switch 3
#define __HYPERVISOR_update_va_mapping 14
#define __HYPERVISOR_memory_op 12
#define __HYPERVISOR_xen_version 17
#define __HYPERVISOR_console_io 18
#define __HYPERVISOR_iret 23
#define __HYPERVISOR_mmuext_op 26
#define __HYPERVISOR_sched_op 29
#define __HYPERVISOR_callback_op 30
#define __HYPERVISOR_event_channel_op 32

/* Guest kernel and guest user both run in ring 3 with these (RPL 3) selectors. */
#define FLAT_RING3_CS64 0xe033
#define FLAT_RING3_SS 0xe02b

/* HYPERVISOR_iret: struct iret_context {rax, r11, rcx, flags, rip, cs, rflags, rsp, ss};
   the hypercall page's iret slot pushes the first three, the caller the rest. */
#define VGCF_in_syscall (1 << 8)

/* Trap-table flags: DPL in bits 0-1 (who may reach the vector with int $N). */
#define TI_DPL_USER 3

#define CALLBACKOP_register 0
#define CALLBACKTYPE_syscall 2

#define MMUEXT_PIN_L4_TABLE 3
#define MMUEXT_NEW_USER_BASEPTR 15
#define DOMID_SELF 0x7ff0

/* L4 slots 256-271 are the hypervisor's; pinning an L4 fills them in. */
#define L4_HYPERVISOR_FIRST 256
#define L4_HYPERVISOR_END 272

#define SCHEDOP_yield 0
#define SCHEDOP_block 1
#define SCHEDOP_shutdown 2
#define SHUTDOWN_poweroff 0
#define SHUTDOWN_crash 3

#define CONSOLEIO_write 0
#define XENVER_version 0
#define XENVER_extraversion 1
#define EVTCHNOP_send 4
#define UVMF_INVLPG 2

#define _PAGE_PRESENT 0x001UL
#define _PAGE_RW 0x002UL
#define _PAGE_USER 0x004UL
#define _PAGE_ACCESSED 0x020UL
#define _PAGE_DIRTY 0x040UL

#define EFAULT 14
#define EINVAL 22
#define ENOSYS 38

#ifndef __ASSEMBLER__
#include <stddef.h>
#include <stdint.h>

struct xen_machphys_mapping {
    uint64_t v_start, v_end;
    uint64_t max_mfn;
};

struct start_info {
    char magic[32];
    uint64_t nr_pages;
    uint64_t shared_info;   /* machine address */
    uint32_t flags;
    uint64_t store_mfn;
    uint32_t store_evtchn;
    union {
        struct {
            uint64_t mfn;
            uint32_t evtchn;
        } domU;
        struct {
            uint32_t info_off;
            uint32_t info_size;
        } dom0;
    } console;
    uint64_t pt_base;       /* VA of the L4 table */
    uint64_t nr_pt_frames;
    uint64_t mfn_list;      /* VA of the P2M array (nr_pages u64s) */
    uint64_t mod_start;
    uint64_t mod_len;
    char cmd_line[1024];    /* not necessarily NUL-terminated */
    uint64_t first_p2m_pfn;
    uint64_t nr_p2m_frames;
};
_Static_assert(offsetof(struct start_info, nr_pages) == 32, "start_info.nr_pages");
_Static_assert(offsetof(struct start_info, shared_info) == 40, "start_info.shared_info");
_Static_assert(offsetof(struct start_info, flags) == 48, "start_info.flags");
_Static_assert(offsetof(struct start_info, store_mfn) == 56, "start_info.store_mfn");
_Static_assert(offsetof(struct start_info, store_evtchn) == 64, "start_info.store_evtchn");
_Static_assert(offsetof(struct start_info, console.domU.mfn) == 72, "start_info.console.domU.mfn");
_Static_assert(offsetof(struct start_info, console.domU.evtchn) == 80, "start_info.console.domU.evtchn");
_Static_assert(offsetof(struct start_info, pt_base) == 88, "start_info.pt_base");
_Static_assert(offsetof(struct start_info, mfn_list) == 104, "start_info.mfn_list");
_Static_assert(offsetof(struct start_info, cmd_line) == 128, "start_info.cmd_line");
_Static_assert(offsetof(struct start_info, first_p2m_pfn) == 1152, "start_info.first_p2m_pfn");
_Static_assert(offsetof(struct start_info, nr_p2m_frames) == 1160, "start_info.nr_p2m_frames");
_Static_assert(sizeof(struct start_info) == 1168, "sizeof(start_info)");

/* One entry of the virtual IDT given to set_trap_table; address 0 ends a table. */
struct trap_info {
    uint8_t vector;
    uint8_t flags;          /* bits 0-1: DPL; bit 2: mask events on entry */
    uint16_t cs;
    uint64_t address;
};
_Static_assert(offsetof(struct trap_info, cs) == 2, "trap_info.cs");
_Static_assert(offsetof(struct trap_info, address) == 8, "trap_info.address");
_Static_assert(sizeof(struct trap_info) == 16, "sizeof(trap_info)");

/* The PV console page (public/io/console.h). */
struct xencons_interface {
    char in[1024];
    char out[2048];
    uint32_t in_cons, in_prod;
    uint32_t out_cons, out_prod;
};
_Static_assert(offsetof(struct xencons_interface, out) == 1024, "xencons.out");
_Static_assert(offsetof(struct xencons_interface, in_cons) == 3072, "xencons.in_cons");
_Static_assert(offsetof(struct xencons_interface, in_prod) == 3076, "xencons.in_prod");
_Static_assert(offsetof(struct xencons_interface, out_cons) == 3080, "xencons.out_cons");
_Static_assert(offsetof(struct xencons_interface, out_prod) == 3084, "xencons.out_prod");

struct mmuext_op {
    uint32_t cmd;
    uint64_t arg1;          /* mfn or linear address */
    uint64_t arg2;          /* nr_ents, vcpumask or src_mfn */
};
_Static_assert(offsetof(struct mmuext_op, arg1) == 8, "mmuext_op.arg1");
_Static_assert(sizeof(struct mmuext_op) == 24, "sizeof(mmuext_op)");

struct callback_register {
    uint16_t type;
    uint16_t flags;         /* CALLBACKF_mask_events = 1 */
    uint64_t address;
};
_Static_assert(offsetof(struct callback_register, address) == 8, "callback_register.address");

/* shared_info starts with 32 vcpu_info slots of 64 bytes (public/xen.h, arch-x86/xen-x86_64.h). */
struct vcpu_info {
    uint8_t evtchn_upcall_pending;
    uint8_t evtchn_upcall_mask;
    uint64_t evtchn_pending_sel;
    uint64_t cr2;           /* arch.cr2: the faulting address of the last #PF bounced to us */
    uint64_t arch_pad;
    uint8_t time[32];
};
_Static_assert(offsetof(struct vcpu_info, evtchn_upcall_mask) == 1, "vcpu_info.evtchn_upcall_mask");
_Static_assert(offsetof(struct vcpu_info, cr2) == 16, "vcpu_info.arch.cr2");
_Static_assert(sizeof(struct vcpu_info) == 64, "sizeof(vcpu_info)");

struct sched_shutdown {
    uint32_t reason;
};

struct evtchn_send {
    uint32_t port;
};
#endif /* __ASSEMBLER__ */
#endif /* XKV_XEN_H */
