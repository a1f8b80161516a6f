#include "hypercall.h"

/* Filled by the domain builder (XEN_ELFNOTE_HYPERCALL_PAGE); defined in head.S. */
extern char hypercall_page[PAGE_SIZE];

uint32_t hypercall_counts[HYPERCALL_SLOTS];

long hypercall(unsigned nr, uint32_t a1, uint32_t a2, uint32_t a3, uint32_t a4, uint32_t a5)
{
    if (nr >= HYPERCALL_SLOTS)
        return -ENOSYS;
    hypercall_counts[nr]++;
    report.hypercalls++;

    /* 32-bit PV convention: args in ebx ecx edx esi edi, result in eax. The page's slot is
       `mov $nr,%eax; int $0x82; ret`, and a hypercall preserves every register but eax. */
    long eax = (long)(hypercall_page + nr * HYPERCALL_SLOT_SIZE);
    __asm__ volatile("call *%%eax"
                     : "+a"(eax)
                     : "b"(a1), "c"(a2), "d"(a3), "S"(a4), "D"(a5)
                     : "memory");
    return eax;
}

void shutdown(uint32_t reason)
{
    struct sched_shutdown arg = { .reason = reason };
    HYPERVISOR_sched_op(SCHEDOP_shutdown, &arg);
    for (;;)
        __asm__ volatile("pause");
}
