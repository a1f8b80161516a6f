/* User programs in assembly, for the workloads that need exact instruction addresses: they
   run in ring 3 (user_enter) and never return; the kernel's handlers end them. They live in
   the kernel's text: every mapping of this kernel carries the user bit (cpu.c), as the
   builder's identity map does. */
#include "usermode.h"

    .text
/* user_syscalls(): system calls forever, checking each. Call i passes number i % 16 in rax
   and i * SYSCALL_MUL in rdi, and must get back rdi * 3 + rax in rax with rdi, rsi, rdx, r8,
   r9, r10, rbx, rbp, r12-r15 intact (rcx and r11 are the instruction's). A wrong result or a
   clobbered register counts in user_bad (usermode.c). The kernel checks that rcx points at
   syscall_return. */
    .globl user_syscalls, syscall_return
user_syscalls:
    xorl %ebx, %ebx                 /* i */
    movabsq $SYSCALL_MUL, %r14
    movabsq $SYSCALL_SENTINEL, %r15
    movq %r15, %rbp
    movq %r15, %rsi
    movq %r15, %rdx
    movq %r15, %r8
    movq %r15, %r9
    movq %r15, %r10
1:  movl %ebx, %eax
    andl $(SYSCALL_COUNT - 1), %eax /* number */
    movq %rbx, %rdi
    imulq %r14, %rdi                /* argument */
    movq %rdi, %r13
    leaq (%rdi,%rdi,2), %r12
    addq %rax, %r12                 /* the expected result */
    syscall
syscall_return:
    cmpq %r12, %rax
    jne 8f
    cmpq %r13, %rdi
    jne 8f
    cmpq %r15, %rsi
    jne 8f
    cmpq %r15, %rdx
    jne 8f
    cmpq %r15, %r8
    jne 8f
    cmpq %r15, %r9
    jne 8f
    cmpq %r15, %r10
    jne 8f
    cmpq %r15, %rbp
    je 9f
8:  incq user_bad(%rip)
    movq %r15, %rbp                 /* count each bad call once: restore the sentinels */
    movq %r15, %rsi
    movq %r15, %rdx
    movq %r15, %r8
    movq %r15, %r9
    movq %r15, %r10
9:  incq %rbx
    jmp 1b

/* After each fault: rcx and r11 must be what they were before it (the handlers check the
   frame's copies, this checks the way back). A mismatch counts in user_bad. */
.macro CHECK_RCX_R11
    cmpq %r12, %rcx
    jne 8f
    cmpq %r13, %r11
    je 9f
8:  incq user_bad(%rip)
    movq %r12, %rcx
    movq %r13, %r11
9:
.endm

/* user_faults(): fault forever, cycling #UD, #BP, #PF, #GP, as pv64's does. The handlers
   resume each fault past its instruction (int3 is a trap: the CPU already did) and know rsp
   stays put. */
    .globl user_faults, fault_ud, fault_bp, fault_pf, fault_pf_end, fault_gp
user_faults:
    movabsq $USER_FAULT_VA, %rbx
    movabsq $USER_FAULT_RCX, %r12
    movabsq $USER_FAULT_R11, %r13
    movq %r12, %rcx
    movq %r13, %r11
1:
fault_ud:
    ud2                             /* #UD, rip on it */
    CHECK_RCX_R11
fault_bp:
    int3                            /* #BP through the DPL-3 gate, rip past it */
    CHECK_RCX_R11
fault_pf:
    movq (%rbx), %rax               /* #PF, error 4, cr2 = USER_FAULT_VA */
fault_pf_end:
    CHECK_RCX_R11
fault_gp:
    hlt                             /* privileged at CPL 3: #GP(0), rip on it */
    CHECK_RCX_R11
    jmp 1b

/* user_soft_int(V): one `int $V`, V in 0..255: the table holds a two-byte `int $V` every 8
   bytes. int3 filler behind each: nothing is meant to run on after the interrupt. */
    .globl user_soft_int, soft_int_table
user_soft_int:
    leaq soft_int_table(%rip), %rax
    leaq (%rax,%rdi,8), %rax
    jmp *%rax
    .balign 8, 0xcc
soft_int_table:
    .set vector, 0
    .rept 256
    .byte 0xcd, vector      /* int $vector, spelled out: assemblers encode int $3 as int3 */
    .balign 8, 0xcc
    .set vector, vector + 1
    .endr

    .section .note.GNU-stack, "", @progbits
