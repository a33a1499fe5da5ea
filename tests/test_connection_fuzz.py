"""Hostile bytes never crash a Connection: they end in events, never exceptions."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from wsframe import Closed, Connection, Opcode, State, encode_frame
from wsframe.handshake import build_request

REQUEST = build_request("example.com").data


def drain(conn: Connection) -> list:
    events = conn.events()
    conn.data_to_send()
    return events


@given(st.lists(st.binary(max_size=64), max_size=20))
def test_garbage_as_handshake(chunks: list) -> None:
    conn = Connection("server", max_head_size=512)
    for chunk in chunks:
        conn.receive_data(chunk)
        drain(conn)
    conn.receive_eof()
    events = drain(conn)
    assert conn.state is State.CLOSED and conn.should_close_transport
    assert events == [] or isinstance(events[-1], Closed)


@given(st.binary(max_size=256), st.integers(0, 255), st.booleans())
def test_request_mutations(tail: bytes, position: int, server_side: bool) -> None:
    data = bytearray(REQUEST + tail)
    data[position % len(data)] ^= 0x20
    conn = Connection("server") if server_side else Connection("client", host="h")
    conn.receive_data(bytes(data))
    drain(conn)
    conn.receive_eof()
    drain(conn)
    assert conn.state is State.CLOSED


frame_parts = st.one_of(
    st.binary(max_size=40),
    st.builds(
        lambda op, payload, fin, rsv1: encode_frame(op, payload, fin=fin, rsv1=rsv1, mask=b"\x00\x11\x22\x33"),
        st.sampled_from([0, 1, 2, 3, 8, 9, 10, 11]),
        st.binary(max_size=130),
        st.booleans(),
        st.booleans(),
    ),
)


@given(st.lists(frame_parts, max_size=12), st.booleans())
def test_hostile_frame_streams(parts: list, text_as_bytes: bool) -> None:
    conn = Connection.opened("server", max_message_size=200, max_frame_size=100, text_as_bytes=text_as_bytes)
    closed = []
    for part in parts:
        conn.receive_data(part)
        closed += [e for e in drain(conn) if isinstance(e, Closed)]
    conn.receive_eof()
    closed += [e for e in drain(conn) if isinstance(e, Closed)]
    assert len(closed) == 1 and conn.state is State.CLOSED


@given(st.lists(frame_parts, max_size=12))
def test_hostile_frames_to_client(parts: list) -> None:
    conn = Connection.opened("client")
    for part in parts:
        conn.receive_data(part)
        drain(conn)
    conn.receive_data(encode_frame(Opcode.CLOSE, b""))
    drain(conn)
    conn.receive_eof()
    assert conn.state is State.CLOSED and conn.should_close_transport
