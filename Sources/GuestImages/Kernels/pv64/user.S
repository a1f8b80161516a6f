/* User programs in assembly, for the workloads that need exact instruction addresses: they
   run in guest user mode (user_enter) and never return; the kernel's handlers end them. */
#include "usermode.h"

    .text
/* After each fault: rcx and r11 must be what they were before it. Xen saves them in the
   bounce frame and HYPERVISOR_iret (flags 0) restores them; the handlers check the frame's
   copies, this checks the way back. A mismatch counts in user_bad (usermode.c). */
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

/* user_faults(): fault forever, cycling #UD, #BP, #PF, #GP. The handlers resume each fault
   past its instruction (int3 is a trap: the CPU already did) and know rsp stays put. */
    .globl user_faults, fault_ud, fault_bp, fault_pf, fault_pf_end, fault_gp
user_faults:
    movl $USER_FAULT_VA, %ebx
    movabsq $USER_FAULT_RCX, %r12
    movabsq $USER_FAULT_R11, %r13
    movq %r12, %rcx
    movq %r13, %r11
1:
fault_ud:
    ud2
    CHECK_RCX_R11
fault_bp:
    int3
    CHECK_RCX_R11
fault_pf:
    movq (%rbx), %rax
fault_pf_end:
    CHECK_RCX_R11
fault_gp:
    hlt
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
