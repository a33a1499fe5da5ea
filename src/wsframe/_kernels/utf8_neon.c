/*
 * UTF-8 validation with NEON (aarch64): the lookup algorithm of Keiser &
 * Lemire (2021) as in utf8_avx2.c, on 16-byte vectors, 64 bytes per step.
 * tbl does the nibble lookups (tables in utf8_lookup.h), ext supplies the
 * 1-3 bytes before each vector, and a horizontal max (umaxv) tests for
 * non-ASCII bytes and for errors. On an error, or an unfinished sequence at
 * the end, the exact scalar pass restarts just before the failing block.
 */
#include "wsf_internal.h"

#if WSF_NEON
#include <arm_neon.h>

#include "utf8_lookup.h"

static const uint8_t t_prev_high[16] = {T_PREV_HIGH};
static const uint8_t t_prev_low[16] = {T_PREV_LOW};
static const uint8_t t_cur_high[16] = {T_CUR_HIGH};
/* 0xFF everywhere but the last three bytes: EF, DF, BF. */
static const uint8_t tail_max[16] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                     0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xEF, 0xDF, 0xBF};

typedef struct {
    uint8x16_t prev;   /* the previous 16 input bytes */
    int incomplete;    /* the previous block ended mid-sequence */
} v_state;

static inline uint8x16_t check_vec(uint8x16_t in, uint8x16_t prev)
{
    uint8x16_t prev1 = vextq_u8(prev, in, 15);
    uint8x16_t prev2 = vextq_u8(prev, in, 14);
    uint8x16_t prev3 = vextq_u8(prev, in, 13);
    uint8x16_t c = vqtbl1q_u8(vld1q_u8(t_prev_high), vshrq_n_u8(prev1, 4));
    c = vandq_u8(c, vqtbl1q_u8(vld1q_u8(t_prev_low), vandq_u8(prev1, vdupq_n_u8(0x0F))));
    c = vandq_u8(c, vqtbl1q_u8(vld1q_u8(t_cur_high), vshrq_n_u8(in, 4)));
    /* 3rd byte after an E0+ lead or 4th after an F0+ lead must be a
     * continuation; XOR cancels the matching E_TWO_CONTS (see utf8_avx2.c). */
    uint8x16_t third = vqsubq_u8(prev2, vdupq_n_u8(0xE0 - 0x80));
    uint8x16_t fourth = vqsubq_u8(prev3, vdupq_n_u8(0xF0 - 0x80));
    uint8x16_t must = vandq_u8(vorrq_u8(third, fourth), vdupq_n_u8(0x80));
    return veorq_u8(c, must);
}

/* Feed one 64-byte block as four vectors; nonzero on an error (callers stop
 * at the first). A pure-ASCII block is only an error after a sequence the
 * previous block left open; otherwise the checks on `a` catch that. */
static inline int step(v_state *st, uint8x16_t a, uint8x16_t b, uint8x16_t c, uint8x16_t d)
{
    uint8x16_t all = vorrq_u8(vorrq_u8(a, b), vorrq_u8(c, d));
    if (vmaxvq_u8(all) < 0x80) {
        int bad = st->incomplete;
        st->incomplete = 0;
        st->prev = d;
        return bad;
    }
    uint8x16_t e = vorrq_u8(check_vec(a, st->prev), check_vec(b, a));
    e = vorrq_u8(e, vorrq_u8(check_vec(c, b), check_vec(d, c)));
    st->incomplete = vmaxvq_u8(vqsubq_u8(d, vld1q_u8(tail_max))) != 0;
    st->prev = d;
    return vmaxvq_u8(e) != 0;
}

static inline int step_at(v_state *st, const uint8_t *p)
{
    return step(st, vld1q_u8(p), vld1q_u8(p + 16), vld1q_u8(p + 32), vld1q_u8(p + 48));
}

/* The final 0..63 bytes, zero-padded: an open sequence then meets a 0. */
static inline int step_tail(v_state *st, const uint8_t *p, size_t n)
{
    uint8_t buf[64] = {0};
    if (n)
        memcpy(buf, p, n);
    return step_at(st, buf);
}

static inline void state_init(v_state *st)
{
    st->prev = vdupq_n_u8(0);
    st->incomplete = 0;
}

int wsf_utf8_check_neon(const uint8_t *s, size_t len, size_t *pos)
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

int wsf_unmask_utf8_check_neon(uint8_t *dst, const uint8_t *src, size_t len,
                               const uint8_t key[4], size_t phase, size_t *pos)
{
    if (len == 0)
        return WSF_UTF8_OK;
    /* Each block is unmasked, stored and validated while in registers. */
    const uint8x16_t k = vreinterpretq_u8_u64(vdupq_n_u64(wsf_key64(key, phase)));
    v_state st;
    state_init(&st);
    size_t i = 0;
    for (; i + 64 <= len; i += 64) {
        uint8x16_t a = veorq_u8(vld1q_u8(src + i), k);
        uint8x16_t b = veorq_u8(vld1q_u8(src + i + 16), k);
        uint8x16_t c = veorq_u8(vld1q_u8(src + i + 32), k);
        uint8x16_t d = veorq_u8(vld1q_u8(src + i + 48), k);
        vst1q_u8(dst + i, a);
        vst1q_u8(dst + i + 16, b);
        vst1q_u8(dst + i + 32, c);
        vst1q_u8(dst + i + 48, d);
        if (step(&st, a, b, c, d)) {
            wsf_mask_neon(dst + i + 64, src + i + 64, len - i - 64, key, phase);
            return wsf_utf8_scalar_from(dst, len, wsf_utf8_restart(dst, i), pos);
        }
    }
    /* i is a multiple of 64, so the tail's key phase is `phase` again. */
    wsf_mask_neon(dst + i, src + i, len - i, key, phase);
    if (step_tail(&st, dst + i, len - i))
        return wsf_utf8_scalar_from(dst, len, wsf_utf8_restart(dst, i), pos);
    return WSF_UTF8_OK;
}
#endif
