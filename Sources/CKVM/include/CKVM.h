/* CKVM: the C face of /dev/kvm for Swift.
 * <linux/kvm.h> request numbers are function-like macros Swift cannot import; they become
 * constants here. ioctl is variadic; it is reached through typed, non-variadic wrappers. */
#ifndef CKVM_H
#define CKVM_H

#include <linux/kvm.h>
#include <stdint.h>
#include <stddef.h>

/* ioctl request numbers (defined from the macros in CKVM.c). */
extern const unsigned long ckvm_GET_API_VERSION;
extern const unsigned long ckvm_CREATE_VM;
extern const unsigned long ckvm_CHECK_EXTENSION;
extern const unsigned long ckvm_GET_VCPU_MMAP_SIZE;
extern const unsigned long ckvm_GET_SUPPORTED_CPUID;
extern const unsigned long ckvm_CREATE_VCPU;
extern const unsigned long ckvm_SET_USER_MEMORY_REGION;
extern const unsigned long ckvm_SET_TSS_ADDR;
extern const unsigned long ckvm_RUN;
extern const unsigned long ckvm_GET_REGS;
extern const unsigned long ckvm_SET_REGS;
extern const unsigned long ckvm_GET_SREGS;
extern const unsigned long ckvm_SET_SREGS;
extern const unsigned long ckvm_GET_MSRS;
extern const unsigned long ckvm_SET_MSRS;
extern const unsigned long ckvm_SET_CPUID2;
extern const unsigned long ckvm_GET_VCPU_EVENTS;
extern const unsigned long ckvm_SET_VCPU_EVENTS;

/* Capabilities and sync-regs bits. */
static const int ckvm_CAP_SYNC_REGS = KVM_CAP_SYNC_REGS;
static const int ckvm_CAP_IMMEDIATE_EXIT = KVM_CAP_IMMEDIATE_EXIT;
static const int ckvm_CAP_USER_MEMORY = KVM_CAP_USER_MEMORY;
static const int ckvm_CAP_NR_MEMSLOTS = KVM_CAP_NR_MEMSLOTS;
static const int ckvm_CAP_XEN_HVM = KVM_CAP_XEN_HVM;
static const uint64_t ckvm_SYNC_REGS = KVM_SYNC_X86_REGS;
static const uint64_t ckvm_SYNC_SREGS = KVM_SYNC_X86_SREGS;
static const uint64_t ckvm_SYNC_EVENTS = KVM_SYNC_X86_EVENTS;
static const int ckvm_API_VERSION = KVM_API_VERSION;

/* Exit reasons. */
static const uint32_t ckvm_EXIT_UNKNOWN = KVM_EXIT_UNKNOWN;
static const uint32_t ckvm_EXIT_EXCEPTION = KVM_EXIT_EXCEPTION;
static const uint32_t ckvm_EXIT_IO = KVM_EXIT_IO;
static const uint32_t ckvm_EXIT_HLT = KVM_EXIT_HLT;
static const uint32_t ckvm_EXIT_MMIO = KVM_EXIT_MMIO;
static const uint32_t ckvm_EXIT_SHUTDOWN = KVM_EXIT_SHUTDOWN;
static const uint32_t ckvm_EXIT_FAIL_ENTRY = KVM_EXIT_FAIL_ENTRY;
static const uint32_t ckvm_EXIT_INTR = KVM_EXIT_INTR;
static const uint32_t ckvm_EXIT_INTERNAL_ERROR = KVM_EXIT_INTERNAL_ERROR;
static const uint32_t ckvm_EXIT_SYSTEM_EVENT = KVM_EXIT_SYSTEM_EVENT;
static const uint8_t ckvm_EXIT_IO_IN = KVM_EXIT_IO_IN;
static const uint8_t ckvm_EXIT_IO_OUT = KVM_EXIT_IO_OUT;

/* ioctl without varargs: one wrapper per argument kind. Each returns the raw result; errno is left set. */
int ckvm_ioctl_none(int fd, unsigned long request);
int ckvm_ioctl_int(int fd, unsigned long request, unsigned long arg);
int ckvm_ioctl_ptr(int fd, unsigned long request, void *arg);

/* kvm_msrs and kvm_cpuid2 end in flexible arrays; these helpers build them on the heap. */
struct kvm_msrs *ckvm_msrs_alloc(uint32_t count);
struct kvm_msr_entry *ckvm_msrs_entries(struct kvm_msrs *msrs);
struct kvm_cpuid2 *ckvm_cpuid_alloc(uint32_t count);
struct kvm_cpuid_entry2 *ckvm_cpuid_entries(struct kvm_cpuid2 *cpuid);

/* kvm_run's exit union, read without Swift having to import anonymous unions. */
static inline struct kvm_sync_regs *ckvm_run_sync_regs(struct kvm_run *run) { return &run->s.regs; }
static inline uint8_t *ckvm_run_io_data(struct kvm_run *run) { return (uint8_t *)run + run->io.data_offset; }

/* The baseline for `xkv bench`: a tight C KVM_RUN loop over a vCPU whose guest code does port I/O.
 * Runs `count` exits, checks each is an I/O exit on `port`, and returns the elapsed nanoseconds
 * (or -1 on an unexpected exit, -2 on a failed ioctl). */
int64_t ckvm_baseline_io_loop(int vcpu_fd, struct kvm_run *run, uint16_t port, uint64_t count);

/* The time-stamp counter (guests on KVM read the same counter, offset). */
static inline uint64_t ckvm_rdtsc(void) { uint32_t lo, hi; __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi)); return (uint64_t)hi << 32 | lo; }

/* Monotonic clock in nanoseconds. */
uint64_t ckvm_monotonic_ns(void);

/* Signals that kick a vCPU thread out of KVM_RUN: an empty handler installed without SA_RESTART. */
int ckvm_install_kick_handler(int signo);
int ckvm_kick_thread(unsigned long thread, int signo);
/* Unblocks `signo` in the calling thread (threads spawned from dispatch workers inherit a mask that blocks it). */
int ckvm_unblock_signal(int signo);
unsigned long ckvm_self_thread(void);

#endif
