/*
 * Masking with AVX-512 (RFC 6455 section 5.3): 64-byte vectors, 256 bytes
 * per iteration, dst aligned to a cache line for large buffers, and the
 * tail as one byte-masked load/store (AVX512BW; masked-off lanes never
 * fault, so no byte outside the buffer is touched). Below 64 bytes plain
 * 32/16/8/4-byte steps (mask_short.h) are quicker than a masked store.
 */
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#include "wsf_internal.h"
#include "mask_short.h"

/* Lane mask for the first n (0..64) bytes. */
static inline __mmask64 first_n(size_t n)
{
    return n >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << n) - 1);
}

static inline void mask_part(uint8_t *dst, const uint8_t *src, size_t n, __m512i k)
{
    __mmask64 m = first_n(n);
    __m512i v = _mm512_maskz_loadu_epi8(m, src);
    _mm512_mask_storeu_epi8(dst, m, _mm512_xor_si512(v, k));
}

void wsf_mask_avx512(uint8_t *dst, const uint8_t *src, size_t len,
                     const uint8_t key[4], size_t phase)
{
    uint64_t kw = wsf_key64(key, phase);
    if (len < 64) {
        wsf_mask_short(dst, src, len, kw);
        return;
    }
    size_t i = 0;
    if (len >= 512) {
        /* A 64-byte vector is a whole cache line: align dst so no store
         * splits two lines, then re-rotate the key for the new phase. */
        size_t head = (size_t)(64 - ((uintptr_t)dst & 63)) & 63;
        if (head) {
            wsf_mask_short(dst, src, head, kw);
            i = head;
            kw = wsf_key64(key, phase + head);
        }
    }
    const __m512i k = _mm512_set1_epi64((long long)kw);
    for (; i + 256 <= len; i += 256) {
        __m512i a = _mm512_loadu_si512((const void *)(src + i));
        __m512i b = _mm512_loadu_si512((const void *)(src + i + 64));
        __m512i c = _mm512_loadu_si512((const void *)(src + i + 128));
        __m512i d = _mm512_loadu_si512((const void *)(src + i + 192));
        _mm512_storeu_si512((void *)(dst + i), _mm512_xor_si512(a, k));
        _mm512_storeu_si512((void *)(dst + i + 64), _mm512_xor_si512(b, k));
        _mm512_storeu_si512((void *)(dst + i + 128), _mm512_xor_si512(c, k));
        _mm512_storeu_si512((void *)(dst + i + 192), _mm512_xor_si512(d, k));
    }
    for (; i + 64 <= len; i += 64) {
        __m512i a = _mm512_loadu_si512((const void *)(src + i));
        _mm512_storeu_si512((void *)(dst + i), _mm512_xor_si512(a, k));
    }
    if (i < len) {
#ifdef WSF_MASK_TAIL_PLAIN
        wsf_mask_short(dst + i, src + i, len - i, kw);
#else
        mask_part(dst + i, src + i, len - i, k);
#endif
    }
}
#endif
