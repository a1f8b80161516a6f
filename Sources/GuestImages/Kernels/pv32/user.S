/* Guest user-mode code: runs in ring 3 (cs 0xe02b, ds/ss 0xe033) on pages the kernel maps with
   _PAGE_USER. It reads its parameters from, and leaves its results in, the user data page, and
   goes back to the kernel with SYS_exit. Each entry point leaves the stack untouched, so every
   exception frame's ESP is the user stack top. rdtsc runs only when U_CYCLES is set (the
   command-line token `cycles`): without it a run is deterministic. */
#include "xen.h"
#include "user.h"

    .section .user.text, "ax"

/* U_COUNT system calls: SYS_mix(i) for i = 0, 1, ..., each result checked. */
    .globl user_syscalls
user_syscalls:
    cmpl $0, user_area + U_CYCLES   /* no `cycles`: no rdtsc, a run stays deterministic */
    je 9f
    rdtsc
    movl %eax, user_area + U_TSC0
    movl %edx, user_area + U_TSC0 + 4
9:
    movl user_area + U_COUNT, %edi
    movl user_area + U_STEP, %ebp
    xorl %esi, %esi
1:  movl $SYS_mix, %eax
    movl %esi, %ebx
    int $0x80
    movl %esi, %edx
    xorl $SYS_MIX_KEY, %edx
    addl $SYS_mix, %edx
    cmpl %edx, %eax
    jne 2f
    incl user_area + U_OK
    jmp 3f
2:  incl user_area + U_BAD
3:  addl %ebp, %esi
    cmpl %edi, %esi
    jne 1b
    jmp user_done

/* U_COUNT exceptions in turn: #UD (ud2), #BP (int3), #PF (read below virt_base). The kernel's
   handlers check each frame and resume after the faulting instruction. */
    .globl user_faults, user_fault_ud, user_fault_bp_after, user_fault_pf
user_faults:
    cmpl $0, user_area + U_CYCLES   /* no `cycles`: no rdtsc, a run stays deterministic */
    je 9f
    rdtsc
    movl %eax, user_area + U_TSC0
    movl %edx, user_area + U_TSC0 + 4
9:
    movl user_area + U_COUNT, %edi
    movl user_area + U_STEP, %ebp
    xorl %esi, %esi
1:
user_fault_ud:
    ud2
    addl %ebp, %esi
    cmpl %edi, %esi
    je user_done
    int3
user_fault_bp_after:
    addl %ebp, %esi
    cmpl %edi, %esi
    je user_done
    movl %esi, %ebx
    shll $4, %ebx
    andl $0xff0, %ebx
    orl $USER_UNMAPPED, %ebx
user_fault_pf:
    movl (%ebx), %eax           /* 8b 03: two bytes, the handler skips them */
    addl %ebp, %esi
    cmpl %edi, %esi
    jne 1b
    jmp user_done

/* One software interrupt; the kernel patches the vector byte before it enters user mode. */
    .globl user_int, user_int_site, user_int_after
user_int:
    xorl %eax, %eax
user_int_site:
    .byte 0xcd, 0x00
user_int_after:
    jmp user_leave

user_done:
    cmpl $0, user_area + U_CYCLES   /* no `cycles`: no rdtsc, a run stays deterministic */
    je 9f
    rdtsc
    movl %eax, user_area + U_TSC1
    movl %edx, user_area + U_TSC1 + 4
9:
/* Back to the kernel: the one int $0x80 per user session that is not a SYS_mix call. */
    .globl user_leave_int, user_leave_after
user_leave:
    movl $SYS_exit, %eax
user_leave_int:
    int $0x80
user_leave_after:
    jmp user_leave
