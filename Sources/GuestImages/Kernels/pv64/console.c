#include "console.h"
#include "hypercall.h"

static volatile struct xencons_interface *ring;
static uint32_t ring_port;

#define barrier() __asm__ volatile("" ::: "memory")
#define OUT_MASK(i) ((i) & (sizeof(ring->out) - 1))

void console_init(const struct start_info *si)
{
    /* Ask where the M2P is, as Linux does (xen_setup_machphys_mapping); the ABI address otherwise. */
    struct xen_machphys_mapping mapping;
    const uint64_t *m2p = (const uint64_t *)XEN_M2P_BASE;
    if (HYPERVISOR_memory_op(XENMEM_machphys_mapping, &mapping) == 0)
        m2p = (const uint64_t *)mapping.v_start;
    uint64_t pfn = m2p[si->console.domU.mfn];
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

/* Copies bytes into out[] from index prod on; returns the new producer index, not yet published. */
static uint32_t ring_copy(uint32_t prod, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (prod - ring->out_cons >= sizeof(ring->out)) {
            /* Full: hand over what we have, then wait for the backend to drain. */
            publish(prod);
            notify();
            while (prod - ring->out_cons >= sizeof(ring->out))
                HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
        }
        ring->out[OUT_MASK(prod)] = s[i];
        prod++;
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
    struct line l = { .len = 0 };
    line_str(&l, s);
    line_to_ring(&l);
}
