/*
 * UTF-8 validation with AVX-512 (F+BW+VL): the same lookup
 * algorithm as utf8_avx2.c (Keiser & Lemire 2021; tables in utf8_lookup.h)
 * on 64-byte vectors. Differences worth their own file: the bytes before
 * each 128-bit lane come from one valignd, the 3-way AND and the
 * continuation test are single vpternlogd, and the final partial block is
 * a zero-filling masked load instead of a copy into a padded buffer.
 */
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#include "wsf_internal.h"
#include "utf8_lookup.h"

/* vpternlogd truth-table immediates, from A = 0xF0, B = 0xCC, C = 0xAA. */
#define TERN_A_AND_B_AND_C 0x80   /* A & B & C */
#define TERN_A_OR_B_AND_C 0xA8    /* (A | B) & C */

typedef struct {
    __m512i prev;           /* the previous 64 input bytes */
    __mmask64 incomplete;   /* nonzero if the previous block ended mid-sequence */
} v_state;

/* The nibble tables as bytes (see utf8_avx2.c). */
static const uint8_t t_prev_high_b[16] = {T_PREV_HIGH};
static const uint8_t t_prev_low_b[16] = {T_PREV_LOW};
static const uint8_t t_cur_high_b[16] = {T_CUR_HIGH};

/* A 16-byte table in all four 128-bit lanes, as vpshufb looks up per lane. */
static inline __m512i table4(const uint8_t t[16])
{
    return _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)t));
}

static inline __m512i check_vec(__m512i in, __m512i prev)
{
    const __m512i t_prev_high = table4(t_prev_high_b);
    const __m512i t_prev_low = table4(t_prev_low_b);
    const __m512i t_cur_high = table4(t_cur_high_b);
    const __m512i nib = _mm512_set1_epi8(0x0F);

    /* Lane i of `seam` is lane i-1 of the input (lane 3 of prev for i = 0),
     * so vpalignr can pull the 1-3 bytes before each lane from it. */
    __m512i seam = _mm512_alignr_epi32(in, prev, 12);
    __m512i prev1 = _mm512_alignr_epi8(in, seam, 15);
    __m512i prev2 = _mm512_alignr_epi8(in, seam, 14);
    __m512i prev3 = _mm512_alignr_epi8(in, seam, 13);

    __m512i c = _mm512_ternarylogic_epi32(
        _mm512_shuffle_epi8(t_prev_high, _mm512_and_si512(_mm512_srli_epi16(prev1, 4), nib)),
        _mm512_shuffle_epi8(t_prev_low, _mm512_and_si512(prev1, nib)),
        _mm512_shuffle_epi8(t_cur_high, _mm512_and_si512(_mm512_srli_epi16(in, 4), nib)),
        TERN_A_AND_B_AND_C);

    /* 3rd byte after an E0+ lead or 4th after an F0+ lead must be a
     * continuation; XOR cancels the matching E_TWO_CONTS (see utf8_avx2.c). */
    __m512i third = _mm512_subs_epu8(prev2, _mm512_set1_epi8((char)(0xE0 - 0x80)));
    __m512i fourth = _mm512_subs_epu8(prev3, _mm512_set1_epi8((char)(0xF0 - 0x80)));
    __m512i must = _mm512_ternarylogic_epi32(third, fourth, _mm512_set1_epi8((char)0x80),
                                             TERN_A_OR_B_AND_C);
    return _mm512_xor_si512(c, must);
}

/* Nonzero (as a lane mask) where the last 3 bytes start a sequence the
 * vector cannot end: a compare straight into a mask register, so the
 * ASCII test below folds it in with one OR. */
static inline __mmask64 unfinished(__m512i in)
{
    /* 0xFF everywhere but the last three bytes: EF, DF, BF. */
    const __m512i max = _mm512_set_epi64((long long)0xBFDFEFFFFFFFFFFFULL, -1, -1, -1, -1, -1, -1, -1);
    return _mm512_cmpgt_epu8_mask(in, max);
}

/* Feed one block; nonzero on an error (callers stop at the first). */
static inline int step(v_state *st, __m512i in)
{
    if (_mm512_movepi8_mask(in) == 0) {
        /* ASCII: fine unless the previous block left a sequence open. */
        int bad = st->incomplete != 0;
        st->incomplete = 0;
        st->prev = in;
        return bad;
    }
    __m512i e = check_vec(in, st->prev);
    st->incomplete = unfinished(in);
    st->prev = in;
    return _mm512_test_epi8_mask(e, e) != 0;
}

/* Feed two blocks and test once; nonzero on an error, which the caller
 * then locates from before both. A pure-ASCII pair with no sequence left
 * open is skipped; otherwise the lookups on `a` themselves catch a sequence
 * the previous block left open, so no `incomplete` term is needed. */
static inline int step128(v_state *st, __m512i a, __m512i b)
{
    if ((_mm512_movepi8_mask(_mm512_or_si512(a, b)) | st->incomplete) == 0) {
        st->prev = b;
        return 0;
    }
    __m512i e = _mm512_or_si512(check_vec(a, st->prev), check_vec(b, a));
    st->incomplete = unfinished(b);
    st->prev = b;
    return _mm512_test_epi8_mask(e, e) != 0;
}

static inline __mmask64 first_n(size_t n)
{
    return n >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << n) - 1);
}

static inline void state_init(v_state *st)
{
    st->prev = _mm512_setzero_si512();
    st->incomplete = 0;
}

int wsf_utf8_check_avx512(const uint8_t *s, size_t len, size_t *pos)
{
    if (len == 0)   /* s may be NULL; s + 0 would be UB */
        return WSF_UTF8_OK;
    v_state st;
    state_init(&st);
    size_t i = 0;

    for (; i + 128 <= len; i += 128)
        if (step128(&st, _mm512_loadu_si512((const void *)(s + i)),
                    _mm512_loadu_si512((const void *)(s + i + 64))))
            return wsf_utf8_scalar_from(s, len, wsf_utf8_restart(s, i), pos);
    for (; i + 64 <= len; i += 64)
        if (step(&st, _mm512_loadu_si512((const void *)(s + i))))
            return wsf_utf8_scalar_from(s, len, wsf_utf8_restart(s, i), pos);
    /* Final 0..63 bytes, zero-filled: an open sequence meets a 0 there. */
    if (step(&st, _mm512_maskz_loadu_epi8(first_n(len - i), s + i)))
        return wsf_utf8_scalar_from(s, len, wsf_utf8_restart(s, i), pos);
    return WSF_UTF8_OK;
}

int wsf_unmask_utf8_check_avx512(uint8_t *dst, const uint8_t *src, size_t len,
                                 const uint8_t key[4], size_t phase, size_t *pos)
{
    if (len == 0)
        return WSF_UTF8_OK;
    /* Each block is unmasked, stored and validated while in registers. */
    const __m512i k = _mm512_set1_epi64((long long)wsf_key64(key, phase));
    v_state st;
    state_init(&st);
    size_t i = 0;

    for (; i + 128 <= len; i += 128) {
        __m512i a = _mm512_xor_si512(_mm512_loadu_si512((const void *)(src + i)), k);
        __m512i b = _mm512_xor_si512(_mm512_loadu_si512((const void *)(src + i + 64)), k);
        _mm512_storeu_si512((void *)(dst + i), a);
        _mm512_storeu_si512((void *)(dst + i + 64), b);
        if (step128(&st, a, b)) {
            /* Finish dst first (the contract), then find the exact spot. */
            wsf_mask_avx512(dst + i + 128, src + i + 128, len - i - 128, key, phase);
            return wsf_utf8_scalar_from(dst, len, wsf_utf8_restart(dst, i), pos);
        }
    }
    for (; i + 64 <= len; i += 64) {
        __m512i v = _mm512_xor_si512(_mm512_loadu_si512((const void *)(src + i)), k);
        _mm512_storeu_si512((void *)(dst + i), v);
        if (step(&st, v)) {
            /* Finish dst first (the contract), then find the exact spot. */
            wsf_mask_avx512(dst + i + 64, src + i + 64, len - i - 64, key, phase);
            return wsf_utf8_scalar_from(dst, len, wsf_utf8_restart(dst, i), pos);
        }
    }
    /* Tail: i is a multiple of 64, so the key phase is `phase` again. The
     * lanes past the end are zeroed after the XOR, so they read as ASCII. */
    __mmask64 m = first_n(len - i);
    __m512i v = _mm512_maskz_mov_epi8(m, _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, src + i), k));
    _mm512_mask_storeu_epi8(dst + i, m, v);
    if (step(&st, v))
        return wsf_utf8_scalar_from(dst, len, wsf_utf8_restart(dst, i), pos);
    return WSF_UTF8_OK;
}
#endif
