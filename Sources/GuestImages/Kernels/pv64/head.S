/* Entry point, hypercall page, the traps workload's entry points, and the ELF notes (Xen's and xkv's). */
#include "xen.h"
#include "../common/xkv-report.h"

/* One ELF note named "Xen" (public/elfnote.h): namesz, descsz, type, name, desc, 4-byte padded. */
.macro XEN_NOTE type, desc:vararg
    .pushsection .note.Xen, "a", @note
    .balign 4
    .long 2f - 1f
    .long 4f - 3f
    .long \type
1:  .asciz "Xen"
2:  .balign 4
3:  \desc
4:  .balign 4
    .popsection
.endm

    XEN_NOTE XEN_ELFNOTE_GUEST_OS,       .asciz "xkv-pv64"
    XEN_NOTE XEN_ELFNOTE_XEN_VERSION,    .asciz "xen-3.0"
    XEN_NOTE XEN_ELFNOTE_LOADER,         .asciz "generic"
    XEN_NOTE XEN_ELFNOTE_VIRT_BASE,      .quad XEN_VIRT_BASE
    XEN_NOTE XEN_ELFNOTE_PADDR_OFFSET,   .quad 0
    XEN_NOTE XEN_ELFNOTE_ENTRY,          .quad _start
    XEN_NOTE XEN_ELFNOTE_HYPERCALL_PAGE, .quad hypercall_page
    XEN_NOTE XEN_ELFNOTE_PAE_MODE,       .asciz "yes"

/* xkv's own note: where the report page is (main.c). */
    XKV_REPORT_NOTE xkv_report_page

/* First bytes of the image (kernel.ld puts .text.head at XEN_VIRT_BASE).
   In: rsi = start_info VA, rsp = the builder's boot stack, ring 3, events masked. */
    .section .text.head, "ax"
    .globl _start
    .type _start, @function
_start:
    cld
    /* Zero .bss ourselves rather than trust every loader to; rsi survives rep stosb. */
    movq $__bss_start, %rdi
    movq $__bss_end, %rcx
    subq %rdi, %rcx
    xorl %eax, %eax
    rep stosb
    movq $boot_stack_top, %rsp
    movq %rsi, %rdi
    call xkv_main
1:  jmp 1b
    .size _start, . - _start

/* The domain builder overwrites this page with one 32-byte stub per hypercall.
   int3 filler makes a call into an unfilled page trap instead of running on. */
    .section .text.hypercall_page, "ax"
    .balign PAGE_SIZE
    .globl hypercall_page
    .type hypercall_page, @object
hypercall_page:
    .fill PAGE_SIZE, 1, 0xcc
    .size hypercall_page, PAGE_SIZE

/* Registered by the traps workload. The hypervisor's bounce frame holds, from
   rsp up: rcx, r11, [error code], rip, cs, rflags, rsp, ss. */
    .text
    .globl trap_breakpoint, trap_page_fault
trap_breakpoint:
    movl $3, %edi
    leaq 16(%rsp), %rsi
    xorl %edx, %edx
    jmp 1f
trap_page_fault:
    movl $14, %edi
    leaq 24(%rsp), %rsi
    movq 16(%rsp), %rdx
1:  andq $-16, %rsp
    call xkv_trap
2:  jmp 2b

    .section .bss.stack, "aw", @nobits
    .balign 16
boot_stack:
    .skip 16384
boot_stack_top:

    .section .note.GNU-stack, "", @progbits
