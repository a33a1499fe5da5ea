/*
 * Masking of a short run (0..63 bytes) without a loop over bytes, for the
 * SSE2, AVX2 and AVX-512 kernels: one 32-, 16-, 8- and 4-byte step each at
 * most (the 32-byte one as two 16-byte steps without AVX2), then at most 3
 * single bytes. Inline, so a short frame costs no extra call; plain loads
 * and stores, which for a few bytes beat a masked AVX-512 store, and from
 * which a later load of the same bytes can be forwarded.
 */
#ifndef WSF_MASK_SHORT_H
#define WSF_MASK_SHORT_H

#include <immintrin.h>

#include "wsf_internal.h"

/* `k` is wsf_key64(key, phase of dst[0]); every step is a multiple of 4
 * bytes, so the same word serves all of them and the last bytes. */
static inline void wsf_mask_short(uint8_t *dst, const uint8_t *src, size_t len, uint64_t k)
{
    size_t i = 0;
    if (len & 32) {
#if defined(__AVX2__)
        __m256i kv = _mm256_set1_epi64x((long long)k);
        _mm256_storeu_si256((__m256i *)dst, _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)src), kv));
#else
        __m128i kv = _mm_set1_epi64x((long long)k);
        _mm_storeu_si128((__m128i *)dst, _mm_xor_si128(_mm_loadu_si128((const __m128i *)src), kv));
        _mm_storeu_si128((__m128i *)(dst + 16), _mm_xor_si128(_mm_loadu_si128((const __m128i *)(src + 16)), kv));
#endif
        i = 32;
    }
    if (len & 16) {
        __m128i kv = _mm_set1_epi64x((long long)k);
        _mm_storeu_si128((__m128i *)(dst + i), _mm_xor_si128(_mm_loadu_si128((const __m128i *)(src + i)), kv));
        i += 16;
    }
    if (len & 8) {
        wsf_store64(dst + i, wsf_load64(src + i) ^ k);
        i += 8;
    }
    if (len & 4) {
        uint32_t w;
        memcpy(&w, src + i, 4);
        w ^= (uint32_t)k;   /* both halves of k are the same 4 bytes */
        memcpy(dst + i, &w, 4);
        i += 4;
    }
    for (size_t j = 0; i < len; i++, j++)
        dst[i] = (uint8_t)(src[i] ^ wsf_key_byte(k, j));
}

#endif /* WSF_MASK_SHORT_H */
