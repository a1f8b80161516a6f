/* The smbios workload: find the SMBIOS 2.x entry point xkv put in the BIOS area and print
   what the system and BIOS structures say (DESIGN.md: "Xen", "HVM domU", the Xen version,
   the domain's UUID as serial). */
#ifndef XKV_HVM64_SMBIOS_H
#define XKV_HVM64_SMBIOS_H

#include <stdint.h>

/* memory_size: the domain's memory (boot parameters); the table must lie inside it. */
void smbios_report(uint64_t memory_size);

#endif
