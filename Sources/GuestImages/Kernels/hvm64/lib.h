/* Small helpers shared by the workloads. */
#ifndef XKV_HVM64_LIB_H
#define XKV_HVM64_LIB_H

#include <stddef.h>
#include <stdint.h>

void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int bytes_equal(const char *a, const char *b, size_t n);

/* A decimal count in 0..max (at most 10 digits); returns 0 when the text is not one. */
int parse_count(const char *text, size_t n, uint64_t max, uint64_t *count);

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

#endif
