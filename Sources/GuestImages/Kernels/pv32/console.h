/* Output: lines built in a buffer, then sent to the PV console ring or through console_io. */
#ifndef XKV_CONSOLE_H
#define XKV_CONSOLE_H

#include "xen.h"

/* Finds the console page through the M2P table, as a PV kernel on Xen must. */
void console_init(const struct start_info *si);

/* Longest line: "cmdline: " plus a full 1024-byte command line, with room to spare. */
#define LINE_MAX 1152

struct line {
    uint32_t len;
    char buf[LINE_MAX];
};

void line_str(struct line *l, const char *s);
void line_mem(struct line *l, const char *s, uint32_t n);
void line_dec(struct line *l, uint64_t v);
void line_sdec(struct line *l, int32_t v);
void line_hex(struct line *l, uint32_t v);   /* with a 0x prefix */

/* Writes the line and a newline to the console ring, then notifies the backend once. */
void line_to_ring(const struct line *l);

/* Same as line_to_ring for a plain string. */
void print(const char *s);

uint32_t strnlen(const char *s, uint32_t max);

/* n / d for a 64-bit n without the compiler's __udivdi3 (there is no libgcc here). */
uint64_t div64(uint64_t n, uint32_t d, uint32_t *remainder);

#endif
