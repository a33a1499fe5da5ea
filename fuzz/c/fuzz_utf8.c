/*
 * libFuzzer harness: one-shot UTF-8 validation (wsf_utf8_check) and the
 * fused unmask+validate (wsf_unmask_utf8_check) at every kernel level,
 * against the reference of fuzz_support.h: same result (OK / INCOMPLETE /
 * INVALID) and same position (CPython's UnicodeDecodeError.start).
 * Input: key (4 bytes), phase (1 byte), then the text.
 */
#include "fuzz_support.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 5)
        return 0;
    const uint8_t *key = data;
    size_t phase = data[4] & 3;
    const uint8_t *text = data + 5;
    size_t len = size - 5;

    size_t want_pos = 0;
    int want = ref_utf8_check(text, len, &want_pos);
    uint8_t *s = fuzz_dup(text, len);
    uint8_t *masked = fuzz_dup(text, len);
    uint8_t *dst = fuzz_dup(text, len);
    ref_mask(masked, text, len, key, phase);

    const char *levels[FUZZ_MAX_LEVELS];
    int n = fuzz_levels(levels);
    for (int l = 0; l < n; l++) {
        fuzz_use_level(levels[l]);
        size_t pos = (size_t)-1;
        int got = wsf_utf8_check(s, len, &pos);
        FUZZ_CHECK(got == want && (got == WSF_UTF8_OK || pos == want_pos),
                   "check, level %s: got %d at %zu, want %d at %zu (len %zu)", levels[l], got, pos, want, want_pos, len);

        memset(dst, 0x5A, len);
        pos = (size_t)-1;
        got = wsf_unmask_utf8_check(dst, masked, len, key, phase, &pos);
        FUZZ_CHECK(memcmp(dst, text, len) == 0, "fused unmask output, level %s", levels[l]);
        FUZZ_CHECK(got == want && (got == WSF_UTF8_OK || pos == want_pos),
                   "fused, level %s: got %d at %zu, want %d at %zu", levels[l], got, pos, want, want_pos);

        /* In place (dst == src), as the parser does on its own buffer. */
        memcpy(dst, masked, len);
        pos = (size_t)-1;
        got = wsf_unmask_utf8_check(dst, dst, len, key, phase, &pos);
        FUZZ_CHECK(memcmp(dst, text, len) == 0, "fused in place output, level %s", levels[l]);
        FUZZ_CHECK(got == want && (got == WSF_UTF8_OK || pos == want_pos), "fused in place, level %s", levels[l]);
    }
    free(s);
    free(masked);
    free(dst);
    return 0;
}
