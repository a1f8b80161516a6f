/* Output: lines built in a buffer, then sent to the PV console ring or through console_io. */
#ifndef XKV_CONSOLE_H
#define XKV_CONSOLE_H

#include "xen.h"

/* Finds the console page through the M2P table, as a PV kernel on Xen must. */
void console_init(const struct start_info *si);

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

/* Writes the line and a newline to the console ring, then notifies the backend once. */
void line_to_ring(const struct line *l);

/* Same as line_to_ring for a plain string. */
void print(const char *s);

size_t strnlen(const char *s, size_t max);

#endif
