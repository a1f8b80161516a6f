#include "CKVM.h"
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

const unsigned long ckvm_GET_API_VERSION = KVM_GET_API_VERSION;
const unsigned long ckvm_CREATE_VM = KVM_CREATE_VM;
const unsigned long ckvm_CHECK_EXTENSION = KVM_CHECK_EXTENSION;
const unsigned long ckvm_GET_VCPU_MMAP_SIZE = KVM_GET_VCPU_MMAP_SIZE;
const unsigned long ckvm_GET_SUPPORTED_CPUID = KVM_GET_SUPPORTED_CPUID;
const unsigned long ckvm_CREATE_VCPU = KVM_CREATE_VCPU;
const unsigned long ckvm_SET_USER_MEMORY_REGION = KVM_SET_USER_MEMORY_REGION;
const unsigned long ckvm_SET_TSS_ADDR = KVM_SET_TSS_ADDR;
const unsigned long ckvm_RUN = KVM_RUN;
const unsigned long ckvm_GET_REGS = KVM_GET_REGS;
const unsigned long ckvm_SET_REGS = KVM_SET_REGS;
const unsigned long ckvm_GET_SREGS = KVM_GET_SREGS;
const unsigned long ckvm_SET_SREGS = KVM_SET_SREGS;
const unsigned long ckvm_GET_MSRS = KVM_GET_MSRS;
const unsigned long ckvm_SET_MSRS = KVM_SET_MSRS;
const unsigned long ckvm_SET_CPUID2 = KVM_SET_CPUID2;
const unsigned long ckvm_GET_VCPU_EVENTS = KVM_GET_VCPU_EVENTS;
const unsigned long ckvm_SET_VCPU_EVENTS = KVM_SET_VCPU_EVENTS;

int ckvm_ioctl_none(int fd, unsigned long request) { return ioctl(fd, request, 0); }
int ckvm_ioctl_int(int fd, unsigned long request, unsigned long arg) { return ioctl(fd, request, arg); }
int ckvm_ioctl_ptr(int fd, unsigned long request, void *arg) { return ioctl(fd, request, arg); }

struct kvm_msrs *ckvm_msrs_alloc(uint32_t count) {
    struct kvm_msrs *m = calloc(1, sizeof *m + count * sizeof(struct kvm_msr_entry));
    if (m) m->nmsrs = count;
    return m;
}
struct kvm_msr_entry *ckvm_msrs_entries(struct kvm_msrs *msrs) { return msrs->entries; }

struct kvm_cpuid2 *ckvm_cpuid_alloc(uint32_t count) {
    struct kvm_cpuid2 *c = calloc(1, sizeof *c + count * sizeof(struct kvm_cpuid_entry2));
    if (c) c->nent = count;
    return c;
}
struct kvm_cpuid_entry2 *ckvm_cpuid_entries(struct kvm_cpuid2 *cpuid) { return cpuid->entries; }

uint64_t ckvm_monotonic_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

int64_t ckvm_baseline_io_loop(int vcpu_fd, struct kvm_run *run, uint16_t port, uint64_t count) {
    uint64_t start = ckvm_monotonic_ns();
    for (uint64_t i = 0; i < count; i++) {
        if (ioctl(vcpu_fd, KVM_RUN, 0) < 0) {
            if (errno == EINTR) { i--; continue; }
            return -2;
        }
        if (run->exit_reason != KVM_EXIT_IO || run->io.port != port) return -1;
    }
    return (int64_t)(ckvm_monotonic_ns() - start);
}

static void ckvm_kick(int signo) { (void)signo; }

int ckvm_install_kick_handler(int signo) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = ckvm_kick; /* no SA_RESTART: KVM_RUN returns EINTR */
    sigemptyset(&action.sa_mask);
    return sigaction(signo, &action, NULL);
}

int ckvm_kick_thread(unsigned long thread, int signo) { return pthread_kill((pthread_t)thread, signo); }
int ckvm_unblock_signal(int signo) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, signo);
    return pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

unsigned long ckvm_self_thread(void) { return (unsigned long)pthread_self(); }
