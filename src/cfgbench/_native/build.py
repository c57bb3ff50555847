"""cffi build script (API mode, out of line): declares and points, no C here."""

from cffi import FFI

# Paths are relative to the project root, where setuptools runs this script.
NATIVE_DIR = "src/cfgbench/_native"

ffibuilder = FFI()
ffibuilder.cdef(
    """
    enum cfg_kind { CFG_KIND_NULL = 0, CFG_KIND_PIO = 1, CFG_KIND_MEM = 2, CFG_KIND_PREAD = 3 };
    struct cfg_target {
        int kind; int width; uint32_t pio_address; uint16_t pio_data_port;
        const volatile void *mem; int fd; int64_t file_offset; uint32_t expected;
    };
    struct cfg_loop_result {
        uint64_t ns; uint64_t cycles; uint64_t reads; uint64_t mismatches;
        uint32_t last_value; int error;
    };
    int cfg_time_loop(const struct cfg_target *t, uint64_t n, struct cfg_loop_result *out);
    int cfg_sample_loop(const struct cfg_target *t, uint64_t n, uint64_t *cycles,
                        struct cfg_loop_result *out);
    int cfg_time_many(const struct cfg_target *targets, uint64_t count, uint64_t n,
                      struct cfg_loop_result *out);
    int cfg_read_once(const struct cfg_target *t, uint32_t *value);
    int cfg_map_config_page(int fd, uint64_t physical, void **page);
    void cfg_unmap_config_page(void *page);
    int cfg_have_x86(void);
    void cfg_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t regs[4]);
    uint64_t cfg_tsc(void);
    uint64_t cfg_monotonic_ns(void);
    """
)
ffibuilder.set_source(
    "cfgbench._native._loops",
    '#include "loops.h"',
    sources=[f"{NATIVE_DIR}/loops.c"],
    include_dirs=[NATIVE_DIR],
    extra_compile_args=["-O2", "-std=gnu11", "-Wall", "-Wextra"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
