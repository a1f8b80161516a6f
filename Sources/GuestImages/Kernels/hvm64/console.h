/* Output: lines built in a buffer, then written byte by byte to Xen's HVM debug port 0xe9. */
#ifndef XKV_HVM64_CONSOLE_H
#define XKV_HVM64_CONSOLE_H

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

/* Writes the line and a newline to port 0xe9 (one outb, one exit to xkv, per byte). */
void line_out(const struct line *l);

/* Same as line_out for a plain string. */
void print(const char *s);

size_t strnlen(const char *s, size_t max);

#endif
