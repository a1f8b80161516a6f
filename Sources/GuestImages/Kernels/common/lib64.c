#include "lib64.h"

/* clang may emit calls to these even in freestanding code (struct copies, zeroing). Written with
   rep movsb/stosb so the optimiser cannot turn a loop back into a call to itself. */
void *memcpy(void *dst, const void *src, size_t n)
{
    void *d = dst;
    __asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
    void *d = dst;
    __asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
    return dst;
}

int bytes_equal(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}

int parse_count(const char *text, size_t n, uint64_t max, uint64_t *count)
{
    if (n == 0 || n > 10)
        return 0;
    uint64_t value = 0;
    for (size_t i = 0; i < n; i++) {
        if (text[i] < '0' || text[i] > '9')
            return 0;
        value = value * 10 + (uint64_t)(text[i] - '0');
    }
    if (value > max)
        return 0;
    *count = value;
    return 1;
}
