/* The report page an xkv guest kernel shares with the hypervisor (engine side:
   Sources/Hypervisor/PV/GuestReport.swift). One page-aligned 4 KiB page inside a loaded
   segment, announced by an ELF note named "XKV" (not "Xen": the note is xkv's, not part of
   Xen's ABI) of type XKV_NOTE_REPORT_PAGE whose descriptor is the page's virtual address
   as a little-endian u64. Every field is a little-endian u64, so the offsets are the same
   for 32- and 64-bit kernels. The guest writes, xkv only reads and labels what it shows
   "guest-reported": nothing here is trusted. Usable from C and from assembly. */
#ifndef XKV_REPORT_H
#define XKV_REPORT_H

#define XKV_NOTE_NAME "XKV"
#define XKV_NOTE_REPORT_PAGE 1

#define XKV_REPORT_MAGIC 0x52564b58     /* "XKVR" in memory */
#define XKV_REPORT_VERSION 1

/* Byte offsets, for assembly and for readers in other languages. */
#define XKV_REPORT_OFF_MAGIC 0
#define XKV_REPORT_OFF_VERSION 8
#define XKV_REPORT_OFF_SYSCALLS 16
#define XKV_REPORT_OFF_INT80_DIRECT 24
#define XKV_REPORT_OFF_FAULTS 32
#define XKV_REPORT_OFF_SOFT_INTS 40
#define XKV_REPORT_OFF_CYCLES_PER_SYSCALL 48
#define XKV_REPORT_OFF_CYCLES_PER_FAULT 56
#define XKV_REPORT_OFF_HYPERCALLS 64
#define XKV_REPORT_OFF_DONE 72

#ifdef __ASSEMBLER__
/* The note itself: XKV_REPORT_NOTE symbol, in a section the kernel's PT_NOTE segment covers. */
.macro XKV_REPORT_NOTE page
    .pushsection .note.XKV, "a", @note
    .balign 4
    .long 2f - 1f
    .long 4f - 3f
    .long XKV_NOTE_REPORT_PAGE
1:  .asciz XKV_NOTE_NAME
2:  .balign 4
3:
#ifdef __x86_64__
    .quad \page
#else
    .long \page, 0
#endif
4:  .balign 4
    .popsection
.endm
#else
#include <stdint.h>

struct xkv_report {
    uint64_t magic;                 /* XKV_REPORT_MAGIC once the page is valid */
    uint64_t version;               /* XKV_REPORT_VERSION */
    uint64_t syscalls;              /* user system calls the kernel completed */
    uint64_t int80_direct;          /* of those, int $0x80 that reached the kernel without the
                                       hypervisor (32-bit PV direct path; 0 on 64-bit) */
    uint64_t faults;                /* exceptions the kernel's trap table handled (including
                                       the #GP of a refused int $V), soft_ints excluded */
    uint64_t soft_ints;             /* int $V from user mode delivered to their handler */
    uint64_t cycles_per_syscall;    /* rdtsc cycles per user system call (last measurement) */
    uint64_t cycles_per_fault;      /* rdtsc cycles per handled fault (last measurement) */
    uint64_t hypercalls;            /* hypercalls issued so far; when done, the same total as
                                       the summary line (final console_io and shutdown included) */
    uint64_t done;                  /* 1 once every workload on the command line finished */
};

_Static_assert(__builtin_offsetof(struct xkv_report, magic) == XKV_REPORT_OFF_MAGIC, "magic");
_Static_assert(__builtin_offsetof(struct xkv_report, version) == XKV_REPORT_OFF_VERSION, "version");
_Static_assert(__builtin_offsetof(struct xkv_report, syscalls) == XKV_REPORT_OFF_SYSCALLS, "syscalls");
_Static_assert(__builtin_offsetof(struct xkv_report, int80_direct) == XKV_REPORT_OFF_INT80_DIRECT, "int80_direct");
_Static_assert(__builtin_offsetof(struct xkv_report, faults) == XKV_REPORT_OFF_FAULTS, "faults");
_Static_assert(__builtin_offsetof(struct xkv_report, soft_ints) == XKV_REPORT_OFF_SOFT_INTS, "soft_ints");
_Static_assert(__builtin_offsetof(struct xkv_report, cycles_per_syscall) == XKV_REPORT_OFF_CYCLES_PER_SYSCALL, "cps");
_Static_assert(__builtin_offsetof(struct xkv_report, cycles_per_fault) == XKV_REPORT_OFF_CYCLES_PER_FAULT, "cpf");
_Static_assert(__builtin_offsetof(struct xkv_report, hypercalls) == XKV_REPORT_OFF_HYPERCALLS, "hypercalls");
_Static_assert(__builtin_offsetof(struct xkv_report, done) == XKV_REPORT_OFF_DONE, "done");
_Static_assert(sizeof(struct xkv_report) == 80, "sizeof(xkv_report)");
#endif /* __ASSEMBLER__ */
#endif /* XKV_REPORT_H */
