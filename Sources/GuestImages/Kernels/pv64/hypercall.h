/* Hypercalls through the hypercall page; every one goes through hypercall() so the counts are complete. */
#ifndef XKV_HYPERCALL_H
#define XKV_HYPERCALL_H

#include "xen.h"

/* Issued hypercalls, per number and in total, for the summary line. */
extern uint64_t hypercall_counts[HYPERCALL_SLOTS];
extern uint64_t hypercall_total;

long hypercall(unsigned nr, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5);

static inline long HYPERVISOR_set_trap_table(const struct trap_info *table)
{
    return hypercall(__HYPERVISOR_set_trap_table, (uint64_t)table, 0, 0, 0, 0);
}

static inline long HYPERVISOR_update_va_mapping(uint64_t va, uint64_t pte, uint64_t flags)
{
    return hypercall(__HYPERVISOR_update_va_mapping, va, pte, flags, 0, 0);
}

static inline long HYPERVISOR_xen_version(int cmd, void *arg)
{
    return hypercall(__HYPERVISOR_xen_version, (uint64_t)cmd, (uint64_t)arg, 0, 0, 0);
}

static inline long HYPERVISOR_console_io(int cmd, uint64_t count, const void *buffer)
{
    return hypercall(__HYPERVISOR_console_io, (uint64_t)cmd, count, (uint64_t)buffer, 0, 0);
}

static inline long HYPERVISOR_sched_op(int cmd, void *arg)
{
    return hypercall(__HYPERVISOR_sched_op, (uint64_t)cmd, (uint64_t)arg, 0, 0, 0);
}

static inline long HYPERVISOR_memory_op(unsigned cmd, void *arg)
{
    return hypercall(__HYPERVISOR_memory_op, (uint64_t)cmd, (uint64_t)arg, 0, 0, 0);
}

static inline long HYPERVISOR_stack_switch(uint64_t ss, uint64_t sp)
{
    return hypercall(__HYPERVISOR_stack_switch, ss, sp, 0, 0, 0);
}

static inline long HYPERVISOR_mmuext_op(struct mmuext_op *ops, unsigned count, unsigned *done, unsigned domid)
{
    return hypercall(__HYPERVISOR_mmuext_op, (uint64_t)ops, count, (uint64_t)done, domid, 0);
}

static inline long HYPERVISOR_callback_op(int cmd, const void *arg)
{
    return hypercall(__HYPERVISOR_callback_op, (uint64_t)cmd, (uint64_t)arg, 0, 0, 0);
}

static inline long HYPERVISOR_event_channel_op(int cmd, void *arg)
{
    return hypercall(__HYPERVISOR_event_channel_op, (uint64_t)cmd, (uint64_t)arg, 0, 0, 0);
}

/* SCHEDOP_shutdown; loops if the hypervisor ever lets it return. */
__attribute__((noreturn)) void shutdown(uint32_t reason);

#endif
