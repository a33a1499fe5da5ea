/*
 * Private declarations shared by the kernel files (not part of the
 * contract in wsf_kernels.h): the per-level implementations, the dispatch
 * table they are chosen into, and small inline helpers.
 */
#ifndef WSF_INTERNAL_H
#define WSF_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "wsf_kernels.h"

#if defined(__x86_64__) || defined(_M_X64)
#define WSF_X86_64 1
#else
#define WSF_X86_64 0
#endif

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define WSF_BIG_ENDIAN 1
#else
#define WSF_BIG_ENDIAN 0
#endif

/* NEON is part of every aarch64 CPU; the kernels assume little-endian lanes. */
#if (defined(__aarch64__) || defined(_M_ARM64)) && !WSF_BIG_ENDIAN
#define WSF_NEON 1
#else
#define WSF_NEON 0
#endif

/* Signatures of the dispatched operations. */
typedef void (*wsf_mask_fn)(uint8_t *dst, const uint8_t *src, size_t len,
                            const uint8_t key[4], size_t phase);
typedef int (*wsf_utf8_fn)(const uint8_t *s, size_t len, size_t *pos);
typedef int (*wsf_unmask_utf8_fn)(uint8_t *dst, const uint8_t *src, size_t len,
                                  const uint8_t key[4], size_t phase, size_t *pos);

/* The kernels in use; set by wsf_dispatch_init(), generic until then. */
extern wsf_mask_fn wsf_mask_impl;
extern wsf_utf8_fn wsf_utf8_impl;
extern wsf_unmask_utf8_fn wsf_unmask_utf8_impl;

/* Portable versions (mask_generic.c, utf8_generic.c). */
void wsf_mask_generic(uint8_t *dst, const uint8_t *src, size_t len,
                      const uint8_t key[4], size_t phase);
int wsf_utf8_check_generic(const uint8_t *s, size_t len, size_t *pos);
int wsf_unmask_utf8_check_generic(uint8_t *dst, const uint8_t *src, size_t len,
                                  const uint8_t key[4], size_t phase, size_t *pos);

/* The byte-exact scalar validator every level falls back to for the
 * precise error position: validates s[start, len) where `start` must be
 * the first byte of a code point; positions are relative to s. */
int wsf_utf8_scalar_from(const uint8_t *s, size_t len, size_t start, size_t *pos);

/* x86-64 SIMD versions (only defined when WSF_X86_64). */
void wsf_mask_sse2(uint8_t *dst, const uint8_t *src, size_t len,
                   const uint8_t key[4], size_t phase);
void wsf_mask_avx2(uint8_t *dst, const uint8_t *src, size_t len,
                   const uint8_t key[4], size_t phase);
void wsf_mask_avx512(uint8_t *dst, const uint8_t *src, size_t len,
                     const uint8_t key[4], size_t phase);
int wsf_utf8_check_sse2(const uint8_t *s, size_t len, size_t *pos);
int wsf_utf8_check_avx2(const uint8_t *s, size_t len, size_t *pos);
int wsf_utf8_check_avx512(const uint8_t *s, size_t len, size_t *pos);
int wsf_unmask_utf8_check_sse2(uint8_t *dst, const uint8_t *src, size_t len,
                               const uint8_t key[4], size_t phase, size_t *pos);
int wsf_unmask_utf8_check_avx2(uint8_t *dst, const uint8_t *src, size_t len,
                               const uint8_t key[4], size_t phase, size_t *pos);
int wsf_unmask_utf8_check_avx512(uint8_t *dst, const uint8_t *src, size_t len,
                                 const uint8_t key[4], size_t phase, size_t *pos);

/* aarch64 NEON versions (only defined when WSF_NEON). */
void wsf_mask_neon(uint8_t *dst, const uint8_t *src, size_t len,
                   const uint8_t key[4], size_t phase);
int wsf_utf8_check_neon(const uint8_t *s, size_t len, size_t *pos);
int wsf_unmask_utf8_check_neon(uint8_t *dst, const uint8_t *src, size_t len,
                               const uint8_t key[4], size_t phase, size_t *pos);

/* Unaligned, aliasing-safe 64-bit load/store (compile to one mov). */
static inline uint64_t wsf_load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void wsf_store64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, sizeof v);
}

/* The 4-byte key rotated by `phase` and repeated twice, as the 64-bit word
 * whose memory image is key[(phase + j) % 4] for j = 0..7: the value to XOR
 * onto 8 bytes whose first has key phase `phase` (RFC 6455 section 5.3:
 * j = i MOD 4). Computed in registers: building it bytewise in memory and
 * reloading it costs a store-forwarding stall, a lot for a 10-byte frame. */
static inline uint64_t wsf_key64(const uint8_t key[4], size_t phase)
{
    uint32_t k;
    memcpy(&k, key, 4);
    unsigned r = (unsigned)(phase & 3) * 8;
    if (r) {
#if WSF_BIG_ENDIAN
        k = (k << r) | (k >> (32 - r));
#else
        k = (k >> r) | (k << (32 - r));
#endif
    }
    return ((uint64_t)k << 32) | k;
}

/* Byte j (0..7) of the memory image of a key word from wsf_key64(). */
static inline uint8_t wsf_key_byte(uint64_t k, size_t j)
{
#if WSF_BIG_ENDIAN
    return (uint8_t)(k >> (56 - 8 * j));
#else
    return (uint8_t)(k >> (8 * j));
#endif
}

/* Number of bytes in the sequence a lead byte starts: 1 for ASCII, 2-4 for
 * a possible lead, 0 for a byte that can never start a code point. */
static inline int wsf_utf8_seq_len(uint8_t b)
{
    if (b < 0x80) return 1;
    if (b < 0xC2) return 0;
    if (b < 0xE0) return 2;
    if (b < 0xF0) return 3;
    if (b < 0xF5) return 4;
    return 0;
}

#endif /* WSF_INTERNAL_H */
