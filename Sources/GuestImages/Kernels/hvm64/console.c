#include "console.h"
#include "hvm.h"

void line_out(const struct line *l)
{
    for (size_t i = 0; i < l->len; i++)
        outb(PORT_CONSOLE, (uint8_t)l->buf[i]);
    outb(PORT_CONSOLE, '\n');
}

void print(const char *s)
{
    struct line l = { .len = 0 };
    line_str(&l, s);
    line_out(&l);
}
