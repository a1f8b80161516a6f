/* Hypercalls through the hypercall page; every one goes through hypercall() so the counts are complete. */
#ifndef XKV_HYPERCALL_H
#define XKV_HYPERCALL_H

#include "xen.h"

/* Issued hypercalls per number; the total lives in the report page (report.hypercalls). */
extern uint32_t hypercall_counts[HYPERCALL_SLOTS];
extern volatile struct xkv_report report;

long hypercall(unsigned nr, uint32_t a1, uint32_t a2, uint32_t a3, uint32_t a4, uint32_t a5);

static inline long HYPERVISOR_set_trap_table(const struct trap_info *table)
{
    return hypercall(__HYPERVISOR_set_trap_table, (uint32_t)table, 0, 0, 0, 0);
}

static inline long HYPERVISOR_stack_switch(uint32_t ss, uint32_t esp)
{
    return hypercall(__HYPERVISOR_stack_switch, ss, esp, 0, 0, 0);
}

/* The 32-bit form: the 64-bit PAE PTE travels as two words (low in ecx, high in edx). */
static inline long HYPERVISOR_update_va_mapping(uint32_t va, uint64_t pte, uint32_t flags)
{
    return hypercall(__HYPERVISOR_update_va_mapping, va, (uint32_t)pte, (uint32_t)(pte >> 32), flags, 0);
}

static inline long HYPERVISOR_xen_version(int cmd, void *arg)
{
    return hypercall(__HYPERVISOR_xen_version, (uint32_t)cmd, (uint32_t)arg, 0, 0, 0);
}

static inline long HYPERVISOR_console_io(int cmd, uint32_t count, const void *buffer)
{
    return hypercall(__HYPERVISOR_console_io, (uint32_t)cmd, count, (uint32_t)buffer, 0, 0);
}

static inline long HYPERVISOR_sched_op(int cmd, void *arg)
{
    return hypercall(__HYPERVISOR_sched_op, (uint32_t)cmd, (uint32_t)arg, 0, 0, 0);
}

static inline long HYPERVISOR_memory_op(unsigned cmd, void *arg)
{
    return hypercall(__HYPERVISOR_memory_op, cmd, (uint32_t)arg, 0, 0, 0);
}

static inline long HYPERVISOR_event_channel_op(int cmd, void *arg)
{
    return hypercall(__HYPERVISOR_event_channel_op, (uint32_t)cmd, (uint32_t)arg, 0, 0, 0);
}

/* SCHEDOP_shutdown; loops if the hypervisor ever lets it return. */
__attribute__((noreturn)) void shutdown(uint32_t reason);

#endif
