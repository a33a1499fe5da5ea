/*
 * Masking with SSE2 (RFC 6455 section 5.3), the x86-64 baseline: 16-byte
 * vectors, 64 bytes per iteration, stores aligned on dst after a short
 * head; short runs, head and tail inline (mask_short.h).
 */
#if defined(__x86_64__) || defined(_M_X64)
#include <emmintrin.h>

#include "wsf_internal.h"
#include "mask_short.h"

void wsf_mask_sse2(uint8_t *dst, const uint8_t *src, size_t len,
                   const uint8_t key[4], size_t phase)
{
    uint64_t kw = wsf_key64(key, phase);
    if (len < 64) {     /* short frames: no setup worth paying for */
        wsf_mask_short(dst, src, len, kw);
        return;
    }
    /* Head: bytes up to a 16-byte boundary of dst, each XORed exactly once
     * (in place, twice would undo it); then the key for the new phase. */
    size_t head = (size_t)(16 - ((uintptr_t)dst & 15)) & 15;
    if (head) {
        wsf_mask_short(dst, src, head, kw);
        kw = wsf_key64(key, phase + head);
    }
    const __m128i k = _mm_set1_epi64x((long long)kw);
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
     * phase + head again and kw still fits. */
    wsf_mask_short(dst + i, src + i, len - i, kw);
}
#endif
