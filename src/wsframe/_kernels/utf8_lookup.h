/*
 * The three nibble tables of the lookup validator (Keiser & Lemire,
 * "Validating UTF-8 In Less Than One Instruction Per Byte", 2021), shared
 * by the AVX2 and AVX-512 kernels.
 *
 * For every pair (previous byte, current byte) each table maps one nibble
 * to the set of error classes that nibble allows; an error class is present
 * in the pair when all three sets contain it:
 *   T_PREV_HIGH[prev >> 4] & T_PREV_LOW[prev & 15] & T_CUR_HIGH[cur >> 4].
 * The classes follow RFC 3629 section 4 (well-formed sequences):
 */
#ifndef WSF_UTF8_LOOKUP_H
#define WSF_UTF8_LOOKUP_H

#define E_TOO_SHORT 0x01  /* lead byte, then no continuation: 11xxxxxx 0xxxxxxx|11xxxxxx */
#define E_TOO_LONG 0x02   /* ASCII, then a continuation: 0xxxxxxx 10xxxxxx */
#define E_OVERLONG3 0x04  /* E0 80..9F */
#define E_TOO_LARGE 0x08  /* F4 90..BF, F5..FF 90..BF: above U+10FFFF */
#define E_SURROGATE 0x10  /* ED A0..BF: U+D800..U+DFFF */
#define E_OVERLONG2 0x20  /* C0, C1 then a continuation */
#define E_LARGE_OR_OVERLONG4 0x40  /* F5..FF 80..8F, or F0 80..8F */
#define E_TWO_CONTS 0x80  /* continuation, then continuation: an error unless
                           * the second must be a 3rd/4th byte (checked apart) */

/* Classes decided by the high nibbles alone: every low nibble allows them. */
#define E_ANY_LOW (E_TOO_SHORT | E_TOO_LONG | E_TWO_CONTS)

/* Indexed by the previous byte's high nibble. */
#define T_PREV_HIGH                                                                 \
    E_TOO_LONG, E_TOO_LONG, E_TOO_LONG, E_TOO_LONG, /* 0-3: ASCII */                  \
    E_TOO_LONG, E_TOO_LONG, E_TOO_LONG, E_TOO_LONG, /* 4-7: ASCII */                  \
    E_TWO_CONTS, E_TWO_CONTS, E_TWO_CONTS, E_TWO_CONTS, /* 8-B: continuation */       \
    E_TOO_SHORT | E_OVERLONG2,                      /* C: 2-byte lead, C0/C1 */       \
    E_TOO_SHORT,                                    /* D: 2-byte lead */              \
    E_TOO_SHORT | E_OVERLONG3 | E_SURROGATE,        /* E: 3-byte lead */              \
    E_TOO_SHORT | E_TOO_LARGE | E_LARGE_OR_OVERLONG4 /* F: 4-byte lead or F5+ */

/* Indexed by the previous byte's low nibble. */
#define T_PREV_LOW                                                                  \
    E_ANY_LOW | E_OVERLONG3 | E_OVERLONG2 | E_LARGE_OR_OVERLONG4, /* 0: C0 E0 F0 */   \
    E_ANY_LOW | E_OVERLONG2,                                      /* 1: C1 */         \
    E_ANY_LOW, E_ANY_LOW,                                         /* 2-3 */           \
    E_ANY_LOW | E_TOO_LARGE,                                      /* 4: F4 */         \
    E_ANY_LOW | E_TOO_LARGE | E_LARGE_OR_OVERLONG4,               /* 5: F5 */         \
    E_ANY_LOW | E_TOO_LARGE | E_LARGE_OR_OVERLONG4,                                   \
    E_ANY_LOW | E_TOO_LARGE | E_LARGE_OR_OVERLONG4,                                   \
    E_ANY_LOW | E_TOO_LARGE | E_LARGE_OR_OVERLONG4,                                   \
    E_ANY_LOW | E_TOO_LARGE | E_LARGE_OR_OVERLONG4,                                   \
    E_ANY_LOW | E_TOO_LARGE | E_LARGE_OR_OVERLONG4,                                   \
    E_ANY_LOW | E_TOO_LARGE | E_LARGE_OR_OVERLONG4,                                   \
    E_ANY_LOW | E_TOO_LARGE | E_LARGE_OR_OVERLONG4,               /* C */             \
    E_ANY_LOW | E_TOO_LARGE | E_LARGE_OR_OVERLONG4 | E_SURROGATE, /* D: ED */         \
    E_ANY_LOW | E_TOO_LARGE | E_LARGE_OR_OVERLONG4,                                   \
    E_ANY_LOW | E_TOO_LARGE | E_LARGE_OR_OVERLONG4                /* F */

/* Indexed by the current byte's high nibble. */
#define T_CUR_HIGH                                                                  \
    E_TOO_SHORT, E_TOO_SHORT, E_TOO_SHORT, E_TOO_SHORT, /* 0-3: ASCII */              \
    E_TOO_SHORT, E_TOO_SHORT, E_TOO_SHORT, E_TOO_SHORT, /* 4-7: ASCII */              \
    /* 8: 80..8F */                                                                   \
    E_TOO_LONG | E_OVERLONG2 | E_TWO_CONTS | E_OVERLONG3 | E_LARGE_OR_OVERLONG4,      \
    /* 9: 90..9F */                                                                   \
    E_TOO_LONG | E_OVERLONG2 | E_TWO_CONTS | E_OVERLONG3 | E_TOO_LARGE,               \
    /* A-B: A0..BF */                                                                 \
    E_TOO_LONG | E_OVERLONG2 | E_TWO_CONTS | E_SURROGATE | E_TOO_LARGE,               \
    E_TOO_LONG | E_OVERLONG2 | E_TWO_CONTS | E_SURROGATE | E_TOO_LARGE,               \
    E_TOO_SHORT, E_TOO_SHORT, E_TOO_SHORT, E_TOO_SHORT /* C-F: leads */

/* Restart point for the exact scalar pass when a SIMD block at `at` shows an
 * error: everything before `at` passed, so the last byte in [at-3, at) that
 * is not a continuation starts a code point; with none, `at` does. */
static inline size_t wsf_utf8_restart(const uint8_t *s, size_t at)
{
    for (size_t j = 1; j <= 3 && j <= at; j++)
        if ((s[at - j] & 0xC0) != 0x80)
            return at - j;
    return at;
}

#endif /* WSF_UTF8_LOOKUP_H */
