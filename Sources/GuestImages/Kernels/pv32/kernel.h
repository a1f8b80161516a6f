/* What main.c and traps.c share. */
#ifndef XKV_KERNEL_H
#define XKV_KERNEL_H

#include "console.h"
#include "hypercall.h"
#include "user.h"

extern const struct start_info *start_info;

/* How the trap table registers vector 0x80 (command-line token int80=...). */
enum int80_mode { INT80_UNMASKED, INT80_MASKED, INT80_NONE };
extern enum int80_mode int80_mode;

/* The token `cycles` anywhere on the command line (read before any workload runs): measure
   cycles per call and per fault with rdtsc. Without it no rdtsc executes, so a run is
   deterministic (record/replay reproduces every register and memory byte). */
extern int cycles_enabled;

/* Registers the trap table and kernel trap stack, maps the user pages and shared_info; once.
   Returns 0 when user mode is ready, and prints why not otherwise. */
int user_mode_ready(void);

/* The user workloads: each enters ring 3 and comes back when the user code leaves; forever
   never comes back, count 0 does not enter user mode at all. */
void run_syscalls(uint32_t count, int forever);
void run_faults(uint32_t count, int forever);
void run_int(uint32_t vector);

#endif
