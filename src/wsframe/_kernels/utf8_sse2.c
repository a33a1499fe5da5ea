/*
 * UTF-8 validation with SSE2 only (the x86-64 baseline, no pshufb): range
 * comparisons instead of the nibble lookups of the AVX2 kernel.
 *
 * Per 16-byte vector, with prev1..prev3 the bytes 1..3 positions back:
 *  - structure: a byte must be a continuation exactly when prev1 >= C0,
 *    prev2 >= E0 or prev3 >= F0 (RFC 3629 section 4: lead, then 1-3
 *    continuations);
 *  - bytes that never occur: C0, C1, F5..FF;
 *  - second-byte ranges after E0 (A0..BF), ED (80..9F), F0 (90..BF) and
 *    F4 (80..8F): overlongs, surrogates, above U+10FFFF;
 *  - an unfinished sequence in the last 3 bytes of a block is an error if
 *    the next block is pure ASCII.
 * 64 bytes per step; pure-ASCII steps skip the checks. As in the other SIMD
 * kernels, an error only sends the exact scalar pass back to just before
 * the failing block, which finds CPython's position and status.
 */
#if defined(__x86_64__) || defined(_M_X64)
#include <emmintrin.h>

#include "wsf_internal.h"
#include "utf8_lookup.h"

typedef struct {
    __m128i prev;     /* the previous 16 input bytes */
    int incomplete;   /* the previous block ended mid-sequence */
} v_state;

static inline __m128i splat(int c)
{
    return _mm_set1_epi8((char)c);
}

/* Bytes of `in` shifted by n positions, the gap filled from `prev`. */
#define SHIFTED(in, prev, n) _mm_or_si128(_mm_slli_si128(in, n), _mm_srli_si128(prev, 16 - (n)))

/* Nonzero bytes where x >= c (unsigned), as 0/nonzero (not a full mask). */
static inline __m128i at_least(__m128i x, int c)
{
    return _mm_subs_epu8(x, splat(c - 1));
}

static inline __m128i check_vec(__m128i in, __m128i prev)
{
    __m128i prev1 = SHIFTED(in, prev, 1);
    __m128i prev2 = SHIFTED(in, prev, 2);
    __m128i prev3 = SHIFTED(in, prev, 3);
    const __m128i zero = _mm_setzero_si128();

    /* Signed compares: continuation bytes 80..BF are -128..-65 as int8. */
    __m128i is_cont = _mm_cmpgt_epi8(splat(0xC0), in);
    __m128i need = _mm_or_si128(_mm_or_si128(at_least(prev1, 0xC0), at_least(prev2, 0xE0)),
                                at_least(prev3, 0xF0));
    need = _mm_xor_si128(_mm_cmpeq_epi8(need, zero), _mm_set1_epi8(-1));
    __m128i err = _mm_xor_si128(need, is_cont);

    /* C0, C1 (overlong 2-byte leads) and F5..FF. */
    err = _mm_or_si128(err, _mm_cmpeq_epi8(_mm_and_si128(in, splat(0xFE)), splat(0xC0)));
    err = _mm_or_si128(err, at_least(in, 0xF5));

    /* Second-byte ranges; `in` is a continuation here or already an error,
     * so signed order is byte order. */
    __m128i e0 = _mm_and_si128(_mm_cmpeq_epi8(prev1, splat(0xE0)), _mm_cmpgt_epi8(splat(0xA0), in));
    __m128i ed = _mm_and_si128(_mm_cmpeq_epi8(prev1, splat(0xED)), _mm_cmpgt_epi8(in, splat(0x9F)));
    __m128i f0 = _mm_and_si128(_mm_cmpeq_epi8(prev1, splat(0xF0)), _mm_cmpgt_epi8(splat(0x90), in));
    __m128i f4 = _mm_and_si128(_mm_cmpeq_epi8(prev1, splat(0xF4)), _mm_cmpgt_epi8(in, splat(0x8F)));
    return _mm_or_si128(err, _mm_or_si128(_mm_or_si128(e0, ed), _mm_or_si128(f0, f4)));
}

/* Whether the last 3 bytes start a sequence the vector cannot end. */
static inline int unfinished(__m128i in)
{
    const __m128i max = _mm_setr_epi8(-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                                      (char)(0xF0 - 1), (char)(0xE0 - 1), (char)(0xC0 - 1));
    __m128i over = _mm_subs_epu8(in, max);
    return _mm_movemask_epi8(_mm_cmpeq_epi8(over, _mm_setzero_si128())) != 0xFFFF;
}

/* Feed one 64-byte block as four vectors; nonzero on an error (callers stop
 * at the first). A pure-ASCII block is only an error after a sequence the
 * previous block left open; otherwise the checks on `a` catch that. */
static inline int step(v_state *st, __m128i a, __m128i b, __m128i c, __m128i d)
{
    __m128i all = _mm_or_si128(_mm_or_si128(a, b), _mm_or_si128(c, d));
    if (_mm_movemask_epi8(all) == 0) {
        int bad = st->incomplete;
        st->incomplete = 0;
        st->prev = d;
        return bad;
    }
    __m128i e = _mm_or_si128(check_vec(a, st->prev), check_vec(b, a));
    e = _mm_or_si128(e, _mm_or_si128(check_vec(c, b), check_vec(d, c)));
    st->incomplete = unfinished(d);
    st->prev = d;
    return _mm_movemask_epi8(_mm_cmpeq_epi8(e, _mm_setzero_si128())) != 0xFFFF;
}

static inline int step_at(v_state *st, const uint8_t *p)
{
    return step(st, _mm_loadu_si128((const __m128i *)p), _mm_loadu_si128((const __m128i *)(p + 16)),
                _mm_loadu_si128((const __m128i *)(p + 32)), _mm_loadu_si128((const __m128i *)(p + 48)));
}

/* The final 0..63 bytes, zero-padded: an open sequence then meets a 0. */
static inline int step_tail(v_state *st, const uint8_t *p, size_t n)
{
    uint8_t buf[64] = {0};
    if (n)   /* p may be NULL when the input is empty */
        memcpy(buf, p, n);
    return step_at(st, buf);
}

static inline void state_init(v_state *st)
{
    st->prev = _mm_setzero_si128();
    st->incomplete = 0;
}

int wsf_utf8_check_sse2(const uint8_t *s, size_t len, size_t *pos)
{
    if (len == 0)   /* s may be NULL; s + 0 would be UB */
        return WSF_UTF8_OK;
    v_state st;
    state_init(&st);
    size_t i = 0;
    for (; i + 64 <= len; i += 64)
        if (step_at(&st, s + i))
            return wsf_utf8_scalar_from(s, len, wsf_utf8_restart(s, i), pos);
    if (step_tail(&st, s + i, len - i))
        return wsf_utf8_scalar_from(s, len, wsf_utf8_restart(s, i), pos);
    return WSF_UTF8_OK;
}

int wsf_unmask_utf8_check_sse2(uint8_t *dst, const uint8_t *src, size_t len,
                               const uint8_t key[4], size_t phase, size_t *pos)
{
    if (len == 0)
        return WSF_UTF8_OK;
    /* Each block is unmasked, stored and validated while in registers. */
    const __m128i k = _mm_set1_epi64x((long long)wsf_key64(key, phase));
    v_state st;
    state_init(&st);
    size_t i = 0;
    for (; i + 64 <= len; i += 64) {
        __m128i a = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(src + i)), k);
        __m128i b = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(src + i + 16)), k);
        __m128i c = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(src + i + 32)), k);
        __m128i d = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(src + i + 48)), k);
        _mm_storeu_si128((__m128i *)(dst + i), a);
        _mm_storeu_si128((__m128i *)(dst + i + 16), b);
        _mm_storeu_si128((__m128i *)(dst + i + 32), c);
        _mm_storeu_si128((__m128i *)(dst + i + 48), d);
        if (step(&st, a, b, c, d)) {
            wsf_mask_sse2(dst + i + 64, src + i + 64, len - i - 64, key, phase);
            return wsf_utf8_scalar_from(dst, len, wsf_utf8_restart(dst, i), pos);
        }
    }
    /* i is a multiple of 64, so the tail's key phase is `phase` again. */
    wsf_mask_sse2(dst + i, src + i, len - i, key, phase);
    if (step_tail(&st, dst + i, len - i))
        return wsf_utf8_scalar_from(dst, len, wsf_utf8_restart(dst, i), pos);
    return WSF_UTF8_OK;
}
#endif
