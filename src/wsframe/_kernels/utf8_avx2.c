/*
 * UTF-8 validation with AVX2: the lookup algorithm of Keiser & Lemire
 * (2021) on 32-byte vectors, 128 bytes (four vectors) per error test, then
 * 64-byte steps and a zero-padded tail.
 *
 * Per byte, three nibble lookups (vpshufb) classify the pair (previous
 * byte, byte) into error classes (utf8_lookup.h); a separate test checks
 * that bytes which must be the 3rd/4th of a sequence are continuations;
 * and the last 3 bytes of a block are checked for an unfinished sequence,
 * an error if the next block is pure ASCII (a checked block catches it
 * through the lookups). Pure-ASCII blocks skip all of it. The SIMD pass
 * only answers "valid or not": on an error, or an unfinished sequence at
 * the end, the scalar validator restarts just before the failing block to
 * find CPython's exact position and status.
 */
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#include "wsf_internal.h"
#include "utf8_lookup.h"

typedef struct {
    __m256i prev;        /* the previous 32 input bytes */
    __m256i incomplete;  /* nonzero if the previous block ended mid-sequence */
    __m256i err;         /* nonzero once an error is seen */
} v_state;

/* The nibble tables as bytes (building them with _mm256_setr_epi8 would
 * narrow ints above 127 to char, which clang warns about). */
static const uint8_t t_prev_high_b[16] = {T_PREV_HIGH};
static const uint8_t t_prev_low_b[16] = {T_PREV_LOW};
static const uint8_t t_cur_high_b[16] = {T_CUR_HIGH};

/* A 16-byte table in both 128-bit lanes, as vpshufb looks up per lane. */
static inline __m256i table2(const uint8_t t[16])
{
    return _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)t));
}

static inline __m256i tbl(__m256i idx, __m256i table)
{
    return _mm256_shuffle_epi8(table, idx);
}

/* Classify one 32-byte vector given the 32 bytes before it. */
static inline __m256i check_vec(__m256i in, __m256i prev)
{
    const __m256i t_prev_high = table2(t_prev_high_b);
    const __m256i t_prev_low = table2(t_prev_low_b);
    const __m256i t_cur_high = table2(t_cur_high_b);
    const __m256i nib = _mm256_set1_epi8(0x0F);

    /* Bytes shifted by 1, 2, 3 positions across the 128-bit lane seam:
     * [prev.hi, in.lo] supplies the bytes before each lane. */
    __m256i seam = _mm256_permute2x128_si256(prev, in, 0x21);
    __m256i prev1 = _mm256_alignr_epi8(in, seam, 15);
    __m256i prev2 = _mm256_alignr_epi8(in, seam, 14);
    __m256i prev3 = _mm256_alignr_epi8(in, seam, 13);

    __m256i c = tbl(_mm256_and_si256(_mm256_srli_epi16(prev1, 4), nib), t_prev_high);
    c = _mm256_and_si256(c, tbl(_mm256_and_si256(prev1, nib), t_prev_low));
    c = _mm256_and_si256(c, tbl(_mm256_and_si256(_mm256_srli_epi16(in, 4), nib), t_cur_high));

    /* A byte must be a continuation when the one 2 back is E0+ (3rd byte of a
     * 3-byte sequence) or the one 3 back is F0+ (4th byte): saturating
     * subtraction leaves the top bit set exactly then. Those are the only
     * continuation-after-continuation pairs allowed, so XOR with
     * E_TWO_CONTS flags both "missing" and "unexpected". */
    __m256i third = _mm256_subs_epu8(prev2, _mm256_set1_epi8((char)(0xE0 - 0x80)));
    __m256i fourth = _mm256_subs_epu8(prev3, _mm256_set1_epi8((char)(0xF0 - 0x80)));
    __m256i must = _mm256_and_si256(_mm256_or_si256(third, fourth), _mm256_set1_epi8((char)0x80));
    return _mm256_xor_si256(c, must);
}

/* Nonzero where the last 3 bytes start a sequence the vector cannot end. */
static inline __m256i unfinished(__m256i in)
{
    const __m256i max = _mm256_setr_epi8(
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        (char)(0xF0 - 1), (char)(0xE0 - 1), (char)(0xC0 - 1));
    return _mm256_subs_epu8(in, max);
}

/* Feed one 64-byte block (two vectors); returns nonzero on an error. */
static inline int step(v_state *st, __m256i a, __m256i b)
{
    if (_mm256_movemask_epi8(_mm256_or_si256(a, b)) == 0) {
        /* ASCII: fine unless the previous block left a sequence open. */
        st->err = _mm256_or_si256(st->err, st->incomplete);
        st->incomplete = _mm256_setzero_si256();
    } else {
        st->err = _mm256_or_si256(st->err, check_vec(a, st->prev));
        st->err = _mm256_or_si256(st->err, check_vec(b, a));
        st->incomplete = unfinished(b);
    }
    st->prev = b;
    return !_mm256_testz_si256(st->err, st->err);
}

/* The final 0..63 bytes, zero-padded: an open sequence then meets a 0 and
 * shows as an error, which sends the caller to the exact scalar pass. */
static inline int step_tail(v_state *st, const uint8_t *p, size_t n)
{
    uint8_t buf[64] = {0};
    if (n)   /* p may be NULL when the input is empty */
        memcpy(buf, p, n);
    return step(st, _mm256_loadu_si256((const __m256i *)buf),
                _mm256_loadu_si256((const __m256i *)(buf + 32)));
}

static inline void state_init(v_state *st)
{
    st->prev = _mm256_setzero_si256();
    st->incomplete = _mm256_setzero_si256();
    st->err = _mm256_setzero_si256();
}

/* Feed 128 bytes (four vectors) and test once; nonzero on an error, which
 * the caller then locates from before all four. A pure-ASCII run with no
 * sequence left open is skipped; otherwise the lookups on the first vector
 * catch a sequence the previous block left open. */
static inline int step128(v_state *st, __m256i a, __m256i b, __m256i c, __m256i d)
{
    __m256i all = _mm256_or_si256(_mm256_or_si256(a, b), _mm256_or_si256(c, d));
    if (_mm256_movemask_epi8(all) == 0 && _mm256_testz_si256(st->incomplete, st->incomplete)) {
        st->prev = d;
        return 0;
    }
    __m256i e = _mm256_or_si256(check_vec(a, st->prev), check_vec(b, a));
    e = _mm256_or_si256(e, _mm256_or_si256(check_vec(c, b), check_vec(d, c)));
    st->incomplete = unfinished(d);
    st->prev = d;
    return !_mm256_testz_si256(e, e);
}

int wsf_utf8_check_avx2(const uint8_t *s, size_t len, size_t *pos)
{
    if (len == 0)   /* s may be NULL; s + 0 would be UB */
        return WSF_UTF8_OK;
    v_state st;
    state_init(&st);
    size_t i = 0;

    for (; i + 128 <= len; i += 128) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(s + i));
        __m256i b = _mm256_loadu_si256((const __m256i *)(s + i + 32));
        __m256i c = _mm256_loadu_si256((const __m256i *)(s + i + 64));
        __m256i d = _mm256_loadu_si256((const __m256i *)(s + i + 96));
        if (step128(&st, a, b, c, d))
            return wsf_utf8_scalar_from(s, len, wsf_utf8_restart(s, i), pos);
    }
    for (; i + 64 <= len; i += 64) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(s + i));
        __m256i b = _mm256_loadu_si256((const __m256i *)(s + i + 32));
        if (step(&st, a, b))
            return wsf_utf8_scalar_from(s, len, wsf_utf8_restart(s, i), pos);
    }
    if (step_tail(&st, s + i, len - i))
        return wsf_utf8_scalar_from(s, len, wsf_utf8_restart(s, i), pos);
    return WSF_UTF8_OK;
}

int wsf_unmask_utf8_check_avx2(uint8_t *dst, const uint8_t *src, size_t len,
                               const uint8_t key[4], size_t phase, size_t *pos)
{
    if (len == 0)
        return WSF_UTF8_OK;
    /* Each block is unmasked, stored and validated while in registers. */
    const __m256i k = _mm256_set1_epi64x((long long)wsf_key64(key, phase));
    v_state st;
    state_init(&st);
    size_t i = 0;

    for (; i + 128 <= len; i += 128) {
        __m256i a = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(src + i)), k);
        __m256i b = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(src + i + 32)), k);
        __m256i c = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(src + i + 64)), k);
        __m256i d = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(src + i + 96)), k);
        _mm256_storeu_si256((__m256i *)(dst + i), a);
        _mm256_storeu_si256((__m256i *)(dst + i + 32), b);
        _mm256_storeu_si256((__m256i *)(dst + i + 64), c);
        _mm256_storeu_si256((__m256i *)(dst + i + 96), d);
        if (step128(&st, a, b, c, d)) {
            /* Finish dst first (the contract), then find the exact spot. */
            wsf_mask_avx2(dst + i + 128, src + i + 128, len - i - 128, key, phase);
            return wsf_utf8_scalar_from(dst, len, wsf_utf8_restart(dst, i), pos);
        }
    }
    for (; i + 64 <= len; i += 64) {
        __m256i a = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(src + i)), k);
        __m256i b = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(src + i + 32)), k);
        _mm256_storeu_si256((__m256i *)(dst + i), a);
        _mm256_storeu_si256((__m256i *)(dst + i + 32), b);
        if (step(&st, a, b)) {
            /* Finish dst first (the contract), then find the exact spot. */
            wsf_mask_avx2(dst + i + 64, src + i + 64, len - i - 64, key, phase + i + 64);
            return wsf_utf8_scalar_from(dst, len, wsf_utf8_restart(dst, i), pos);
        }
    }
    /* i is a multiple of 64, so the tail's key phase is `phase` again. */
    wsf_mask_avx2(dst + i, src + i, len - i, key, phase);
    if (step_tail(&st, dst + i, len - i))
        return wsf_utf8_scalar_from(dst, len, wsf_utf8_restart(dst, i), pos);
    return WSF_UTF8_OK;
}
#endif
