/* Boot, then run the workloads named on the command line (space-separated, in order):
     echo=TEXT       print TEXT on the console ring
     hypercalls=N    N xen_version hypercalls
     crash           SCHEDOP_shutdown(crash)
     fault           read an unmapped kernel address (no trap table: the domain crashes)
     spin, idle      loop forever, busy or blocked
     badptr          console_io with a bad pointer; prints the error (-EFAULT)
     syscalls=N      user mode (ring 3) makes N `int $0x80` SYS_mix calls and checks each result
     faults=N        user mode takes N exceptions in turn: #UD, #BP, #PF; each frame is checked
     int=V           user mode runs one `int $V` (decimal or 0x hex): delivered or #GP
     int80=MODE      how vector 0x80 is registered: unmasked (default; Xen installs it for the
                     direct path), masked (flags bit 2: through the hypervisor), none (#GP)
     cycles          measure cycles/call and cycles/fault with rdtsc (anywhere on the line);
                     without it no rdtsc runs and both show 0, so a run is deterministic
   N may be `forever`. Each user session ends with one more `int $0x80` (SYS_exit) that the
   workload lines do not count as a system call. Any user workload or int80= sets up the trap
   table, the trap stack (stack_switch) and the user pages at boot, before the first workload.
   The last line is one console_io write: `summary: hypercalls=T xen_version=V syscalls=S
   faults=F`, then SCHEDOP_shutdown(poweroff). The report page (../common/xkv-report.h) says the
   same to xkv: int80_direct counts SYS_mix calls made while 0x80 was registered unmasked;
   faults includes the #GP of a refused `int $V` (a refused `int $0x80` too). */
#include "kernel.h"

void xkv_main(const struct start_info *si) __attribute__((noreturn));

const struct start_info *start_info;

static int bytes_equal(const char *a, const char *b, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}

static void boot_banner(void)
{
    struct line l;
    l.len = 0;
    long version = HYPERVISOR_xen_version(XENVER_version, NULL);
    char extra[16] = { 0 };
    HYPERVISOR_xen_version(XENVER_extraversion, extra);

    line_str(&l, "xkv-pv32: booting on Xen ");
    line_dec(&l, (uint32_t)version >> 16);
    line_str(&l, ".");
    line_dec(&l, (uint32_t)version & 0xffff);
    line_mem(&l, extra, strnlen(extra, sizeof(extra)));
    line_to_ring(&l);

    l.len = 0;
    line_str(&l, "cmdline: ");
    line_mem(&l, start_info->cmd_line, strnlen(start_info->cmd_line, sizeof(start_info->cmd_line)));
    line_to_ring(&l);

    static const char console_io_ok[] = "xkv-pv32: console_io ok\n";
    HYPERVISOR_console_io(CONSOLEIO_write, sizeof(console_io_ok) - 1, console_io_ok);
}

/* A count in 0..1000000000, or "forever" where allowed (then *count is 0 and the result 2). */
static int parse_count(const char *what, const char *arg, uint32_t n, int forever_ok, uint32_t *count)
{
    if (forever_ok && n == 7 && bytes_equal(arg, "forever", 7)) {
        *count = 0;
        return 2;
    }
    uint32_t value = 0;
    int valid = n > 0 && n <= 10;
    for (uint32_t i = 0; valid && i < n; i++) {
        valid = arg[i] >= '0' && arg[i] <= '9' && value <= 100000000;
        value = value * 10 + (uint32_t)(arg[i] - '0');
    }
    if (valid && value <= 1000000000) {
        *count = value;
        return 1;
    }
    struct line l;
    l.len = 0;
    line_str(&l, what);
    line_str(&l, ": bad count '");
    line_mem(&l, arg, n);
    line_str(&l, forever_ok ? "' (want 0..1000000000 or forever)" : "' (want 0..1000000000)");
    line_to_ring(&l);
    return 0;
}

/* --- workloads: each gets the text after '=' (empty for plain words) --- */

static void workload_echo(const char *arg, uint32_t n)
{
    struct line l;
    l.len = 0;
    line_mem(&l, arg, n);
    line_to_ring(&l);
}

static void workload_hypercalls(const char *arg, uint32_t n)
{
    uint32_t count;
    if (!parse_count("hypercalls", arg, n, 0, &count))
        return;
    for (uint32_t i = 0; i < count; i++)
        HYPERVISOR_xen_version(XENVER_version, NULL);
    struct line l;
    l.len = 0;
    line_str(&l, "hypercalls: done ");
    line_dec(&l, count);
    line_to_ring(&l);
}

static void workload_crash(const char *arg, uint32_t n)
{
    (void)arg, (void)n;
    shutdown(SHUTDOWN_crash);
}

static void workload_fault(const char *arg, uint32_t n)
{
    (void)arg, (void)n;
    /* Below virt_base nothing is mapped; with no trap table the domain must crash. */
    (void)*(volatile uint32_t *)0x0dead000;
    print("fault: read of 0dead000 did not fault");
}

static void workload_spin(const char *arg, uint32_t n)
{
    (void)arg, (void)n;
    for (;;)
        __asm__ volatile("");
}

static void workload_idle(const char *arg, uint32_t n)
{
    (void)arg, (void)n;
    for (;;)
        HYPERVISOR_sched_op(SCHEDOP_block, NULL);
}

static void workload_badptr(const char *arg, uint32_t n)
{
    (void)arg, (void)n;
    long rc = HYPERVISOR_console_io(CONSOLEIO_write, 16, (const void *)0x0dead000);
    struct line l;
    l.len = 0;
    line_str(&l, "badptr: console_io returned ");
    line_sdec(&l, rc);
    line_to_ring(&l);
}

static void workload_syscalls(const char *arg, uint32_t n)
{
    uint32_t count;
    int parsed = parse_count("syscalls", arg, n, 1, &count);
    if (parsed && user_mode_ready() == 0)
        run_syscalls(count, parsed == 2);
}

static void workload_faults(const char *arg, uint32_t n)
{
    uint32_t count;
    int parsed = parse_count("faults", arg, n, 1, &count);
    if (parsed && user_mode_ready() == 0)
        run_faults(count, parsed == 2);
}

/* int=V: V in decimal or 0x hex, 0..255. */
static void workload_int(const char *arg, uint32_t n)
{
    uint32_t vector = 0, i = 0, base = 10;
    if (n > 2 && arg[0] == '0' && (arg[1] == 'x' || arg[1] == 'X'))
        base = 16, i = 2;
    int valid = n > i && n - i <= 3;
    for (; valid && i < n; i++) {
        char c = arg[i];
        uint32_t digit = c >= '0' && c <= '9' ? (uint32_t)(c - '0')
            : base == 16 && c >= 'a' && c <= 'f' ? (uint32_t)(c - 'a' + 10)
            : base == 16 && c >= 'A' && c <= 'F' ? (uint32_t)(c - 'A' + 10) : 99;
        valid = digit < base;
        vector = vector * base + digit;
    }
    if (!valid || vector > 255) {
        struct line l;
        l.len = 0;
        line_str(&l, "int: bad vector '");
        line_mem(&l, arg, n);
        line_str(&l, "' (want 0..255)");
        line_to_ring(&l);
        return;
    }
    if (user_mode_ready() == 0)
        run_int(vector);
}

/* int80=unmasked|masked|none: how vector 0x80 is registered (read before any workload runs). */
static void option_int80(const char *arg, uint32_t n)
{
    if (n == 8 && bytes_equal(arg, "unmasked", 8))
        int80_mode = INT80_UNMASKED;
    else if (n == 6 && bytes_equal(arg, "masked", 6))
        int80_mode = INT80_MASKED;
    else if (n == 4 && bytes_equal(arg, "none", 4))
        int80_mode = INT80_NONE;
    else {
        struct line l;
        l.len = 0;
        line_str(&l, "int80: unknown mode '");
        line_mem(&l, arg, n);
        line_str(&l, "' (want unmasked, masked or none)");
        line_to_ring(&l);
    }
}

/* cycles: measure with rdtsc (read before any workload runs). */
static void option_cycles(const char *arg, uint32_t n)
{
    (void)arg, (void)n;
    cycles_enabled = 1;
}

struct workload {
    const char *name;   /* ends in '=' when the workload takes an argument */
    void (*run)(const char *arg, uint32_t n);
    int user_mode;      /* needs the trap table and user pages, set up at boot */
};

static const struct workload options[] = {
    { "int80=", option_int80, 1 },
    { "cycles", option_cycles, 0 },
};

static const struct workload workloads[] = {
    { "echo=", workload_echo, 0 },
    { "hypercalls=", workload_hypercalls, 0 },
    { "crash", workload_crash, 0 },
    { "fault", workload_fault, 0 },
    { "spin", workload_spin, 0 },
    { "idle", workload_idle, 0 },
    { "badptr", workload_badptr, 0 },
    { "syscalls=", workload_syscalls, 1 },
    { "faults=", workload_faults, 1 },
    { "int=", workload_int, 1 },
};

/* The entry of `table` that names `token`, if any. */
static const struct workload *find(const struct workload *table, uint32_t entries, const char *token, uint32_t n)
{
    for (uint32_t i = 0; i < entries; i++) {
        const char *name = table[i].name;
        uint32_t len = strnlen(name, 32);
        int takes_arg = name[len - 1] == '=';
        if (takes_arg ? (n >= len && bytes_equal(token, name, len)) : (n == len && bytes_equal(token, name, len)))
            return &table[i];
    }
    return NULL;
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Options first (they shape what the workloads set up); then, if any token needs user mode,
   the trap table and user pages (so "int80=... spin" runs with its 0x80 entry registered, and
   `fault` alone meets an empty trap table); then the workloads in order. */
static void run_workloads(const char *cmdline, uint32_t n)
{
    int user_mode = 0;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1 && user_mode)
            user_mode_ready();
        uint32_t i = 0;
        while (i < n) {
            while (i < n && cmdline[i] == ' ')
                i++;
            uint32_t start = i;
            while (i < n && cmdline[i] != ' ')
                i++;
            const char *token = cmdline + start;
            uint32_t len = i - start;
            if (!len)
                continue;
            const struct workload *option = find(options, COUNT(options), token, len);
            const struct workload *w = option ? NULL : find(workloads, COUNT(workloads), token, len);
            uint32_t skip = option ? strnlen(option->name, 32) : w ? strnlen(w->name, 32) : 0;
            if (pass == 0 && (option || w))
                user_mode |= option ? option->user_mode : w->user_mode;
            if (pass == 0 && option) {
                option->run(token + skip, len - skip);
            } else if (pass == 1 && w) {
                w->run(token + skip, len - skip);
            } else if (pass == 1 && !option) {
                struct line l;
                l.len = 0;
                line_str(&l, "unknown workload: ");
                line_mem(&l, token, len);
                line_to_ring(&l);
            }
        }
    }
}

/* One console_io write; the count includes that write and the shutdown after it. */
static void summary(void)
{
    uint64_t total = report.hypercalls + 2;
    struct line l;
    l.len = 0;
    line_str(&l, "summary: hypercalls=");
    line_dec(&l, total);
    line_str(&l, " xen_version=");
    line_dec(&l, hypercall_counts[__HYPERVISOR_xen_version]);
    line_str(&l, " syscalls=");
    line_dec(&l, report.syscalls);
    line_str(&l, " faults=");
    line_dec(&l, report.faults);
    line_str(&l, "\n");
    report.done = 1;
    HYPERVISOR_console_io(CONSOLEIO_write, l.len, l.buf);
}

void xkv_main(const struct start_info *si)
{
    start_info = si;
    report.version = 1;
    report.magic = XKV_REPORT_MAGIC;
    console_init(si);
    boot_banner();
    run_workloads(si->cmd_line, strnlen(si->cmd_line, sizeof(si->cmd_line)));
    summary();
    shutdown(SHUTDOWN_poweroff);
}
