"""Connection(stream_fragments=True), sans I/O: MessageFragment events for
the frames of fragmented messages; whole messages unchanged."""

from __future__ import annotations

import zlib

import pytest

from wsframe import Connection, MessageFragment
from wsframe._backend import codec
from wsframe.deflate import PerMessageDeflate
from wsframe.deflate.params import Agreement
from wsframe.enums import Opcode
from wsframe.events import BinaryMessage, Closed, Ping, ProtocolViolation, TextMessage
from wsframe.extension import Extension

TEXT, BINARY, CONT, PING = 1, 2, 0, 9


def frame(opcode, payload, fin=True, rsv1=False):
    return codec.encode_frame(opcode, payload, fin=fin, rsv1=rsv1, mask=True)


def test_fragments_and_control_frames_in_order():
    conn = Connection.opened("server", stream_fragments=True)
    conn.receive_data(
        frame(BINARY, b"ab", fin=False) + frame(PING, b"p") + frame(CONT, b"cd") + frame(TEXT, b"whole")
    )
    assert conn.events() == [
        MessageFragment(b"ab", False, False),
        Ping(b"p"),
        MessageFragment(b"cd", False, True),
        TextMessage("whole"),
    ]


def test_without_the_option_messages_stay_whole():
    conn = Connection.opened("server")
    conn.receive_data(frame(TEXT, b"a", fin=False) + frame(CONT, b"b"))
    assert conn.events() == [TextMessage("ab")]


def test_split_code_point_and_text_as_bytes():
    data = "é€".encode()
    payload = frame(TEXT, data[:1], fin=False) + frame(CONT, data[1:4], fin=False) + frame(CONT, data[4:])
    conn = Connection.opened("server", stream_fragments=True)
    conn.receive_data(payload)
    assert [e.data for e in conn.events()] == ["", "é", "€"]
    raw = Connection.opened("server", stream_fragments=True, text_as_bytes=True)
    raw.receive_data(payload)
    assert [e.data for e in raw.events()] == [data[:1], data[1:4], data[4:]]


def test_message_limit_counts_every_fragment():
    conn = Connection.opened("server", stream_fragments=True, max_message_size=10)
    conn.receive_data(frame(BINARY, b"x" * 6, fin=False) + frame(CONT, b"y" * 6))
    events = conn.events()
    assert events[0] == MessageFragment(b"x" * 6, False, False)
    assert isinstance(events[-1], Closed) and events[-1].code == 1009


def test_budget_counts_fragments_until_delivered():
    conn = Connection.opened("server", stream_fragments=True, track_delivery=True, max_queue_bytes=1000)
    conn.receive_data(frame(BINARY, b"x" * 2000, fin=False))
    [fragment] = conn.events()
    assert conn.receiving_paused
    conn.delivered(fragment.data)
    assert not conn.receiving_paused


def test_defer_failure_waits_for_the_fragments_before_the_error():
    conn = Connection.opened("server", stream_fragments=True, defer_failure=True, track_delivery=True)
    conn.receive_data(frame(TEXT, b"ok", fin=False) + frame(CONT, b"\xff"))
    events = conn.events()
    assert isinstance(events[0], MessageFragment) and isinstance(events[1], ProtocolViolation)
    assert conn.data_to_send() == b""  # the close frame waits for the fragment's delivery
    conn.delivered(events[0].data)
    assert conn.data_to_send().startswith(b"\x88")


def compressed(data: bytes, cuts: int):
    encoder = zlib.compressobj(6, zlib.DEFLATED, -15)
    payload = (encoder.compress(data) + encoder.flush(zlib.Z_SYNC_FLUSH))[:-4]
    step = -(-len(payload) // cuts)
    return [payload[i : i + step] for i in range(0, len(payload), step)]


def send_compressed(conn, opcode, data, cuts):
    pieces = compressed(data, cuts)
    last = len(pieces) - 1
    wire = b"".join(
        frame(opcode if i == 0 else CONT, piece, fin=i == last, rsv1=i == 0) for i, piece in enumerate(pieces)
    )
    conn.receive_data(wire)
    return conn.events()


@pytest.mark.parametrize("takeover", [True, False])
def test_deflate_inflates_frame_by_frame(takeover):
    agreement = Agreement(client_no_context_takeover=not takeover)
    conn = Connection.opened("server", stream_fragments=True, extensions=[PerMessageDeflate("server", agreement)])
    text = ("é€ streaming " * 500).encode()
    events = send_compressed(conn, TEXT, text, 4)
    assert len(events) == 4 and all(isinstance(e, MessageFragment) for e in events)
    assert "".join(e.data for e in events) == text.decode()
    if not takeover:
        # A fresh stream per message: the same bytes again decode the same.
        events = send_compressed(conn, TEXT, text, 4)
        assert "".join(e.data for e in events) == text.decode()


def test_deflate_invalid_utf8_after_inflating_is_1007():
    conn = Connection.opened("server", stream_fragments=True, extensions=[PerMessageDeflate("server", Agreement())])
    events = send_compressed(conn, TEXT, b"fine " * 100 + b"\xff", 3)
    assert isinstance(events[-1], Closed) and events[-1].code == 1007


class GatheringDeflate(Extension):
    """An extension that cannot inflate in parts: the connection gathers."""

    name = "test"
    calls = 0

    def decode_message(self, opcode: Opcode, payload: bytes, max_size: int) -> bytes:
        GatheringDeflate.calls += 1
        return zlib.decompressobj(-15).decompress(payload + b"\x00\x00\xff\xff")


def test_extension_without_decode_fragment_gets_the_whole_message():
    conn = Connection.opened("server", stream_fragments=True, extensions=[GatheringDeflate()])
    events = send_compressed(conn, BINARY, b"abc" * 1000, 3)
    assert events == [MessageFragment(b"abc" * 1000, False, True)]
    assert GatheringDeflate.calls == 1
    conn.receive_data(frame(BINARY, b"plain", fin=False) + frame(CONT, b"!"))
    assert [e.data for e in conn.events()] == [b"plain", b"!"]
    conn.receive_data(frame(BINARY, b"one"))
    assert conn.events() == [BinaryMessage(b"one")]
