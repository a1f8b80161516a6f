/* Ring-0 entry and exit: the IDT's 256 stubs and their common path, the native syscall entry
   (MSR_LSTAR) returning with sysretq, loading the GDT/IDT/TSS, and the switch into and out of
   user mode. The C halves are in usermode.c and cpu.c. */
#include "hvm.h"

/* The stub addresses, one .quad per vector, in vector order; cpu.c builds the IDT from them. */
    .pushsection .rodata.isr_table, "a"
    .balign 8
    .globl isr_table
isr_table:
    .popsection

/* One stub per vector, 16 bytes apart. Where the CPU pushes no error code, push a 0 so every
   vector shares struct trap_frame (usermode.c); then the vector. Exceptions with an error
   code: #DF 8, #TS 10, #NP 11, #SS 12, #GP 13, #PF 14, #AC 17, #CP 21, #VC 29, #SX 30. Nothing
   else may push one: only vectors 3, 4 and 0x80 are reachable by `int` from user mode. */
    .text
    .balign 16
isr_stubs:
    .set vector, 0
    .rept 256
    .balign 16, 0xcc
1:
    .if (vector == 8) || (vector == 10) || (vector == 11) || (vector == 12) || (vector == 13) || (vector == 14) || (vector == 17) || (vector == 21) || (vector == 29) || (vector == 30)
    .else
    pushq $0
    .endif
    pushq $vector
    jmp isr_common
    .pushsection .rodata.isr_table, "a"
    .quad 1b
    .popsection
    .set vector, vector + 1
    .endr

/* Every interrupt and exception. The stack holds, from rsp up: vector, error code, then the
   CPU's frame rip, cs, rflags, rsp, ss (64-bit mode always pushes ss:rsp, and aligns rsp to
   16 first). Saves every register (the user program resumes with all of them intact), calls
   xkv_trap_entry(frame), which may edit frame->rip or end the user program (user_exit), and
   returns where the frame says. */
isr_common:
    cld                     /* interrupt gates clear IF but not DF; C expects DF = 0 */
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
    andq $-16, %rsp         /* 22 quadwords on the CPU's 16-aligned frame: a no-op, kept for safety */
    call xkv_trap_entry
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
    iretq

/* MSR_LSTAR. A user `syscall` arrives here natively, the hypervisor never sees it: cs = 0x08,
   ss = 0x10 (STAR), rcx = the user rip after the syscall, r11 = the user rflags, rflags
   masked by FMASK (IF, TF, DF clear), rsp still the user's. Linux's system-call ABI: number
   in rax, argument in rdi (and rsi, rdx, r10, r8, r9), result in rax; every register but
   rax, rcx and r11 comes back intact. One vCPU and IF = 0: a global holds the user rsp. */
    .globl syscall_entry
syscall_entry:
    movq %rsp, syscall_user_rsp(%rip)
    movq syscall_kernel_rsp(%rip), %rsp
    /* struct syscall_frame (usermode.c), highest address first. */
    pushq syscall_user_rsp(%rip)
    pushq %r11
    pushq %rcx
    pushq %rax
    pushq %rdi
    pushq %rsi
    pushq %rdx
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %rbp
    pushfq                  /* what the kernel runs with: FMASK's work */
    movl %cs, %eax
    pushq %rax
    movl %ss, %eax
    pushq %rax
    movq %rsp, %rdi         /* 14 quadwords below a 16-aligned top: aligned for the call */
    call xkv_syscall        /* result in rax; may end the program (user_exit) instead */
    addq $24, %rsp          /* ss, cs, rflags */
    popq %rbp
    popq %r10
    popq %r9
    popq %r8
    popq %rdx
    popq %rsi
    popq %rdi
    addq $8, %rsp           /* the number; rax holds the result */
    popq %rcx               /* user rip */
    popq %r11               /* user rflags */
    movq (%rsp), %rsp       /* user rsp; IF stays clear until sysretq loads r11 */
    sysretq

/* void cpu_load_tables(const struct table_register *gdtr, const struct table_register *idtr):
   this kernel's IDT, then its GDT with every segment register reloaded from it (cs by a far
   return), then its TSS. */
    .globl cpu_load_tables
cpu_load_tables:
    lidt (%rsi)
    lgdt (%rdi)
    pushq $KERNEL_CS
    leaq 1f(%rip), %rax
    pushq %rax
    lretq
1:  movl $KERNEL_DS, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    movl %eax, %fs
    movl %eax, %gs
    movl $TSS_SEL, %eax
    ltr %ax
    ret

/* void user_enter(uint64_t rip, uint64_t arg, uint64_t rsp): runs rip(arg) in ring 3 on
   stack rsp, and returns when a handler calls user_exit(). */
    .globl user_enter
user_enter:
    pushq %rbx
    pushq %rbp
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, kernel_resume_rsp(%rip)
    pushq $USER_DS          /* ss, rsp, rflags, cs (RPL 3: ring 3), rip */
    pushq %rdx
    pushq $USER_RFLAGS
    pushq $USER_CS
    pushq %rdi
    movq %rsi, %rdi
    /* Nothing of the kernel's leaks into user registers. */
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
    iretq                   /* ds/es/fs/gs hold DPL-0 selectors: the CPU nulls them for ring 3 */

/* void user_exit(void), from a handler in ring 0: abandon the handler's stack and return from
   user_enter (the user program is over, like a process that exited). Interrupts stay off. */
    .globl user_exit
user_exit:
    movq kernel_resume_rsp(%rip), %rsp
    movl $KERNEL_DS, %eax   /* as the kernel booted: the way into ring 3 nulled ds and es, */
    movl %eax, %ds          /* and an interrupt gate from ring 3 loads a null ss */
    movl %eax, %es
    movl %eax, %ss
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbp
    popq %rbx
    ret

    .data
    .balign 8
    .globl syscall_kernel_rsp
syscall_kernel_rsp:         /* set by cpu.c: the same stack as the TSS's rsp0 */
    .quad 0

    .bss
    .balign 8
syscall_user_rsp:
    .quad 0
kernel_resume_rsp:
    .quad 0

    .section .note.GNU-stack, "", @progbits
