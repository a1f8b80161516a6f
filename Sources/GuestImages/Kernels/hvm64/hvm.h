/* The machine this kernel runs on: xkv's HVM boot contract, the selectors of its own GDT, the
   MSRs it programs. Usable from C and from assembly. */
#ifndef XKV_HVM_H
#define XKV_HVM_H

#define PAGE_SIZE 4096

/* --- xkv's HVM boot contract: how the builder enters _start --- */
/* rdi: the boot-parameters page. */
#define HVM_BOOT_MAGIC 0x31304d5648564b58   /* "XKVHVM01" in memory */
#define HVM_BOOT_OFF_MAGIC 0
#define HVM_BOOT_OFF_CMDLINE 8
#define HVM_BOOT_OFF_CMDLINE_LEN 16
#define HVM_BOOT_OFF_MEMORY 24
/* Firmware area holding the SMBIOS entry point (read-only to the guest). */
#define BIOS_AREA_START 0xf0000
#define BIOS_AREA_END 0x100000
/* Ports: Xen's HVM debug console (one byte per outb) and xkv's power port. */
#define PORT_CONSOLE 0xe9
#define PORT_POWER 0xf4
#define POWER_OFF 0
#define POWER_CRASH 3

/* --- this kernel's GDT (cpu.c) --- */
#define KERNEL_CS 0x08              /* 64-bit code, DPL 0 */
#define KERNEL_DS 0x10              /* data, DPL 0 */
#define USER_CS32 0x1b              /* 32-bit code, DPL 3: unused, there for sysret's layout */
#define USER_DS 0x23                /* data, DPL 3 */
#define USER_CS 0x2b                /* 64-bit code, DPL 3 */
#define TSS_SEL 0x30                /* 64-bit TSS (two slots) */
#define GDT_ENTRIES 8

/* IST slots of the TSS (1-based, as in a gate): faults that must not trust the current stack. */
#define IST_DOUBLE_FAULT 1
#define IST_NMI_MCE 2

/* --- MSRs --- */
#define MSR_EFER 0xc0000080
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_FMASK 0xc0000084
#define EFER_SCE 0x1
/* STAR[47:32]: syscall loads cs = 0x08, ss = 0x10. STAR[63:48]: sysretq loads cs = 0x18 + 16
   | 3 = 0x2b and ss = 0x18 + 8 | 3 = 0x23. */
#define STAR_VALUE ((0x18ULL << 48) | ((unsigned long long)KERNEL_CS << 32))

#define RFLAGS_TF 0x100
#define RFLAGS_IF 0x200
#define RFLAGS_DF 0x400
#define RFLAGS_IOPL 0x3000
#define SYSCALL_FMASK (RFLAGS_IF | RFLAGS_TF | RFLAGS_DF)
/* User mode starts with interrupts enabled (none arrive: xkv gives HVM guests no interrupt
   controller) and IOPL 0, so `hlt` and port I/O from ring 3 fault. */
#define USER_RFLAGS 0x202

#ifndef __ASSEMBLER__
#include <stdint.h>

struct hvm_boot_params {
    uint64_t magic;             /* HVM_BOOT_MAGIC */
    uint64_t cmdline;           /* physical address of the command line */
    uint64_t cmdline_len;       /* its length in bytes */
    uint64_t memory_size;       /* the domain's memory in bytes */
};
_Static_assert(__builtin_offsetof(struct hvm_boot_params, memory_size) == HVM_BOOT_OFF_MEMORY, "boot params");

static inline void outb(uint16_t port, uint8_t value)
{
    __asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port) : "memory");
}

static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (uint64_t)hi << 32 | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t value)
{
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)value), "d"((uint32_t)(value >> 32)) : "memory");
}

static inline uint64_t read_cr2(void)
{
    uint64_t cr2;
    __asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
    return cr2;
}

/* xkv's power port: 0 powers off, 3 crashes the domain. Never returns. */
static inline __attribute__((noreturn)) void power(uint8_t how)
{
    outb(PORT_POWER, how);
    for (;;)
        __asm__ volatile("cli; hlt");
}
#endif

#endif
