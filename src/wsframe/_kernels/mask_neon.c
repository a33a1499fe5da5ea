/*
 * Masking with NEON (RFC 6455 section 5.3), the aarch64 baseline: 16-byte
 * vectors, 64 bytes per iteration; the last < 16 bytes by the word code.
 * Little-endian aarch64 only (every mainstream OS); elsewhere nothing.
 */
#include "wsf_internal.h"

#if WSF_NEON
#include <arm_neon.h>

void wsf_mask_neon(uint8_t *dst, const uint8_t *src, size_t len,
                   const uint8_t key[4], size_t phase)
{
    /* Rotate the key once; lane bytes match memory order on little-endian. */
    const uint8x16_t k = vreinterpretq_u8_u64(vdupq_n_u64(wsf_key64(key, phase)));
    size_t i = 0;
    for (; i + 64 <= len; i += 64) {
        uint8x16_t a = vld1q_u8(src + i);
        uint8x16_t b = vld1q_u8(src + i + 16);
        uint8x16_t c = vld1q_u8(src + i + 32);
        uint8x16_t d = vld1q_u8(src + i + 48);
        vst1q_u8(dst + i, veorq_u8(a, k));
        vst1q_u8(dst + i + 16, veorq_u8(b, k));
        vst1q_u8(dst + i + 32, veorq_u8(c, k));
        vst1q_u8(dst + i + 48, veorq_u8(d, k));
    }
    for (; i + 16 <= len; i += 16)
        vst1q_u8(dst + i, veorq_u8(vld1q_u8(src + i), k));
    /* i is a multiple of 16, so the tail's key phase is `phase` again. */
    wsf_mask_generic(dst + i, src + i, len - i, key, phase);
}
#endif
