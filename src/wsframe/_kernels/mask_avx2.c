/*
 * Masking with AVX2 (RFC 6455 section 5.3): 32-byte vectors, 128 bytes per
 * iteration; from 256 bytes on, dst is aligned first so no store splits a
 * cache line. Short runs and the tail go through mask_short.h.
 */
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#include "wsf_internal.h"
#include "mask_short.h"

void wsf_mask_avx2(uint8_t *dst, const uint8_t *src, size_t len,
                   const uint8_t key[4], size_t phase)
{
    uint64_t kw = wsf_key64(key, phase);
    if (len < 32) {
        wsf_mask_short(dst, src, len, kw);
        return;
    }
    size_t i = 0;
    if (len >= 256) {
        /* Head up to a 32-byte boundary of dst, then re-rotate the key. */
        size_t head = (size_t)(32 - ((uintptr_t)dst & 31)) & 31;
        wsf_mask_short(dst, src, head, kw);
        i = head;
        kw = wsf_key64(key, phase + head);
    }
    const __m256i k = _mm256_set1_epi64x((long long)kw);
    for (; i + 128 <= len; i += 128) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(src + i));
        __m256i b = _mm256_loadu_si256((const __m256i *)(src + i + 32));
        __m256i c = _mm256_loadu_si256((const __m256i *)(src + i + 64));
        __m256i d = _mm256_loadu_si256((const __m256i *)(src + i + 96));
        _mm256_storeu_si256((__m256i *)(dst + i), _mm256_xor_si256(a, k));
        _mm256_storeu_si256((__m256i *)(dst + i + 32), _mm256_xor_si256(b, k));
        _mm256_storeu_si256((__m256i *)(dst + i + 64), _mm256_xor_si256(c, k));
        _mm256_storeu_si256((__m256i *)(dst + i + 96), _mm256_xor_si256(d, k));
    }
    for (; i + 32 <= len; i += 32) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(src + i));
        _mm256_storeu_si256((__m256i *)(dst + i), _mm256_xor_si256(a, k));
    }
    wsf_mask_short(dst + i, src + i, len - i, kw);
}
#endif
