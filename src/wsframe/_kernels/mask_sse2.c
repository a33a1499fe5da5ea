/*
 * Masking with SSE2 (RFC 6455 section 5.3), the x86-64 baseline: 16-byte
 * vectors, 64 bytes per iteration, stores aligned on dst after a short
 * scalar head.
 */
#if defined(__x86_64__) || defined(_M_X64)
#include <emmintrin.h>

#include "wsf_internal.h"

void wsf_mask_sse2(uint8_t *dst, const uint8_t *src, size_t len,
                   const uint8_t key[4], size_t phase)
{
    if (len < 64) {     /* short frames: no setup worth paying for */
        wsf_mask_generic(dst, src, len, key, phase);
        return;
    }
    /* Head: bytes up to a 16-byte boundary of dst, done by the word code so
     * each byte is XORed exactly once (in place, twice would undo it). */
    size_t head = (size_t)(-(uintptr_t)dst) & 15;
    wsf_mask_generic(dst, src, head, key, phase);

    /* Rotate the key once for the phase at the first vector. */
    const __m128i k = _mm_set1_epi64x((long long)wsf_key64(key, phase + head));
    size_t i = head;

    for (; i + 64 <= len; i += 64) {
        __m128i a = _mm_loadu_si128((const __m128i *)(src + i));
        __m128i b = _mm_loadu_si128((const __m128i *)(src + i + 16));
        __m128i c = _mm_loadu_si128((const __m128i *)(src + i + 32));
        __m128i d = _mm_loadu_si128((const __m128i *)(src + i + 48));
        _mm_store_si128((__m128i *)(dst + i), _mm_xor_si128(a, k));
        _mm_store_si128((__m128i *)(dst + i + 16), _mm_xor_si128(b, k));
        _mm_store_si128((__m128i *)(dst + i + 32), _mm_xor_si128(c, k));
        _mm_store_si128((__m128i *)(dst + i + 48), _mm_xor_si128(d, k));
    }
    for (; i + 16 <= len; i += 16) {
        __m128i a = _mm_loadu_si128((const __m128i *)(src + i));
        _mm_store_si128((__m128i *)(dst + i), _mm_xor_si128(a, k));
    }
    /* Tail (< 16 bytes): i - head is a multiple of 16, so the phase is
     * phase + head again. */
    wsf_mask_generic(dst + i, src + i, len - i, key, phase + head);
}
#endif
