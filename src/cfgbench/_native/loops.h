/* Timed loops of PCI config-space reads, called once per pyperf value.
 * Only reads: the one register ever written is the type 1 address port. */
#ifndef CFGBENCH_LOOPS_H
#define CFGBENCH_LOOPS_H

#include <stdint.h>

enum cfg_kind {
    CFG_KIND_NULL = 0,  /* the loop without the access: the harness floor */
    CFG_KIND_PIO = 1,   /* type 1: outl address to 0xCF8, in from 0xCFC+n */
    CFG_KIND_MEM = 2,   /* a volatile load from a mapped ECAM page (or a buffer) */
    CFG_KIND_PREAD = 3, /* pread of a sysfs config file: the kernel's path */
    /* Type 1 access by access (the split workload). Only reads: the one
     * output is still the outl of the address to 0xCF8. */
    CFG_KIND_PIO_ADDRESS_WRITE = 4, /* outl address to 0xCF8 alone; nothing is read (value 0) */
    CFG_KIND_PIO_DATA_READ = 5,     /* in from 0xCFC+n alone, the address latched once before */
    CFG_KIND_PIO_ADDRESS_READ = 6,  /* inl from 0xCF8: the latched address read back, dword only */
    /* The kernel's path without the access: a pread at the end of what the
     * descriptor may read returns 0 bytes (value: the bytes returned). */
    CFG_KIND_PREAD_FLOOR = 7,
};

struct cfg_target {
    int kind;
    int width;              /* 1, 2 or 4 bytes */
    uint32_t pio_address;   /* value written to 0xCF8 */
    uint16_t pio_data_port; /* 0xCFC + (offset & 3) */
    const volatile void *mem;
    int fd;
    int64_t file_offset;
    uint32_t expected;      /* every value read is compared with this */
};

struct cfg_loop_result {
    uint64_t ns;          /* CLOCK_MONOTONIC around the whole loop */
    uint64_t cycles;      /* TSC around the whole loop (0 where there is none) */
    uint64_t reads;
    uint64_t mismatches;  /* values that differed from expected */
    uint32_t last_value;
    int error;            /* 0, or a positive errno */
};

/* n reads of one target; returns 0 or a positive errno. The kinds that time
 * one half of type 1 (data read, address read) write the target's address to
 * 0xCF8 once, before the clock starts (and before each call of the sample
 * loop and of cfg_read_once); cfg_time_many refuses them (EINVAL). */
int cfg_time_loop(const struct cfg_target *t, uint64_t n, struct cfg_loop_result *out);

/* n reads, each bracketed by timestamps: cycles[i] gets the TSC delta of
 * read i. The per-access mode; cycles must hold n entries. */
int cfg_sample_loop(const struct cfg_target *t, uint64_t n, uint64_t *cycles,
                    struct cfg_loop_result *out);

/* n passes over count targets (a scan or a sweep); out counts every read. */
int cfg_time_many(const struct cfg_target *targets, uint64_t count, uint64_t n,
                  struct cfg_loop_result *out);

/* One untimed read: the value is stored in *value; returns 0 or errno. */
int cfg_read_once(const struct cfg_target *t, uint32_t *value);

/* Map `length` bytes of /dev/mem at `physical` (both whole 4 KiB pages;
 * length at most 256 MiB, one ECAM segment's 256 buses), PROT_READ, into
 * *mapping: one function's page for single reads, whole buses for a scan.
 * Native rather than Python's mmap, which dups the descriptor per mapping.
 * Returns 0 or a positive errno. The loops reach the mapping only through
 * cfg_target.mem, a pointer to const. */
int cfg_map_config(int fd, uint64_t physical, uint64_t length, void **mapping);
void cfg_unmap_config(void *mapping, uint64_t length);

int cfg_have_x86(void);
void cfg_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t regs[4]);
uint64_t cfg_tsc(void);
uint64_t cfg_monotonic_ns(void);

#endif
