# cython: language_level=3
"""The compiled codec backend: Cython over the C kernels of ``_kernels/``.

Same API and behaviour as the pure-Python twin ``_codec_py`` (the contract is
``_codec_c.pyi``). The kernels do the byte loops (masking, UTF-8 validation,
header coding); this module does buffers, objects and the frame parser's
state machine, with the whole per-frame path in C.

Thread safety: module functions and independent objects are safe under
free-threaded CPython. One ``FrameParser`` or ``Utf8Validator`` instance is
for one thread at a time (like a socket), which is how a connection uses it
anyway. A call made while another thread is inside a method of the same
object raises RuntimeError instead of racing it (a busy flag, see
``_busy_enter``); nothing waits, and there is no lock on the hot path.
"""

cimport cython
from cpython.buffer cimport (
    PyBUF_FULL,
    PyBUF_SIMPLE,
    PyBUF_WRITABLE,
    PyBuffer_FromContiguous,
    PyBuffer_Release,
    PyBuffer_ToContiguous,
    PyObject_GetBuffer,
)
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE, _PyBytes_Resize
from cpython.list cimport PyList_Append
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.number cimport PyNumber_Index
from cpython.object cimport PyObject
from cpython.ref cimport Py_XDECREF
from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.stdint cimport uint8_t, uint64_t
from libc.string cimport memcpy, memset

import os

from wsframe import _reasons
from wsframe.enums import Opcode
from wsframe.errors import InvalidUTF8, MessageTooBig, ProtocolError


cdef extern from "Python.h":
    # Raw forms (PyObject* results, no Cython refcounting) for the buffers the
    # parser owns and resizes itself.
    PyObject *_bytes_new "PyBytes_FromStringAndSize"(const char *v, Py_ssize_t n)
    char *_bytes_ptr "PyBytes_AS_STRING"(PyObject *o)
    bint PyBytes_CheckExact(object o)
    bint PyByteArray_CheckExact(object o)
    char *PyByteArray_AS_STRING(object o)
    Py_ssize_t PyByteArray_GET_SIZE(object o)
    bint PyLong_Check(object o)
    bint PyLong_CheckExact(object o)
    Py_ssize_t PyLong_AsSsize_t(object o)
    PyObject *PyErr_Occurred()
    void PyErr_Clear()
    void Py_DECREF(PyObject *o)
    const Py_ssize_t PY_SSIZE_T_MAX


DEFAULT_MAX_FRAME_SIZE = 1 << 20
DEFAULT_MAX_MESSAGE_SIZE = 1 << 20
DEFAULT_MAX_FRAGMENTS = 1 << 17

# Payloads at least this long are masked with the GIL released.
cdef Py_ssize_t _NOGIL_THRESHOLD = 1 << 16

# RFC 6455 5.5: "All control frames MUST have a payload length of 125 bytes or less".
cdef uint64_t _MAX_CONTROL = 125

# Reason strings, bound once (see _reasons.py for the check order).
cdef object R_LENGTH_MSB = _reasons.LENGTH_MSB
cdef object R_RSV = _reasons.RSV_NOT_ALLOWED
cdef object R_RESERVED_OPCODE = _reasons.RESERVED_OPCODE
cdef object R_FRAGMENTED_CONTROL = _reasons.FRAGMENTED_CONTROL
cdef object R_CONTROL_TOO_LONG = _reasons.CONTROL_TOO_LONG
cdef object R_MUST_BE_MASKED = _reasons.MUST_BE_MASKED
cdef object R_MUST_NOT_BE_MASKED = _reasons.MUST_NOT_BE_MASKED
cdef object R_UNEXPECTED_CONTINUATION = _reasons.UNEXPECTED_CONTINUATION
cdef object R_EXPECTED_CONTINUATION = _reasons.EXPECTED_CONTINUATION
cdef object R_FRAME_TOO_BIG = _reasons.FRAME_TOO_BIG
cdef object R_MESSAGE_TOO_BIG = _reasons.MESSAGE_TOO_BIG
cdef object R_TOO_MANY_FRAGMENTS = _reasons.TOO_MANY_FRAGMENTS
cdef object R_INVALID_UTF8 = _reasons.INVALID_UTF8
cdef object R_CLOSE_ONE_BYTE = _reasons.CLOSE_ONE_BYTE
cdef object R_CLOSE_BAD_CODE = _reasons.CLOSE_BAD_CODE
cdef object R_CLOSE_BAD_REASON = _reasons.CLOSE_BAD_REASON
cdef object R_EOF_IN_FRAME = _reasons.EOF_IN_FRAME
cdef object R_EOF_IN_MESSAGE = _reasons.EOF_IN_MESSAGE
cdef object R_UTF8_INVALID = _reasons.UTF8_INVALID
cdef object R_UTF8_TRUNCATED = _reasons.UTF8_TRUNCATED
cdef object E_VALIDATOR_IN_USE = _reasons.IN_USE.format("Utf8Validator")
cdef object E_PARSER_IN_USE = _reasons.IN_USE.format("FrameParser")

# The 16 possible opcode values, preallocated so no enum call is made per
# frame: an Opcode member for defined opcodes, a plain int for reserved ones.
cdef tuple _OPCODES = tuple(
    Opcode(i) if i in Opcode._value2member_map_ else i for i in range(16)
)
cdef bytes _EMPTY = b""
cdef uint8_t _ZERO_KEY[4]
memset(_ZERO_KEY, 0, 4)
# A valid pointer for zero-length kernel calls (never NULL, even for 0 bytes).
cdef uint8_t _DUMMY[1]
_DUMMY[0] = 0


# ---- kernel dispatch ----------------------------------------------------------


cdef int _init_dispatch() except -1:
    """Pick the kernels at import; WSFRAME_FORCE_SIMD may force a level."""
    force = os.environ.get("WSFRAME_FORCE_SIMD")
    if not force:
        wsf_dispatch_init(NULL)
        return 0
    cdef bytes raw = force.encode("ascii", "replace")
    if wsf_dispatch_init(raw) != 0:
        raise ImportError(
            f"WSFRAME_FORCE_SIMD={force!r}: unknown level or not supported by this "
            f"CPU/build (supported: {_supported_text()})"
        )
    return 0


cdef str _supported_text():
    return (<bytes>wsf_supported_levels()).decode("ascii")


def kernel_info():
    """Kernels in use: {"mask": name, "utf8": name, "supported": [levels]}."""
    text = _supported_text()
    return {
        "mask": (<bytes>wsf_mask_kernel_name()).decode("ascii"),
        "utf8": (<bytes>wsf_utf8_kernel_name()).decode("ascii"),
        "supported": [level for level in text.split(",") if level],
    }


def _set_simd_level(name):
    """Switch every kernel to level ``name`` (tests run the suite at each level).

    For tests only, with no other thread using the codec: the kernel
    pointers are plain globals written one after another, so a concurrent
    call may run a mix of old and new levels (each kernel is correct on its
    own, but the switch is not atomic).

    Raises:
        ValueError: ``name`` is unknown or this CPU/build lacks that level.
    """
    cdef bytes raw = str(name).encode("ascii", "replace")
    if not raw or wsf_dispatch_init(raw) != 0:
        raise ValueError(f"SIMD level {name!r} is unknown or unsupported here (supported: {_supported_text()})")


_init_dispatch()


# ---- buffers ----------------------------------------------------------------


cdef struct _Buf:
    const uint8_t *ptr    # the bytes
    Py_ssize_t len
    bint held             # a buffer export to release
    Py_buffer view


cdef inline int _acquire(object obj, _Buf *b) except -1:
    """Get a flat read-only view of any buffer (copying a non-contiguous one).

    bytes take an inlined fast path with no buffer export (their storage is
    immutable and the caller holds a reference); anything else goes through
    the buffer protocol, which also keeps a bytearray from being resized
    meanwhile.
    """
    if PyBytes_CheckExact(obj):
        b.ptr = <const uint8_t *>PyBytes_AS_STRING(obj)
        b.len = PyBytes_GET_SIZE(obj)
        b.held = False
        return 0
    return _acquire_export(obj, b)


cdef int _acquire_export(object obj, _Buf *b) except -1:
    try:
        PyObject_GetBuffer(obj, &b.view, PyBUF_SIMPLE)
    except BufferError:
        # Not C-contiguous (strided or Fortran order): flatten in C order once;
        # the export of the copy keeps it alive until _release.
        flat = memoryview(obj).tobytes()
        PyObject_GetBuffer(flat, &b.view, PyBUF_SIMPLE)
    b.ptr = <const uint8_t *>b.view.buf
    b.len = b.view.len
    b.held = True
    return 0


cdef inline void _release(_Buf *b) noexcept:
    if b.held:
        b.held = False
        PyBuffer_Release(&b.view)


cdef inline int _key4(object mask, uint8_t *key) except -1:
    """Copy the 4-byte masking key into ``key`` (ValueError for another size)."""
    if PyBytes_CheckExact(mask) and PyBytes_GET_SIZE(mask) == 4:
        memcpy(key, PyBytes_AS_STRING(mask), 4)
        return 0
    return _key4_any(mask, key)


cdef int _key4_any(object mask, uint8_t *key) except -1:
    cdef _Buf view
    _acquire(mask, &view)
    try:
        if view.len != 4:
            raise ValueError(f"mask must be 4 bytes, got {view.len}")
        memcpy(key, view.ptr, 4)
    finally:
        _release(&view)
    return 0


cdef inline Py_ssize_t _phase(object offset) except -1:
    """Key phase of a stream offset (RFC 6455 5.3: octet i uses key octet i MOD 4)."""
    cdef Py_ssize_t v
    if PyLong_CheckExact(offset):
        v = PyLong_AsSsize_t(offset)
        if v >= 0:
            return v & 3
        if v == -1 and PyErr_Occurred():
            PyErr_Clear()  # beyond Py_ssize_t: the generic path below
    return _phase_any(offset)


cdef Py_ssize_t _phase_any(object offset) except -1:
    if not isinstance(offset, int):
        raise TypeError(f"offset must be an int, not {type(offset).__name__}")
    if offset < 0:
        raise ValueError("offset must be >= 0")
    return offset & 3


cdef inline void _mask_maybe_nogil(uint8_t *dst, const uint8_t *src, Py_ssize_t n,
                                   const uint8_t *key, size_t phase) noexcept:
    if n >= _NOGIL_THRESHOLD:
        with nogil:
            wsf_mask(dst, src, <size_t>n, key, phase)
    else:
        wsf_mask(dst, src, <size_t>n, key, phase)


# ---- masking (RFC 6455 section 5.3) --------------------------------------------


cdef extern from *:
    """
    /* Free-threaded CPython has no GIL to stop another thread resizing a
       bytearray mid-mask; there only a buffer export (which forbids the
       resize) makes reading its pointer safe, so the export-free fast path
       is compiled out. */
    #ifdef Py_GIL_DISABLED
    #define WSF_BYTEARRAY_FAST 0
    #else
    #define WSF_BYTEARRAY_FAST 1
    #endif
    """
    const bint WSF_BYTEARRAY_FAST


cdef object _OFFSET_ZERO = 0  # the default offset: an identity test skips int conversion


cdef inline bint _fast_key_phase(object mask, object offset, size_t *phase) noexcept:
    """Key phase for the common call shape, without touching Python errors.

    True only when ``mask`` is exactly a 4-byte bytes and ``offset`` is the
    default or an exact non-negative int that fits a Py_ssize_t; otherwise the
    caller takes its general path, which raises the same errors as before.
    """
    cdef Py_ssize_t v
    if not (PyBytes_CheckExact(mask) and PyBytes_GET_SIZE(mask) == 4):
        return False
    if offset is _OFFSET_ZERO:
        phase[0] = 0
        return True
    if PyLong_CheckExact(offset):
        v = PyLong_AsSsize_t(offset)
        if v >= 0:
            phase[0] = <size_t>(v & 3)
            return True
        if v == -1 and PyErr_Occurred():
            PyErr_Clear()
    return False


def apply_mask(data, mask, offset=0):
    """XOR ``data`` with the 4-byte ``mask`` starting at key phase ``offset % 4``.

    Args:
        data: any buffer, contiguous or not.
        mask: the 4-byte masking key.
        offset: position of ``data[0]`` in the masked stream (>= 0).

    Returns:
        The masked (or unmasked: XOR is its own inverse) bytes.

    Raises:
        TypeError: an argument is not a buffer, or offset is not an int.
        ValueError: ``mask`` is not 4 bytes or ``offset`` is negative.
    """
    cdef _Buf view
    cdef uint8_t key[4]
    cdef Py_ssize_t phase
    cdef bytes out
    cdef size_t ph
    cdef Py_ssize_t n
    # Fast path for small exact bytes/bytearray with a bytes key: no buffer
    # export, no error state to unwind. Small only, so the GIL is held
    # throughout and a bytearray cannot be resized under us.
    if _fast_key_phase(mask, offset, &ph):
        if PyBytes_CheckExact(data):
            n = PyBytes_GET_SIZE(data)
            if n < _NOGIL_THRESHOLD:
                out = PyBytes_FromStringAndSize(NULL, n)
                wsf_mask(<uint8_t *>PyBytes_AS_STRING(out), <const uint8_t *>PyBytes_AS_STRING(data),
                         <size_t>n, <const uint8_t *>PyBytes_AS_STRING(mask), ph)
                return out
        elif WSF_BYTEARRAY_FAST and PyByteArray_CheckExact(data):
            n = PyByteArray_GET_SIZE(data)
            if n < _NOGIL_THRESHOLD:
                out = PyBytes_FromStringAndSize(NULL, n)
                wsf_mask(<uint8_t *>PyBytes_AS_STRING(out), <const uint8_t *>PyByteArray_AS_STRING(data),
                         <size_t>n, <const uint8_t *>PyBytes_AS_STRING(mask), ph)
                return out
    _acquire(data, &view)
    try:
        _key4(mask, key)
        phase = _phase(offset)
        out = PyBytes_FromStringAndSize(NULL, view.len)
        _mask_maybe_nogil(<uint8_t *>PyBytes_AS_STRING(out), <const uint8_t *>view.ptr,
                          view.len, key, <size_t>phase)
    finally:
        _release(&view)
    return out


def apply_mask_inplace(buf, mask, offset=0):
    """Same as :func:`apply_mask`, written back into the writable buffer ``buf``.

    Non-contiguous writable buffers are masked through a contiguous copy that
    is written back.

    Raises:
        TypeError: ``buf`` is read-only or an argument is not a buffer.
        ValueError: ``mask`` is not 4 bytes or ``offset`` is negative.
    """
    cdef Py_buffer view
    cdef uint8_t key[4]
    cdef Py_ssize_t phase
    cdef uint8_t *tmp
    cdef size_t ph
    cdef Py_ssize_t n
    # Fast path for a small exact bytearray with a bytes key: no buffer export
    # (nothing runs Python code meanwhile, so it cannot be resized), GIL held.
    if WSF_BYTEARRAY_FAST and PyByteArray_CheckExact(buf) and _fast_key_phase(mask, offset, &ph):
        n = PyByteArray_GET_SIZE(buf)
        if n < _NOGIL_THRESHOLD:
            wsf_mask(<uint8_t *>PyByteArray_AS_STRING(buf), <const uint8_t *>PyByteArray_AS_STRING(buf),
                     <size_t>n, <const uint8_t *>PyBytes_AS_STRING(mask), ph)
            return None
    try:
        PyObject_GetBuffer(buf, &view, PyBUF_WRITABLE)
    except BufferError:
        pass
    else:
        try:
            _key4(mask, key)
            phase = _phase(offset)
            _mask_maybe_nogil(<uint8_t *>view.buf, <const uint8_t *>view.buf, view.len, key, <size_t>phase)
        finally:
            PyBuffer_Release(&view)
        return None
    # Read-only, or writable but not C-contiguous.
    if memoryview(buf).readonly:  # TypeError here for non-buffers
        raise TypeError("apply_mask_inplace needs a writable buffer")
    _key4(mask, key)
    phase = _phase(offset)
    PyObject_GetBuffer(buf, &view, PyBUF_FULL)
    try:
        tmp = <uint8_t *>PyMem_Malloc(view.len if view.len > 0 else 1)
        if tmp == NULL:
            raise MemoryError()
        try:
            PyBuffer_ToContiguous(tmp, &view, view.len, b'C')
            wsf_mask(tmp, tmp, <size_t>view.len, key, <size_t>phase)
            PyBuffer_FromContiguous(&view, tmp, view.len, b'C')
        finally:
            PyMem_Free(tmp)
    finally:
        PyBuffer_Release(&view)
    return None


# ---- one thread at a time per object ---------------------------------------------


cdef extern from *:
    """
    /* The busy flag of a stateful object, held for the whole of a call that
       reads or changes its state. The parser writes into buffers it owns with
       the GIL released; a second thread's call could reallocate or free them
       meanwhile (issue 19: SIGSEGV), so that call must fail instead.
       With the GIL, a plain test-and-set cannot be interleaved: no code in
       between can release it, and taking the GIL is a full barrier.
       Free-threaded CPython (3.13+, whose Python.h includes pyatomic.h) needs
       an atomic compare-exchange: one lock cmpxchg, uncontended. */
    #if defined(Py_GIL_DISABLED)
    static inline int wsf_busy_enter(int *flag) {
        int expected = 0;
        return _Py_atomic_compare_exchange_int(flag, &expected, 1);
    }
    static inline void wsf_busy_exit(int *flag) {
        _Py_atomic_store_int_release(flag, 0);
    }
    #else
    static inline int wsf_busy_enter(int *flag) {
        if (*flag) {
            return 0;
        }
        *flag = 1;
        return 1;
    }
    static inline void wsf_busy_exit(int *flag) {
        *flag = 0;
    }
    #endif
    """
    bint wsf_busy_enter(int *flag) noexcept
    void wsf_busy_exit(int *flag) noexcept


cdef inline int _busy_enter(int *flag, object message) except -1:
    """Take an object's busy flag, or raise RuntimeError(message) if another
    thread holds it (never waits); every success is paired with _busy_exit."""
    if not wsf_busy_enter(flag):
        raise RuntimeError(message)
    return 0


cdef inline void _busy_exit(int *flag) noexcept:
    wsf_busy_exit(flag)


# ---- UTF-8 ----------------------------------------------------------------------


cdef int _utf8_check(object data, size_t *pos) except -1:
    """wsf_utf8_check on any buffer (TypeError for non-buffers), without the
    GIL when it is large."""
    cdef _Buf view
    cdef int r
    _acquire(data, &view)
    if view.len >= _NOGIL_THRESHOLD:
        with nogil:
            r = wsf_utf8_check(view.ptr, <size_t>view.len, pos)
    else:
        r = wsf_utf8_check(view.ptr, <size_t>view.len, pos)
    _release(&view)
    return r


def validate_utf8(data):
    """Whether ``data`` is entirely valid UTF-8 (TypeError for non-buffers)."""
    cdef size_t pos = 0
    return _utf8_check(data, &pos) == WSF_UTF8_OK


def find_invalid_utf8(data):
    """Offset of the first invalid sequence, or -1 when ``data`` is valid UTF-8.

    The offset is ``UnicodeDecodeError.start`` of ``bytes(data).decode()``;
    input ending inside a code point is invalid at the start of that sequence.
    """
    cdef size_t pos = 0
    if _utf8_check(data, &pos) == WSF_UTF8_OK:
        return -1
    return <Py_ssize_t>pos


@cython.final
cdef class Utf8Validator:
    """Incremental, fail-fast UTF-8 validation across chunks.

    Raises InvalidUTF8 (close code 1007) as soon as the bytes fed so far cannot
    start valid UTF-8, with ``position`` counted across every feed. After an
    error, every call raises the same error until :meth:`reset`.
    One instance is for one thread at a time: a call while another thread is
    inside ``feed``/``reset`` raises RuntimeError (and changes nothing).
    """

    cdef wsf_utf8_stream _st
    cdef object _error
    cdef int _busy  # see _busy_enter

    def __init__(self):
        _busy_enter(&self._busy, E_VALIDATOR_IN_USE)
        wsf_utf8_stream_init(&self._st)
        self._error = None
        _busy_exit(&self._busy)

    def feed(self, data, final=False):
        """Validate one more chunk; ``final=True`` when no more bytes follow.

        Raises:
            InvalidUTF8: the stream is invalid (reason ``UTF8_INVALID``) or,
                with ``final``, ends inside a code point (``UTF8_TRUNCATED``).
            TypeError: ``data`` is not a buffer.
            RuntimeError: another thread is inside a call on this validator.
        """
        _busy_enter(&self._busy, E_VALIDATOR_IN_USE)
        try:
            self._feed(data, final)
        finally:
            _busy_exit(&self._busy)

    cdef int _feed(self, object data, bint final) except -1:
        cdef _Buf view
        cdef uint64_t pos = 0
        cdef int r
        if self._error is not None:
            raise self._error.with_traceback(None)
        _acquire(data, &view)
        if view.len >= _NOGIL_THRESHOLD:
            with nogil:
                r = wsf_utf8_stream_feed(&self._st, view.ptr, <size_t>view.len, 0, &pos)
        else:
            r = wsf_utf8_stream_feed(&self._st, view.ptr, <size_t>view.len, 0, &pos)
        _release(&view)
        if r != WSF_UTF8_OK:
            self._error = InvalidUTF8(R_UTF8_INVALID, pos)
            raise self._error
        if final and self._st.ncarry:
            # Ends inside a code point: the kernel records the error at the
            # carried sequence's lead byte and stays failed.
            wsf_utf8_stream_feed(&self._st, _DUMMY, 0, 1, &pos)
            self._error = InvalidUTF8(R_UTF8_TRUNCATED, pos)
            raise self._error
        return 0

    def reset(self):
        """Forget everything fed so far, including a stored error.

        Raises:
            RuntimeError: another thread is inside a call on this validator.
        """
        _busy_enter(&self._busy, E_VALIDATOR_IN_USE)
        wsf_utf8_stream_init(&self._st)
        self._error = None
        _busy_exit(&self._busy)

    @property
    def position(self):
        """Number of bytes fed so far."""
        return self._st.consumed

    @property
    def pending(self):
        """Bytes (0-3) of an unfinished code point carried to the next feed."""
        return self._st.ncarry


# ---- close payloads (RFC 6455 section 5.5.1) ------------------------------------


cdef inline bint _wire_close_code(unsigned int code) noexcept:
    """RFC 6455 7.4: 1000-1003 and 1007-1014 are defined; 3000-4999 are for
    libraries and applications; everything else may not be on the wire."""
    return (1000 <= code <= 1003) or (1007 <= code <= 1014) or (3000 <= code <= 4999)


cdef int _check_close(const uint8_t *p, size_t n) except -1:
    """Raise the error a received close payload deserves, if any."""
    cdef size_t pos = 0
    if n == 0:
        return 0
    if n == 1:
        # RFC 6455 5.5.1: if there is a body, its first two bytes are the code.
        raise ProtocolError(R_CLOSE_ONE_BYTE)
    if not _wire_close_code((<unsigned int>p[0] << 8) | p[1]):
        raise ProtocolError(R_CLOSE_BAD_CODE)
    # RFC 6455 5.5.1: the reason is UTF-8 encoded data.
    if wsf_utf8_check(p + 2, n - 2, &pos) != WSF_UTF8_OK:
        raise InvalidUTF8(R_CLOSE_BAD_REASON, <Py_ssize_t>pos + 2)
    return 0


def decode_close_payload(payload):
    """(code, reason) of a received close frame payload; (1005, "") if empty.

    Raises:
        ProtocolError: 1-byte payload or a code that may not be on the wire (1002).
        InvalidUTF8: a reason that is not UTF-8 (1007), ``position`` within the payload.
        TypeError: ``payload`` is not a buffer.
    """
    cdef _Buf view
    cdef const uint8_t *p
    cdef size_t n
    _acquire(payload, &view)
    try:
        p = <const uint8_t *>view.ptr
        n = <size_t>view.len
        if n == 0:
            return 1005, ""  # RFC 6455 7.1.5: no status code present
        _check_close(p, n)
        return (<int>p[0] << 8) | p[1], PyUnicode_DecodeUTF8(<const char *>p + 2, <Py_ssize_t>(n - 2), NULL)
    finally:
        _release(&view)


def encode_close_payload(code=None, reason=""):
    """Payload of a close frame to send; b"" when ``code`` is None.

    Raises:
        ValueError: ``code`` is 1005, 1006, 1015 or otherwise not allowed on
            the wire, a reason is given without a code, or the reason is
            longer than 123 bytes of UTF-8 (RFC 6455 5.5: control payloads
            are at most 125 bytes).
        TypeError: ``code`` is not an integer.
    """
    if code is None:
        if reason:
            raise ValueError("a close reason needs a close code")
        return b""
    code = PyNumber_Index(code)  # TypeError for non-integers
    if code in (1005, 1006, 1015):
        raise ValueError(f"close code {code} must not be sent on the wire")
    if not (0 <= code <= 0xFFFF and _wire_close_code(<unsigned int>code)):
        raise ValueError(f"invalid close code {code}")
    data = reason.encode("utf-8")
    if len(data) > 123:
        raise ValueError(f"close reason is {len(data)} bytes of UTF-8, at most 123 allowed")
    return bytes(((code >> 8) & 0xFF, code & 0xFF)) + data


# ---- headers (RFC 6455 section 5.2) ---------------------------------------------


cdef inline object _opcode_obj(unsigned int op):
    """The Opcode member (or plain int for reserved values) of a 4-bit opcode."""
    return <object>(<PyObject *>_OPCODES[op & 0x0F])


@cython.final
@cython.no_gc
cdef class FrameHeader:
    """A decoded frame header (RFC 6455 section 5.2). Immutable."""

    cdef readonly bint fin
    cdef readonly bint rsv1
    cdef readonly bint rsv2
    cdef readonly bint rsv3
    cdef readonly object opcode
    cdef readonly bint masked
    cdef readonly object length
    cdef readonly object mask
    cdef readonly object size

    def __init__(self, fin, rsv1, rsv2, rsv3, opcode, masked, length, mask, size):
        self.fin = fin
        self.rsv1 = rsv1
        self.rsv2 = rsv2
        self.rsv3 = rsv3
        if isinstance(opcode, int) and 0 <= opcode <= 15:
            opcode = _opcode_obj(<unsigned int>opcode)
        self.opcode = opcode
        self.masked = masked
        self.length = length
        self.mask = mask
        self.size = size

    cdef tuple _key(self):
        return (self.fin, self.rsv1, self.rsv2, self.rsv3, self.opcode,
                self.masked, self.length, self.mask, self.size)

    def __eq__(self, other):
        if not isinstance(other, FrameHeader):
            return NotImplemented
        return self._key() == (<FrameHeader>other)._key()

    def __ne__(self, other):
        if not isinstance(other, FrameHeader):
            return NotImplemented
        return self._key() != (<FrameHeader>other)._key()

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        return (
            f"FrameHeader(fin={self.fin!r}, rsv1={self.rsv1!r}, rsv2={self.rsv2!r}, "
            f"rsv3={self.rsv3!r}, opcode={self.opcode!r}, masked={self.masked!r}, "
            f"length={self.length!r}, mask={self.mask!r}, size={self.size!r})"
        )

    def __reduce__(self):
        return (FrameHeader, self._key())


def decode_frame_header(data, offset=0):
    """Decode the header at ``data[offset:]``; None if more bytes are needed.

    Raises:
        ProtocolError: (1002) a 64-bit length with the top bit set; opcode,
            RSV and size policy belong to FrameParser.
        TypeError: ``data`` is not a buffer or ``offset`` not an int.
        ValueError: ``offset`` is negative.
    """
    cdef _Buf view
    cdef wsf_header h
    cdef int r
    cdef Py_ssize_t off
    cdef FrameHeader fh
    if not isinstance(offset, int):
        raise TypeError(f"offset must be an int, not {type(offset).__name__}")
    if offset < 0:
        raise ValueError("offset must be >= 0")
    _acquire(data, &view)
    try:
        if offset >= view.len:
            return None
        off = offset
        r = wsf_header_decode(<const uint8_t *>view.ptr + off, <size_t>(view.len - off), &h)
    finally:
        _release(&view)
    if r == WSF_HEADER_NEED_MORE:
        return None
    if r == WSF_HEADER_BAD_LENGTH:
        raise ProtocolError(R_LENGTH_MSB)
    fh = FrameHeader.__new__(FrameHeader)
    fh.fin = h.fin
    fh.rsv1 = h.rsv1
    fh.rsv2 = h.rsv2
    fh.rsv3 = h.rsv3
    fh.opcode = _opcode_obj(h.opcode)
    fh.masked = h.masked
    fh.length = h.length
    fh.mask = PyBytes_FromStringAndSize(<char *>h.mask, 4) if h.masked else None
    fh.size = h.size
    return fh


cdef int _opcode_arg(object opcode) except -1:
    """A 4-bit opcode from an int argument (ValueError outside 0..15)."""
    if not isinstance(opcode, int):
        raise TypeError(f"opcode must be an int, not {type(opcode).__name__}")
    if not 0 <= opcode <= 15:
        raise ValueError(f"opcode must be in 0..15, got {opcode!r}")
    return <int>opcode


# Client masking keys (RFC 6455 5.3: "derived from a strong source of
# entropy"): os.urandom bytes taken 4 at a time from a pool, refilled when
# used up; one os.urandom call per 1024 keys instead of one per frame.
cdef enum:
    _POOL_SIZE = 4096
cdef uint8_t _pool[_POOL_SIZE]
cdef Py_ssize_t _pool_pos = _POOL_SIZE
cdef object _pool_lock = object()  # the critical section's object (free-threaded builds)


cdef bint _take_key(uint8_t *key) noexcept:
    global _pool_pos
    cdef bint ok = False
    with cython.critical_section(_pool_lock):
        if _pool_pos + 4 <= _POOL_SIZE:
            memcpy(key, &_pool[_pool_pos], 4)
            _pool_pos += 4
            ok = True
    return ok


cdef int _random_key(uint8_t *key) except -1:
    """Four fresh bytes from os.urandom (via the pool)."""
    global _pool_pos
    cdef bytes fresh
    if _take_key(key):
        return 0
    # Draw outside the critical section: it holds no Python calls, so two
    # threads can never hand out the same pool bytes.
    fresh = os.urandom(_POOL_SIZE)
    with cython.critical_section(_pool_lock):
        if _pool_pos + 4 > _POOL_SIZE:
            memcpy(_pool, PyBytes_AS_STRING(fresh), _POOL_SIZE)
            _pool_pos = 0
        memcpy(key, &_pool[_pool_pos], 4)
        _pool_pos += 4
    return 0


cdef inline int _fill_header(wsf_header *h, object opcode, bint fin, bint rsv1, bint rsv2,
                             bint rsv3) except -1:
    h.opcode = <uint8_t>_opcode_arg(opcode)
    h.fin = fin
    h.rsv1 = rsv1
    h.rsv2 = rsv2
    h.rsv3 = rsv3
    h.masked = 0
    h.size = 0
    return 0


def encode_frame_header(opcode, length, *, fin=True, rsv1=False, rsv2=False, rsv3=False, mask=None):
    """The header for a frame of ``length`` payload bytes, shortest length form.

    Args:
        opcode: 0..15.
        length: payload length, 0..2**63-1 (RFC 6455 5.2: the MSB must be 0).
        mask: None (unmasked) or a 4-byte key written into the header.

    Raises:
        ValueError: opcode or length out of range, or a mask that is not 4 bytes.
    """
    cdef wsf_header h
    cdef uint8_t out[14]
    cdef size_t size
    _fill_header(&h, opcode, fin, rsv1, rsv2, rsv3)
    if not isinstance(length, int):
        raise TypeError(f"length must be an int, not {type(length).__name__}")
    if not 0 <= length <= 0x7FFFFFFFFFFFFFFF:
        raise ValueError(f"length must be in 0..2**63-1, got {length!r}")
    h.length = <uint64_t>length
    if mask is not None:
        _key4(mask, h.mask)
        h.masked = 1
    size = wsf_header_encode(out, &h)
    return PyBytes_FromStringAndSize(<char *>out, <Py_ssize_t>size)


def encode_frame(opcode, payload, *, fin=True, rsv1=False, rsv2=False, rsv3=False, mask=None):
    """Header plus payload (masked when ``mask`` is given) in one allocation.

    Args:
        mask: None or False to send unmasked (server side); True for a fresh
            key from os.urandom (client side, RFC 6455 5.3); or a 4-byte key.

    Raises:
        ValueError: opcode outside 0..15 or a mask that is not 4 bytes.
        TypeError: ``payload`` is not a buffer.
    """
    cdef wsf_header h
    cdef _Buf view
    cdef size_t size
    cdef bytes out
    cdef uint8_t *dst
    cdef uint8_t head[14]
    _fill_header(&h, opcode, fin, rsv1, rsv2, rsv3)
    if mask is True:
        _random_key(h.mask)
        h.masked = 1
    elif mask is not None and mask is not False:
        _key4(mask, h.mask)
        h.masked = 1
    _acquire(payload, &view)
    try:
        h.length = <uint64_t>view.len
        size = wsf_header_encode(head, &h)
        out = PyBytes_FromStringAndSize(NULL, <Py_ssize_t>size + view.len)
        dst = <uint8_t *>PyBytes_AS_STRING(out)
        memcpy(dst, head, size)
        if h.masked:
            _mask_maybe_nogil(dst + size, <const uint8_t *>view.ptr, view.len, h.mask, 0)
        elif view.len:
            memcpy(dst + size, view.ptr, <size_t>view.len)
    finally:
        _release(&view)
    return out


# ---- frames ---------------------------------------------------------------------


@cython.final
@cython.no_gc
@cython.freelist(64)
cdef class Frame:
    """A frame, or a whole message when the parser reassembles. Immutable.

    For a reassembled message ``opcode`` is TEXT or BINARY, ``fin`` is True
    and ``rsv1..3`` are those of the first frame (RSV1 marks compression).
    Text payloads stay bytes (validated UTF-8 unless the parser was built
    with ``validate_utf8=False``): ``frame.payload.decode()`` gives the str.
    """

    cdef readonly object opcode
    cdef readonly bytes payload
    cdef readonly bint fin
    cdef readonly bint rsv1
    cdef readonly bint rsv2
    cdef readonly bint rsv3

    def __init__(self, opcode, payload, fin=True, rsv1=False, rsv2=False, rsv3=False):
        if isinstance(opcode, int) and 0 <= opcode <= 15:
            opcode = _opcode_obj(<unsigned int>opcode)
        if not isinstance(opcode, Opcode):
            opcode = Opcode(opcode)  # ValueError for reserved values
        self.opcode = opcode
        self.payload = payload if PyBytes_CheckExact(payload) else bytes(memoryview(payload))
        self.fin = fin
        self.rsv1 = rsv1
        self.rsv2 = rsv2
        self.rsv3 = rsv3

    def __eq__(self, other):
        if not isinstance(other, Frame):
            return NotImplemented
        cdef Frame o = <Frame>other
        return (self.opcode == o.opcode and self.payload == o.payload and self.fin == o.fin
                and self.rsv1 == o.rsv1 and self.rsv2 == o.rsv2 and self.rsv3 == o.rsv3)

    def __ne__(self, other):
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __hash__(self):
        return hash((self.opcode, self.payload, self.fin, self.rsv1, self.rsv2, self.rsv3))

    def __repr__(self):
        return (
            f"Frame(opcode={self.opcode!r}, payload={self.payload!r}, fin={self.fin!r}, "
            f"rsv1={self.rsv1!r}, rsv2={self.rsv2!r}, rsv3={self.rsv3!r})"
        )

    def __reduce__(self):
        return (Frame, (self.opcode, self.payload, self.fin, self.rsv1, self.rsv2, self.rsv3))


cdef inline Frame _new_frame(unsigned int op, object payload, bint fin, bint rsv1, bint rsv2,
                             bint rsv3):
    """Build a Frame from C without running __init__ (the parser's hot path)."""
    cdef Frame f = Frame.__new__(Frame)
    f.opcode = _opcode_obj(op)
    f.payload = <bytes>payload
    f.fin = fin
    f.rsv1 = rsv1
    f.rsv2 = rsv2
    f.rsv3 = rsv3
    return f


# ---- the frame parser (RFC 6455 section 5) ---------------------------------------


cdef uint64_t _limit(object value, str name) except? 0:
    """A size limit argument as uint64: any integer >= 0 (there is no
    "unlimited"). Values beyond PY_SSIZE_T_MAX are clipped to it: no bytes
    object can be larger, so every accepted length fits in Py_ssize_t."""
    value = PyNumber_Index(value)  # TypeError for non-integers
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return <uint64_t>(value if value < PY_SSIZE_T_MAX else PY_SSIZE_T_MAX)


@cython.final
@cython.embedsignature(False)  # Cython 3.3 misplaces "*" before a required keyword-only argument
cdef class FrameParser:
    """FrameParser(*, is_server, max_frame_size=DEFAULT_MAX_FRAME_SIZE, max_message_size=DEFAULT_MAX_MESSAGE_SIZE, max_fragments=DEFAULT_MAX_FRAGMENTS, reassemble=True, validate_utf8=True, rsv_allowed=(False, False, False), bare_messages=False)

    Streaming RFC 6455 section 5 frame decoder.

    ``is_server=True`` means frames come from a client, so they must be masked;
    ``False`` means they must not be. Limits are checked against the declared
    length before anything is buffered; ``max_fragments`` caps the frames of one
    data message. Payload bytes are unmasked (and text validated, fail-fast)
    as they arrive, straight into the bytes object that will be returned, so a
    large frame is touched once. What is held between calls is bounded: a
    partial header (at most 13 bytes), the payload received of the current
    frame (at most max_frame_size) or message (at most max_message_size), and
    memory grows with the bytes received, never with a declared length alone.

    With ``bare_messages=True`` a whole data message with RSV1-3 clear (a
    reassembled one, or an unfragmented frame when not reassembling) comes
    out as its value, not as a Frame: ``bytes`` for binary, ``str`` for
    text (validated text only: with ``validate_utf8=False`` text stays a
    Frame). One Python object per message; everything else is a Frame.

    Errors are ProtocolError (1002), InvalidUTF8 (1007) or MessageTooBig
    (1009); after one, the parser drops its buffers and every later
    ``feed``/``feed_eof`` raises the same error again (with ``frames``
    emptied: that call completed none).

    One instance is for one thread at a time (it is a connection's state):
    a call while another thread is inside ``feed``/``feed_eof`` raises
    RuntimeError and leaves the parser as it was.
    """

    # configuration
    cdef bint _is_server
    cdef bint _reassemble
    cdef bint _validate
    cdef bint _rsv1_ok
    cdef bint _rsv2_ok
    cdef bint _rsv3_ok
    cdef bint _bare             # whole plain data messages as str / bytes
    cdef uint64_t _max_frame
    cdef uint64_t _max_message
    cdef uint64_t _max_fragments
    cdef object _error
    # a header cut by the end of the input (at most 13 bytes)
    cdef uint8_t _hdr[14]
    cdef size_t _hdr_len
    # the frame being received
    cdef bint _in_frame
    cdef wsf_header _h
    cdef uint64_t _got          # payload bytes of this frame received so far
    cdef PyObject *_ctrl        # control frame payload (exact size; NULL if empty)
    # the data message being received
    cdef uint8_t _msg_op        # 0: none, else TEXT or BINARY of its first frame
    cdef bint _msg_rsv1
    cdef bint _msg_rsv2
    cdef bint _msg_rsv3
    cdef bint _msg_utf8         # text, validation on, not compressed
    cdef uint64_t _msg_len      # declared payload bytes of its accepted frames
    cdef uint64_t _msg_frames   # its accepted frames
    cdef PyObject *_data        # payload being written (bytes we own, not shared)
    cdef size_t _data_len       # bytes written into _data
    cdef size_t _data_cap       # its size
    cdef wsf_utf8_stream _utf8  # validation state across the message's chunks
    cdef int _busy              # see _busy_enter: feed() writes _data without the GIL

    def __dealloc__(self):
        Py_XDECREF(self._ctrl)
        Py_XDECREF(self._data)

    def __init__(self, *, is_server, max_frame_size=DEFAULT_MAX_FRAME_SIZE,
                 max_message_size=DEFAULT_MAX_MESSAGE_SIZE, max_fragments=DEFAULT_MAX_FRAGMENTS,
                 reassemble=True, validate_utf8=True, rsv_allowed=(False, False, False),
                 bare_messages=False):
        # Calling __init__ again drops the buffers: never under another thread's feed().
        _busy_enter(&self._busy, E_PARSER_IN_USE)
        try:
            self._configure(is_server, max_frame_size, max_message_size, max_fragments,
                            reassemble, validate_utf8, rsv_allowed)
            self._bare = bare_messages
        finally:
            _busy_exit(&self._busy)

    cdef int _configure(self, object is_server, object max_frame_size, object max_message_size,
                        object max_fragments, object reassemble, object validate_utf8,
                        object rsv_allowed) except -1:
        self._is_server = is_server
        self._max_frame = _limit(max_frame_size, "max_frame_size")
        self._max_message = _limit(max_message_size, "max_message_size")
        self._max_fragments = _limit(max_fragments, "max_fragments")
        self._reassemble = reassemble
        self._validate = validate_utf8
        allowed = tuple(rsv_allowed)
        if len(allowed) != 3:
            raise ValueError("rsv_allowed must have 3 items (RSV1, RSV2, RSV3)")
        self._rsv1_ok = allowed[0]
        self._rsv2_ok = allowed[1]
        self._rsv3_ok = allowed[2]
        self._drop()
        self._error = None
        return 0

    # -- public API --

    def feed(self, data):
        """Parse every complete frame in the buffered input plus ``data``.

        Returns:
            Frames (or whole data messages when reassembling) in order; control
            frames come out as soon as they are complete, also between the
            fragments of a message.

        Raises:
            ProtocolError: the peer broke RFC 6455 (or InvalidUTF8 /
                MessageTooBig); frames completed earlier in this call are on
                ``exc.frames``.
            TypeError: ``data`` is not a buffer.
            RuntimeError: another thread is inside a call on this parser.
        """
        cdef _Buf view
        cdef list out
        _busy_enter(&self._busy, E_PARSER_IN_USE)
        try:
            if self._error is not None:
                raise self._sticky_error()
            _acquire(data, &view)
            out = []
            try:
                self._parse(<const uint8_t *>view.ptr, <size_t>view.len, out)
            except Exception as exc:
                self._fail(exc, out)
                raise
            finally:
                _release(&view)
            return out
        finally:
            _busy_exit(&self._busy)

    def feed_eof(self):
        """The peer closed the stream.

        Raises:
            ProtocolError: (1006, ABNORMAL_CLOSURE) the stream ends inside a
                frame or inside a fragmented message.
            RuntimeError: another thread is inside a call on this parser.
        """
        _busy_enter(&self._busy, E_PARSER_IN_USE)
        try:
            self._feed_eof()
        finally:
            _busy_exit(&self._busy)

    cdef int _feed_eof(self) except -1:
        if self._error is not None:
            raise self._sticky_error()
        if self._in_frame or self._hdr_len:
            exc = ProtocolError(R_EOF_IN_FRAME, 1006)
        elif self._msg_op:
            exc = ProtocolError(R_EOF_IN_MESSAGE, 1006)
        else:
            return 0
        self._fail(exc, [])
        raise exc

    @property
    def buffered(self):
        """Bytes held that do not yet form a complete frame (or message)."""
        cdef uint64_t n = self._hdr_len + self._data_len
        if self._in_frame and self._h.opcode >= 8:
            n += self._got
        return n

    @property
    def failed(self):
        """True once the parser has raised an error."""
        return self._error is not None

    # -- state --

    cdef void _drop(self) noexcept:
        """Forget every partial frame and message (on error and at init)."""
        Py_XDECREF(self._ctrl)
        self._ctrl = NULL
        Py_XDECREF(self._data)
        self._data = NULL
        self._data_len = 0
        self._data_cap = 0
        self._hdr_len = 0
        self._in_frame = False
        self._got = 0
        self._msg_op = 0
        self._msg_len = 0
        self._msg_frames = 0
        self._msg_utf8 = False

    cdef object _sticky_error(self):
        """The stored error, raised again by a call after the failure; that
        call completed no frames, so ``frames`` is emptied (a caller that
        handles ``exc.frames`` must not get the first call's frames twice)."""
        exc = self._error
        if isinstance(exc, ProtocolError):
            exc.frames = []
        return exc.with_traceback(None)

    cdef int _fail(self, object exc, list frames) except -1:
        self._drop()
        self._error = exc
        if isinstance(exc, ProtocolError):
            exc.frames = frames
        return 0

    # -- the per-frame path, all in C --

    cdef int _parse(self, const uint8_t *p, size_t n, list out) except -1:
        """Consume ``p[0:n]``: headers, payload bytes, completed frames."""
        cdef int r
        cdef size_t have, take
        while True:
            if self._in_frame:
                if self._got < self._h.length:
                    if n == 0:
                        return 0
                    self._consume(&p, &n)
                    if self._got < self._h.length:
                        return 0
                self._finish(out)
                continue
            if self._hdr_len == 0:
                if n == 0:
                    return 0
                r = wsf_header_decode(p, n, &self._h)
                if r == WSF_HEADER_NEED_MORE:
                    memcpy(self._hdr, p, n)
                    self._hdr_len = n
                    return 0
                if r == WSF_HEADER_BAD_LENGTH:
                    # RFC 6455 5.2: "the most significant bit MUST be 0".
                    raise ProtocolError(R_LENGTH_MSB)
                p += r
                n -= <size_t>r
            else:
                # Complete the header cut by the previous input.
                if n == 0:
                    return 0
                have = self._hdr_len
                take = 14 - have
                if n < take:
                    take = n
                memcpy(self._hdr + have, p, take)
                r = wsf_header_decode(self._hdr, have + take, &self._h)
                if r == WSF_HEADER_NEED_MORE:
                    self._hdr_len = have + take
                    return 0
                if r == WSF_HEADER_BAD_LENGTH:
                    raise ProtocolError(R_LENGTH_MSB)
                self._hdr_len = 0
                p += <size_t>r - have
                n -= <size_t>r - have
            self._begin()

    cdef int _begin(self) except -1:
        """Judge a decoded header in the order of _reasons.py, then set up
        the payload's destination (limits are checked before any allocation)."""
        cdef wsf_header *h = &self._h
        cdef unsigned int op = h.opcode
        cdef bint control = op >= 8
        cdef uint64_t length = h.length
        cdef uint64_t prior_len = 0
        cdef uint64_t prior_frames = 0
        # RFC 6455 5.2: RSV1-3 MUST be 0 unless an extension defines them; RSV1
        # (RFC 7692 6: "compressed") only on the first frame of a data message.
        if h.rsv1 and not (self._rsv1_ok and (op == 1 or op == 2)):
            raise ProtocolError(R_RSV)
        if (h.rsv2 and not self._rsv2_ok) or (h.rsv3 and not self._rsv3_ok):
            raise ProtocolError(R_RSV)
        # RFC 6455 5.2: opcodes %x3-7 and %xB-F are reserved.
        if (3 <= op <= 7) or op >= 11:
            raise ProtocolError(R_RESERVED_OPCODE)
        if control:
            # RFC 6455 5.5: control frames MUST NOT be fragmented and MUST
            # have a payload length of 125 bytes or less.
            if not h.fin:
                raise ProtocolError(R_FRAGMENTED_CONTROL)
            if length > _MAX_CONTROL:
                raise ProtocolError(R_CONTROL_TOO_LONG)
        # RFC 6455 5.1: a client MUST mask every frame, a server MUST NOT.
        if self._is_server:
            if not h.masked:
                raise ProtocolError(R_MUST_BE_MASKED)
        elif h.masked:
            raise ProtocolError(R_MUST_NOT_BE_MASKED)
        if not control:
            # RFC 6455 5.4: a fragmented message is one TEXT/BINARY frame with
            # FIN clear, then continuations, the last one with FIN set.
            if op == 0:
                if self._msg_op == 0:
                    raise ProtocolError(R_UNEXPECTED_CONTINUATION)
                prior_len = self._msg_len
                prior_frames = self._msg_frames
            elif self._msg_op != 0:
                raise ProtocolError(R_EXPECTED_CONTINUATION)
        # Limits (1009), against the declared length, before buffering.
        if length > self._max_frame:
            raise MessageTooBig(R_FRAME_TOO_BIG)
        if not control:
            if length > self._max_message - prior_len:
                raise MessageTooBig(R_MESSAGE_TOO_BIG)
            if prior_frames >= self._max_fragments:
                raise MessageTooBig(R_TOO_MANY_FRAGMENTS)
        # Accepted.
        self._got = 0
        self._in_frame = True
        if control:
            if length:
                self._ctrl = _bytes_new(NULL, <Py_ssize_t>length)
                if self._ctrl == NULL:
                    return -1
            return 0
        if op != 0:
            self._msg_op = <uint8_t>op
            self._msg_rsv1 = h.rsv1
            self._msg_rsv2 = h.rsv2
            self._msg_rsv3 = h.rsv3
            self._msg_utf8 = self._validate and op == 1 and not h.rsv1
            if self._msg_utf8:
                wsf_utf8_stream_init(&self._utf8)
            self._msg_len = 0
            self._msg_frames = 0
        self._msg_len += length
        self._msg_frames += 1
        return 0

    cdef int _grow(self, size_t need) except -1:
        """Make _data hold at least ``need`` bytes.

        Room is made as payload bytes arrive, never for a declared length
        alone, so memory follows what the peer really sent. It grows
        geometrically (amortised O(n) over many small fragments or chunks),
        never past the end of the current frame when the buffer ends there
        (a final frame, or no reassembly) nor past max_message_size, and a
        whole frame in hand gets an object of its exact size at once.
        """
        cdef wsf_header *h = &self._h
        cdef size_t limit, cap
        if h.fin or not self._reassemble:
            limit = self._data_len + <size_t>(h.length - self._got)  # the end of this frame
        else:
            limit = <size_t>self._max_message
        cap = self._data_cap * 2
        if cap < 256:
            cap = 256
        if cap > limit:
            cap = limit
        if cap < need:
            cap = need
        if self._data == NULL:
            self._data = _bytes_new(NULL, <Py_ssize_t>cap)
            if self._data == NULL:
                return -1
        else:
            # We hold the only reference: resizing is safe (and often in place).
            _PyBytes_Resize(&self._data, <Py_ssize_t>cap)
        self._data_cap = cap
        return 0

    cdef int _consume(self, const uint8_t **pp, size_t *pn) except -1:
        """Unmask (and validate) the next payload bytes of the current frame
        straight into their destination."""
        cdef wsf_header *h = &self._h
        cdef const uint8_t *src = pp[0]
        cdef uint64_t remaining = h.length - self._got
        cdef size_t k = pn[0] if pn[0] < remaining else <size_t>remaining
        cdef size_t phase = <size_t>(self._got & 3)
        cdef const uint8_t *key = _ZERO_KEY
        cdef uint8_t *dst
        cdef size_t pos = 0
        cdef uint64_t pos64 = 0
        cdef int r
        if h.masked:
            key = h.mask
        if h.opcode >= 8:
            dst = <uint8_t *>_bytes_ptr(self._ctrl) + self._got
            if h.masked:
                wsf_mask(dst, src, k, key, phase)
            else:
                memcpy(dst, src, k)
        else:
            if self._data_len + k > self._data_cap:
                self._grow(self._data_len + k)
            dst = <uint8_t *>_bytes_ptr(self._data) + self._data_len
            if self._msg_utf8:
                if self._msg_frames == 1 and h.fin and k == h.length:
                    # A whole unfragmented text message in hand: unmask and
                    # validate in one pass, no stream state needed.
                    if k >= <size_t>_NOGIL_THRESHOLD:
                        with nogil:
                            r = wsf_unmask_utf8_check(dst, src, k, key, 0, &pos)
                    else:
                        r = wsf_unmask_utf8_check(dst, src, k, key, 0, &pos)
                    if r != WSF_UTF8_OK:
                        raise InvalidUTF8(R_INVALID_UTF8, <Py_ssize_t>pos)
                else:
                    # RFC 6455 8.1: fail fast, across chunks and fragments.
                    if k >= <size_t>_NOGIL_THRESHOLD:
                        with nogil:
                            r = wsf_utf8_stream_feed_unmask(&self._utf8, dst, src, k, key, phase, 0, &pos64)
                    else:
                        r = wsf_utf8_stream_feed_unmask(&self._utf8, dst, src, k, key, phase, 0, &pos64)
                    if r != WSF_UTF8_OK:
                        raise InvalidUTF8(R_INVALID_UTF8, pos64)
            elif h.masked:
                _mask_maybe_nogil(dst, src, <Py_ssize_t>k, key, phase)
            else:
                memcpy(dst, src, k)
            self._data_len += k
        self._got += k
        pp[0] = src + k
        pn[0] -= k
        return 0

    cdef int _finish(self, list out) except -1:
        """The current frame is complete: check it and emit what is due."""
        cdef wsf_header *h = &self._h
        cdef unsigned int op = h.opcode
        cdef uint64_t pos64 = 0
        cdef object payload
        self._in_frame = False
        if op >= 8:
            payload = self._take(&self._ctrl, <size_t>h.length, <size_t>h.length)
            if op == 8:
                _check_close(<const uint8_t *>PyBytes_AS_STRING(payload), <size_t>h.length)
            PyList_Append(out, _new_frame(op, payload, True, h.rsv1, h.rsv2, h.rsv3))
            return 0
        if h.fin:
            if self._msg_utf8 and self._utf8.ncarry:
                # The message ends inside a code point.
                wsf_utf8_stream_feed(&self._utf8, _DUMMY, 0, 1, &pos64)
                raise InvalidUTF8(R_INVALID_UTF8, pos64)
            payload = self._take(&self._data, self._data_len, self._data_cap)
            self._data_len = 0
            self._data_cap = 0
            if self._reassemble:
                if self._bare and not (self._msg_rsv1 or self._msg_rsv2 or self._msg_rsv3):
                    PyList_Append(out, self._bare_message(self._msg_op, payload))
                else:
                    PyList_Append(out, _new_frame(self._msg_op, payload, True, self._msg_rsv1,
                                                  self._msg_rsv2, self._msg_rsv3))
            elif self._bare and op != 0 and not (h.rsv1 or h.rsv2 or h.rsv3):
                PyList_Append(out, self._bare_message(op, payload))
            else:
                PyList_Append(out, _new_frame(op, payload, True, h.rsv1, h.rsv2, h.rsv3))
            self._msg_op = 0
            self._msg_len = 0
            self._msg_frames = 0
            self._msg_utf8 = False
        elif not self._reassemble:
            payload = self._take(&self._data, self._data_len, self._data_cap)
            self._data_len = 0
            self._data_cap = 0
            PyList_Append(out, _new_frame(op, payload, False, h.rsv1, h.rsv2, h.rsv3))
        return 0

    cdef object _bare_message(self, unsigned int op, bytes payload):
        """(``bare_messages``) A whole plain data message as its value: the
        bytes for binary, the str for validated text, else a Frame."""
        if op == 2:
            return payload
        if self._validate:
            # Validated as it arrived: this decode cannot fail.
            return PyUnicode_DecodeUTF8(PyBytes_AS_STRING(payload), PyBytes_GET_SIZE(payload), NULL)
        return _new_frame(op, payload, True, False, False, False)

    cdef object _take(self, PyObject **slot, size_t length, size_t cap):
        """Hand over the bytes object in ``slot``, trimmed to ``length``."""
        cdef PyObject *p = slot[0]
        slot[0] = NULL
        if p == NULL:
            return _EMPTY
        if length == 0:
            Py_DECREF(p)
            return _EMPTY
        if length != cap:
            _PyBytes_Resize(&p, <Py_ssize_t>length)
        result = <object>p
        Py_DECREF(p)
        return result
