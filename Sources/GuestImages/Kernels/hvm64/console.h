/* Output: lines built in a buffer, then written byte by byte to Xen's HVM debug port 0xe9. */
#ifndef XKV_HVM64_CONSOLE_H
#define XKV_HVM64_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

#include "line.h"

/* Writes the line and a newline to port 0xe9 (one outb, one exit to xkv, per byte). */
void line_out(const struct line *l);

/* Same as line_out for a plain string. */
void print(const char *s);

#endif
