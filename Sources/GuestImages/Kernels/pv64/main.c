/* Boot, then run the workloads named on the command line. */
#include "console.h"
#include "hypercall.h"
#include "lib64.h"
#include "report.h"
#include "usermode.h"

void xkv_main(const struct start_info *si) __attribute__((noreturn));
void xkv_trap(uint64_t vector, const uint64_t *frame, uint64_t error_code) __attribute__((noreturn));

/* Trap entry points in head.S. */
extern char trap_breakpoint[], trap_page_fault[];

static const struct start_info *start_info;

/* lib64.h: the token `cycles` anywhere on the command line; without it no rdtsc executes. */
int cycles_enabled;

/* The page xkv reads what this kernel did from (report.h); head.S announces it in a note. */
volatile union xkv_report_page xkv_report_page __attribute__((aligned(PAGE_SIZE), section(".data.xkv_report"))) = {
    .r = { .magic = XKV_REPORT_MAGIC, .version = XKV_REPORT_VERSION },
};

static uint64_t pfn_of(const void *va)
{
    return ((uint64_t)va - XEN_VIRT_BASE) >> PAGE_SHIFT;
}

static uint64_t mfn_of_pfn(uint64_t pfn)
{
    const uint64_t *p2m = (const uint64_t *)start_info->mfn_list;
    return p2m[pfn];
}

static void boot_banner(void)
{
    struct line l = { .len = 0 };
    long version = HYPERVISOR_xen_version(XENVER_version, NULL);
    char extra[16];
    for (size_t i = 0; i < sizeof(extra); i++)
        extra[i] = 0;
    HYPERVISOR_xen_version(XENVER_extraversion, extra);

    line_str(&l, "xkv-pv64: booting on Xen ");
    line_dec(&l, (uint64_t)version >> 16);
    line_str(&l, ".");
    line_dec(&l, (uint64_t)version & 0xffff);
    line_mem(&l, extra, strnlen(extra, sizeof(extra)));
    line_to_ring(&l);

    l.len = 0;
    line_str(&l, "cmdline: ");
    line_mem(&l, start_info->cmd_line, strnlen(start_info->cmd_line, sizeof(start_info->cmd_line)));
    line_to_ring(&l);

    static const char console_io_ok[] = "xkv-pv64: console_io ok\n";
    HYPERVISOR_console_io(CONSOLEIO_write, sizeof(console_io_ok) - 1, console_io_ok);
}

/* --- workloads: each gets the text after '=' (empty for plain words) --- */

static void workload_echo(const char *arg, size_t n)
{
    struct line l = { .len = 0 };
    line_mem(&l, arg, n);
    line_to_ring(&l);
}

static void workload_hypercalls(const char *arg, size_t n)
{
    uint64_t count = 0;
    struct line l = { .len = 0 };
    if (!parse_count(arg, n, 1000000000, &count)) {
        line_str(&l, "hypercalls: bad count '");
        line_mem(&l, arg, n);
        line_str(&l, "' (want 0..1000000000)");
        line_to_ring(&l);
        return;
    }
    for (uint64_t i = 0; i < count; i++) {
        HYPERVISOR_xen_version(XENVER_version, NULL);
        if (i % 256 == 255)
            report->hypercalls = hypercall_total;
    }
    line_str(&l, "hypercalls: done ");
    line_dec(&l, (int64_t)count);
    line_to_ring(&l);
}

static void workload_crash(const char *arg, size_t n)
{
    (void)arg, (void)n;
    shutdown(SHUTDOWN_crash);
}

static void workload_fault(const char *arg, size_t n)
{
    (void)arg, (void)n;
    /* Below virt_base nothing is mapped; with no trap table the domain must crash. */
    (void)*(volatile uint64_t *)0xdead000UL;
    print("fault: read of dead000 did not fault");
}

static void workload_spin(const char *arg, size_t n)
{
    (void)arg, (void)n;
    for (;;)
        __asm__ volatile("");
}

static void workload_idle(const char *arg, size_t n)
{
    (void)arg, (void)n;
    for (;;)
        HYPERVISOR_sched_op(SCHEDOP_block, NULL);
}

static void workload_badptr(const char *arg, size_t n)
{
    (void)arg, (void)n;
    long rc = HYPERVISOR_console_io(CONSOLEIO_write, 16, (const void *)0x00000dead0000000UL);
    struct line l = { .len = 0 };
    line_str(&l, "badptr: console_io returned ");
    line_dec(&l, rc);
    line_to_ring(&l);
}

static void workload_cpuid(const char *arg, size_t n)
{
    (void)arg, (void)n;
    uint32_t leaf = 0x40000000, eax, ebx, ecx, edx;
    /* ud2a; "xen"; cpuid: Xen's forced-emulation prefix, so the hypervisor answers, not the CPU. */
    __asm__ volatile(".byte 0x0f, 0x0b, 0x78, 0x65, 0x6e; cpuid"
                     : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx)
                     : "a"(leaf), "c"(0));
    char id[12];
    uint32_t regs[3] = { ebx, ecx, edx };
    for (size_t i = 0; i < sizeof(id); i++) {
        char c = (char)(regs[i / 4] >> (8 * (i % 4)));
        id[i] = c >= 0x20 && c < 0x7f ? c : '.';
    }
    struct line l = { .len = 0 };
    line_str(&l, "cpuid: ");
    line_hex(&l, leaf);
    line_str(&l, " ");
    line_mem(&l, id, sizeof(id));
    line_str(&l, " max=");
    line_hex(&l, eax);
    line_to_ring(&l);
}

static void workload_cr3(const char *arg, size_t n)
{
    (void)arg, (void)n;
    uint64_t cr3;
    /* Privileged: faults to the hypervisor, which emulates the read. Pinned to rax so the
       bytes are always 0f 20 d8 (no REX prefix) for the emulator to decode. */
    __asm__ volatile("mov %%cr3, %%rax" : "=a"(cr3));
    uint64_t pt_base_mfn = mfn_of_pfn(pfn_of((const void *)start_info->pt_base));
    struct line l = { .len = 0 };
    line_str(&l, "cr3: ");
    line_hex(&l, cr3);
    line_str(&l, " pt_base_mfn=");
    line_hex(&l, pt_base_mfn);
    line_str(&l, (cr3 >> PAGE_SHIFT) == pt_base_mfn ? " match=yes" : " match=no");
    line_to_ring(&l);
}

/* Two page-aligned pages whose mappings the mmu workload swaps around. */
static uint64_t scratch[2][PAGE_SIZE / sizeof(uint64_t)] __attribute__((aligned(PAGE_SIZE)));

static uint64_t pte_for(uint64_t mfn)
{
    return (mfn << PAGE_SHIFT) | _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY;
}

static void workload_mmu(const char *arg, size_t n)
{
    (void)arg, (void)n;
    /* volatile: A and B are distinct objects to the compiler, but one frame while remapped. */
    volatile uint64_t *a = scratch[0], *b = scratch[1];
    uint64_t va = (uint64_t)scratch[0];
    uint64_t mfn_a = mfn_of_pfn(pfn_of(scratch[0]));
    uint64_t mfn_b = mfn_of_pfn(pfn_of(scratch[1]));
    const uint64_t words = PAGE_SIZE / sizeof(uint64_t);
    const char *remap = "ok";

    for (uint64_t i = 0; i < words; i++) {
        a[i] = 0xa0a0a0a0a0a0a0a0ULL ^ i;
        b[i] = 0;
    }
    long rc = HYPERVISOR_update_va_mapping(va, pte_for(mfn_b), UVMF_INVLPG);
    if (rc) {
        remap = "update-failed";
    } else {
        for (uint64_t i = 0; i < words; i++)
            a[i] = 0x5b5b5b5b5b5b5b5bULL ^ i;
        for (uint64_t i = 0; i < words; i++)
            if (b[i] != (0x5b5b5b5b5b5b5b5bULL ^ i))
                remap = "not-shared";
        if (HYPERVISOR_update_va_mapping(va, pte_for(mfn_a), UVMF_INVLPG))
            remap = "restore-failed";
        else if (a[0] != 0xa0a0a0a0a0a0a0a0ULL || a[words - 1] != (0xa0a0a0a0a0a0a0a0ULL ^ (words - 1)))
            remap = "restore-wrong";
    }

    /* The first frame past the domain's memory is not ours: Xen refuses it. */
    long foreign = HYPERVISOR_update_va_mapping(va, pte_for(start_info->nr_pages), UVMF_INVLPG);
    if (foreign == 0)
        HYPERVISOR_update_va_mapping(va, pte_for(mfn_a), UVMF_INVLPG);

    struct line l = { .len = 0 };
    line_str(&l, "mmu: remap=");
    line_str(&l, remap);
    if (rc) {
        line_str(&l, "(");
        line_dec(&l, rc);
        line_str(&l, ")");
    }
    line_str(&l, " foreign=");
    line_dec(&l, foreign);
    line_to_ring(&l);
}

static void workload_traps(const char *arg, size_t n)
{
    (void)arg, (void)n;
    const struct trap_info table[] = {
        { .vector = 3, .flags = 3, .cs = FLAT_RING3_CS64, .address = (uint64_t)trap_breakpoint },
        { .vector = 14, .flags = 0, .cs = FLAT_RING3_CS64, .address = (uint64_t)trap_page_fault },
        { 0 },
    };
    const struct trap_info bad[] = {
        { .vector = 3, .flags = 3, .cs = FLAT_RING3_CS64, .address = 0x8000000000000000ULL },
        { 0 },
    };
    struct line l = { .len = 0 };
    line_str(&l, "traps: rc=");
    line_dec(&l, HYPERVISOR_set_trap_table(table));
    line_to_ring(&l);

    l.len = 0;
    line_str(&l, "traps: bad rc=");
    line_dec(&l, HYPERVISOR_set_trap_table(bad));
    line_to_ring(&l);
}

/* `badtraps`: hostile arguments to the trap and callback hypercalls; xkv must answer each with
 * Xen's error code (or, for a selector below the kernel's ring, raise it and accept it). */
static void workload_badtraps(const char *arg, size_t n)
{
    (void)arg, (void)n;
    const struct trap_info low_rpl[] = {
        { .vector = 3, .flags = 3, .cs = 0x1230, .address = (uint64_t)trap_breakpoint },
        { 0 },
    };
    struct callback_register bad_type = { .type = 99, .flags = 0, .address = (uint64_t)trap_breakpoint };
    struct callback_register bad_address = { .type = CALLBACKTYPE_syscall, .flags = 0, .address = 0x8000000000000000ULL };
    struct callback_register syscall_cb = { .type = CALLBACKTYPE_syscall, .flags = 0, .address = (uint64_t)trap_breakpoint };
    struct line l = { .len = 0 };
    line_str(&l, "badtraps: wild=");
    line_dec(&l, HYPERVISOR_set_trap_table((const struct trap_info *)0x00000dead0000000ULL));
    line_str(&l, " lowrpl=");
    line_dec(&l, HYPERVISOR_set_trap_table(low_rpl));
    line_str(&l, " cbtype=");
    line_dec(&l, HYPERVISOR_callback_op(CALLBACKOP_register, &bad_type));
    line_str(&l, " cbaddr=");
    line_dec(&l, HYPERVISOR_callback_op(CALLBACKOP_register, &bad_address));
    line_str(&l, " cbwild=");
    line_dec(&l, HYPERVISOR_callback_op(CALLBACKOP_register, (const void *)0x00000dead0000000ULL));
    line_str(&l, " cbunreg=");
    line_dec(&l, HYPERVISOR_callback_op(1 /* CALLBACKOP_unregister */, &syscall_cb));
    line_to_ring(&l);
    /* Clear the table again so later workloads start from nothing registered. */
    HYPERVISOR_set_trap_table(NULL);
}

/* The #UD handler of `handlerfault`: it faults itself, so every bounce raises another #UD. */
__attribute__((naked)) static void faulting_handler(void)
{
    __asm__ volatile("ud2");
}

/* `handlerfault`: a kernel whose #UD handler faults. Xen bounces each #UD onto the kernel stack
 * until a bounce frame cannot be written, then crashes the domain; nothing else is touched. */
static void workload_handlerfault(const char *arg, size_t n)
{
    (void)arg, (void)n;
    const struct trap_info table[] = {
        { .vector = 6, .flags = 0, .cs = FLAT_RING3_CS64, .address = (uint64_t)faulting_handler },
        { 0 },
    };
    HYPERVISOR_set_trap_table(table);
    print("handlerfault: raising #UD");
    __asm__ volatile("ud2");
    print("handlerfault: survived (must not happen)");
}

/* A trap this kernel registered a handler for, but never expects: report it and crash. */
void xkv_trap(uint64_t vector, const uint64_t *frame, uint64_t error_code)
{
    struct line l = { .len = 0 };
    line_str(&l, "trap: vector=");
    line_dec(&l, (int64_t)vector);
    line_str(&l, " rip=");
    line_hex(&l, frame[0]);
    line_str(&l, " error=");
    line_hex(&l, error_code);
    line_to_ring(&l);
    shutdown(SHUTDOWN_crash);
}

/* `cycles`: an option, read before any workload runs (xkv_main); nothing to do in order. */
static void option_cycles(const char *arg, size_t n)
{
    (void)arg, (void)n;
}

struct workload {
    const char *name;   /* ends in '=' when the workload takes an argument */
    void (*run)(const char *arg, size_t n);
    int user_mode;      /* needs usermode_init() at boot */
};

static const struct workload workloads[] = {
    { "syscalls=", workload_syscalls, 1 },
    { "faults=", workload_faults, 1 },
    { "int=", workload_int, 1 },
    { "echo=", workload_echo, 0 },
    { "hypercalls=", workload_hypercalls, 0 },
    { "crash", workload_crash, 0 },
    { "fault", workload_fault, 0 },
    { "spin", workload_spin, 0 },
    { "idle", workload_idle, 0 },
    { "badptr", workload_badptr, 0 },
    { "cpuid", workload_cpuid, 0 },
    { "cr3", workload_cr3, 0 },
    { "mmu", workload_mmu, 0 },
    { "traps", workload_traps, 0 },
    { "badtraps", workload_badtraps, 0 },
    { "handlerfault", workload_handlerfault, 0 },
    { "cycles", option_cycles, 0 },
};

/* The workload a command-line token names, or NULL; *len is the length of its name. */
static const struct workload *find_workload(const char *token, size_t n, size_t *len)
{
    for (size_t i = 0; i < sizeof(workloads) / sizeof(workloads[0]); i++) {
        const char *name = workloads[i].name;
        *len = strnlen(name, 32);
        int takes_arg = name[*len - 1] == '=';
        if (takes_arg ? (n >= *len && bytes_equal(token, name, *len)) : (n == *len && bytes_equal(token, name, *len)))
            return &workloads[i];
    }
    return NULL;
}

static void run_workload(const char *token, size_t n)
{
    size_t len;
    const struct workload *w = find_workload(token, n, &len);
    if (w) {
        w->run(token + len, n - len);
        report->hypercalls = hypercall_total;
        return;
    }
    struct line l = { .len = 0 };
    line_str(&l, "unknown workload: ");
    line_mem(&l, token, n);
    line_to_ring(&l);
}

/* Runs `each` on every space-separated token; returns how many it returned nonzero for. */
static int for_each_token(const char *cmdline, size_t n, int (*each)(const char *token, size_t n))
{
    int hits = 0;
    size_t i = 0;
    while (i < n) {
        while (i < n && cmdline[i] == ' ')
            i++;
        size_t start = i;
        while (i < n && cmdline[i] != ' ')
            i++;
        if (i > start)
            hits += each(cmdline + start, i - start) != 0;
    }
    return hits;
}

static int needs_user_mode(const char *token, size_t n)
{
    size_t len;
    const struct workload *w = find_workload(token, n, &len);
    return w && w->user_mode;
}

static int is_cycles(const char *token, size_t n)
{
    return n == 6 && bytes_equal(token, "cycles", 6);
}

static int run_token(const char *token, size_t n)
{
    run_workload(token, n);
    return 0;
}

/* One console_io write; the count includes that write and the shutdown after it, and so does
   the report page's, now marked done. */
static void summary(void)
{
    report->hypercalls = hypercall_total + 2;
    report->done = 1;
    struct line l = { .len = 0 };
    line_str(&l, "summary: hypercalls=");
    line_dec(&l, (int64_t)(hypercall_total + 2));
    line_str(&l, " xen_version=");
    line_dec(&l, (int64_t)hypercall_counts[__HYPERVISOR_xen_version]);
    line_str(&l, " syscalls=");
    line_dec(&l, (int64_t)report->syscalls);
    line_str(&l, " faults=");
    line_dec(&l, (int64_t)report->faults);
    line_str(&l, "\n");
    HYPERVISOR_console_io(CONSOLEIO_write, l.len, l.buf);
}

void xkv_main(const struct start_info *si)
{
    start_info = si;
    console_init(si);
    boot_banner();
    size_t n = strnlen(si->cmd_line, sizeof(si->cmd_line));
    cycles_enabled = for_each_token(si->cmd_line, n, is_cycles) != 0;
    if (for_each_token(si->cmd_line, n, needs_user_mode))
        usermode_init(si);
    for_each_token(si->cmd_line, n, run_token);
    summary();
    shutdown(SHUTDOWN_poweroff);
}
