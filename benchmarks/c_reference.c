/* A bare C reference for the lab, independent of cfgbench's own loops: times
 * type 1 and ECAM reads of one register back to back in rounds, alternating
 * which goes first, and prints one line per round: "pio_ns ecam_ns".
 *
 * Only reads: the one port output is the address written to 0xCF8; device
 * memory is a const volatile pointer into one PROT_READ page. Port access
 * (ioperm) is granted by the caller (benchmarks/c_reference.py): ioperm is
 * inherited across fork and exec, so this file asks the kernel for nothing.
 *
 * Usage: c_reference TYPE1_ADDRESS DATA_PORT ECAM_PAGE_PHYS PAGE_OFFSET ROUNDS READS */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static inline void type1_address(uint32_t address)
{
    __asm__ volatile("outl %0, %1" : : "a"(address), "Nd"((uint16_t)0xCF8) : "memory");
}

static inline uint32_t type1_data(uint16_t port)
{
    uint32_t v;
    __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port) : "memory");
    return v;
}

static inline uint32_t ecam_load(const volatile uint32_t *p)
{
    uint32_t v;
    __asm__ volatile("movl %1, %0" : "=a"(v) : "m"(*p) : "memory"); /* %eax, as Linux */
    return v;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static double time_pio(uint32_t address, uint16_t port, long reads, uint32_t *sink)
{
    uint64_t t0 = now_ns();
    for (long i = 0; i < reads; i++) {
        type1_address(address);
        *sink ^= type1_data(port);
    }
    return (double)(now_ns() - t0) / (double)reads;
}

static double time_ecam(const volatile uint32_t *p, long reads, uint32_t *sink)
{
    uint64_t t0 = now_ns();
    for (long i = 0; i < reads; i++)
        *sink ^= ecam_load(p);
    return (double)(now_ns() - t0) / (double)reads;
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: %s TYPE1_ADDRESS DATA_PORT ECAM_PAGE_PHYS PAGE_OFFSET ROUNDS READS\n", argv[0]);
        return 2;
    }
    uint32_t address = (uint32_t)strtoul(argv[1], NULL, 0);
    uint16_t port = (uint16_t)strtoul(argv[2], NULL, 0);
    off_t page_phys = (off_t)strtoull(argv[3], NULL, 0);
    size_t page_offset = (size_t)strtoul(argv[4], NULL, 0);
    long rounds = strtol(argv[5], NULL, 0), reads = strtol(argv[6], NULL, 0);
    if (port < 0xCFC || port > 0xCFF || page_offset > 4092 || page_offset % 4 || rounds < 1 || reads < 1) {
        fprintf(stderr, "c_reference: bad arguments\n");
        return 2;
    }
    int fd = open("/dev/mem", O_RDONLY | O_SYNC);
    if (fd < 0) { perror("c_reference: /dev/mem"); return 1; }
    void *page = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, page_phys);
    if (page == MAP_FAILED) { perror("c_reference: mmap"); return 1; }
    const volatile uint32_t *reg = (const volatile uint32_t *)((const volatile char *)page + page_offset);
    uint32_t sink = 0;
    for (long r = 0; r < rounds; r++) {
        double pio, ecam;
        if (r % 2) {
            ecam = time_ecam(reg, reads, &sink);
            pio = time_pio(address, port, reads, &sink);
        } else {
            pio = time_pio(address, port, reads, &sink);
            ecam = time_ecam(reg, reads, &sink);
        }
        printf("%.2f %.2f\n", pio, ecam);
    }
    munmap(page, 4096);
    close(fd);
    return (int)(sink & 0); /* keeps the reads from being optimised away */
}
