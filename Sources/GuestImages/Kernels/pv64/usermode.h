/* Guest user mode: set up once at boot when a workload needs it, then the user-mode workloads. */
#ifndef XKV_USERMODE_H
#define XKV_USERMODE_H

/* The faults workload reads here: nothing is mapped in the low half of the address space. */
#define USER_FAULT_VA 0xdead000
/* ... with these in rcx and r11, which every fault must preserve. */
#define USER_FAULT_RCX 0x0123456789abcdef
#define USER_FAULT_R11 0xfedcba9876543210

#ifndef __ASSEMBLER__
#include "xen.h"

/* Maps shared_info, builds, pins and sets the user L4, registers the trap table, the kernel
   stack and the syscall callback. The workloads below need it to have run. */
void usermode_init(const struct start_info *si);

/* Command-line workloads: "syscalls=N|forever", "faults=N|forever", "int=V". */
void workload_syscalls(const char *arg, size_t n);
void workload_faults(const char *arg, size_t n);
void workload_int(const char *arg, size_t n);
#endif

#endif
