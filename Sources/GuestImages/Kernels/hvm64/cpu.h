/* Ring 0 of this kernel's own: GDT, TSS, IDT, page tables and the syscall MSRs (cpu.c). */
#ifndef XKV_HVM64_CPU_H
#define XKV_HVM64_CPU_H

#include <stdint.h>

/* Installs everything, replacing what the builder left: after it, nothing below 1 MiB but
   the boot parameters, the command line and SMBIOS is used. */
void cpu_init(void);

/* The gate of `vector` in the live IDT: its DPL (who may `int` to it). */
unsigned idt_dpl(unsigned vector);

/* For the boot line: where the tables are. */
struct cpu_tables {
    uint64_t gdt, idt, tss, rsp0, cr3, lstar;
};
void cpu_tables(struct cpu_tables *t);

#endif
