/* The trap table, the kernel's trap stack, the user pages, and the handler every trap from user
   mode reaches (through trap_common in head.S). */
#include "kernel.h"

/* trap_common's frame: pushal's registers, the stub's vector and error code, then Xen's
   bounce frame (esp and ss only when the trap came from ring 3). */
struct trap_frame {
    uint32_t edi, esi, ebp, esp_unused, ebx, edx, ecx, eax;
    uint32_t vector, error;
    uint32_t eip, cs, eflags;
    uint32_t esp, ss;
};

void xkv_trap(struct trap_frame *f);
uint32_t user_enter(uint32_t eip, uint32_t esp);
__attribute__((noreturn)) void user_exit(uint32_t value);

extern char trap_0[], trap_1[], trap_3[], trap_4[], trap_5[], trap_6[], trap_7[], trap_9[], trap_10[],
    trap_11[], trap_12[], trap_13[], trap_14[], trap_16[], trap_17[], trap_18[], trap_19[], trap_0x81[],
    int80_direct_entry[], int80_entry[];
extern uint32_t int80_entries;  /* head.S: every entry into a 0x80 handler */
extern char __user_text_start[], __user_text_end[];

#define PAGE_ALIGNED __attribute__((section(".bss.page"), aligned(PAGE_SIZE)))
volatile struct xkv_report report PAGE_ALIGNED;    /* named by the XKV note in head.S */
volatile struct user_area user_area PAGE_ALIGNED;
static char user_stack[PAGE_SIZE] PAGE_ALIGNED;
static char trap_stack[PAGE_SIZE] PAGE_ALIGNED;
/* Remapped onto the shared_info frame: vcpu_info[0].arch.cr2 is where a #PF's address is. */
static char shared_info_page[PAGE_SIZE] PAGE_ALIGNED;
static volatile struct vcpu_info *const vcpu0 = (volatile struct vcpu_info *)shared_info_page;

#define USER_STACK_TOP ((uint32_t)user_stack + PAGE_SIZE)
#define TRAP_STACK_TOP ((uint32_t)trap_stack + PAGE_SIZE)

/* DPL 3 where user mode may use `int $N` (Linux's choice: int3, into, the system call), plus
   0x81 as a user-reachable vector of no other meaning for int=V; 0 elsewhere. Vector 0x80 is
   last so int80=none can end the table there. */
#define GATE(v, flags, fn) { (v), (flags), FLAT_RING1_CS, (uint32_t)(fn) }
static struct trap_info trap_table[] = {
    GATE(0, 0, trap_0), GATE(1, 0, trap_1), GATE(3, 3, trap_3), GATE(4, 3, trap_4),
    GATE(5, 0, trap_5), GATE(6, 0, trap_6), GATE(7, 0, trap_7), GATE(9, 0, trap_9),
    GATE(10, 0, trap_10), GATE(11, 0, trap_11), GATE(12, 0, trap_12), GATE(13, 0, trap_13),
    GATE(14, TI_MASK_EVENTS, trap_14), GATE(16, 0, trap_16), GATE(17, 0, trap_17),
    GATE(18, 0, trap_18), GATE(19, 0, trap_19), GATE(0x81, 3, trap_0x81),
    GATE(0x80, 3, int80_direct_entry),
    { 0, 0, 0, 0 },
};
#define INT80_SLOT (sizeof(trap_table) / sizeof(trap_table[0]) - 2)

enum int80_mode int80_mode = INT80_UNMASKED;
int cycles_enabled;

enum task { TASK_NONE, TASK_SYSCALLS, TASK_FAULTS, TASK_INT };
static enum task task;

/* What the handler saw during the current user session. */
static uint32_t int80_gp;           /* int $0x80 that came back as #GP (no 0x80 entry) */
static const char *exit_problem;    /* what was wrong with the SYS_exit frame, if anything */
static uint32_t fault_counts[3];    /* #UD, #BP, #PF */
static uint32_t faults_ok, faults_bad;
static struct trap_frame bad_frame; /* the first bad one, for the report */
static const char *bad_problem;
static uint32_t int_vector;
static enum { INT_NONE, INT_DELIVERED, INT_GP, INT_OTHER } int_outcome;
static struct trap_frame int_frame;
static const char *int_problem;

static uint32_t mfn_of(const void *va)
{
    const uint32_t *p2m = (const uint32_t *)start_info->mfn_list;
    return p2m[((uint32_t)va - XEN_VIRT_BASE) >> PAGE_SHIFT];
}

static long map_user(const void *va)
{
    uint64_t pte = (uint64_t)mfn_of(va) << PAGE_SHIFT | _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY;
    return HYPERVISOR_update_va_mapping((uint32_t)va, pte, UVMF_INVLPG);
}

static const char *const int80_names[] = { "unmasked", "masked", "none" };

int user_mode_ready(void)
{
    static int state = -1;  /* -1 not tried, 0 ready, 1 failed */
    if (state >= 0)
        return state;

    if (int80_mode == INT80_MASKED) {
        trap_table[INT80_SLOT].flags |= TI_MASK_EVENTS;
        trap_table[INT80_SLOT].address = (uint32_t)int80_entry;
    } else if (int80_mode == INT80_NONE)
        trap_table[INT80_SLOT].address = 0;   /* the table ends here */
    uint32_t entries = int80_mode == INT80_NONE ? INT80_SLOT : INT80_SLOT + 1;

    long table_rc = HYPERVISOR_set_trap_table(trap_table);
    long stack_rc = HYPERVISOR_stack_switch(FLAT_RING1_DS, TRAP_STACK_TOP);
    long map_rc = 0;
    for (char *page = __user_text_start; page < __user_text_end && !map_rc; page += PAGE_SIZE)
        map_rc = map_user(page);
    if (!map_rc)
        map_rc = map_user((const void *)&user_area);
    if (!map_rc)
        map_rc = map_user(user_stack);
    uint64_t shared = (uint64_t)start_info->shared_info | _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY;
    long shared_rc = HYPERVISOR_update_va_mapping((uint32_t)shared_info_page, shared, UVMF_INVLPG);
    state = table_rc || stack_rc || map_rc || shared_rc;

    struct line l;
    l.len = 0;
    line_str(&l, "traps: set_trap_table=");
    line_sdec(&l, table_rc);
    line_str(&l, " stack_switch=");
    line_sdec(&l, stack_rc);
    line_str(&l, " user_pages=");
    line_sdec(&l, map_rc);
    line_str(&l, " shared_info=");
    line_sdec(&l, shared_rc);
    line_str(&l, " entries=");
    line_dec(&l, entries);
    line_str(&l, " int80=");
    line_str(&l, int80_names[int80_mode]);
    line_to_ring(&l);

    /* What was registered, for comparison with xkv's `traps`: vector:dplD[,mask]@address. */
    l.len = 0;
    line_str(&l, "traps: cs=");
    line_hex(&l, FLAT_RING1_CS);
    for (const struct trap_info *t = trap_table; t->address; t++) {
        line_str(&l, " ");
        line_dec(&l, t->vector);
        line_str(&l, ":dpl");
        line_dec(&l, t->flags & 3);
        if (t->flags & TI_MASK_EVENTS)
            line_str(&l, ",mask");
        line_str(&l, "@");
        line_hex(&l, t->address);
    }
    line_to_ring(&l);
    if (state)
        print("traps: no user mode");
    return state;
}

/* A trap this kernel cannot resume from: say what it was and crash the domain. */
__attribute__((noreturn)) static void unexpected(const struct trap_frame *f, const char *why)
{
    struct line l;
    l.len = 0;
    line_str(&l, "trap: ");
    line_str(&l, why);
    line_str(&l, " vector=");
    line_dec(&l, f->vector);
    line_str(&l, " error=");
    line_hex(&l, f->error);
    line_str(&l, " eip=");
    line_hex(&l, f->eip);
    line_str(&l, " cs=");
    line_hex(&l, f->cs);
    line_str(&l, " eflags=");
    line_hex(&l, f->eflags);
    if ((f->cs & 3) == 3) {
        line_str(&l, " esp=");
        line_hex(&l, f->esp);
        line_str(&l, " ss=");
        line_hex(&l, f->ss);
    }
    line_str(&l, " cr2=");
    line_hex(&l, vcpu0->arch.cr2);
    line_to_ring(&l);
    shutdown(SHUTDOWN_crash);
}

/* What Xen's compat bounce frame from ring 3 must hold, or NULL when it does: on the stack
   registered with stack_switch, the user's EIP, CS with the saved event mask in bits 16-23
   (1: this kernel never unmasks events), EFLAGS with IF = !saved mask, ESP, SS. */
static const char *frame_problem(const struct trap_frame *f, uint32_t eip)
{
    uint32_t saved_mask = (f->cs >> 16) & 0xff;
    if ((uint32_t)(f + 1) != TRAP_STACK_TOP)
        return "not-at-stack_switch-top";
    if (f->eip != eip)
        return "eip";
    if ((f->cs & 0xffff) != FLAT_RING3_CS)
        return "cs";
    if (saved_mask != 1)
        return "cs-saved-mask";
    if (!(f->eflags & X86_EFLAGS_FIXED) || (f->eflags & X86_EFLAGS_VM))
        return "eflags";
    if (!(f->eflags & X86_EFLAGS_IF) != !!saved_mask)
        return "eflags.IF";
    if (f->esp != USER_STACK_TOP)
        return "esp";
    if ((f->ss & 0xffff) != FLAT_RING3_DS)
        return "ss";
    return NULL;
}

static int in_user_text(uint32_t eip)
{
    return eip >= (uint32_t)__user_text_start && eip + 2 <= (uint32_t)__user_text_end;
}

/* The #GP Xen gives an `int $0x80` when vector 0x80 has no entry: error (0x80 << 3) | 2. */
static int is_int80_gp(const struct trap_frame *f)
{
    return f->vector == 13 && f->error == ((0x80 << 3) | 2) && in_user_text(f->eip)
        && *(const uint16_t *)f->eip == 0x80cd;
}

static void fault_taken(struct trap_frame *f)
{
    static const uint32_t expected_error[3] = { 0, 0, 4 };  /* #PF: user-mode read, not present */
    unsigned kind;
    uint32_t resume;
    if (f->vector == 6 && f->eip == (uint32_t)user_fault_ud)
        kind = 0, resume = f->eip + 2;
    else if (f->vector == 3 && f->eip == (uint32_t)user_fault_bp_after)
        kind = 1, resume = f->eip;
    else if (f->vector == 14 && f->eip == (uint32_t)user_fault_pf)
        kind = 2, resume = f->eip + 2;
    else
        unexpected(f, "faults: not one of the workload's exceptions");

    const char *problem = frame_problem(f, f->eip);
    if (!problem && f->error != expected_error[kind])
        problem = "error-code";
    if (!problem && kind == 2 && vcpu0->arch.cr2 != f->ebx)
        problem = "cr2";
    if (problem) {
        if (!faults_bad++) {
            bad_frame = *f;
            bad_problem = problem;
        }
    } else {
        faults_ok++;
    }
    fault_counts[kind]++;
    report.faults++;
    f->eip = resume;
}

static void int_taken(struct trap_frame *f)
{
    if (f->vector == int_vector && f->eip == (uint32_t)user_int_after) {
        int_outcome = INT_DELIVERED;
        int_problem = frame_problem(f, f->eip);
        report.soft_ints++;
    } else if (f->vector == 13 && f->eip == (uint32_t)user_int_site) {
        int_outcome = INT_GP;
        int_problem = frame_problem(f, f->eip);
        if (!is_int80_gp(f))    /* counted already */
            report.faults++;
    } else if (f->eip == (uint32_t)user_int_site || f->eip == (uint32_t)user_int_after) {
        int_outcome = INT_OTHER;
    } else {
        unexpected(f, "int: trap outside the int");
    }
    int_frame = *f;
    f->eip = (uint32_t)user_int_after;
}

void xkv_trap(struct trap_frame *f)
{
    if ((f->cs & 3) != 3)
        unexpected(f, "in the kernel (ring 1)");

    int int80_gp_now = is_int80_gp(f);
    if (int80_gp_now) {
        int80_gp++;
        report.faults++;    /* a refused int $0x80 is a #GP the trap table handled */
    }
    if ((f->vector == 0x80 || int80_gp_now) && f->eax == SYS_exit) {
        exit_problem = frame_problem(f, int80_gp_now ? (uint32_t)user_leave_int : (uint32_t)user_leave_after);
        user_exit(0);
    }

    switch (task) {
    case TASK_FAULTS:
        fault_taken(f);
        return;
    case TASK_INT:
        int_taken(f);
        return;
    case TASK_SYSCALLS:
        if (int80_gp_now && f->eax == SYS_mix) {
            /* No 0x80 entry: the call never reached a handler; the user code sees the failure. */
            f->eax = (uint32_t)-ENOSYS;
            f->eip += 2;
            return;
        }
        unexpected(f, "syscalls: not a system call");
    case TASK_NONE:
        break;
    }
    unexpected(f, "no user workload running");
}

/* Runs `entry` in ring 3 until it leaves with SYS_exit; forever never leaves. */
static void run_user(enum task t, const char *entry, uint32_t count, int forever)
{
    user_area.count = forever ? 0xffffffff : count;
    user_area.step = forever ? 0 : 1;
    user_area.ok = 0;
    user_area.bad = 0;
    user_area.tsc0 = user_area.tsc1 = 0;
    user_area.cycles = cycles_enabled;
    int80_gp = 0;
    exit_problem = NULL;
    if (!count && !forever)
        return;
    task = t;
    user_enter((uint32_t)entry, USER_STACK_TOP);
    task = TASK_NONE;
}

static uint64_t cycles_per(uint32_t count)
{
    return count ? div64(user_area.tsc1 - user_area.tsc0, count, NULL) : 0;
}

/* Said only when the SYS_exit frame was wrong, so the workload lines keep their usual form. */
static void line_exit(struct line *l)
{
    if (exit_problem) {
        line_str(l, " exit-frame=");
        line_str(l, exit_problem);
    }
}

void run_syscalls(uint32_t count, int forever)
{
    uint32_t entries = int80_entries;
    run_user(TASK_SYSCALLS, user_syscalls, count, forever);
    entries = int80_entries - entries;

    uint64_t cycles = cycles_per(count);
    if (count && cycles_enabled)
        report.cycles_per_syscall = cycles;
    struct line l;
    l.len = 0;
    line_str(&l, "syscalls: done ");
    line_dec(&l, count);
    line_str(&l, " ok=");
    line_dec(&l, user_area.ok);
    line_str(&l, " bad=");
    line_dec(&l, user_area.bad);
    line_str(&l, " cycles/call=");
    line_dec(&l, cycles);
    line_to_ring(&l);

    /* Every int $0x80 of the session, SYS_exit included: handler entries or #GPs. */
    l.len = 0;
    line_str(&l, "int80: entries=");
    line_dec(&l, entries);
    line_str(&l, " gp=");
    line_dec(&l, int80_gp);
    line_exit(&l);
    line_to_ring(&l);
}

void run_faults(uint32_t count, int forever)
{
    static const uint8_t vectors[3] = { 6, 3, 14 };
    faults_ok = faults_bad = 0;
    fault_counts[0] = fault_counts[1] = fault_counts[2] = 0;
    bad_problem = NULL;
    run_user(TASK_FAULTS, user_faults, count, forever);

    uint64_t cycles = cycles_per(count);
    if (count && cycles_enabled)
        report.cycles_per_fault = cycles;
    struct line l;
    l.len = 0;
    line_str(&l, "faults: done ");
    line_dec(&l, count);
    line_str(&l, " ok=");
    line_dec(&l, faults_ok);
    line_str(&l, " bad=");
    line_dec(&l, faults_bad);
    line_str(&l, " vectors=");
    for (unsigned i = 0; i < 3; i++) {
        if (i)
            line_str(&l, ",");
        line_dec(&l, vectors[i]);
        line_str(&l, ":");
        line_dec(&l, fault_counts[i]);
    }
    line_str(&l, " cycles/fault=");
    line_dec(&l, cycles);
    line_exit(&l);
    line_to_ring(&l);

    if (bad_problem) {
        l.len = 0;
        line_str(&l, "faults: first bad frame: ");
        line_str(&l, bad_problem);
        line_str(&l, " vector=");
        line_dec(&l, bad_frame.vector);
        line_str(&l, " error=");
        line_hex(&l, bad_frame.error);
        line_str(&l, " eip=");
        line_hex(&l, bad_frame.eip);
        line_str(&l, " cs=");
        line_hex(&l, bad_frame.cs);
        line_str(&l, " eflags=");
        line_hex(&l, bad_frame.eflags);
        line_str(&l, " esp=");
        line_hex(&l, bad_frame.esp);
        line_str(&l, " ss=");
        line_hex(&l, bad_frame.ss);
        line_str(&l, " cr2=");
        line_hex(&l, vcpu0->arch.cr2);
        line_to_ring(&l);
    }
}

/* Xen's rule for `int $V` from ring 3: delivered when V's entry in the table we registered
   has DPL 3, #GP with error (V << 3) | 2 otherwise (no entry included). */
static int user_may_raise(uint32_t vector)
{
    for (const struct trap_info *t = trap_table; t->address; t++)
        if (t->vector == vector)
            return (t->flags & 3) == 3;
    return 0;
}

void run_int(uint32_t vector)
{
    int_vector = vector;
    int_outcome = INT_NONE;
    int_problem = NULL;
    user_int_site[1] = (char)vector;
    run_user(TASK_INT, user_int, 1, 0);

    struct line l;
    l.len = 0;
    line_str(&l, "int: vector=");
    line_dec(&l, vector);
    const char *problem = int_problem;
    switch (int_outcome) {
    case INT_DELIVERED:
        line_str(&l, " delivered");
        if (!problem && !user_may_raise(vector))
            problem = "delivered-despite-dpl";
        break;
    case INT_GP:
        line_str(&l, " gp error=");
        line_hex(&l, int_frame.error);
        if (!problem && user_may_raise(vector))
            problem = "gp-despite-dpl-3";
        if (!problem && int_frame.error != (vector << 3 | 2))
            problem = "error-code";
        break;
    case INT_OTHER:
        line_str(&l, " unexpected vector=");
        line_dec(&l, int_frame.vector);
        line_str(&l, " error=");
        line_hex(&l, int_frame.error);
        line_str(&l, " eip=");
        line_hex(&l, int_frame.eip);
        break;
    case INT_NONE:
        line_str(&l, " nothing");  /* the int returned as if it were a no-op */
        break;
    }
    if (int_outcome == INT_OTHER || int_outcome == INT_NONE) {
        line_str(&l, " bad=1");
    } else if (problem) {
        line_str(&l, " bad=1 (");
        line_str(&l, problem);
        line_str(&l, ")");
    } else {
        line_str(&l, " bad=0");
    }
    line_exit(&l);
    line_to_ring(&l);
}
