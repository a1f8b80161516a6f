/* Ring 3, run the way an OS on real hardware runs it: iretq into user mode, user `syscall`
   straight into this kernel's LSTAR entry and back with sysretq, user exceptions through
   this kernel's own IDT and back with iretq (entry.S). No hypervisor on any of these paths:
   on VT-x/AMD-V none of them exits. The user programs (user.S) run until a handler ends
   them: each workload's last event (its N-th system call or fault, or its one int $V)
   returns to the kernel instead of to user mode, so exactly N events happen. */
#include "usermode.h"
#include "console.h"
#include "cpu.h"
#include "hvm.h"
#include "lib64.h"
#include "report.h"

/* entry.S */
void user_enter(uint64_t rip, uint64_t arg, uint64_t rsp);
__attribute__((noreturn)) void user_exit(void);
/* user.S */
extern char user_syscalls[], syscall_return[];
extern char user_faults[], fault_ud[], fault_bp[], fault_pf[], fault_pf_end[], fault_gp[];
extern char user_soft_int[], soft_int_table[];

#define PF_USER 4               /* #PF error code: from user mode, a read of a page not present */
#define REPORT_EVERY 256        /* events between report page updates */
#define ENOSYS 38

/* What isr_common (entry.S) saved, lowest address first; from rip on, the CPU's frame. */
struct trap_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error_code;    /* error code 0 for vectors without one */
    uint64_t rip, cs, rflags, rsp, ss;
};

/* What syscall_entry (entry.S) saved, lowest address first: the kernel's own ss, cs and
   rflags at entry, the registers it preserves, the number, and the user's rip (rcx),
   rflags (r11) and rsp. */
struct syscall_frame {
    uint64_t kernel_ss, kernel_cs, kernel_rflags;
    uint64_t rbp, r10, r9, r8, rdx, rsi, rdi, nr;
    uint64_t rip, rflags, rsp;
};

static char user_stack[16384] __attribute__((aligned(16)));
/* As after a call, so a user program starts with the stack alignment C expects. */
#define USER_SP ((uint64_t)user_stack + sizeof(user_stack) - 8)

/* The user program now running and what the kernel's handlers saw of it. */
enum job_kind { JOB_NONE, JOB_SYSCALLS, JOB_FAULTS, JOB_INT };
static struct {
    enum job_kind kind;
    uint64_t limit;             /* events after which the program ends; 0: never */
    uint64_t events;            /* system calls or exceptions handled */
    uint64_t bad;               /* events whose frame or values were wrong */
    uint64_t start_tsc, batch_tsc, end_tsc;
    uint64_t vectors[256];      /* exceptions by vector */
    uint64_t arg;               /* the program's argument (int=V: V) */
    enum { INT_UNEXPECTED, INT_DELIVERED, INT_GP } int_outcome;
    uint64_t int_error;
} job;

/* What the user program itself counted: results or registers that were wrong. It is kernel
   data, but every mapping carries the user bit, so user mode may write it (user.S does). */
volatile uint64_t user_bad;

static int is_word(const char *text, size_t n, const char *word)
{
    return n == strnlen(word, 32) && bytes_equal(text, word, n);
}

/* Forgets the last program's results. */
static void job_clear(void)
{
    memset(&job, 0, sizeof(job));
    user_bad = 0;
}

/* Runs one user program until a handler ends it after `limit` events (0: never ends). */
static void run_job(enum job_kind kind, uint64_t limit, uint64_t program, uint64_t arg)
{
    job.kind = kind;
    job.limit = limit;
    job.arg = arg;
    job.start_tsc = job.batch_tsc = cycles_now();
    user_enter(program, arg, USER_SP);
    /* Back in ring 0 on the boot stack, interrupts off (gates and FMASK cleared IF). */
    job.kind = JOB_NONE;
}

/* After each handled event: the report page every REPORT_EVERY events, and the end of the
   program after the last one. `cycles_per_event` is the report field to measure into, if any. */
static void job_event(volatile uint64_t *cycles_per_event)
{
    uint64_t now = cycles_now();
    job.events++;
    if (job.events % REPORT_EVERY == 0) {
        if (cycles_per_event && cycles_enabled)
            *cycles_per_event = (now - job.batch_tsc) / REPORT_EVERY;
        job.batch_tsc = now;
    }
    if (job.events == job.limit) {
        job.end_tsc = now;
        if (cycles_per_event && cycles_enabled)
            *cycles_per_event = (now - job.start_tsc) / job.limit;
        user_exit();
    }
}

/* The frame came from the user program: ring 3 selectors, interrupts on, IOPL 0, on its stack. */
static int from_user(uint64_t cs, uint64_t rflags, uint64_t rsp, uint64_t ss)
{
    return cs == USER_CS && ss == USER_DS && (rflags & RFLAGS_IF) && !(rflags & RFLAGS_IOPL) && rsp == USER_SP;
}

/* --- syscalls --- */

static inline uint64_t syscall_nr(uint64_t i) { return i % SYSCALL_COUNT; }
static inline uint64_t syscall_arg(uint64_t i) { return i * SYSCALL_MUL; }
static inline uint64_t syscall_result(uint64_t nr, uint64_t arg) { return arg * 3 + nr; }

/* syscall_entry's C half: checks that call number `job.events` arrived intact from the user
   program, natively (ring 0 by STAR, flags masked by FMASK), and computes its result. */
long xkv_syscall(const struct syscall_frame *f)
{
    uint64_t i = job.events;
    int ok = job.kind == JOB_SYSCALLS && f->nr == syscall_nr(i) && f->rdi == syscall_arg(i)
             && f->rip == (uint64_t)syscall_return && f->rsp == USER_SP && (f->rflags & RFLAGS_IF)
             && (f->kernel_cs & 0xffff) == KERNEL_CS && (f->kernel_ss & 0xffff) == KERNEL_DS
             && !(f->kernel_rflags & SYSCALL_FMASK);
    if (!ok)
        job.bad++;
    long result = f->nr < SYSCALL_COUNT ? (long)syscall_result(f->nr, f->rdi) : -ENOSYS;
    report->syscalls++;
    job_event(&report->cycles_per_syscall);
    return result;
}

static void print_bad_count(const char *what, const char *arg, size_t n, const char *want)
{
    struct line l = { .len = 0 };
    line_str(&l, what);
    line_str(&l, ": bad count '");
    line_mem(&l, arg, n);
    line_str(&l, "' (want ");
    line_str(&l, want);
    line_str(&l, ")");
    line_out(&l);
}

void workload_syscalls(const char *arg, size_t n)
{
    uint64_t count = 0;
    int forever = is_word(arg, n, "forever");
    if (!forever && !parse_count(arg, n, 1000000000, &count)) {
        print_bad_count("syscalls", arg, n, "0..1000000000 or forever");
        return;
    }
    job_clear();
    if (forever || count)
        run_job(JOB_SYSCALLS, count, (uint64_t)user_syscalls, 0);
    uint64_t bad = job.bad + user_bad;
    struct line l = { .len = 0 };
    line_str(&l, "syscalls: done ");
    line_dec(&l, (int64_t)job.events);
    line_str(&l, " ok=");
    line_dec(&l, (int64_t)(bad < job.events ? job.events - bad : 0));
    line_str(&l, " bad=");
    line_dec(&l, (int64_t)bad);
    line_str(&l, " cycles/call=");
    line_dec(&l, count ? (int64_t)((job.end_tsc - job.start_tsc) / count) : 0);
    line_out(&l);
}

/* --- exceptions --- */

/* Reports an exception the running program was not meant to raise and ends the program. */
static __attribute__((noreturn)) void unexpected_trap(const struct trap_frame *f, uint64_t cr2)
{
    job.bad++;
    report->faults++;
    struct line l = { .len = 0 };
    line_str(&l, "trap: unexpected vector=");
    line_dec(&l, (int64_t)f->vector);
    line_str(&l, " in user mode at rip=");
    line_hex(&l, f->rip);
    line_str(&l, " error=");
    line_hex(&l, f->error_code);
    if (f->vector == 14) {
        line_str(&l, " cr2=");
        line_hex(&l, cr2);
    }
    line_out(&l);
    job.end_tsc = cycles_now();
    user_exit();
}

/* The faults program (user.S) raises #UD, #BP, #PF, #GP in turn: checks the frame of fault
   `job.events` against what the CPU must have reported, then resumes past the instruction. */
static void fault_trap(struct trap_frame *f, uint64_t cr2)
{
    static const uint8_t cycle[4] = { 6, 3, 14, 13 };
    unsigned step = job.events % 4;
    uint64_t at, length, error = 0;
    switch (step) {
    case 0: at = (uint64_t)fault_ud; length = 2; break;                     /* ud2 */
    case 1: at = (uint64_t)fault_bp + 1; length = 0; break;                 /* int3 traps: rip is past it */
    case 2: at = (uint64_t)fault_pf; length = (uint64_t)(fault_pf_end - fault_pf); error = PF_USER; break;
    default: at = (uint64_t)fault_gp; length = 1; break;                    /* hlt */
    }
    if (f->vector != 6 && f->vector != 3 && f->vector != 14 && f->vector != 13)
        unexpected_trap(f, cr2);
    job.vectors[f->vector]++;
    report->faults++;
    int ok = f->vector == cycle[step] && f->rip == at && f->error_code == error
             && from_user(f->cs, f->rflags, f->rsp, f->ss) && f->rcx == USER_FAULT_RCX && f->r11 == USER_FAULT_R11;
    if (f->vector == 14 && cr2 != USER_FAULT_VA)
        ok = 0;
    if (!ok)
        job.bad++;
    if (f->rip != at) {
        /* Resuming at a guess could run anything: end the program instead. */
        job.end_tsc = cycles_now();
        user_exit();
    }
    f->rip += length;
    job_event(&report->cycles_per_fault);
}

static void line_vector_count(struct line *l, unsigned vector, uint64_t count)
{
    line_dec(l, vector);
    line_str(l, ":");
    line_dec(l, (int64_t)count);
}

void workload_faults(const char *arg, size_t n)
{
    uint64_t count = 0;
    int forever = is_word(arg, n, "forever");
    if (!forever && !parse_count(arg, n, 1000000000, &count)) {
        print_bad_count("faults", arg, n, "0..1000000000 or forever");
        return;
    }
    job_clear();
    if (forever || count)
        run_job(JOB_FAULTS, count, (uint64_t)user_faults, 0);
    uint64_t bad = job.bad + user_bad;
    struct line l = { .len = 0 };
    line_str(&l, "faults: done ");
    line_dec(&l, (int64_t)job.events);
    line_str(&l, " ok=");
    line_dec(&l, (int64_t)(bad < job.events ? job.events - bad : 0));
    line_str(&l, " bad=");
    line_dec(&l, (int64_t)bad);
    line_str(&l, " vectors=");
    line_vector_count(&l, 6, job.vectors[6]);
    line_str(&l, ",");
    line_vector_count(&l, 3, job.vectors[3]);
    line_str(&l, ",");
    line_vector_count(&l, 14, job.vectors[14]);
    line_str(&l, ",");
    line_vector_count(&l, 13, job.vectors[13]);
    line_str(&l, " cycles/fault=");
    line_dec(&l, count ? (int64_t)((job.end_tsc - job.start_tsc) / count) : 0);
    line_out(&l);
}

/* --- int=V --- */

/* The one exception of the int program. Where the gate's DPL lets ring 3 in (3, 4, 0x80):
   V itself, rip past the two-byte int, no error code. Elsewhere: #GP with error code
   (V << 3) | 2 (the IDT bit) and rip on the int. (QEMU's TCG, unlike the hardware, reports
   (V << 4) | 2: that shows here as a gp with bad=1.) */
static __attribute__((noreturn)) void int_trap(struct trap_frame *f, uint64_t cr2)
{
    uint64_t v = job.arg, at = (uint64_t)soft_int_table + v * 8;
    int allowed = idt_dpl((unsigned)v) == 3;
    int ok = from_user(f->cs, f->rflags, f->rsp, f->ss);
    if (allowed && f->vector == v) {
        job.int_outcome = INT_DELIVERED;
        ok = ok && f->rip == at + 2 && f->error_code == 0;
        report->soft_ints++;
    } else if (!allowed && f->vector == 13) {
        job.int_outcome = INT_GP;
        ok = ok && f->rip == at && f->error_code == (v << 3 | 2);
        report->faults++;
    } else {
        unexpected_trap(f, cr2);
    }
    job.int_error = f->error_code;
    job.vectors[f->vector]++;
    if (!ok)
        job.bad++;
    job_event(NULL);            /* one interrupt is no measurement of cycles per fault */
    __builtin_unreachable();    /* limit 1: job_event ended the program */
}

void workload_int(const char *arg, size_t n)
{
    uint64_t vector;
    struct line l = { .len = 0 };
    if (!parse_count(arg, n, 255, &vector)) {
        line_str(&l, "int: bad vector '");
        line_mem(&l, arg, n);
        line_str(&l, "' (want 0..255)");
        line_out(&l);
        return;
    }
    job_clear();
    run_job(JOB_INT, 1, (uint64_t)user_soft_int, vector);
    line_str(&l, "int: vector=");
    line_dec(&l, (int64_t)vector);
    if (job.int_outcome == INT_DELIVERED) {
        line_str(&l, " delivered");
    } else if (job.int_outcome == INT_GP) {
        line_str(&l, " gp error=0x");
        line_hex(&l, job.int_error);
    } else {
        line_str(&l, " unexpected");
    }
    line_str(&l, " bad=");
    line_dec(&l, (int64_t)job.bad);
    line_out(&l);
}

/* --- every vector --- */

/* An exception in ring 0 is a bug of this kernel: say where, and crash the domain. */
static __attribute__((noreturn)) void kernel_trap(const struct trap_frame *f, uint64_t cr2)
{
    struct line l = { .len = 0 };
    line_str(&l, "trap: vector=");
    line_dec(&l, (int64_t)f->vector);
    line_str(&l, " in kernel at rip=");
    line_hex(&l, f->rip);
    line_str(&l, " error=");
    line_hex(&l, f->error_code);
    line_str(&l, " cr2=");
    line_hex(&l, cr2);
    line_out(&l);
    power(POWER_CRASH);
}

/* isr_common's C half: every interrupt and exception, through this kernel's own IDT. */
void xkv_trap_entry(struct trap_frame *f)
{
    /* Read first: nothing below may fault, but cr2 is only meaningful until the next #PF. */
    uint64_t cr2 = read_cr2();
    if ((f->cs & 3) != 3)
        kernel_trap(f, cr2);
    if (job.kind == JOB_FAULTS)
        fault_trap(f, cr2);
    else if (job.kind == JOB_INT)
        int_trap(f, cr2);
    else
        unexpected_trap(f, cr2);
}
