/*
 * Incremental UTF-8 validation across chunks (a fragmented text message,
 * RFC 6455 section 8.1: fail fast as soon as the bytes are known invalid).
 *
 * At most 3 bytes are carried between calls: the valid prefix of a code
 * point cut by the chunk end. A new chunk first completes that code point,
 * then the rest goes through the dispatched one-shot kernel.
 */
#include "wsf_internal.h"

void wsf_utf8_stream_init(wsf_utf8_stream *st)
{
    memset(st, 0, sizeof *st);
}

static int stream_fail(wsf_utf8_stream *st, uint64_t at, uint64_t *pos)
{
    st->failed = 1;
    st->error_pos = at;
    st->ncarry = 0;
    *pos = at;
    return WSF_UTF8_INVALID;
}

/* Complete the carried code point with the first bytes of s. Returns the
 * number of bytes of s used, or (size_t)-1 after recording an error. */
static size_t complete_carry(wsf_utf8_stream *st, const uint8_t *s, size_t len,
                             uint64_t base, uint64_t *pos)
{
    uint8_t tmp[4];
    size_t have = st->ncarry;
    size_t need = (size_t)wsf_utf8_seq_len(st->carry[0]) - have;
    size_t take = len < need ? len : need;
    uint64_t start = base - have;   /* absolute position of the lead byte */
    size_t p = 0;

    memcpy(tmp, st->carry, have);
    if (take)   /* s may be NULL when len == 0 */
        memcpy(tmp + have, s, take);
    int r = wsf_utf8_scalar_from(tmp, have + take, 0, &p);
    if (r == WSF_UTF8_INVALID) {
        stream_fail(st, start + p, pos);
        return (size_t)-1;
    }
    if (r == WSF_UTF8_INCOMPLETE) {   /* chunk too short: still a prefix */
        memcpy(st->carry, tmp, have + take);
        st->ncarry = (uint8_t)(have + take);
    } else {
        st->ncarry = 0;
    }
    return take;
}

/* Validate s[0, len) after the carry is settled; base = absolute offset of
 * s[0]. Keeps a trailing valid prefix as the new carry. */
static int feed_rest(wsf_utf8_stream *st, const uint8_t *s, size_t len,
                     uint64_t base, uint64_t *pos)
{
    size_t p = 0;
    int r = wsf_utf8_impl(s, len, &p);
    if (r == WSF_UTF8_INVALID)
        return stream_fail(st, base + p, pos);
    if (r == WSF_UTF8_INCOMPLETE) {
        st->ncarry = (uint8_t)(len - p);   /* 1..3 by the kernel contract */
        memcpy(st->carry, s + p, len - p);
    }
    return WSF_UTF8_OK;
}

/* Shared ending: account the bytes, and on `final` turn a carry into an
 * error at the carried sequence's lead byte (as decode() would report). */
static int finish(wsf_utf8_stream *st, int r, int final, uint64_t *pos)
{
    if (r != WSF_UTF8_OK)
        return r;
    if (final && st->ncarry)
        return stream_fail(st, st->consumed - st->ncarry, pos);
    return WSF_UTF8_OK;
}

int wsf_utf8_stream_feed(wsf_utf8_stream *st, const uint8_t *s, size_t len,
                         int final, uint64_t *pos)
{
    if (st->failed) {
        *pos = st->error_pos;
        return WSF_UTF8_INVALID;
    }
    uint64_t base = st->consumed;
    st->consumed += len;
    size_t used = 0;
    int r = WSF_UTF8_OK;

    if (st->ncarry) {
        used = complete_carry(st, s, len, base, pos);
        if (used == (size_t)-1)
            return WSF_UTF8_INVALID;
    }
    if (!st->ncarry && used < len)
        r = feed_rest(st, s + used, len - used, base + used, pos);
    return finish(st, r, final, pos);
}

int wsf_utf8_stream_feed_unmask(wsf_utf8_stream *st, uint8_t *dst, const uint8_t *src,
                                size_t len, const uint8_t key[4], size_t phase,
                                int final, uint64_t *pos)
{
    if (st->failed) {
        wsf_mask_impl(dst, src, len, key, phase);
        *pos = st->error_pos;
        return WSF_UTF8_INVALID;
    }
    uint64_t base = st->consumed;
    st->consumed += len;
    size_t used = 0;
    int r = WSF_UTF8_OK;

    if (st->ncarry) {
        /* Unmask exactly the bytes that complete the carried code point
         * (no more: in place, unmasking twice would undo it). */
        size_t need = (size_t)wsf_utf8_seq_len(st->carry[0]) - st->ncarry;
        size_t head = len < need ? len : need;
        wsf_mask_impl(dst, src, head, key, phase);
        used = complete_carry(st, dst, head, base, pos);
        if (used == (size_t)-1) {
            wsf_mask_impl(dst + head, src + head, len - head, key, phase + head);
            return WSF_UTF8_INVALID;
        }
    }
    if (st->ncarry || used >= len) {
        /* Nothing left to validate; make sure all of dst is written. */
        if (used < len)
            wsf_mask_impl(dst + used, src + used, len - used, key, phase + used);
        return finish(st, r, final, pos);
    }
    size_t p = 0;
    r = wsf_unmask_utf8_impl(dst + used, src + used, len - used, key, phase + used, &p);
    if (r == WSF_UTF8_INVALID) {
        r = stream_fail(st, base + used + p, pos);
    } else if (r == WSF_UTF8_INCOMPLETE) {
        st->ncarry = (uint8_t)(len - used - p);
        memcpy(st->carry, dst + used + p, st->ncarry);
        r = WSF_UTF8_OK;
    }
    return finish(st, r, final, pos);
}
