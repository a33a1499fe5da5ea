/*
 * Shared helpers of the libFuzzer harnesses of the C kernels: the kernel
 * levels this CPU supports, and reference implementations written for
 * clarity (byte at a time) that every SIMD level must agree with.
 */
#ifndef WSF_FUZZ_SUPPORT_H
#define WSF_FUZZ_SUPPORT_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wsf_kernels.h"

#define FUZZ_MAX_LEVELS 8

/* Names of the levels this build and CPU support ("generic", "sse2", ...),
 * parsed once from wsf_supported_levels(). Returns how many. */
static inline int fuzz_levels(const char *names[FUZZ_MAX_LEVELS])
{
    static char buf[128];
    static const char *cached[FUZZ_MAX_LEVELS];
    static int count = -1;
    if (count < 0) {
        count = 0;
        snprintf(buf, sizeof buf, "%s", wsf_supported_levels());
        for (char *tok = strtok(buf, ","); tok && count < FUZZ_MAX_LEVELS; tok = strtok(NULL, ","))
            cached[count++] = tok;
    }
    for (int i = 0; i < count; i++)
        names[i] = cached[i];
    return count;
}

/* Select a level or abort: a level listed as supported must be usable. */
static inline void fuzz_use_level(const char *name)
{
    if (wsf_dispatch_init(name) != 0) {
        fprintf(stderr, "wsf_dispatch_init(%s) failed\n", name);
        abort();
    }
}

/* A copy of data in a heap block of exactly len bytes, so AddressSanitizer
 * reports any read or write past either end (malloc(0) still gives a
 * unique pointer). */
static inline uint8_t *fuzz_dup(const uint8_t *data, size_t len)
{
    uint8_t *p = malloc(len ? len : 1);
    if (!p)
        abort();
    if (len)
        memcpy(p, data, len);
    return p;
}

#define FUZZ_CHECK(cond, ...)                                                   \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "check failed: %s (%s:%d): ", #cond, __FILE__, __LINE__); \
            fprintf(stderr, __VA_ARGS__);                                       \
            fputc('\n', stderr);                                                \
            abort();                                                            \
        }                                                                       \
    } while (0)

/* RFC 6455 section 5.3: octet i of the payload is XORed with key[i % 4];
 * `phase` is how many payload bytes came before this piece. */
static inline void ref_mask(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4], size_t phase)
{
    for (size_t i = 0; i < len; i++)
        dst[i] = src[i] ^ key[(phase + i) % 4];
}

/* RFC 3629 section 4 (well-formed UTF-8), with CPython's error position:
 * the first byte of the sequence that cannot be completed. INCOMPLETE when
 * the input ends inside a sequence that is valid so far. */
static inline int ref_utf8_check(const uint8_t *s, size_t len, size_t *pos)
{
    size_t i = 0;
    while (i < len) {
        uint8_t b = s[i];
        int need;
        uint8_t lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
        if (b < 0x80) {
            i++;
            continue;
        } else if (b >= 0xC2 && b <= 0xDF) {
            need = 1;
        } else if (b == 0xE0) {
            need = 2, lo = 0xA0;
        } else if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF) {
            need = 2;
        } else if (b == 0xED) {
            need = 2, hi = 0x9F; /* no surrogates */
        } else if (b == 0xF0) {
            need = 3, lo = 0x90;
        } else if (b >= 0xF1 && b <= 0xF3) {
            need = 3;
        } else if (b == 0xF4) {
            need = 3, hi = 0x8F; /* nothing above U+10FFFF */
        } else {
            *pos = i;
            return WSF_UTF8_INVALID;
        }
        for (int k = 1; k <= need; k++) {
            if (i + k >= len) {
                *pos = i;
                return WSF_UTF8_INCOMPLETE;
            }
            uint8_t c = s[i + k];
            if (k == 1 ? (c < lo || c > hi) : (c < 0x80 || c > 0xBF)) {
                *pos = i;
                return WSF_UTF8_INVALID;
            }
        }
        i += (size_t)need + 1;
    }
    *pos = len;
    return WSF_UTF8_OK;
}

#endif /* WSF_FUZZ_SUPPORT_H */
