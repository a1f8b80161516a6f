#include "cpu.h"
#include "hvm.h"

/* entry.S */
extern const uint64_t isr_table[256];
extern char syscall_entry[];
extern uint64_t syscall_kernel_rsp;
struct table_register;
void cpu_load_tables(const struct table_register *gdtr, const struct table_register *idtr);

/* Flat segments: limit 0xfffff pages, base 0; access byte (P, DPL, S, type) in bits 40-47,
   G/D/L in bits 52-55. The TSS descriptor (two slots) is filled in at boot. */
static uint64_t gdt[GDT_ENTRIES] __attribute__((aligned(16))) = {
    [0] = 0,
    [KERNEL_CS / 8] = 0x00af9b000000ffff,       /* P, DPL 0, code exec/read (accessed), L, G */
    [KERNEL_DS / 8] = 0x00cf93000000ffff,       /* P, DPL 0, data read/write (accessed), D/B, G */
    [USER_CS32 / 8] = 0x00cffb000000ffff,       /* P, DPL 3, code exec/read, D, G (unused) */
    [USER_DS / 8] = 0x00cff3000000ffff,         /* P, DPL 3, data read/write, D/B, G */
    [USER_CS / 8] = 0x00affb000000ffff,         /* P, DPL 3, code exec/read, L, G */
};
_Static_assert(TSS_SEL / 8 + 1 < GDT_ENTRIES, "the TSS takes two slots");

struct tss {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];            /* ist[0] is IST1 */
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
} __attribute__((packed));
_Static_assert(sizeof(struct tss) == 104, "64-bit TSS");

static struct tss tss __attribute__((aligned(16)));

struct idt_gate {
    uint16_t offset_low;
    uint16_t selector;
    uint8_t ist;
    uint8_t type_attr;          /* P, DPL, type 0xe (64-bit interrupt gate) */
    uint16_t offset_mid;
    uint32_t offset_high;
    uint32_t reserved;
};
_Static_assert(sizeof(struct idt_gate) == 16, "64-bit gate");

static struct idt_gate idt[256] __attribute__((aligned(4096)));

struct table_register {
    uint16_t limit;
    uint64_t base;
} __attribute__((packed));

/* Stacks: rsp0 for every entry from ring 3 (interrupt gates and syscall_entry alike: one
   vCPU, one entry at a time), and two IST stacks for faults that must not trust rsp. */
static char kernel_stack[16384] __attribute__((aligned(16)));
static char double_fault_stack[4096] __attribute__((aligned(16)));
static char nmi_mce_stack[4096] __attribute__((aligned(16)));

/* Page tables: the first 4 GiB identity-mapped in 2 MiB pages, present, writable and user
   (as the builder's are; the user programs run from the kernel's text), nothing above 4 GiB
   (the faults workload's #PF address is there). One PML4, one PDPT, four page directories. */
#define PTE_P 0x1ULL
#define PTE_RW 0x2ULL
#define PTE_US 0x4ULL
#define PTE_PS 0x80ULL
static uint64_t pml4[512] __attribute__((aligned(4096)));
static uint64_t pdpt[512] __attribute__((aligned(4096)));
static uint64_t pd[4][512] __attribute__((aligned(4096)));

/* Vectors user mode may raise with `int`: int3 and into's, and the IA-32 system-call vector,
   as Linux does. Everything else is DPL 0: `int $V` from ring 3 is #GP((V << 3) | 2). */
static unsigned gate_dpl(unsigned vector)
{
    return vector == 3 || vector == 4 || vector == 0x80 ? 3 : 0;
}

static unsigned gate_ist(unsigned vector)
{
    if (vector == 8)
        return IST_DOUBLE_FAULT;
    if (vector == 2 || vector == 18)
        return IST_NMI_MCE;
    return 0;
}

unsigned idt_dpl(unsigned vector)
{
    return vector < 256 ? (idt[vector].type_attr >> 5) & 3 : 0;
}

static void build_idt(void)
{
    for (unsigned v = 0; v < 256; v++) {
        uint64_t address = isr_table[v];
        idt[v] = (struct idt_gate){
            .offset_low = (uint16_t)address,
            .selector = KERNEL_CS,
            .ist = (uint8_t)gate_ist(v),
            .type_attr = (uint8_t)(0x80 | gate_dpl(v) << 5 | 0xe),
            .offset_mid = (uint16_t)(address >> 16),
            .offset_high = (uint32_t)(address >> 32),
            .reserved = 0,
        };
    }
}

static void build_gdt(void)
{
    uint64_t base = (uint64_t)&tss, limit = sizeof(tss) - 1;
    tss.rsp[0] = (uint64_t)kernel_stack + sizeof(kernel_stack);
    tss.ist[IST_DOUBLE_FAULT - 1] = (uint64_t)double_fault_stack + sizeof(double_fault_stack);
    tss.ist[IST_NMI_MCE - 1] = (uint64_t)nmi_mce_stack + sizeof(nmi_mce_stack);
    tss.iomap_base = sizeof(tss);   /* no I/O bitmap: ring 3 port I/O faults (IOPL 0) */
    /* Available 64-bit TSS (type 9), P, DPL 0. */
    gdt[TSS_SEL / 8] = (limit & 0xffff) | (base & 0xffffff) << 16 | 0x89ULL << 40 | ((limit >> 16) & 0xf) << 48
                       | ((base >> 24) & 0xff) << 56;
    gdt[TSS_SEL / 8 + 1] = base >> 32;
}

static void build_page_tables(void)
{
    pml4[0] = (uint64_t)pdpt | PTE_P | PTE_RW | PTE_US;
    for (uint64_t g = 0; g < 4; g++) {
        pdpt[g] = (uint64_t)pd[g] | PTE_P | PTE_RW | PTE_US;
        for (uint64_t i = 0; i < 512; i++)
            pd[g][i] = (g << 30 | i << 21) | PTE_P | PTE_RW | PTE_US | PTE_PS;
    }
}

void cpu_init(void)
{
    build_idt();
    build_gdt();
    static const struct table_register gdtr = { .limit = sizeof(gdt) - 1, .base = (uint64_t)gdt };
    static const struct table_register idtr = { .limit = sizeof(idt) - 1, .base = (uint64_t)idt };
    cpu_load_tables(&gdtr, &idtr);

    /* The kernel runs at physical = virtual under either map: the switch is seamless. */
    build_page_tables();
    __asm__ volatile("mov %0, %%cr3" : : "r"((uint64_t)pml4) : "memory");

    syscall_kernel_rsp = tss.rsp[0];
    wrmsr(MSR_STAR, STAR_VALUE);
    wrmsr(MSR_LSTAR, (uint64_t)syscall_entry);
    wrmsr(MSR_FMASK, SYSCALL_FMASK);
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
}

void cpu_tables(struct cpu_tables *t)
{
    uint64_t cr3;
    __asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
    t->gdt = (uint64_t)gdt;
    t->idt = (uint64_t)idt;
    t->tss = (uint64_t)&tss;
    t->rsp0 = tss.rsp[0];
    t->cr3 = cr3;
    t->lstar = rdmsr(MSR_LSTAR);
}
