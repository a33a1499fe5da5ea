# cython: language_level=3
"""Cython declarations of the C kernels (``_kernels/wsf_kernels.h``).

Only what ``_codec_c.pyx`` calls is declared; the header is the contract and
its comments say what each function guarantees. The kernels never call back
into Python, so they are all ``noexcept nogil``.
"""

from libc.stdint cimport uint8_t, uint64_t


cdef extern from "wsf_kernels.h" nogil:
    # ---- dispatch ----
    int wsf_dispatch_init(const char *force) noexcept
    const char *wsf_mask_kernel_name() noexcept
    const char *wsf_utf8_kernel_name() noexcept
    const char *wsf_supported_levels() noexcept

    # ---- masking (RFC 6455 section 5.3) ----
    void wsf_mask(uint8_t *dst, const uint8_t *src, size_t length,
                  const uint8_t *key, size_t phase) noexcept

    # ---- UTF-8 ----
    enum:
        WSF_UTF8_OK
        WSF_UTF8_INCOMPLETE
        WSF_UTF8_INVALID

    int wsf_utf8_check(const uint8_t *s, size_t length, size_t *pos) noexcept
    int wsf_unmask_utf8_check(uint8_t *dst, const uint8_t *src, size_t length,
                              const uint8_t *key, size_t phase, size_t *pos) noexcept

    ctypedef struct wsf_utf8_stream:
        uint64_t consumed
        uint8_t carry[4]
        uint8_t ncarry
        uint8_t failed
        uint64_t error_pos

    void wsf_utf8_stream_init(wsf_utf8_stream *st) noexcept
    int wsf_utf8_stream_feed(wsf_utf8_stream *st, const uint8_t *s, size_t length,
                             int final, uint64_t *pos) noexcept
    int wsf_utf8_stream_feed_unmask(wsf_utf8_stream *st, uint8_t *dst, const uint8_t *src,
                                    size_t length, const uint8_t *key, size_t phase,
                                    int final, uint64_t *pos) noexcept

    # ---- frame headers (RFC 6455 section 5.2) ----
    ctypedef struct wsf_header:
        uint64_t length
        uint8_t fin
        uint8_t rsv1
        uint8_t rsv2
        uint8_t rsv3
        uint8_t opcode
        uint8_t masked
        uint8_t mask[4]
        uint8_t size

    enum:
        WSF_HEADER_NEED_MORE
        WSF_HEADER_BAD_LENGTH

    int wsf_header_decode(const uint8_t *p, size_t n, wsf_header *h) noexcept
    size_t wsf_header_encode(uint8_t *out, const wsf_header *h) noexcept
