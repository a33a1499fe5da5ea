/*
 * libFuzzer harness: wsf_mask at every kernel level the CPU supports, copy
 * and in place, every key phase, against the byte-at-a-time reference
 * (RFC 6455 section 5.3). Buffers are exactly sized, so AddressSanitizer
 * catches any access outside [p, p + len), including SIMD tails.
 * Input: key (4 bytes), phase (1 byte), then the payload.
 */
#include "fuzz_support.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 5)
        return 0;
    const uint8_t *key = data;
    size_t phase = data[4];
    const uint8_t *payload = data + 5;
    size_t len = size - 5;

    uint8_t *src = fuzz_dup(payload, len);
    uint8_t *want = fuzz_dup(payload, len);
    uint8_t *got = fuzz_dup(payload, len);
    ref_mask(want, payload, len, key, phase);

    const char *levels[FUZZ_MAX_LEVELS];
    int n = fuzz_levels(levels);
    for (int l = 0; l < n; l++) {
        fuzz_use_level(levels[l]);
        memset(got, 0xA5, len);
        wsf_mask(got, src, len, key, phase);
        FUZZ_CHECK(memcmp(got, want, len) == 0, "copy, level %s, len %zu, phase %zu", levels[l], len, phase);
        FUZZ_CHECK(memcmp(src, payload, len) == 0, "source modified, level %s", levels[l]);
        memcpy(got, payload, len);
        wsf_mask(got, got, len, key, phase);
        FUZZ_CHECK(memcmp(got, want, len) == 0, "in place, level %s, len %zu, phase %zu", levels[l], len, phase);
    }
    free(src);
    free(want);
    free(got);
    return 0;
}
