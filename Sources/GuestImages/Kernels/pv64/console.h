/* Output: lines built in a buffer, then sent to the PV console ring or through console_io. */
#ifndef XKV_CONSOLE_H
#define XKV_CONSOLE_H

#include "xen.h"

/* Finds the console page through the M2P table, as a PV kernel on Xen must. */
void console_init(const struct start_info *si);

#include "line.h"

/* Writes the line and a newline to the console ring, then notifies the backend once. */
void line_to_ring(const struct line *l);

/* Same as line_to_ring for a plain string. */
void print(const char *s);

#endif
