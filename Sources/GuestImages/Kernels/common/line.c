/* Building a line of console output; each kernel sends it where its console is. */
#include "line.h"

size_t strnlen(const char *s, size_t max)
{
    size_t n = 0;
    while (n < max && s[n])
        n++;
    return n;
}

void line_mem(struct line *l, const char *s, size_t n)
{
    for (size_t i = 0; i < n && l->len < LINE_MAX; i++)
        l->buf[l->len++] = s[i];
}

void line_str(struct line *l, const char *s)
{
    line_mem(l, s, strnlen(s, LINE_MAX));
}

static void line_digits(struct line *l, uint64_t v, unsigned base)
{
    char digits[20];
    size_t n = 0;
    do {
        digits[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    while (n)
        line_mem(l, &digits[--n], 1);
}

void line_dec(struct line *l, int64_t v)
{
    if (v < 0) {
        line_str(l, "-");
        line_digits(l, -(uint64_t)v, 10);
    } else {
        line_digits(l, (uint64_t)v, 10);
    }
}

void line_hex(struct line *l, uint64_t v)
{
    line_digits(l, v, 16);
}
