/* Ring 3: the user programs (user.S) and the workloads that run them (usermode.c). */
#ifndef XKV_HVM64_USERMODE_H
#define XKV_HVM64_USERMODE_H

/* The faults workload reads here: above the first 4 GiB, where this kernel's page tables
   (cpu.c) map nothing, so the read is a #PF with cr2 = this and error code 4 (user read,
   not present). Canonical, so not a #GP. */
#define USER_FAULT_VA 0x10dead000
/* ... with these in rcx and r11, which every fault must preserve. */
#define USER_FAULT_RCX 0x0123456789abcdef
#define USER_FAULT_R11 0xfedcba9876543210

/* System call i of the syscalls program: number i % SYSCALL_COUNT, argument i * SYSCALL_MUL;
   the kernel answers argument * 3 + number. */
#define SYSCALL_COUNT 16
#define SYSCALL_MUL 0x9e3779b97f4a7c15
/* What the syscalls program keeps in the registers a system call must preserve. */
#define SYSCALL_SENTINEL 0x5a5a1234a5a5c0de

#ifndef __ASSEMBLER__
#include <stddef.h>

/* Command-line workloads: "syscalls=N|forever", "faults=N|forever", "int=V". */
void workload_syscalls(const char *arg, size_t n);
void workload_faults(const char *arg, size_t n);
void workload_int(const char *arg, size_t n);
#endif

#endif
