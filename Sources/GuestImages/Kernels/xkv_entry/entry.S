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
    movabsq $CONTEXT, %rdx
    cmpq    $0, SLOT_PRESENT(%rdx)
    je      9f
    /* Frame now at 24(%rsp): rip 24, cs 32, rflags 40, rsp 48, ss 56. */
    movl    KERNEL_SP(%rdx), %ecx
    subl    $20, %ecx
    movl    24(%rsp), %eax
    movl    %eax, 0(%rcx)               /* EIP */
    movq    MASK_VA(%rdx), %rax
    movzbl  (%rax), %eax
    shll    $16, %eax
    orl     32(%rsp), %eax
    movl    %eax, 4(%rcx)               /* CS, saved event mask in bits 16-23 */
    movl    40(%rsp), %eax
    movl    %eax, 8(%rcx)               /* EFLAGS */
    movl    48(%rsp), %eax
    movl    %eax, 12(%rcx)              /* ESP */
    movl    56(%rsp), %eax
    movl    %eax, 16(%rcx)              /* SS */
    movl    SLOT_EIP(%rdx), %eax
    movq    %rax, 24(%rsp)              /* enter the guest kernel's handler */
    movq    SLOT_CS(%rdx), %rax
    movq    %rax, 32(%rsp)
    andq    $~0x44100, 40(%rsp)         /* TF, NT, RF off, as a trap gate does */
    movq    %rcx, 48(%rsp)
    movq    KERNEL_SS(%rdx), %rax
    movq    %rax, 56(%rsp)
    popq    %rdx
    popq    %rcx
    popq    %rax
    iretq
9:  popq    %rdx
    popq    %rcx
    popq    %rax
slow_int80:
    jmp     *stub_int80(%rip)

    .p2align 3
stub_ud:    .quad STUBS + 6 * 4
stub_int80: .quad STUBS + 0x80 * 4
