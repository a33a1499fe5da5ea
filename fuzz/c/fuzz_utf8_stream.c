/*
 * libFuzzer harness: streaming UTF-8 validation (wsf_utf8_stream_feed and
 * wsf_utf8_stream_feed_unmask) over text split at fuzzed points, at every
 * kernel level. Against the one-shot reference on the whole text: an error
 * is reported exactly once the bad sequence can no longer be completed
 * (never before its first byte was fed), at the same absolute position; a
 * merely unfinished code point fails only at final; errors are sticky.
 * Input: key (4), phase (1), number of cuts n (1), n cut lengths (1 each),
 * then the text.
 */
#include "fuzz_support.h"

static void run(const char *level, int unmask, const uint8_t *text, size_t len, const uint8_t *cuts, size_t ncuts,
                const uint8_t key[4], size_t phase0)
{
    size_t want_pos = 0;
    int want = ref_utf8_check(text, len, &want_pos);
    wsf_utf8_stream st;
    wsf_utf8_stream_init(&st);
    size_t off = 0, c = 0;
    uint64_t pos = 0;
    int got = WSF_UTF8_OK;
    while (off < len || c <= ncuts) {
        size_t piece = c < ncuts ? cuts[c] : len - off;
        if (piece > len - off)
            piece = len - off;
        int final = c >= ncuts;
        c++;
        /* Exactly sized chunk: overreads past the piece are caught. */
        uint8_t *chunk = fuzz_dup(text + off, piece);
        if (unmask) {
            uint8_t *masked = fuzz_dup(text + off, piece);
            ref_mask(masked, text + off, piece, key, phase0 + off);
            got = wsf_utf8_stream_feed_unmask(&st, chunk, masked, piece, key, phase0 + off, final, &pos);
            FUZZ_CHECK(memcmp(chunk, text + off, piece) == 0, "unmasked output, level %s", level);
            free(masked);
        } else {
            got = wsf_utf8_stream_feed(&st, chunk, piece, final, &pos);
        }
        free(chunk);
        off += piece;
        if (got != WSF_UTF8_OK) {
            FUZZ_CHECK(want != WSF_UTF8_OK, "level %s unmask %d: error at %llu in valid text", level, unmask,
                       (unsigned long long)pos);
            FUZZ_CHECK(pos == want_pos, "level %s unmask %d: error at %llu, want %zu", level, unmask,
                       (unsigned long long)pos, want_pos);
            FUZZ_CHECK(pos < off, "error reported before its byte was fed");
            FUZZ_CHECK(want == WSF_UTF8_INVALID || final, "an unfinished code point failed before final");
            uint64_t again = 0;
            FUZZ_CHECK(wsf_utf8_stream_feed(&st, (const uint8_t *)"a", 1, 0, &again) == WSF_UTF8_INVALID && again == pos,
                       "error not sticky");
            return;
        }
        if (final)
            break;
    }
    FUZZ_CHECK(want == WSF_UTF8_OK, "level %s unmask %d: missed error %d at %zu (len %zu)", level, unmask, want, want_pos, len);
    FUZZ_CHECK(st.consumed == len, "consumed %llu of %zu", (unsigned long long)st.consumed, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 6)
        return 0;
    const uint8_t *key = data;
    size_t phase = data[4];
    size_t ncuts = data[5] % 16;
    if (size < 6 + ncuts)
        return 0;
    const uint8_t *cuts = data + 6;
    const uint8_t *text = data + 6 + ncuts;
    size_t len = size - 6 - ncuts;

    const char *levels[FUZZ_MAX_LEVELS];
    int n = fuzz_levels(levels);
    for (int l = 0; l < n; l++) {
        fuzz_use_level(levels[l]);
        run(levels[l], 0, text, len, cuts, ncuts, key, phase);
        run(levels[l], 1, text, len, cuts, ncuts, key, phase);
    }
    return 0;
}
