/*
 * Portable masking (RFC 6455 section 5.3): 64-bit words, 32 bytes per
 * iteration, memcpy loads and stores so unaligned buffers are fine and
 * there is no aliasing undefined behaviour. Only the last < 8 bytes go
 * byte by byte.
 */
#include "wsf_internal.h"

void wsf_mask_generic(uint8_t *dst, const uint8_t *src, size_t len,
                      const uint8_t key[4], size_t phase)
{
    /* RFC 6455 5.3: transformed-octet-i = original-octet-i XOR
     * masking-key-octet-j, j = i MOD 4. Rotate the key once so that word
     * lane 0 lines up with src[0]; a word is 8 bytes, a multiple of 4, so the
     * same 64-bit key serves every word. */
    const uint64_t k = wsf_key64(key, phase);
    size_t i = 0;

    for (; i + 32 <= len; i += 32) {
        /* Four independent loads before the stores: lets the compiler keep
         * them in flight together and stays correct when dst == src. */
        uint64_t a = wsf_load64(src + i);
        uint64_t b = wsf_load64(src + i + 8);
        uint64_t c = wsf_load64(src + i + 16);
        uint64_t d = wsf_load64(src + i + 24);
        wsf_store64(dst + i, a ^ k);
        wsf_store64(dst + i + 8, b ^ k);
        wsf_store64(dst + i + 16, c ^ k);
        wsf_store64(dst + i + 24, d ^ k);
    }
    for (; i + 8 <= len; i += 8)
        wsf_store64(dst + i, wsf_load64(src + i) ^ k);
    /* Tail: i is a multiple of 8, so byte i has key phase `phase` again. */
    for (size_t j = 0; i < len; i++, j++)
        dst[i] = (uint8_t)(src[i] ^ wsf_key_byte(k, j));
}
