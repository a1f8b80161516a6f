/* Small helpers shared by the workloads. */
#ifndef XKV_LIB64_H
#define XKV_LIB64_H

#include <stddef.h>
#include <stdint.h>

void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int bytes_equal(const char *a, const char *b, size_t n);

/* A decimal count in 0..max (at most 10 digits); returns 0 when the text is not one. */
int parse_count(const char *text, size_t n, uint64_t max, uint64_t *count);

/* Set by the command-line token `cycles` (main.c, before any workload runs). Without it no
   rdtsc executes: a TSC read is host time leaking into the guest, and a run must be
   deterministic (record/replay reproduces every register and memory byte). */
extern int cycles_enabled;

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

/* The TSC when `cycles` is on the command line, 0 otherwise (so every measurement is 0). */
static inline uint64_t cycles_now(void)
{
    return cycles_enabled ? rdtsc() : 0;
}

#endif
