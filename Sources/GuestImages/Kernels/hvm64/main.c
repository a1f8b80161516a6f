/* Boot, then run the workloads named on the command line. */
#include "console.h"
#include "cpu.h"
#include "hvm.h"
#include "lib64.h"
#include "report.h"
#include "smbios.h"
#include "usermode.h"

void xkv_main(const struct hvm_boot_params *bp) __attribute__((noreturn));

/* The page xkv reads what this kernel did from (report.h); head.S announces it in a note. */
volatile union xkv_report_page xkv_report_page __attribute__((aligned(PAGE_SIZE), section(".data.xkv_report"))) = {
    .r = { .magic = XKV_REPORT_MAGIC, .version = XKV_REPORT_VERSION },
};

/* The command line, copied out of the builder's page (at most 1024 bytes, Xen's guest command
   line limit, as pv64's), and the domain's memory size. */
#define CMDLINE_MAX 1024
static char cmdline[CMDLINE_MAX];
static size_t cmdline_len;
static uint64_t memory_size;

/* lib64.h: the token `cycles` anywhere on the command line; without it no rdtsc executes. */
int cycles_enabled;

/* Boot parameters the builder got wrong: say what, and crash the domain. */
static __attribute__((noreturn)) void bad_boot(const char *what, uint64_t value)
{
    struct line l = { .len = 0 };
    line_str(&l, "xkv-hvm64: bad boot parameters: ");
    line_str(&l, what);
    line_str(&l, "=0x");
    line_hex(&l, value);
    line_out(&l);
    power(POWER_CRASH);
}

static void read_boot_params(const struct hvm_boot_params *bp)
{
    uint64_t at = (uint64_t)bp;
    if (at % 8 || at >= BIOS_AREA_START)
        bad_boot("rdi", at);
    if (bp->magic != HVM_BOOT_MAGIC)
        bad_boot("magic", bp->magic);
    memory_size = bp->memory_size;
    uint64_t address = bp->cmdline, length = bp->cmdline_len;
    /* Everything this kernel can read is below 4 GiB (cpu.c) and inside the domain's memory. */
    if (length > (1ULL << 32) || address > (1ULL << 32) - length || address + length > memory_size)
        bad_boot("cmdline", address);
    const char *text = (const char *)address;
    size_t n = strnlen(text, length < CMDLINE_MAX ? length : CMDLINE_MAX);
    memcpy(cmdline, text, n);
    cmdline_len = n;
    if (length > CMDLINE_MAX && n == CMDLINE_MAX) {
        struct line l = { .len = 0 };
        line_str(&l, "xkv-hvm64: command line of ");
        line_dec(&l, (int64_t)length);
        line_str(&l, " bytes cut to 1024");
        line_out(&l);
    }
}

static void boot_lines(void)
{
    struct line l = { .len = 0 };
    line_str(&l, "cmdline: ");
    line_mem(&l, cmdline, cmdline_len);
    line_out(&l);

    struct cpu_tables t;
    cpu_tables(&t);
    l.len = 0;
    line_str(&l, "ring0: gdt=0x");
    line_hex(&l, t.gdt);
    line_str(&l, " idt=0x");
    line_hex(&l, t.idt);
    line_str(&l, " tss=0x");
    line_hex(&l, t.tss);
    line_str(&l, " rsp0=0x");
    line_hex(&l, t.rsp0);
    line_str(&l, " cr3=0x");
    line_hex(&l, t.cr3);
    line_str(&l, " lstar=0x");
    line_hex(&l, t.lstar);
    line_str(&l, " memory=");
    line_dec(&l, (int64_t)memory_size);
    line_out(&l);
}

/* --- workloads: each gets the text after '=' (empty for plain words) --- */

static void workload_echo(const char *arg, size_t n)
{
    struct line l = { .len = 0 };
    line_mem(&l, arg, n);
    line_out(&l);
}

/* Native cpuid: on HVM it always exits to the hypervisor, which answers Xen's leaves. */
static void workload_cpuid(const char *arg, size_t n)
{
    (void)arg, (void)n;
    uint32_t leaf = 0x40000000, eax, ebx, ecx, edx;
    __asm__ volatile("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx) : "a"(leaf), "c"(0));
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
    line_out(&l);
}

static void workload_smbios(const char *arg, size_t n)
{
    (void)arg, (void)n;
    smbios_report(memory_size);
}

static void workload_spin(const char *arg, size_t n)
{
    (void)arg, (void)n;
    for (;;)
        __asm__ volatile("");
}

/* Each hlt exits to xkv, which blocks the vCPU; with interrupts off nothing wakes it but xkv. */
static void workload_idle(const char *arg, size_t n)
{
    (void)arg, (void)n;
    for (;;)
        __asm__ volatile("cli; hlt" ::: "memory");
}

static void workload_crash(const char *arg, size_t n)
{
    (void)arg, (void)n;
    power(POWER_CRASH);
}

/* A ring-0 fault: this kernel's own #PF handler reports it and crashes the domain. */
static void workload_fault(const char *arg, size_t n)
{
    (void)arg, (void)n;
    (void)*(volatile uint64_t *)USER_FAULT_VA;
    print("fault: read of 10dead000 did not fault");
}

/* `cycles`: an option, read before any workload runs (run_workloads); nothing to do in order. */
static void option_cycles(const char *arg, size_t n)
{
    (void)arg, (void)n;
}

struct workload {
    const char *name;   /* ends in '=' when the workload takes an argument */
    void (*run)(const char *arg, size_t n);
};

static const struct workload workloads[] = {
    { "syscalls=", workload_syscalls },
    { "faults=", workload_faults },
    { "int=", workload_int },
    { "echo=", workload_echo },
    { "cpuid", workload_cpuid },
    { "smbios", workload_smbios },
    { "spin", workload_spin },
    { "idle", workload_idle },
    { "crash", workload_crash },
    { "fault", workload_fault },
    { "cycles", option_cycles },
};

static void run_workload(const char *token, size_t n)
{
    for (size_t i = 0; i < sizeof(workloads) / sizeof(workloads[0]); i++) {
        const char *name = workloads[i].name;
        size_t len = strnlen(name, 32);
        int takes_arg = name[len - 1] == '=';
        if (takes_arg ? (n >= len && bytes_equal(token, name, len)) : (n == len && bytes_equal(token, name, len))) {
            workloads[i].run(token + len, n - len);
            return;
        }
    }
    struct line l = { .len = 0 };
    line_str(&l, "unknown workload: ");
    line_mem(&l, token, n);
    line_out(&l);
}

/* Options first (`cycles`, wherever it is), then the workloads in order. */
static void run_workloads(void)
{
    for (int pass = 0; pass < 2; pass++) {
        size_t i = 0;
        while (i < cmdline_len) {
            while (i < cmdline_len && cmdline[i] == ' ')
                i++;
            size_t start = i;
            while (i < cmdline_len && cmdline[i] != ' ')
                i++;
            if (i == start)
                continue;
            if (pass == 0) {
                if (i - start == 6 && bytes_equal(cmdline + start, "cycles", 6))
                    cycles_enabled = 1;
            } else {
                run_workload(cmdline + start, i - start);
            }
        }
    }
}

void xkv_main(const struct hvm_boot_params *bp)
{
    /* Own ring 0 before anything can fault: from here on, a bug is reported, not a triple fault. */
    cpu_init();
    print("xkv-hvm64: booting (ring 0, own IDT and LSTAR)");
    read_boot_params(bp);
    boot_lines();
    run_workloads();
    report->done = 1;
    struct line l = { .len = 0 };
    line_str(&l, "summary: syscalls=");
    line_dec(&l, (int64_t)report->syscalls);
    line_str(&l, " faults=");
    line_dec(&l, (int64_t)report->faults);
    line_out(&l);
    power(POWER_OFF);
}
