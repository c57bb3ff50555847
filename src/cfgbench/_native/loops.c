#define _GNU_SOURCE
#include "loops.h"

#include <errno.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define CFG_PAGE 4096
/* The largest mapping: all 256 buses of one ECAM segment, 1 MiB each. */
#define CFG_MAX_MAP (256u << 20)

#if defined(__x86_64__) || defined(__i386__)
#define CFG_X86 1
#include <cpuid.h>
#include <x86intrin.h>
#else
#define CFG_X86 0
#endif

int cfg_have_x86(void) { return CFG_X86; }

int cfg_map_config(int fd, uint64_t physical, uint64_t length, void **mapping)
{
    if (physical % CFG_PAGE || length == 0 || length % CFG_PAGE || length > CFG_MAX_MAP) return EINVAL;
    void *mapped = mmap(NULL, (size_t)length, PROT_READ, MAP_SHARED, fd, (off_t)physical);
    if (mapped == MAP_FAILED) return errno;
    *mapping = mapped;
    return 0;
}

void cfg_unmap_config(void *mapping, uint64_t length)
{
    munmap(mapping, (size_t)length);
}

uint64_t cfg_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* lfence keeps the TSC read from moving above earlier loads. */
uint64_t cfg_tsc(void)
{
#if CFG_X86
    _mm_lfence();
    uint64_t t = __rdtsc();
    _mm_lfence();
    return t;
#else
    return 0;
#endif
}

void cfg_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t regs[4])
{
#if CFG_X86
    __cpuid_count(leaf, subleaf, regs[0], regs[1], regs[2], regs[3]);
#else
    (void)leaf; (void)subleaf;
    regs[0] = regs[1] = regs[2] = regs[3] = 0;
#endif
}

#if CFG_X86
static inline void port_out32(uint16_t port, uint32_t v)
{
    __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port) : "memory");
}
static inline uint32_t port_in(uint16_t port, int width)
{
    if (width == 1) {
        uint8_t v;
        __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port) : "memory");
        return v;
    }
    if (width == 2) {
        uint16_t v;
        __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port) : "memory");
        return v;
    }
    uint32_t v;
    __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port) : "memory");
    return v;
}
#endif

/* Device memory is loaded through %eax/%ax/%al only, exactly one load of
 * exactly the requested width, as Linux's mmio_config_read[bwl]
 * (arch/x86/include/asm/pci_x86.h) do: AMD family 10h processors cannot
 * access MMCONFIG space through other registers. */
static inline uint32_t mem_load8(const volatile uint8_t *p)
{
#if CFG_X86
    uint8_t v;
    __asm__ volatile("movb (%1), %%al" : "=a"(v) : "r"(p) : "memory");
    return v;
#else
    return *p;
#endif
}

static inline uint32_t mem_load16(const volatile uint16_t *p)
{
#if CFG_X86
    uint16_t v;
    __asm__ volatile("movw (%1), %%ax" : "=a"(v) : "r"(p) : "memory");
    return v;
#else
    return *p;
#endif
}

static inline uint32_t mem_load32(const volatile uint32_t *p)
{
#if CFG_X86
    uint32_t v;
    __asm__ volatile("movl (%1), %%eax" : "=a"(v) : "r"(p) : "memory");
    return v;
#else
    return *p;
#endif
}

static inline uint32_t mem_load(const volatile void *p, int width)
{
    if (width == 1) return mem_load8(p);
    if (width == 2) return mem_load16(p);
    return mem_load32(p);
}

/* The null access: a value the compiler cannot see through, produced in the
 * same register as a device load but touching no memory, so the null loop
 * is the timed loop with the access taken out and nothing else. */
static inline uint32_t null_read(void)
{
    uint32_t v;
#if CFG_X86
    __asm__ volatile("" : "=a"(v) : "0"(0u) : "memory");
#else
    __asm__ volatile("" : "=r"(v) : "0"(0u) : "memory");
#endif
    return v;
}

/* The kinds that use port I/O, which exists only on x86. */
static inline int is_port_kind(int kind)
{
    return kind == CFG_KIND_PIO || kind == CFG_KIND_PIO_ADDRESS_WRITE || kind == CFG_KIND_PIO_DATA_READ
        || kind == CFG_KIND_PIO_ADDRESS_READ;
}

/* The kinds that time one half of type 1 after the other half was done once:
 * the data read and the address read find the target's address latched. */
static inline int needs_latch(int kind)
{
    return kind == CFG_KIND_PIO_DATA_READ || kind == CFG_KIND_PIO_ADDRESS_READ;
}

/* Write the target's address to 0xCF8 once, before a loop of data reads or
 * address reads. Every value read afterwards is still compared with the
 * expected one: an address changed meanwhile (a kernel config access on
 * another CPU) shows up as mismatches. */
static inline void latch_address(const struct cfg_target *t)
{
#if CFG_X86
    if (needs_latch(t->kind)) port_out32(0xCF8, t->pio_address);
#else
    (void)t;
#endif
}

/* One read of t; the width and kind tests fold away where the caller's
 * loop is specialised, and cost a predictable branch otherwise. The halves
 * of type 1 (data read, address read) expect the address latched. */
static inline int read_target(const struct cfg_target *t, uint32_t *value)
{
    switch (t->kind) {
    case CFG_KIND_NULL:
        *value = null_read();
        return 0;
    case CFG_KIND_MEM:
        *value = mem_load(t->mem, t->width);
        return 0;
#if CFG_X86
    case CFG_KIND_PIO:
        port_out32(0xCF8, t->pio_address);
        *value = port_in(t->pio_data_port, t->width);
        return 0;
    case CFG_KIND_PIO_ADDRESS_WRITE:
        port_out32(0xCF8, t->pio_address);
        *value = null_read();
        return 0;
    case CFG_KIND_PIO_DATA_READ:
        *value = port_in(t->pio_data_port, t->width);
        return 0;
    case CFG_KIND_PIO_ADDRESS_READ:
        *value = port_in(0xCF8, 4);
        return 0;
#endif
    case CFG_KIND_PREAD: {
        uint32_t v = 0;
        ssize_t got = pread(t->fd, &v, (size_t)t->width, t->file_offset);
        if (got < 0) return errno;
        if (got != t->width) return EIO;
        *value = v;
        return 0;
    }
    case CFG_KIND_PREAD_FLOOR: {
        /* At the end of what the descriptor may read: the value is the
         * number of bytes returned, expected 0. */
        uint32_t v = 0;
        ssize_t got = pread(t->fd, &v, (size_t)t->width, t->file_offset);
        if (got < 0) return errno;
        *value = (uint32_t)got;
        return 0;
    }
    default:
        return is_port_kind(t->kind) ? ENOTSUP : EINVAL;
    }
}

int cfg_read_once(const struct cfg_target *t, uint32_t *value)
{
    if (is_port_kind(t->kind) && !CFG_X86) return ENOTSUP;
    latch_address(t);
    return read_target(t, value);
}

/* The clocks around a loop: CLOCK_MONOTONIC outside, the TSC inside. */
struct clocks { uint64_t ns, tsc; };

static inline struct clocks clocks_start(void)
{
    struct clocks c;
    c.ns = cfg_monotonic_ns();
    c.tsc = cfg_tsc();
    return c;
}

static int finish(struct cfg_loop_result *out, struct clocks start, uint64_t reads,
                  uint64_t mismatches, uint32_t last, int err)
{
    uint64_t tsc1 = cfg_tsc();
    uint64_t ns1 = cfg_monotonic_ns();
    out->ns = ns1 - start.ns;
    out->cycles = tsc1 - start.tsc;
    out->reads = reads;
    out->mismatches = mismatches;
    out->last_value = last;
    out->error = err;
    return err;
}

static inline int valid_width(int width) { return width == 1 || width == 2 || width == 4; }

/* A loop body per kind and width, so the timed loop holds no dispatch.
 * Eight reads per iteration: the loop's own cost (counter, branch, mismatch
 * check) is paid once per eight reads, so the harness floor stays far below
 * the cheapest access, also under emulation, where every guest instruction
 * costs. Mismatches are still counted exactly: an iteration whose eight
 * values differ from the expected one anywhere counts them one by one.
 * READ(v) stores one read in v; n need not be a multiple of eight. */
#define UNROLL 8
#define TIMED_LOOP(READ)                                                   \
    do {                                                                   \
        uint64_t i = 0;                                                    \
        for (; i + UNROLL <= n; i += UNROLL) {                             \
            uint32_t d[UNROLL], any = 0; /* each value XOR expected */     \
            _Pragma("GCC unroll 8")                                        \
            for (int k = 0; k < UNROLL; k++) {                             \
                uint32_t v;                                                \
                READ(v);                                                   \
                d[k] = v ^ expected;                                       \
                any |= d[k];                                               \
            }                                                              \
            if (__builtin_expect(any != 0, 0)) {                           \
                _Pragma("GCC unroll 8")                                    \
                for (int k = 0; k < UNROLL; k++) mismatches += (d[k] != 0); \
            }                                                              \
            last = d[UNROLL - 1] ^ expected;                               \
        }                                                                  \
        for (; i < n; i++) {                                               \
            uint32_t v;                                                    \
            READ(v);                                                       \
            mismatches += (v != expected);                                 \
            last = v;                                                      \
        }                                                                  \
    } while (0)

#define READ_NULL(v) ((v) = null_read())
#define READ_MEM8(v) ((v) = mem_load8(p))
#define READ_MEM16(v) ((v) = mem_load16(p))
#define READ_MEM32(v) ((v) = mem_load32(p))
#define READ_PIO(v, w) (port_out32(0xCF8, address), (v) = port_in(port, (w)))
#define READ_PIO8(v) READ_PIO(v, 1)
#define READ_PIO16(v) READ_PIO(v, 2)
#define READ_PIO32(v) READ_PIO(v, 4)
#define READ_ADDRESS_WRITE(v) (port_out32(0xCF8, address), (v) = null_read())
#define READ_DATA(v, w) ((v) = port_in(port, (w)))
#define READ_DATA8(v) READ_DATA(v, 1)
#define READ_DATA16(v) READ_DATA(v, 2)
#define READ_DATA32(v) READ_DATA(v, 4)
#define READ_ADDRESS(v) ((v) = port_in(0xCF8, 4))

int cfg_time_loop(const struct cfg_target *t, uint64_t n, struct cfg_loop_result *out)
{
    const uint32_t expected = t->expected;
    const int width = t->width;
    uint64_t mismatches = 0;
    uint32_t last = 0;
    int err = 0;

    if (!valid_width(width)) return EINVAL;
    if (is_port_kind(t->kind) && !CFG_X86) return ENOTSUP;
    latch_address(t);  /* before the clock: the halves time one access each */
    struct clocks start = clocks_start();
    switch (t->kind) {
    case CFG_KIND_NULL:
        TIMED_LOOP(READ_NULL);
        break;
    case CFG_KIND_MEM: {
        const volatile void *p = t->mem;
        if (width == 4) TIMED_LOOP(READ_MEM32);
        else if (width == 2) TIMED_LOOP(READ_MEM16);
        else TIMED_LOOP(READ_MEM8);
        break;
    }
#if CFG_X86
    case CFG_KIND_PIO: {
        const uint32_t address = t->pio_address;
        const uint16_t port = t->pio_data_port;
        if (width == 4) TIMED_LOOP(READ_PIO32);
        else if (width == 2) TIMED_LOOP(READ_PIO16);
        else TIMED_LOOP(READ_PIO8);
        break;
    }
    case CFG_KIND_PIO_ADDRESS_WRITE: {
        const uint32_t address = t->pio_address;
        TIMED_LOOP(READ_ADDRESS_WRITE);
        break;
    }
    case CFG_KIND_PIO_DATA_READ: {
        const uint16_t port = t->pio_data_port;
        if (width == 4) TIMED_LOOP(READ_DATA32);
        else if (width == 2) TIMED_LOOP(READ_DATA16);
        else TIMED_LOOP(READ_DATA8);
        break;
    }
    case CFG_KIND_PIO_ADDRESS_READ:
        TIMED_LOOP(READ_ADDRESS);
        break;
#endif
    case CFG_KIND_PREAD:
    case CFG_KIND_PREAD_FLOOR:
        /* A system call per read: no unrolling, and the first error ends it. */
        for (uint64_t i = 0; i < n; i++) {
            uint32_t v;
            if ((err = read_target(t, &v)) != 0) { n = i; break; }
            mismatches += (v != expected);
            last = v;
        }
        break;
    default:
        return EINVAL;
    }
    return finish(out, start, n, mismatches, last, err);
}

int cfg_sample_loop(const struct cfg_target *t, uint64_t n, uint64_t *cycles,
                    struct cfg_loop_result *out)
{
    uint64_t mismatches = 0;
    uint32_t last = 0;
    int err = 0;
    uint64_t i;

    if (!valid_width(t->width)) return EINVAL;
    if (is_port_kind(t->kind) && !CFG_X86) return ENOTSUP;
    latch_address(t);
    struct clocks start = clocks_start();
    for (i = 0; i < n; i++) {
        uint32_t v;
        uint64_t before = cfg_tsc();
        err = read_target(t, &v);
        uint64_t after = cfg_tsc();
        if (err) break;
        cycles[i] = after - before;
        mismatches += (v != t->expected);
        last = v;
    }
    return finish(out, start, i, mismatches, last, err);
}

int cfg_time_many(const struct cfg_target *targets, uint64_t count, uint64_t n,
                  struct cfg_loop_result *out)
{
    uint64_t mismatches = 0, reads = 0;
    uint32_t last = 0;
    int err = 0;

    /* A latch per call makes no sense for many targets: the halves of type 1
     * are timed one register at a time. */
    for (uint64_t k = 0; k < count; k++)
        if (needs_latch(targets[k].kind)) return EINVAL;
    struct clocks start = clocks_start();
    for (uint64_t pass = 0; pass < n && !err; pass++) {
        for (uint64_t k = 0; k < count; k++) {
            uint32_t v;
            err = read_target(&targets[k], &v);
            if (err) break;
            mismatches += (v != targets[k].expected);
            last = v;
            reads++;
        }
    }
    return finish(out, start, reads, mismatches, last, err);
}
