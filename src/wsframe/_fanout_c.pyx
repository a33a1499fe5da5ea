# cython: language_level=3
"""The compiled fan-out loop of ``wsframe.aio.broadcast``.

Same API and behaviour as the pure-Python twin ``_fanout_py`` (the contract
is ``_fanout_c.pyi``); ``wsframe._fanout`` picks one. For each target that
is OPEN, not failing, has no output of its own waiting and whose transport
holds nothing, the frame goes to the socket with one ``send()`` from C: no
Python function runs for that delivery. Everything else (a partial send,
EAGAIN, an error, a TLS or busy transport) goes through the transport or
the caller's ``slow`` function, which is what ``broadcast()`` did for every
connection before.

Thread safety: no C state outside the call's own locals; the targets and
the frame are Python objects, read with the usual reference counting, so
free-threaded CPython needs nothing more. The GIL (where there is one)
stays held across ``send()``: it is non-blocking and copies into the
kernel's buffer, which is shorter than releasing and taking the GIL again.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE

cdef extern from *:
    """
    #include <errno.h>
    #include <sys/types.h>
    #include <sys/socket.h>

    /* MSG_NOSIGNAL: a peer that reset the connection gives EPIPE, not
       SIGPIPE (CPython ignores SIGPIPE anyway; an embedding host may not).
       Where it is missing (macOS), the socket's own setting applies. */
    #ifndef MSG_NOSIGNAL
    #define MSG_NOSIGNAL 0
    #endif
    /* MSG_DONTWAIT: never block, even on a socket someone made blocking;
       asyncio and uvloop keep their sockets non-blocking in any case. */
    #ifndef MSG_DONTWAIT
    #define MSG_DONTWAIT 0
    #endif

    /* One non-blocking send() of the whole buffer, retried on EINTR only.
       Returns the bytes sent, or -1 (errno says why: EAGAIN, EPIPE...). */
    static Py_ssize_t wsf_send_nowait(int fd, const char *buf, Py_ssize_t len)
    {
        ssize_t sent;
        do {
            sent = send(fd, buf, (size_t)len, MSG_DONTWAIT | MSG_NOSIGNAL);
        } while (sent < 0 && errno == EINTR);
        return (Py_ssize_t)sent;
    }
    """
    Py_ssize_t wsf_send_nowait(int fd, const char *buf, Py_ssize_t length)

cdef enum:
    SELECTOR = 1
    UVLOOP = 2

#: ``WebSocketProtocol._fanout_kind`` values (``wsframe.aio.output.direct_send_target``).
#: No direct send: TLS, another loop's transport, a client connection.
KIND_NONE = 0
#: asyncio's ``_SelectorSocketTransport`` (CPython 3.11-3.14): idle when its
#: ``_buffer`` (a bytearray, a deque from 3.12) is empty and it is not closing.
KIND_SELECTOR = SELECTOR
#: uvloop's ``TCPTransport`` / ``UnixTransport``: idle when
#: ``get_write_buffer_size()`` (a C method: no Python frame) is 0 and it is not closing.
KIND_UVLOOP = UVLOOP


cdef inline bint transport_idle(object transport, int kind) except -1:
    """Whether ``transport.write()`` would try a send() at once with nothing
    ahead of it, so a send() from here keeps the order and the behaviour."""
    if kind == SELECTOR:
        # Private attributes, read rather than asking get_write_buffer_size(),
        # which is a Python method (sum(map(len, deque)) from 3.12). The
        # classifier checked both exist with these types when the connection
        # opened; write_eof() (_eof) comes only after the close, when the
        # connection is no longer OPEN.
        return not transport._buffer and not transport._closing
    if kind == UVLOOP:
        return not transport.is_closing() and transport.get_write_buffer_size() == 0
    return False


def fanout(object connections, bytes frame, object max_buffer, object open_state, object slow):
    """fanout(connections, frame, max_buffer, open_state, slow) -> int

    Deliver ``frame`` to every connection whose ``_conn._state`` is
    ``open_state`` and that has no failure pending and a transport; return
    how many got it. A connection in the middle of sending a fragmented
    message goes to ``slow`` (the frame must wait for the message's end). Idle plain sockets get one ``send()`` from C (the rest
    of a partial send, or the whole frame after EAGAIN or an error, goes to
    ``transport.write``, which buffers it or reports the error as usual);
    every other connection is handed to ``slow(ws, frame, max_buffer)``,
    which returns whether it delivered.
    """
    cdef const char *data = PyBytes_AS_STRING(frame)
    cdef Py_ssize_t size = PyBytes_GET_SIZE(frame)
    cdef Py_ssize_t sent
    cdef Py_ssize_t count = 0
    cdef int fd
    cdef object ws, conn, transport
    for ws in connections:
        conn = ws._conn
        if conn._state is not open_state or conn._failure is not None:
            continue
        transport = ws._transport
        if transport is None:
            continue
        fd = ws._fanout_fd
        if (fd >= 0 and not conn._out and conn._fragmenting is None and not ws._write_paused
                and transport_idle(transport, ws._fanout_kind)):
            sent = wsf_send_nowait(fd, data, size)
            if sent != size:
                # EAGAIN or an error: the transport's own send() repeats it and
                # buffers the frame or fails the connection, as it always did.
                transport.write(memoryview(frame)[sent:] if sent > 0 else frame)
            count += 1
        elif slow(ws, frame, max_buffer):
            count += 1
    return count
