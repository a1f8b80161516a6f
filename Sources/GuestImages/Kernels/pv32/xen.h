/* The Xen PV ABI as a 32-bit (compat, PAE) kernel uses it (numbers and layouts from XEN-ABI.md). */
#ifndef XKV_XEN_H
#define XKV_XEN_H

#define PAGE_SHIFT 12
#define PAGE_SIZE 4096

/* Layout chosen by the ELF notes in head.S: guest VA = paddr + XEN_VIRT_BASE. */
#define XEN_VIRT_BASE 0xc0000000
/* Where a 64-bit Xen maps the read-only M2P (u32 entries) for a 32-bit PAE guest, unless
   memory_op(XENMEM_machphys_mapping) says otherwise. */
#define XEN_COMPAT_M2P_BASE 0xf5800000

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
#define __HYPERVISOR_memory_op 12
#define __HYPERVISOR_update_va_mapping 14
#define __HYPERVISOR_xen_version 17
#define __HYPERVISOR_console_io 18
#define __HYPERVISOR_sched_op 29
#define __HYPERVISOR_event_channel_op 32

/* Flat selectors of a 32-bit PV guest (public/arch-x86/xen-x86_32.h). */
#define FLAT_RING1_CS 0xe019
#define FLAT_RING1_DS 0xe021
#define FLAT_RING3_CS 0xe02b
#define FLAT_RING3_DS 0xe033

/* trap_info.flags */
#define TI_DPL(n) (n)
#define TI_MASK_EVENTS 4

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

#define _PAGE_PRESENT 0x001
#define _PAGE_RW 0x002
#define _PAGE_USER 0x004
#define _PAGE_ACCESSED 0x020
#define _PAGE_DIRTY 0x040

#define X86_EFLAGS_FIXED 0x002
#define X86_EFLAGS_IF 0x200
#define X86_EFLAGS_VM 0x20000

#define EFAULT 14
#define EINVAL 22
#define ENOSYS 38

/* The kernel's own stack (head.S); the builder's boot stack is one page it leaves behind. */
#define BOOT_STACK_SIZE 8192

/* The report page xkv reads (note "XKV", layout shared with the other xkv kernels). */
#include "../common/xkv-report.h"

#ifndef __ASSEMBLER__
#include <stddef.h>
#include <stdint.h>

/* memory_op(XENMEM_machphys_mapping) result, compat layout: three 32-bit words. */
struct xen_machphys_mapping {
    uint32_t v_start, v_end;
    uint32_t max_mfn;
};

/* start_info, 32-bit layout ("xen-3.0-x86_32p"). */
struct start_info {
    char magic[32];
    uint32_t nr_pages;
    uint32_t shared_info;   /* machine address */
    uint32_t flags;
    uint32_t store_mfn;
    uint32_t store_evtchn;
    union {
        struct {
            uint32_t mfn;
            uint32_t evtchn;
        } domU;
        struct {
            uint32_t info_off;
            uint32_t info_size;
        } dom0;
    } console;
    uint32_t pt_base;       /* VA of the PAE L3 */
    uint32_t nr_pt_frames;
    uint32_t mfn_list;      /* VA of the P2M array (nr_pages u32s) */
    uint32_t mod_start;
    uint32_t mod_len;
    char cmd_line[1024];    /* not necessarily NUL-terminated */
    uint32_t first_p2m_pfn;
    uint32_t nr_p2m_frames;
};
_Static_assert(offsetof(struct start_info, nr_pages) == 32, "start_info.nr_pages");
_Static_assert(offsetof(struct start_info, shared_info) == 36, "start_info.shared_info");
_Static_assert(offsetof(struct start_info, flags) == 40, "start_info.flags");
_Static_assert(offsetof(struct start_info, store_mfn) == 44, "start_info.store_mfn");
_Static_assert(offsetof(struct start_info, store_evtchn) == 48, "start_info.store_evtchn");
_Static_assert(offsetof(struct start_info, console.domU.mfn) == 52, "start_info.console.domU.mfn");
_Static_assert(offsetof(struct start_info, console.domU.evtchn) == 56, "start_info.console.domU.evtchn");
_Static_assert(offsetof(struct start_info, pt_base) == 60, "start_info.pt_base");
_Static_assert(offsetof(struct start_info, nr_pt_frames) == 64, "start_info.nr_pt_frames");
_Static_assert(offsetof(struct start_info, mfn_list) == 68, "start_info.mfn_list");
_Static_assert(offsetof(struct start_info, mod_start) == 72, "start_info.mod_start");
_Static_assert(offsetof(struct start_info, mod_len) == 76, "start_info.mod_len");
_Static_assert(offsetof(struct start_info, cmd_line) == 80, "start_info.cmd_line");
_Static_assert(offsetof(struct start_info, first_p2m_pfn) == 1104, "start_info.first_p2m_pfn");
_Static_assert(offsetof(struct start_info, nr_p2m_frames) == 1108, "start_info.nr_p2m_frames");
_Static_assert(sizeof(struct start_info) == 1112, "sizeof(start_info)");

/* Compat vcpu_info: 64 bytes, the first of the shared_info page is vCPU 0's. */
struct vcpu_info {
    uint8_t evtchn_upcall_pending;
    uint8_t evtchn_upcall_mask;
    uint16_t pad0;
    uint32_t evtchn_pending_sel;
    struct {
        uint32_t cr2;
        uint32_t pad[5];
    } arch;
    uint8_t time[32];
};
_Static_assert(offsetof(struct vcpu_info, evtchn_upcall_mask) == 1, "vcpu_info.evtchn_upcall_mask");
_Static_assert(offsetof(struct vcpu_info, arch.cr2) == 8, "vcpu_info.arch.cr2");
_Static_assert(sizeof(struct vcpu_info) == 64, "sizeof(vcpu_info)");

/* One entry of the virtual IDT given to set_trap_table (32-bit: 8 bytes); address 0 ends a table. */
struct trap_info {
    uint8_t vector;
    uint8_t flags;          /* bits 0-1: DPL; bit 2: mask events on entry */
    uint16_t cs;
    uint32_t address;
};
_Static_assert(offsetof(struct trap_info, cs) == 2, "trap_info.cs");
_Static_assert(offsetof(struct trap_info, address) == 4, "trap_info.address");
_Static_assert(sizeof(struct trap_info) == 8, "sizeof(trap_info)");

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

struct sched_shutdown {
    uint32_t reason;
};

struct evtchn_send {
    uint32_t port;
};

#endif /* __ASSEMBLER__ */
#endif /* XKV_XEN_H */
