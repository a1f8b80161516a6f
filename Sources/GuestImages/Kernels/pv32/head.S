/* Entry point, hypercall page, trap entry points, the ring-1 -> ring-3 switch and the ELF notes. */
#include "xen.h"
#include "user.h"

/* One ELF note (public/elfnote.h): namesz, descsz, type, name, desc, 4-byte padded. */
.macro NOTE name, type, desc:vararg
    .pushsection .note.Xen, "a", @note
    .balign 4
    .long 2f - 1f
    .long 4f - 3f
    .long \type
1:  .asciz "\name"
2:  .balign 4
3:  \desc
4:  .balign 4
    .popsection
.endm

/* Address-valued notes are 4 bytes on a 32-bit kernel (Xen reads 4 or 8). */
    NOTE Xen, XEN_ELFNOTE_GUEST_OS,       .asciz "xkv-pv32"
    NOTE Xen, XEN_ELFNOTE_XEN_VERSION,    .asciz "xen-3.0"
    NOTE Xen, XEN_ELFNOTE_LOADER,         .asciz "generic"
    NOTE Xen, XEN_ELFNOTE_VIRT_BASE,      .long XEN_VIRT_BASE
    NOTE Xen, XEN_ELFNOTE_PADDR_OFFSET,   .long 0
    NOTE Xen, XEN_ELFNOTE_ENTRY,          .long _start
    NOTE Xen, XEN_ELFNOTE_HYPERCALL_PAGE, .long hypercall_page
    NOTE Xen, XEN_ELFNOTE_PAE_MODE,       .asciz "yes"
    XKV_REPORT_NOTE report

/* First bytes of the image (kernel.ld puts .text.head at XEN_VIRT_BASE). In: esi = start_info
   VA, esp = the builder's boot stack, ring 1 (cs 0xe019, ds/es/fs/gs/ss 0xe021), events masked. */
    .section .text.head, "ax"
    .globl _start
    .type _start, @function
_start:
    cld
    movl $boot_stack + BOOT_STACK_SIZE, %esp
    pushl %esi
    call xkv_main
1:  jmp 1b
    .size _start, . - _start

/* The domain builder overwrites this page with one 32-byte stub per hypercall
   (`mov $nr,%eax; int $0x82; ret`). int3 filler makes a call into an unfilled page trap. */
    .section .text.hypercall_page, "ax"
    .balign PAGE_SIZE
    .globl hypercall_page
    .type hypercall_page, @object
hypercall_page:
    .fill PAGE_SIZE, 1, 0xcc
    .size hypercall_page, PAGE_SIZE

/* Exception entry points named in the trap table. Xen's bounce frame holds, from esp up:
   [error code], EIP, CS (bits 16-23: saved event mask), EFLAGS, and ESP, SS when the trap
   came from ring 3 (then on the stack registered with stack_switch). Each stub makes the
   frame uniform (vector, error code) for trap_common. */
.macro TRAP vector, errcode=0
    .globl trap_\vector
    .type trap_\vector, @function
trap_\vector:
    .if \errcode == 0
    pushl $0
    .endif
    pushl $\vector
    jmp trap_common
.endm

    .text
    TRAP 0
    TRAP 1
    TRAP 3
    TRAP 4
    TRAP 5
    TRAP 6
    TRAP 7
    TRAP 9
    TRAP 10, 1
    TRAP 11, 1
    TRAP 12, 1
    TRAP 13, 1
    TRAP 14, 1
    TRAP 16
    TRAP 17, 1
    TRAP 18
    TRAP 19
    TRAP 0x81

/* struct trap_frame: pushal's eight registers, vector, error code, then Xen's frame. The C
   handler may change eip and the registers; a real iret from ring 1 goes back. */
trap_common:
    pushal
    pushl %esp
    call xkv_trap
    addl $4, %esp
    popal
    addl $8, %esp
    iret

/* int $0x80 from user mode, straight from the int (Xen's int80_direct_trap) or routed by the
   hypervisor; the frame is the same: EIP (after the int), CS, EFLAGS, ESP, SS. SYS_mix is
   served here in a few instructions; everything else goes to the C handler. Two copies: the
   trap table names int80_direct_entry when it registers 0x80 with events unmasked (Xen then
   installs it for the direct path), int80_entry otherwise; only the first counts SYS_mix calls
   as report.int80_direct. int80_entries counts every entry, SYS_exit included. */
.macro INT80_ENTRY name, direct
    .globl \name
    .type \name, @function
\name:
    incl int80_entries
    cmpl $SYS_mix, %eax
    jne 1f
    cmpw $FLAT_RING3_CS, 4(%esp)
    jne 1f
    addl $1, report + XKV_REPORT_OFF_SYSCALLS
    adcl $0, report + XKV_REPORT_OFF_SYSCALLS + 4
    .if \direct
    addl $1, report + XKV_REPORT_OFF_INT80_DIRECT
    adcl $0, report + XKV_REPORT_OFF_INT80_DIRECT + 4
    .endif
    movl %ebx, %eax
    xorl $SYS_MIX_KEY, %eax
    addl $SYS_mix, %eax
    iret
1:  pushl $0
    pushl $0x80
    jmp trap_common
    .size \name, . - \name
.endm

    INT80_ENTRY int80_direct_entry, 1
    INT80_ENTRY int80_entry, 0

/* uint32_t user_enter(uint32_t eip, uint32_t esp): runs user code in ring 3 until it asks to
   leave (user_exit). Data segments become the ring-3 flat selector first: an iret to ring 3
   would null a ring-1 one, and the kernel can use the ring-3 one just as well. */
    .globl user_enter
    .type user_enter, @function
user_enter:
    pushl %ebp
    pushl %ebx
    pushl %esi
    pushl %edi
    movl %esp, user_return_esp
    movl 20(%esp), %eax
    movl 24(%esp), %ecx
    movl $FLAT_RING3_DS, %edx
    movl %edx, %ds
    movl %edx, %es
    movl %edx, %fs
    movl %edx, %gs
    pushl $FLAT_RING3_DS
    pushl %ecx
    pushl $(X86_EFLAGS_IF | X86_EFLAGS_FIXED)
    pushl $FLAT_RING3_CS
    pushl %eax
    iret
    .size user_enter, . - user_enter

/* void user_exit(uint32_t value): from a trap handler, back to user_enter's caller. The trap
   stack is simply abandoned: the next trap from user mode starts at its top again. */
    .globl user_exit
    .type user_exit, @function
user_exit:
    movl 4(%esp), %eax
    movl user_return_esp, %esp
    movl $FLAT_RING1_DS, %edx
    movl %edx, %ds
    movl %edx, %es
    movl %edx, %fs
    movl %edx, %gs
    popl %edi
    popl %esi
    popl %ebx
    popl %ebp
    ret
    .size user_exit, . - user_exit

    .bss
    .balign 4
user_return_esp:
    .long 0
    .globl int80_entries
int80_entries:
    .long 0

    .section .bss.page, "aw", @nobits
    .balign PAGE_SIZE
    .globl boot_stack
boot_stack:
    .skip BOOT_STACK_SIZE

    .section .note.GNU-stack, "", @progbits
