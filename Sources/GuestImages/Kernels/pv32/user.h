/* What the kernel and its user-mode code (user.S) agree on: system call numbers and the layout
   of the user data page. Shared by C and assembly. */
#ifndef XKV_USER_H
#define XKV_USER_H

/* int $0x80 with eax = number, ebx = argument; the result comes back in eax. */
#define SYS_mix 1       /* returns (ebx ^ SYS_MIX_KEY) + SYS_mix */
#define SYS_exit 2      /* back to the kernel's workload code; never returns to user mode */
#define SYS_MIX_KEY 0x5a5a5a5a

/* Reads of addresses in [USER_UNMAPPED, USER_UNMAPPED + 0x1000) fault: nothing is mapped below
   virt_base. The faults workload varies the address so cr2 checks mean something. */
#define USER_UNMAPPED 0x00bad000

/* The user data page (struct user_area), byte offsets for user.S. */
#define U_COUNT 0       /* loop bound; 0xffffffff with U_STEP 0 loops forever */
#define U_STEP 4        /* 1, or 0 for forever */
#define U_OK 8          /* syscalls whose result checked out */
#define U_BAD 12        /* syscalls whose result did not */
#define U_TSC0 16       /* rdtsc before the loop (u64); stays 0 without U_CYCLES */
#define U_TSC1 24       /* rdtsc after the loop (u64); stays 0 without U_CYCLES */
#define U_CYCLES 32     /* nonzero: command-line token `cycles`, the only case user code runs rdtsc */

#ifndef __ASSEMBLER__
#include <stdint.h>

struct user_area {
    uint32_t count, step, ok, bad;
    uint64_t tsc0, tsc1;
    uint32_t cycles;
};
_Static_assert(__builtin_offsetof(struct user_area, ok) == U_OK, "user_area.ok");
_Static_assert(__builtin_offsetof(struct user_area, bad) == U_BAD, "user_area.bad");
_Static_assert(__builtin_offsetof(struct user_area, tsc0) == U_TSC0, "user_area.tsc0");
_Static_assert(__builtin_offsetof(struct user_area, tsc1) == U_TSC1, "user_area.tsc1");
_Static_assert(__builtin_offsetof(struct user_area, cycles) == U_CYCLES, "user_area.cycles");

/* Entry points and instruction sites in user.S, checked against exception frames. */
extern char user_syscalls[], user_faults[], user_int[];
extern char user_fault_ud[], user_fault_bp_after[], user_fault_pf[];
extern char user_int_site[], user_int_after[], user_leave_int[], user_leave_after[];
#endif

#endif
