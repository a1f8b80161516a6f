/* Guest kernel entry and exit for guest user mode, shaped like Xen PV Linux's
   (arch/x86/xen/xen-asm.S): the trap table's handlers, the syscall callback, and the switch
   into and out of user mode. Every way back to user mode is HYPERVISOR_iret; the C side is
   usermode.c. */
#include "xen.h"

/* HYPERVISOR_iret through the hypercall page, counted like every hypercall (hypercall.c). The
   caller has pushed flags, rip, cs, rflags, rsp, ss; the page's iret slot pushes rcx, r11 and
   rax to complete Xen's iret_context. */
.macro IRET_HYPERCALL
    incq hypercall_total(%rip)
    incq (hypercall_counts + __HYPERVISOR_iret * 8)(%rip)
    jmp hypercall_page + __HYPERVISOR_iret * HYPERCALL_SLOT_SIZE
.endm

/* The trap table given to set_trap_table: {vector, flags (DPL), cs, address} entries emitted
   beside their stubs by TRAP, ended by an all-zero entry below. */
    .pushsection .rodata.trap_table, "a"
    .balign 8
    .globl xkv_trap_table
xkv_trap_table:
    .popsection

/* One trap-table entry and its stub. Xen's bounce frame holds, from rsp up: rcx, r11,
   [error code], rip, cs, rflags, rsp, ss. Like Linux's xen_<name> stubs, pop rcx and r11
   back into their registers, leaving the hardware's frame; push a 0 where the CPU pushes no
   error code so that every vector shares struct trap_frame (usermode.c). */
.macro TRAP vector, error=0, dpl=0
    .pushsection .rodata.trap_table, "a"
    .byte \vector, \dpl
    .word FLAT_RING3_CS64
    .long 0
    .quad 1f
    .popsection
1:  popq %rcx
    popq %r11
    .if \error == 0
    pushq $0
    .endif
    pushq $\vector
    jmp trap_common
.endm

    .text
    /* Linux's choice of vectors and DPLs: int3 and into may be raised by user code, as may
       0x80 (the IA-32 system call vector); everything else only by the CPU. */
    TRAP 0                  /* #DE */
    TRAP 1                  /* #DB */
    TRAP 3, dpl=3           /* #BP */
    TRAP 4, dpl=3           /* #OF */
    TRAP 5                  /* #BR */
    TRAP 6                  /* #UD */
    TRAP 7                  /* #NM */
    TRAP 8, error=1         /* #DF */
    TRAP 10, error=1        /* #TS */
    TRAP 11, error=1        /* #NP */
    TRAP 12, error=1        /* #SS */
    TRAP 13, error=1        /* #GP */
    TRAP 14, error=1        /* #PF */
    TRAP 16                 /* #MF */
    TRAP 17, error=1        /* #AC */
    TRAP 18                 /* #MC */
    TRAP 19                 /* #XM */
    TRAP 0x80, dpl=3
    .pushsection .rodata.trap_table, "a"
    .quad 0, 0
    .popsection

/* Saves every register (the user program resumes with all of them intact), calls
   xkv_user_trap(frame), which may edit frame->rip or end the user program, and returns to
   where the frame says with a full iret (flags 0: rcx and r11 come back from the frame). */
trap_common:
    pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, %rdi
    movq %rsp, %rbp
    andq $-16, %rsp         /* the C ABI's alignment at a call; rbp keeps the frame */
    call xkv_user_trap
    movq %rbp, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rbp
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rbx
    popq %rax
    addq $16, %rsp          /* vector and error code */
    pushq $0
    IRET_HYPERCALL

/* CALLBACKTYPE_syscall: a guest user `syscall` that Xen switched to guest kernel mode. The
   stack registered with stack_switch holds [rcx, r11, rip, cs, rflags, rsp, ss]; rcx and r11
   are live too (return rip and rflags, as the instruction left them). Linux's x86-64 system
   call ABI: number in rax, arguments in rdi, rsi, rdx, r10, r8, r9, result in rax; only rcx and
   r11 are clobbered. */
    .globl xen_syscall_entry
xen_syscall_entry:
    addq $16, %rsp          /* rcx and r11 are in their registers already */
    pushq %rdi
    pushq %rsi
    pushq %rdx
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %rbp
    movq %rsp, %rbp
    leaq 7*8(%rsp), %rdx    /* xkv_syscall(nr, arg, frame = {rip, cs, rflags, rsp, ss}) */
    movq %rdi, %rsi
    movq %rax, %rdi
    andq $-16, %rsp
    call xkv_syscall
    movq %rbp, %rsp
    popq %rbp
    popq %r10
    popq %r9
    popq %r8
    popq %rdx
    popq %rsi
    popq %rdi
    /* Linux's xen_sysret64: the frame left by Xen minus rcx/r11 is the iret frame; with
       VGCF_in_syscall Xen returns sysret-style and rax carries the result. */
    pushq $VGCF_in_syscall
    IRET_HYPERCALL

/* void user_enter(uint64_t rip, uint64_t arg, uint64_t rsp): runs rip(arg) in guest user
   mode on stack rsp, and returns when a handler calls user_exit(). */
    .globl user_enter
user_enter:
    pushq %rbx
    pushq %rbp
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, kernel_resume_rsp(%rip)
    pushq $FLAT_RING3_SS    /* ss, rsp, rflags (IF: events on), cs (RPL 3: user mode), rip */
    pushq %rdx
    pushq $0x202
    pushq $FLAT_RING3_CS64
    pushq %rdi
    pushq $0                /* flags */
    movq %rsi, %rdi
    /* Nothing of the kernel's leaks into user registers (rcx and r11 come from here too). */
    xorl %eax, %eax
    xorl %ebx, %ebx
    xorl %ecx, %ecx
    xorl %edx, %edx
    xorl %esi, %esi
    xorl %ebp, %ebp
    xorl %r8d, %r8d
    xorl %r9d, %r9d
    xorl %r10d, %r10d
    xorl %r11d, %r11d
    xorl %r12d, %r12d
    xorl %r13d, %r13d
    xorl %r14d, %r14d
    xorl %r15d, %r15d
    IRET_HYPERCALL

/* void user_exit(void), from a handler in guest kernel mode: abandon the handler's stack and
   return from user_enter (the user program is over, like a process that exited). */
    .globl user_exit
user_exit:
    movq kernel_resume_rsp(%rip), %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbp
    popq %rbx
    ret

    .bss
    .balign 8
kernel_resume_rsp:
    .quad 0

    .section .note.GNU-stack, "", @progbits
