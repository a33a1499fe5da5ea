/*
 * Standalone throughput benchmark of the kernels (not run by pytest).
 *
 * Prints GB/s per kernel, per SIMD level, per size, next to memcpy of the
 * same size measured in the same run. Build and run (from the repo root):
 *
 *   make -C tests/c bench && tests/c/build/bench_kernels [seconds-per-case]
 *
 * Each case runs for ~0.05 s (default) in 40 rounds and keeps the best
 * round, so background noise inflates times but never deflates them.
 */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wsf_kernels.h"

static double budget = 0.05;
static volatile size_t sink;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

enum { K_MEMCPY, K_MASK_INPLACE, K_MASK_COPY, K_UTF8, K_UNMASK_UTF8, K_HDR_DECODE, K_HDR_ENCODE };

static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};

static void run_once(int kind, uint8_t *dst, const uint8_t *src, size_t n)
{
    size_t pos = 0;
    switch (kind) {
    case K_MEMCPY:
        memcpy(dst, src, n);
        break;
    case K_MASK_INPLACE:
        wsf_mask(dst, dst, n, key, 1);
        break;
    case K_MASK_COPY:
        wsf_mask(dst, src, n, key, 1);
        break;
    case K_UTF8:
        sink += (size_t)wsf_utf8_check(src, n, &pos) + pos;
        break;
    case K_UNMASK_UTF8:   /* src holds the masked text (see main) */
        sink += (size_t)wsf_unmask_utf8_check(dst, src, n, key, 0, &pos) + pos;
        break;
    case K_HDR_DECODE: {   /* src holds an encoded header of n bytes */
        wsf_header h;
        sink += (size_t)wsf_header_decode(src, n, &h) + (size_t)h.length;
        break;
    }
    case K_HDR_ENCODE: {
        wsf_header h = {0};
        h.fin = 1, h.opcode = 2, h.masked = n > 10, h.length = n > 4 ? 70000 : 300;
        memcpy(h.mask, key, 4);
        sink += wsf_header_encode(dst, &h);
        break;
    }
    }
}

/* Throughput in GB/s (1e9 bytes per second): the best of many short
 * rounds, so that on a shared machine an interruption spoils one round,
 * not the result. */
static double measure(int kind, uint8_t *dst, const uint8_t *src, size_t n)
{
    const int rounds = 40;
    double round_time = budget / rounds, t;
    size_t reps = 1;
    for (;;) {   /* find a repeat count that fills one round */
        t = now();
        for (size_t r = 0; r < reps; r++)
            run_once(kind, dst, src, n);
        t = now() - t;
        if (t > round_time / 2 || reps > ((size_t)1 << 40))
            break;
        reps *= 2;
    }
    double best = t;
    for (int round = 0; round < rounds; round++) {
        t = now();
        for (size_t r = 0; r < reps; r++)
            run_once(kind, dst, src, n);
        t = now() - t;
        if (t < best)
            best = t;
    }
    return (double)n * (double)reps / best / 1e9;
}

/* Text samples: ASCII, Chinese (3-byte code points), and mixed (mostly
 * ASCII with 2-, 3- and 4-byte code points sprinkled in). */
static void fill_text(uint8_t *p, size_t n, int which)
{
    static const char *zh = "\xe4\xb8\xad\xe6\x96\x87\xe7\xbd\x91\xe9\xa1\xb5\xe6\xb5\x8b\xe8\xaf\x95";
    static const char *mixed[] = {"The quick brown fox ", "caf\xc3\xa9 na\xc3\xafve ",
                                  "\xe4\xb8\xad\xe6\x96\x87 ", "jumps over ", "\xf0\x9f\x98\x80 ",
                                  "\xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 ", "the lazy dog. "};
    size_t i = 0, k = 0;
    while (i < n) {
        const char *piece = which == 0 ? "Lorem ipsum dolor sit amet, consectetur. "
                          : which == 1 ? zh : mixed[k++ % 7];
        size_t m = strlen(piece);
        if (i + m > n)
            break;
        memcpy(p + i, piece, m);
        i += m;
    }
    memset(p + i, ' ', n - i);   /* pad with ASCII so the sample stays valid */
}

int main(int argc, char **argv)
{
    if (argc > 1)
        budget = atof(argv[1]);
    static const size_t mask_sizes[] = {16, 125, 1024, 65536, 1 << 20, 16 << 20};
    static const size_t text_sizes[] = {4096, 1 << 20};
    static const char *text_names[] = {"ascii", "chinese", "mixed"};
    size_t cap = (size_t)16 << 20;
    uint8_t *src = aligned_alloc(64, cap + 64), *dst = aligned_alloc(64, cap + 64);
    if (!src || !dst)
        return 1;
    for (size_t i = 0; i < cap + 64; i++)
        src[i] = (uint8_t)(i * 131 + 7);
    memset(dst, 0, cap + 64);

    char levels[64];
    snprintf(levels, sizeof levels, "%s", wsf_supported_levels());
    printf("levels: %s\n", levels);

    printf("\n%-10s %10s %10s %12s %12s\n", "mask", "size", "memcpy", "in-place", "copy-out");
    for (char *lv = strtok(levels, ","); lv; lv = strtok(NULL, ",")) {
        wsf_dispatch_init(lv);
        for (size_t s = 0; s < sizeof mask_sizes / sizeof *mask_sizes; s++) {
            size_t n = mask_sizes[s];
            double mc = measure(K_MEMCPY, dst, src, n);
            double ip = measure(K_MASK_INPLACE, dst, src, n);
            double co = measure(K_MASK_COPY, dst, src, n);
            printf("%-10s %10zu %10.1f %12.1f %12.1f   GB/s\n", lv, n, mc, ip, co);
        }
    }

    snprintf(levels, sizeof levels, "%s", wsf_supported_levels());
    printf("\n%-10s %-8s %10s %10s %10s %14s\n", "utf8", "text", "size", "memcpy", "check", "unmask+check");
    for (char *lv = strtok(levels, ","); lv; lv = strtok(NULL, ",")) {
        wsf_dispatch_init(lv);
        for (int t = 0; t < 3; t++) {
            for (size_t s = 0; s < sizeof text_sizes / sizeof *text_sizes; s++) {
                size_t n = text_sizes[s];
                /* Text at src, its masked image at src + cap / 2. */
                uint8_t *masked = src + cap / 2;
                fill_text(src, n, t);
                wsf_mask(masked, src, n, key, 0);
                double mc = measure(K_MEMCPY, dst, src, n);
                double ck = measure(K_UTF8, dst, src, n);
                double fu = measure(K_UNMASK_UTF8, dst, masked, n);
                printf("%-10s %-8s %10zu %10.1f %10.1f %14.1f   GB/s\n", lv, text_names[t], n, mc, ck, fu);
            }
        }
    }
    /* Small-frame latency: ns per call of in-place masking. */
    printf("\nns per in-place mask call (2..125 bytes):\n");
    snprintf(levels, sizeof levels, "%s", wsf_supported_levels());
    for (char *lv = strtok(levels, ","); lv; lv = strtok(NULL, ",")) {
        wsf_dispatch_init(lv);
        printf("%-10s", lv);
        static const size_t small[] = {2, 6, 17, 40, 64, 100, 125};
        for (size_t s = 0; s < sizeof small / sizeof *small; s++) {
            double gbs = measure(K_MASK_INPLACE, dst, src, small[s]);
            printf("  %zuB %.1fns", small[s], (double)small[s] / gbs);
        }
        printf("\n");
    }
    /* Headers: ns per call (the size is the header's). */
    static const uint8_t hdr14[14] = {0x82, 0xFF, 0, 0, 0, 0, 0, 1, 0x11, 0x70, 1, 2, 3, 4};
    memcpy(src, hdr14, 14);
    printf("\nns per header call: decode 14-byte %.1fns",
           14.0 / measure(K_HDR_DECODE, dst, src, 14));
    memcpy(src, "\x81\x05", 2);
    printf("  decode 2-byte %.1fns", 2.0 / measure(K_HDR_DECODE, dst, src, 2));
    printf("  encode 14-byte %.1fns\n", 14.0 / measure(K_HDR_ENCODE, dst, src, 14));
    free(src);
    free(dst);
    return (int)(sink & 0);
}
