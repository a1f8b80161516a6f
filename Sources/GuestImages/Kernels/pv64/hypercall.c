#include "hypercall.h"

/* Filled by the domain builder (XEN_ELFNOTE_HYPERCALL_PAGE); defined in head.S. */
extern char hypercall_page[PAGE_SIZE];

uint64_t hypercall_counts[HYPERCALL_SLOTS];
uint64_t hypercall_total;

long hypercall(unsigned nr, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
    if (nr >= HYPERCALL_SLOTS)
        return -ENOSYS;
    hypercall_counts[nr]++;
    hypercall_total++;

    /* 64-bit PV convention: args in rdi rsi rdx r10 r8, result in rax. The
       page's stub loads rax with the number and preserves every other
       register, so the call clobbers only rax (flags are always clobbered on
       x86) and memory. The kernel is built with -mno-red-zone, which makes
       the call's push below rsp safe. */
    register uint64_t r10 __asm__("r10") = a4;
    register uint64_t r8 __asm__("r8") = a5;
    long rax = (long)(hypercall_page + nr * HYPERCALL_SLOT_SIZE);
    __asm__ volatile("call *%%rax"
                     : "+a"(rax)
                     : "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8)
                     : "memory");
    return rax;
}

void shutdown(uint32_t reason)
{
    struct sched_shutdown arg = { .reason = reason };
    HYPERVISOR_sched_op(SCHEDOP_shutdown, &arg);
    for (;;)
        __asm__ volatile("pause");
}
