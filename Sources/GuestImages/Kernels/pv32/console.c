#include "console.h"
#include "hypercall.h"

static volatile struct xencons_interface *ring;
static uint32_t ring_port;

#define barrier() __asm__ volatile("" ::: "memory")
#define RING_SIZE ((uint32_t)sizeof(ring->out))

void console_init(const struct start_info *si)
{
    /* Ask where the M2P is, as Linux does (xen_setup_machphys_mapping); the ABI address otherwise. */
    struct xen_machphys_mapping mapping;
    const uint32_t *m2p = (const uint32_t *)XEN_COMPAT_M2P_BASE;
    if (HYPERVISOR_memory_op(XENMEM_machphys_mapping, &mapping) == 0)
        m2p = (const uint32_t *)mapping.v_start;
    uint32_t pfn = m2p[si->console.domU.mfn];
    ring = (volatile struct xencons_interface *)(XEN_VIRT_BASE + (pfn << PAGE_SHIFT));
    ring_port = si->console.domU.evtchn;
}

static void notify(void)
{
    struct evtchn_send send = { .port = ring_port };
    HYPERVISOR_event_channel_op(EVTCHNOP_send, &send);
}

static void publish(uint32_t prod)
{
    barrier();  /* the backend must see the bytes before the index (x86 keeps stores in order) */
    ring->out_prod = prod;
}

/* Copies bytes into out[] from index prod on; returns the new producer index, not yet published.
   Reads out_cons once per stretch of free space, not per byte: every instruction counts when
   32-bit code is emulated. */
static uint32_t ring_copy(uint32_t prod, const char *s, uint32_t n)
{
    while (n) {
        uint32_t space = RING_SIZE - (prod - ring->out_cons);
        if (space == 0) {
            /* Full: hand over what we have, then wait for the backend to drain. */
            publish(prod);
            notify();
            while (prod - ring->out_cons >= RING_SIZE)
                HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
            continue;
        }
        if (space > n)
            space = n;
        n -= space;
        while (space--)
            ring->out[prod++ & (RING_SIZE - 1)] = *s++;
    }
    return prod;
}

void line_to_ring(const struct line *l)
{
    uint32_t prod = ring_copy(ring->out_prod, l->buf, l->len);
    publish(ring_copy(prod, "\n", 1));
    notify();
}

void print(const char *s)
{
    struct line l;
    l.len = 0;
    line_str(&l, s);
    line_to_ring(&l);
}

uint32_t strnlen(const char *s, uint32_t max)
{
    uint32_t n = 0;
    while (n < max && s[n])
        n++;
    return n;
}

void line_mem(struct line *l, const char *s, uint32_t n)
{
    if (n > LINE_MAX - l->len)
        n = LINE_MAX - l->len;
    char *d = l->buf + l->len;
    l->len += n;
    while (n--)
        *d++ = *s++;
}

void line_str(struct line *l, const char *s)
{
    line_mem(l, s, strnlen(s, LINE_MAX));
}

uint64_t div64(uint64_t n, uint32_t d, uint32_t *remainder)
{
    uint32_t hi = (uint32_t)(n >> 32), lo = (uint32_t)n;
    uint32_t qhi = hi / d, r = hi % d, qlo;
    /* r < d, so r:lo / d fits in 32 bits. */
    __asm__("divl %4" : "=a"(qlo), "=d"(r) : "a"(lo), "d"(r), "rm"(d));
    if (remainder)
        *remainder = r;
    return (uint64_t)qhi << 32 | qlo;
}

void line_dec(struct line *l, uint64_t v)
{
    char digits[20];
    uint32_t n = 0;
    while (v >> 32) {
        uint32_t r;
        v = div64(v, 10, &r);
        digits[n++] = (char)('0' + r);
    }
    uint32_t w = (uint32_t)v;
    do {
        digits[n++] = (char)('0' + w % 10);
        w /= 10;
    } while (w);
    while (n)
        line_mem(l, &digits[--n], 1);
}

void line_sdec(struct line *l, int32_t v)
{
    if (v < 0) {
        line_mem(l, "-", 1);
        line_dec(l, -(uint32_t)v);
    } else {
        line_dec(l, (uint32_t)v);
    }
}

void line_hex(struct line *l, uint32_t v)
{
    char digits[10];
    uint32_t n = 0;
    do {
        digits[n++] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    digits[n++] = 'x';
    digits[n++] = '0';
    while (n)
        line_mem(l, &digits[--n], 1);
}
