/* Guest user mode, set up and used the way a Xen PV Linux kernel does it: a pinned user L4,
   a kernel stack from stack_switch, a syscall callback, a trap table, and HYPERVISOR_iret
   for every way back to user mode (entry.S). The user programs (user_syscalls here, the
   ones in user.S) run until a handler ends them: each workload's last event (its N-th system
   call or fault, or its one int $V) returns to the kernel instead of to user mode, so the
   hypervisor sees exactly the N events asked for and no extra "exit". */
#include "usermode.h"
#include "console.h"
#include "hypercall.h"
#include "lib64.h"
#include "report.h"

/* entry.S */
extern const struct trap_info xkv_trap_table[];
extern char xen_syscall_entry[];
void user_enter(uint64_t rip, uint64_t arg, uint64_t rsp);
__attribute__((noreturn)) void user_exit(void);
/* user.S */
extern char user_faults[], fault_ud[], fault_bp[], fault_pf[], fault_pf_end[], fault_gp[];
extern char user_soft_int[], soft_int_table[];
/* main.c: reports an exception in guest kernel mode and crashes the domain. */
__attribute__((noreturn)) void xkv_trap(uint64_t vector, const uint64_t *frame, uint64_t error_code);

#define RFLAGS_IF 0x200UL
#define PF_USER 4               /* #PF error code: from user mode, a read of a page not present */
#define REPORT_EVERY 256        /* events between report page updates */

/* What trap_common (entry.S) saved, lowest address first; from vector on, Xen's frame. */
struct trap_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error_code;    /* error code 0 for vectors without one */
    uint64_t rip, cs, rflags, rsp, ss;
};

/* Xen's syscall frame above rcx and r11 (xen_syscall_entry). */
struct syscall_frame {
    uint64_t rip, cs, rflags, rsp, ss;
};

/* Spare .bss pages given other roles. Each is a page of its own: the user L4 becomes
   read-only, and the other's virtual address is remapped onto shared_info (Linux uses a
   fixmap slot for that). */
static uint64_t user_l4[512] __attribute__((aligned(PAGE_SIZE)));
static char shared_info_page[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static volatile struct vcpu_info *vcpu0;

/* The stack Xen switches to on entries from user mode (stack_switch), and the user stack. */
static char kernel_stack[16384] __attribute__((aligned(16)));
static char user_stack[16384] __attribute__((aligned(16)));
/* As after a call, so a C user program starts with the stack alignment it expects. */
#define USER_SP ((uint64_t)user_stack + sizeof(user_stack) - 8)

static int user_mode_ready;

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
   data, but 64-bit PV mappings all carry the user bit, so user mode may write it (user.S too). */
volatile uint64_t user_bad;

static int is_word(const char *text, size_t n, const char *word)
{
    return n == strnlen(word, 32) && bytes_equal(text, word, n);
}

/* A setup step the hypervisor refused: say which, and leave user mode unavailable. */
static void print_rc(const char *what, long rc)
{
    struct line l = { .len = 0 };
    line_str(&l, "usermode: ");
    line_str(&l, what);
    line_str(&l, " failed rc=");
    line_dec(&l, rc);
    line_to_ring(&l);
}

void usermode_init(const struct start_info *si)
{
    const uint64_t *p2m = (const uint64_t *)si->mfn_list;
    const uint64_t page = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED;
    long rc;

    /* shared_info is a machine address: give it a virtual one (the #PF handler reads cr2 there). */
    rc = HYPERVISOR_update_va_mapping((uint64_t)shared_info_page, si->shared_info | page | _PAGE_RW | _PAGE_DIRTY,
                                      UVMF_INVLPG);
    if (rc) {
        print_rc("mapping shared_info", rc);
        return;
    }
    vcpu0 = (volatile struct vcpu_info *)shared_info_page;

    /* The user L4: the kernel L4's guest slots, so user mode sees the kernel's memory (the
       user programs live in its text; every 64-bit PV mapping carries the user bit anyway).
       Xen fills in its own slots when it pins the table, and pins only a frame nothing maps
       writable: remap this one read-only first. */
    const uint64_t *kernel_l4 = (const uint64_t *)si->pt_base;
    for (unsigned i = 0; i < 512; i++)
        user_l4[i] = (i >= L4_HYPERVISOR_FIRST && i < L4_HYPERVISOR_END) ? 0 : kernel_l4[i];
    uint64_t mfn = p2m[((uint64_t)user_l4 - XEN_VIRT_BASE) >> PAGE_SHIFT];
    rc = HYPERVISOR_update_va_mapping((uint64_t)user_l4, mfn << PAGE_SHIFT | page, UVMF_INVLPG);
    if (rc) {
        print_rc("remapping the user L4 read-only", rc);
        return;
    }
    struct mmuext_op ops[] = {
        { .cmd = MMUEXT_PIN_L4_TABLE, .arg1 = mfn },
        { .cmd = MMUEXT_NEW_USER_BASEPTR, .arg1 = mfn },
    };
    unsigned done = 0;
    rc = HYPERVISOR_mmuext_op(ops, 2, &done, DOMID_SELF);
    if (rc) {
        print_rc(done == 0 ? "pinning the user L4" : "setting the user L4", rc);
        return;
    }

    rc = HYPERVISOR_stack_switch(FLAT_RING3_SS, (uint64_t)kernel_stack + sizeof(kernel_stack));
    if (rc) {
        print_rc("stack_switch", rc);
        return;
    }
    struct callback_register syscall = { .type = CALLBACKTYPE_syscall, .flags = 0, .address = (uint64_t)xen_syscall_entry };
    rc = HYPERVISOR_callback_op(CALLBACKOP_register, &syscall);
    if (rc) {
        print_rc("registering the syscall callback", rc);
        return;
    }
    rc = HYPERVISOR_set_trap_table(xkv_trap_table);
    if (rc) {
        print_rc("set_trap_table", rc);
        return;
    }

    struct line l = { .len = 0 };
    line_str(&l, "usermode: ready user_l4_mfn=");
    line_hex(&l, mfn);
    line_str(&l, " syscall_callback=");
    line_hex(&l, (uint64_t)xen_syscall_entry);
    line_to_ring(&l);
    user_mode_ready = 1;
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
    /* Back in guest kernel mode on the boot stack. The rest of the kernel runs with events
       masked, as it booted (user_enter's iret unmasked them); Linux's local_irq_disable. */
    vcpu0->evtchn_upcall_mask = 1;
    job.kind = JOB_NONE;
    report->hypercalls = hypercall_total;
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
        report->hypercalls = hypercall_total;
    }
    if (job.events == job.limit) {
        job.end_tsc = now;
        if (cycles_per_event && cycles_enabled)
            *cycles_per_event = (now - job.start_tsc) / job.limit;
        user_exit();
    }
}

/* The frame came from user mode: Xen's flat user selector (RPL 3; a bounce from the guest
   kernel carries RPL 0) with the event mask of user mode (0, bits 32-39), IF set to match. */
static int from_user(uint64_t cs, uint64_t rflags, uint64_t ss)
{
    return (cs & 0xffff) == FLAT_RING3_CS64 && ((cs >> 32) & 0xff) == 0 && (rflags & RFLAGS_IF) && ss == FLAT_RING3_SS;
}

/* --- syscalls --- */

/* System call i of the user program: a number and an argument that change with i. */
#define SYSCALL_COUNT 16
static inline uint64_t syscall_nr(uint64_t i) { return i % SYSCALL_COUNT; }
static inline uint64_t syscall_arg(uint64_t i) { return i * 0x9e3779b97f4a7c15ULL; }
static inline uint64_t syscall_result(uint64_t nr, uint64_t arg) { return arg * 3 + nr; }

static inline uint64_t user_syscall(uint64_t nr, uint64_t arg)
{
    uint64_t ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(arg) : "rcx", "r11", "memory");
    return ret;
}

/* Guest user mode: system calls until the kernel ends the program, checking each result. */
static __attribute__((noreturn)) void user_syscalls(void)
{
    for (uint64_t i = 0;; i++) {
        uint64_t nr = syscall_nr(i), arg = syscall_arg(i);
        if (user_syscall(nr, arg) != syscall_result(nr, arg))
            user_bad++;
    }
}

/* The syscall callback's C half (xen_syscall_entry): checks that call number `job.events`
   arrived intact from user mode and computes its result. */
long xkv_syscall(uint64_t nr, uint64_t arg, const struct syscall_frame *f)
{
    uint64_t i = job.events;
    if (job.kind != JOB_SYSCALLS || nr != syscall_nr(i) || arg != syscall_arg(i) || !from_user(f->cs, f->rflags, f->ss))
        job.bad++;
    long result = nr < SYSCALL_COUNT ? (long)syscall_result(nr, arg) : -ENOSYS;
    report->syscalls++;
    job_event(&report->cycles_per_syscall);
    return result;
}

void workload_syscalls(const char *arg, size_t n)
{
    uint64_t count = 0;
    int forever = is_word(arg, n, "forever");
    struct line l = { .len = 0 };
    if (!forever && !parse_count(arg, n, 1000000000, &count)) {
        line_str(&l, "syscalls: bad count '");
        line_mem(&l, arg, n);
        line_str(&l, "' (want 0..1000000000 or forever)");
        line_to_ring(&l);
        return;
    }
    if (!user_mode_ready) {
        print("syscalls: no user mode");
        return;
    }
    job_clear();
    if (forever || count)
        run_job(JOB_SYSCALLS, count, (uint64_t)user_syscalls, 0);
    uint64_t bad = job.bad + user_bad;
    line_str(&l, "syscalls: done ");
    line_dec(&l, (int64_t)job.events);
    line_str(&l, " ok=");
    line_dec(&l, (int64_t)(bad < job.events ? job.events - bad : 0));
    line_str(&l, " bad=");
    line_dec(&l, (int64_t)bad);
    line_str(&l, " cycles/call=");
    line_dec(&l, count ? (int64_t)((job.end_tsc - job.start_tsc) / count) : 0);
    line_to_ring(&l);
}

/* --- exceptions --- */

/* Reports an exception the running program was not meant to raise and ends the program. */
static __attribute__((noreturn)) void unexpected_trap(const struct trap_frame *f)
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
    line_to_ring(&l);
    user_exit();
}

/* The faults program (user.S) raises #UD, #BP, #PF, #GP in turn: checks the frame of fault
   `job.events` against what the CPU must have reported, then resumes past the instruction. */
static void fault_trap(struct trap_frame *f)
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
        unexpected_trap(f);
    job.vectors[f->vector]++;
    report->faults++;
    int ok = f->vector == cycle[step] && f->rip == at && f->error_code == error && from_user(f->cs, f->rflags, f->ss)
             && f->rsp == USER_SP && f->rcx == USER_FAULT_RCX && f->r11 == USER_FAULT_R11;
    /* The hypervisor passes cr2 in vcpu_info: a 64-bit PV kernel cannot read the real one. */
    if (f->vector == 14 && vcpu0->cr2 != USER_FAULT_VA)
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
    struct line l = { .len = 0 };
    if (!forever && !parse_count(arg, n, 1000000000, &count)) {
        line_str(&l, "faults: bad count '");
        line_mem(&l, arg, n);
        line_str(&l, "' (want 0..1000000000 or forever)");
        line_to_ring(&l);
        return;
    }
    if (!user_mode_ready) {
        print("faults: no user mode");
        return;
    }
    job_clear();
    if (forever || count)
        run_job(JOB_FAULTS, count, (uint64_t)user_faults, 0);
    uint64_t bad = job.bad + user_bad;
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
    line_to_ring(&l);
}

/* --- int=V --- */

/* Whether our trap table lets user mode raise `vector` with int $V (DPL 3). */
static int user_may_raise(unsigned vector)
{
    for (const struct trap_info *t = xkv_trap_table; t->address; t++)
        if (t->vector == vector)
            return (t->flags & 3) == TI_DPL_USER;
    return 0;
}

/* The one exception of the int program: delivered to V's handler with rip past the two-byte
   int, or, where the DPL forbids it, #GP with error code (V << 3) | 2 and rip on the int. */
static __attribute__((noreturn)) void int_trap(struct trap_frame *f)
{
    uint64_t v = job.arg, at = (uint64_t)soft_int_table + v * 8;
    int gp = f->vector == 13 && f->error_code == (v << 3 | 2);
    if (!gp && f->vector != v)
        unexpected_trap(f);
    job.int_outcome = gp ? INT_GP : INT_DELIVERED;
    job.int_error = f->error_code;
    job.vectors[f->vector]++;
    int ok = from_user(f->cs, f->rflags, f->ss) && f->rsp == USER_SP;
    if (gp) {
        ok = ok && !user_may_raise(v) && f->rip == at;
        report->faults++;
    } else {
        ok = ok && user_may_raise(v) && f->rip == at + 2;
        report->soft_ints++;
    }
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
        line_to_ring(&l);
        return;
    }
    if (!user_mode_ready) {
        print("int: no user mode");
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
    line_to_ring(&l);
}

/* Every exception the trap table routes here (trap_common in entry.S). */
void xkv_user_trap(struct trap_frame *f)
{
    /* RPL 0 in Xen's frame: the guest kernel itself faulted, a bug here. */
    if ((f->cs & 3) != 3)
        xkv_trap(f->vector, &f->rip, f->error_code);
    if (job.kind == JOB_FAULTS)
        fault_trap(f);
    else if (job.kind == JOB_INT)
        int_trap(f);
    else
        unexpected_trap(f);
}
