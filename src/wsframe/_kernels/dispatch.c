/*
 * Runtime CPU dispatch: pick one kernel level per operation, once.
 *
 * Levels on x86-64: generic < sse2 < avx2 < avx512. A level is usable when
 * the CPU has the instructions (cpuid) AND the OS saves the wider registers
 * on a context switch (xgetbv/XCR0): a CPU with AVX under an OS that does
 * not enable YMM state would fault on the first AVX instruction. On aarch64:
 * generic < neon (always present). Elsewhere: generic only.
 */
#include "wsf_internal.h"

#if WSF_X86_64 && defined(_MSC_VER)
#include <intrin.h>
#endif

typedef struct {
    const char *name;
    wsf_mask_fn mask;
    wsf_utf8_fn utf8;
    wsf_unmask_utf8_fn unmask_utf8;
} wsf_level;

/* The levels of this architecture, lowest first, and what each provides
 * (NULL: nothing of its own for that operation, the level below's serves).
 * `supported[n]` lists levels 0..n, for wsf_supported_levels(). */
#if WSF_X86_64
enum { LVL_GENERIC, LVL_SSE2, LVL_AVX2, LVL_AVX512, LVL_COUNT };
static const wsf_level levels[LVL_COUNT] = {
    {"generic", wsf_mask_generic, wsf_utf8_check_generic, wsf_unmask_utf8_check_generic},
    {"sse2", wsf_mask_sse2, wsf_utf8_check_sse2, wsf_unmask_utf8_check_sse2},
    {"avx2", wsf_mask_avx2, wsf_utf8_check_avx2, wsf_unmask_utf8_check_avx2},
    {"avx512", wsf_mask_avx512, wsf_utf8_check_avx512, wsf_unmask_utf8_check_avx512},
};
static const char *const supported[LVL_COUNT] = {
    "generic", "generic,sse2", "generic,sse2,avx2", "generic,sse2,avx2,avx512",
};
#elif WSF_NEON
enum { LVL_GENERIC, LVL_NEON, LVL_COUNT };
static const wsf_level levels[LVL_COUNT] = {
    {"generic", wsf_mask_generic, wsf_utf8_check_generic, wsf_unmask_utf8_check_generic},
    {"neon", wsf_mask_neon, wsf_utf8_check_neon, wsf_unmask_utf8_check_neon},
};
static const char *const supported[LVL_COUNT] = {"generic", "generic,neon"};
#else
enum { LVL_GENERIC, LVL_COUNT };
static const wsf_level levels[LVL_COUNT] = {
    {"generic", wsf_mask_generic, wsf_utf8_check_generic, wsf_unmask_utf8_check_generic},
};
static const char *const supported[LVL_COUNT] = {"generic"};
#endif

wsf_mask_fn wsf_mask_impl = wsf_mask_generic;
wsf_utf8_fn wsf_utf8_impl = wsf_utf8_check_generic;
wsf_unmask_utf8_fn wsf_unmask_utf8_impl = wsf_unmask_utf8_check_generic;

static const char *mask_name = "generic";
static const char *utf8_name = "generic";

/* ---- CPU detection ------------------------------------------------------ */

#if WSF_X86_64
static void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
#if defined(_MSC_VER)
    int v[4];
    __cpuidex(v, (int)leaf, (int)sub);
    for (int i = 0; i < 4; i++)
        r[i] = (uint32_t)v[i];
#else
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
#endif
}

static uint64_t xgetbv0(void)
{
#if defined(_MSC_VER)
    return _xgetbv(0);
#else
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
#endif
}

static int bit(uint32_t v, unsigned n)
{
    return (int)((v >> n) & 1u);
}

/* Highest level this CPU and OS can run. */
static int detect_level(void)
{
    uint32_t r[4];
    cpuid(0, 0, r);
    uint32_t max_leaf = r[0];
    cpuid(1, 0, r);
    uint32_t ecx1 = r[2], edx1 = r[3];
    if (!bit(edx1, 26))                /* SSE2: baseline on x86-64 anyway */
        return LVL_GENERIC;
    int osxsave = bit(ecx1, 27), avx = bit(ecx1, 28), popcnt = bit(ecx1, 23);
    if (!osxsave || !avx || !popcnt || max_leaf < 7)
        return LVL_SSE2;
    uint64_t xcr0 = xgetbv0();
    if ((xcr0 & 0x6) != 0x6)           /* XMM and YMM state enabled by the OS */
        return LVL_SSE2;
    cpuid(7, 0, r);
    uint32_t ebx7 = r[1];
    int avx2 = bit(ebx7, 5), bmi1 = bit(ebx7, 3), bmi2 = bit(ebx7, 8);
    if (!avx2 || !bmi1 || !bmi2)
        return LVL_SSE2;
    /* AVX-512: F (ebx 16), BW (ebx 30), VL (ebx 31), and the OS must save
     * opmask + ZMM state (XCR0 bits 5, 6, 7). No VBMI: the kernels do not
     * use vpermb, and setup.py does not let the compiler emit it. */
    int f = bit(ebx7, 16), bw = bit(ebx7, 30), vl = bit(ebx7, 31);
    if (f && bw && vl && (xcr0 & 0xE0) == 0xE0)
        return LVL_AVX512;
    return LVL_AVX2;
}
#else
/* aarch64 always has NEON (when WSF_NEON); other CPUs run the generic code. */
static int detect_level(void)
{
    return LVL_COUNT - 1;
}
#endif

/* Highest level this CPU supports and this build has; detected once
 * (cpuid can trap to the hypervisor in a VM, costing microseconds). A race
 * between first callers only repeats the same detection. */
static int best_level(void)
{
    static int cached = -1;
    if (cached < 0)
        cached = detect_level();
    return cached;
}

/* Use `lvl`: per operation, its own kernel or the nearest level below's. */
static void use_level(int lvl)
{
    int m = lvl, u = lvl;
    while (levels[m].mask == NULL)
        m--;
    while (levels[u].utf8 == NULL)
        u--;
    wsf_mask_impl = levels[m].mask;
    wsf_utf8_impl = levels[u].utf8;
    wsf_unmask_utf8_impl = levels[u].unmask_utf8;
    mask_name = levels[m].name;
    utf8_name = levels[u].name;
}

int wsf_dispatch_init(const char *force)
{
    int best = best_level();
    if (force == NULL || force[0] == '\0') {
        use_level(best);
        return 0;
    }
    for (int lvl = 0; lvl < LVL_COUNT; lvl++) {
        if (strcmp(force, levels[lvl].name) == 0) {
            if (lvl > best)
                return -1;     /* CPU (or build) lacks it: keep the choice */
            use_level(lvl);
            return 0;
        }
    }
    return -1;
}

const char *wsf_mask_kernel_name(void)
{
    return mask_name;
}

const char *wsf_utf8_kernel_name(void)
{
    return utf8_name;
}

const char *wsf_supported_levels(void)
{
    /* Constant strings, so concurrent callers never see a half-built one. */
    return supported[best_level()];
}

/* ---- the public entry points: one indirect call each ------------------- */

void wsf_mask(uint8_t *dst, const uint8_t *src, size_t len,
              const uint8_t key[4], size_t phase)
{
    wsf_mask_impl(dst, src, len, key, phase);
}

int wsf_utf8_check(const uint8_t *s, size_t len, size_t *pos)
{
    return wsf_utf8_impl(s, len, pos);
}

int wsf_unmask_utf8_check(uint8_t *dst, const uint8_t *src, size_t len,
                          const uint8_t key[4], size_t phase, size_t *pos)
{
    return wsf_unmask_utf8_impl(dst, src, len, key, phase, pos);
}
