/* Console lines built in a buffer (shared by the 64-bit kernels; common/line.c). */
#ifndef XKV_LINE_H
#define XKV_LINE_H

#include <stddef.h>
#include <stdint.h>

/* Longest line: "cmdline: " plus a full 1024-byte command line, with room to spare. */
#define LINE_MAX 1152

struct line {
    size_t len;
    char buf[LINE_MAX];
};

void line_str(struct line *l, const char *s);
void line_mem(struct line *l, const char *s, size_t n);
void line_dec(struct line *l, int64_t v);
void line_hex(struct line *l, uint64_t v);

size_t strnlen(const char *s, size_t max);

#endif
