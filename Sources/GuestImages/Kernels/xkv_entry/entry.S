/*
 * xkv's ring-0 entry code for 32-bit PV domains: Xen's int80_direct_trap.
 *
 * When the scheduler puts a 32-bit PV vCPU on a pCPU it writes that vCPU's trap_ctxt[0x80]
 * into the pCPU's 0x80 slot (the context page below) unless the entry masks events, has a bad
 * selector or is absent. A guest user `int $0x80` then bounces straight into the guest kernel's
 * handler from here, with Xen's compat frame [EIP, CS|mask<<16, EFLAGS, ESP, SS] on the kernel
 * stack from stack_switch: no VM exit, no engine code. With an empty slot, or from ring 1, the
 * call goes to xkv's exit stub for vector 0x80 and the engine applies the DPL rule.
 *
 * Hardware delivers `int $0x80` through xkv's DPL-3 gate to entry_int80. PVM raises #UD on the
 * `int` instead (PVMCompensation.softwareInterruptAsUD): entry_ud recognises `cd 80` at the
 * guest's eip and takes the same path; any other #UD goes to the exit stub for vector 6.
 *
 * Layout constants must match HypervisorHole.swift (Page.code, Page.context, stubs page).
 */
    .set CONTEXT,   0xFFFF830000019000     /* HypervisorHole.base + Page.context * 4096 */
    .set STUBS,     0xFFFF830000012000     /* HypervisorHole.base + Page.stubs * 4096 */
    .set SLOT_PRESENT, 0                   /* u64: 1 when a handler is installed */
    .set SLOT_EIP,     8                   /* u64: handler eip */
    .set SLOT_CS,      16                  /* u64: handler cs */
    .set KERNEL_SP,    24                  /* u64: stack_switch esp */
    .set KERNEL_SS,    32                  /* u64: stack_switch ss */
    .set MASK_VA,      40                  /* u64: address of vcpu_info.evtchn_upcall_mask */
    .set UD_AS_INT80,  48                  /* u64: PVM #UD-on-int $0x80 events (counted) */
    .set IRET_EMULATED, 56                 /* u64: PVM #GP-on-iret events emulated here (counted) */

    .text
    .code64

/* #UD from the guest. Frame: rip, cs, rflags, rsp, ss (no error code). */
    .globl entry_ud
    .org 0                              /* HypervisorHole.udEntryOffset */
entry_ud:
    pushq   %rax
    movl    16(%rsp), %eax              /* cs */
    andl    $3, %eax
    cmpl    $3, %eax
    jne     1f                          /* only guest user code takes the direct path */
    movq    8(%rsp), %rax               /* the guest's eip */
    cmpw    $0x80cd, (%rax)             /* int $0x80 */
    jne     1f
    addq    $2, 8(%rsp)                 /* as the CPU would have pushed it: past the int */
    movabsq $CONTEXT, %rax
    lock incq UD_AS_INT80(%rax)
    popq    %rax
    jmp     int80_common
1:  popq    %rax
    jmp     *stub_ud(%rip)

/* int $0x80 through xkv's DPL-3 gate (hardware). Frame: rip (past the int), cs, rflags, rsp, ss. */
    .globl entry_int80
    .org 0x80                           /* HypervisorHole.int80EntryOffset */
entry_int80:
    testb   $2, 8(%rsp)                 /* RPL 3 has bit 1 set; ring 1 does not */
    jz      slow_int80
int80_common:
    pushq   %rax
    pushq   %rcx
    pushq   %rdx
    pushq   %r8
    movabsq $CONTEXT, %rdx
    cmpq    $0, SLOT_PRESENT(%rdx)
    je      9f
    /* Frame now at 32(%rsp): rip 32, cs 40, rflags 48, rsp 56, ss 64. */
    movq    MASK_VA(%rdx), %r8
    movzbl  (%r8), %r8d                 /* the saved event mask */
    movl    KERNEL_SP(%rdx), %ecx
    subl    $20, %ecx
    movl    32(%rsp), %eax
    movl    %eax, 0(%rcx)               /* EIP */
    movl    %r8d, %eax
    shll    $16, %eax
    orl     40(%rsp), %eax
    movl    %eax, 4(%rcx)               /* CS, saved event mask in bits 16-23 */
    movl    48(%rsp), %eax
    andl    $~0x200, %eax
    testl   %r8d, %r8d
    jnz     5f
    orl     $0x200, %eax                /* EFLAGS.IF = !mask, as compat_create_bounce_frame */
5:  movl    %eax, 8(%rcx)               /* EFLAGS */
    movl    56(%rsp), %eax
    movl    %eax, 12(%rcx)              /* ESP */
    movl    64(%rsp), %eax
    movl    %eax, 16(%rcx)              /* SS */
    movl    SLOT_EIP(%rdx), %eax
    movq    %rax, 32(%rsp)              /* enter the guest kernel's handler */
    movq    SLOT_CS(%rdx), %rax
    movq    %rax, 40(%rsp)
    andq    $~0x44100, 48(%rsp)         /* TF, NT, RF off, as a trap gate does */
    movq    %rcx, 56(%rsp)
    movq    KERNEL_SS(%rdx), %rax
    movq    %rax, 64(%rsp)
    popq    %r8
    popq    %rdx
    popq    %rcx
    popq    %rax
    iretq
9:  popq    %r8
    popq    %rdx
    popq    %rcx
    popq    %rax
slow_int80:
    jmp     *stub_int80(%rip)

/*
 * #GP from the guest (PVMCompensation.compatIretAsGP): PVM raises #GP(0) on `iret` in 32-bit
 * ring 1, which a 32-bit PV kernel uses to leave every trap and system call. For Xen's flat
 * selectors this emulates the iret here, without an exit: EIP, CS, EFLAGS (and ESP, SS to
 * ring 3) from the guest kernel's stack; IF and IOPL stay as they are (CPL 1 cannot change
 * them). Anything else goes to the exit stub for vector 13, where the engine decides.
 * Frame: error code, rip, cs, rflags, rsp, ss.
 */
    .globl entry_gp
    .org 0x200                          /* HypervisorHole.gpEntryOffset */
entry_gp:
    cmpq    $0, (%rsp)
    jne     slow_gp
    pushq   %rax
    pushq   %rcx
    pushq   %rdx
    /* Frame now at 24(%rsp): error 24, rip 32, cs 40, rflags 48, rsp 56, ss 64. */
    cmpq    $0xe019, 40(%rsp)           /* from the guest kernel's flat ring-1 code */
    jne     8f
    movq    32(%rsp), %rax
    cmpb    $0xcf, (%rax)               /* iret */
    jne     8f
    movl    56(%rsp), %ecx              /* the guest kernel's esp: EIP, CS, EFLAGS [, ESP, SS] */
    movzwl  4(%rcx), %edx
    cmpl    $0xe019, %edx
    je      1f
    cmpl    $0xe02b, %edx
    jne     8f
    movzwl  16(%rcx), %eax              /* to ring 3: the new SS must be flat ring-3 data */
    cmpl    $0xe033, %eax
    jne     8f
    movq    %rax, 64(%rsp)
    movl    12(%rcx), %eax
    movq    %rax, 56(%rsp)
    jmp     2f
1:  leal    12(%rcx), %eax              /* ring 1 to ring 1: SS stays */
    movq    %rax, 56(%rsp)
2:  movq    %rdx, 40(%rsp)
    movl    (%rcx), %eax
    movq    %rax, 32(%rsp)
    movl    8(%rcx), %eax
    andl    $0x244dd5, %eax             /* arithmetic flags, TF, DF, NT, AC, ID */
    orl     $0x202, %eax                /* IF on, IOPL 0 */
    movq    %rax, 48(%rsp)
    movabsq $CONTEXT, %rax
    lock incq IRET_EMULATED(%rax)
    popq    %rdx
    popq    %rcx
    popq    %rax
    addq    $8, %rsp                    /* the error code */
    iretq
8:  popq    %rdx
    popq    %rcx
    popq    %rax
slow_gp:
    jmp     *stub_gp(%rip)

    .p2align 3
stub_ud:    .quad STUBS + 6 * 4
stub_int80: .quad STUBS + 0x80 * 4
stub_gp:    .quad STUBS + 13 * 4
