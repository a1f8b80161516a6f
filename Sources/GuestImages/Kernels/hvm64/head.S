/* Entry point and xkv's note. No Xen notes: this is an HVM kernel, loaded by physical address. */
#include "hvm.h"
#include "../common/xkv-report.h"

/* Where the report page is (main.c). */
    XKV_REPORT_NOTE xkv_report_page

/* First bytes of the image (kernel.ld puts .text.head at 1 MiB). xkv's HVM builder enters
   here in 64-bit long mode at CPL 0 with interrupts disabled, cs 0x08, the other segment
   registers 0x10, paging on with its identity map of the first 4 GiB, rsp = 0x9f000 and
   rdi = the boot-parameters page (hvm.h). Nothing of the builder's is trusted beyond that:
   xkv_main installs this kernel's own GDT, TSS, IDT, page tables and syscall MSRs at once. */
    .section .text.head, "ax"
    .globl _start
    .type _start, @function
_start:
    cld
    movq %rdi, %rdx                 /* rep stosb takes rdi */
    /* Zero .bss ourselves rather than trust every loader to (it holds the page tables). */
    movl $__bss_start, %edi
    movl $__bss_end, %ecx
    subl %edi, %ecx
    xorl %eax, %eax
    rep stosb
    movl $boot_stack_top, %esp      /* below 4 GiB: the 32-bit write zero-extends */
    movq %rdx, %rdi
    call xkv_main
1:  cli
    hlt
    jmp 1b
    .size _start, . - _start

    .section .bss.stack, "aw", @nobits
    .balign 16
boot_stack:
    .skip 16384
boot_stack_top:

    .section .note.GNU-stack, "", @progbits
