"""Several threads, independent codec objects: the results equal single-threaded ones.

The contract (docs/release.md): module functions (``apply_mask``,
``validate_utf8``, ``encode_frame``...) may be called from any number of
threads at once; a stateful object (``FrameParser``, ``Utf8Validator``,
``Connection``) belongs to one thread at a time, and distinct objects share no
state. The compiled module declares itself free-threading compatible
(Cython's ``freethreading_compatible``), so on a free-threaded CPython these
threads really run in parallel; on a GIL build a tiny switch interval makes
them interleave inside the calls as often as the GIL allows.

Every thread waits at a barrier so they start together, and every join is
bounded: a deadlock fails the test instead of hanging it.
"""

from __future__ import annotations

import os
import random
import sys
import sysconfig
import threading
from types import ModuleType
from typing import Any, Callable, Iterator, List, Sequence, Tuple

import pytest

import wsframe
from wsframe import Connection, Opcode

THREADS = 4
ROUNDS = 3
JOIN_TIMEOUT = 120.0  # seconds; only reached if something deadlocks


@pytest.fixture(autouse=True)
def fast_switching() -> Iterator[None]:
    """Switch threads every microsecond on GIL builds, so calls interleave."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(old)


def run_threads(work: Callable[[int], Any], count: int = THREADS) -> List[Any]:
    """Run ``work(i)`` in ``count`` threads started together; their results, in order.

    Raises:
        AssertionError: a thread raised (re-raised here) or did not finish in time.
    """
    barrier = threading.Barrier(count)
    results: List[Any] = [None] * count
    errors: List[BaseException] = []

    def target(index: int) -> None:
        try:
            barrier.wait(timeout=JOIN_TIMEOUT)
            results[index] = work(index)
        except BaseException as exc:  # report any failure to the main thread
            errors.append(exc)

    threads = [threading.Thread(target=target, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a worker thread did not finish"
    if errors:
        raise errors[0]
    return results


# ---- workloads ---------------------------------------------------------------------


def random_payload(rng: random.Random, size: int, text: bool) -> bytes:
    if text:
        alphabet = "ascii \u00e9\u00e8 \u4e2d\u6587 \U0001f600 "
        return "".join(rng.choice(alphabet) for _ in range(size)).encode("utf-8")
    return rng.getrandbits(8 * size).to_bytes(size, "little") if size else b""


def client_stream(codec: ModuleType, seed: int) -> Tuple[bytes, List[bytes]]:
    """Masked client frames (text, binary, fragmented, pings between fragments)
    and the chunks a server would read them in."""
    rng = random.Random(seed)
    wire = bytearray()
    for _ in range(40):
        text = rng.random() < 0.5
        payload = random_payload(rng, rng.choice([0, 5, 125, 126, 1000, 70000]), text)
        opcode = Opcode.TEXT if text else Opcode.BINARY
        if rng.random() < 0.3 and len(payload) > 10:
            cut = len(payload) // 2
            wire += codec.encode_frame(opcode, payload[:cut], fin=False, mask=True)
            wire += codec.encode_frame(Opcode.PING, b"between", mask=True)
            wire += codec.encode_frame(Opcode.CONTINUATION, payload[cut:], fin=True, mask=True)
        else:
            wire += codec.encode_frame(opcode, payload, mask=True)
    data = bytes(wire)
    chunks, pos = [], 0
    while pos < len(data):
        step = rng.choice([1, 7, 100, 4096, 65536])
        chunks.append(data[pos : pos + step])
        pos += step
    return data, chunks


def parse_all(codec: ModuleType, chunks: Sequence[bytes]) -> List[Tuple[int, bytes, bool]]:
    parser = codec.FrameParser(is_server=True)
    out = []
    for chunk in chunks:
        out += [(int(f.opcode), f.payload, f.fin) for f in parser.feed(chunk)]
    parser.feed_eof()
    return out


# ---- codec -------------------------------------------------------------------------


def test_parsers_in_threads_match_single_thread(codec: ModuleType) -> None:
    streams = [client_stream(codec, seed)[1] for seed in range(THREADS)]
    expected = [parse_all(codec, chunks) for chunks in streams]
    assert all(expected)

    def work(index: int) -> List[List[Tuple[int, bytes, bool]]]:
        return [parse_all(codec, streams[index]) for _ in range(ROUNDS)]

    for index, rounds in enumerate(run_threads(work)):
        assert all(result == expected[index] for result in rounds)


def test_parser_errors_in_threads(codec: ModuleType) -> None:
    # Bad UTF-8 late in a fragmented text message: 1007 at the same position everywhere.
    good = "\u00e9".encode() * 3000
    wire = codec.encode_frame(Opcode.TEXT, good, fin=False, mask=True)
    wire += codec.encode_frame(Opcode.CONTINUATION, b"ok\xc3\x28", fin=True, mask=True)

    def outcome() -> Tuple[str, int, int]:
        parser = codec.FrameParser(is_server=True)
        try:
            for i in range(0, len(wire), 333):
                parser.feed(wire[i : i + 333])
        except wsframe.ProtocolError as exc:
            return type(exc).__name__, exc.code, getattr(exc, "position", -1)
        raise AssertionError("the bad UTF-8 was accepted")

    expected = outcome()
    assert expected[:2] == ("InvalidUTF8", 1007)
    results = run_threads(lambda _: [outcome() for _ in range(ROUNDS * 5)])
    assert all(result == expected for rounds in results for result in rounds)


def validate_chunks(codec: ModuleType, data: bytes, step: int) -> Tuple[int, int, object]:
    validator = codec.Utf8Validator()
    error: object = None
    try:
        for i in range(0, len(data), step):
            validator.feed(data[i : i + step])
        validator.feed(b"", final=True)
    except wsframe.InvalidUTF8 as exc:
        error = exc.position
    return validator.position, validator.pending, error


def test_utf8_validators_in_threads(codec: ModuleType) -> None:
    rng = random.Random(7)
    inputs = [random_payload(rng, 20000, text=True) for _ in range(THREADS)]
    inputs[1] = inputs[1][:-1]  # truncated at the end: fails on final
    inputs[2] = inputs[2][:9000] + b"\xed\xa0\x80" + inputs[2][9000:]  # a surrogate
    expected = [validate_chunks(codec, data, 1 + 37 * i) for i, data in enumerate(inputs)]
    assert expected[2][2] is not None
    # Chunks of 64 KiB and more are validated with the GIL released (C backend).
    big = [data * 8 for data in inputs]
    expected_big = [validate_chunks(codec, data, 1 << 17) for data in big]

    def work(index: int) -> List[Any]:
        results = [validate_chunks(codec, inputs[index], 1 + 37 * index) for _ in range(ROUNDS)]
        return results + [validate_chunks(codec, big[index], 1 << 17) for _ in range(ROUNDS)]

    for index, rounds in enumerate(run_threads(work)):
        assert rounds == [expected[index]] * ROUNDS + [expected_big[index]] * ROUNDS
    # The one-shot functions agree, from several threads too.
    one_shot = [(codec.validate_utf8(d), codec.find_invalid_utf8(d)) for d in inputs]
    assert run_threads(lambda _: [(codec.validate_utf8(d), codec.find_invalid_utf8(d)) for d in inputs]) == [
        one_shot
    ] * THREADS


def test_apply_mask_in_threads(codec: ModuleType) -> None:
    rng = random.Random(11)
    shared = random_payload(rng, 1 << 20, text=False)  # read by every thread at once
    keys = [rng.getrandbits(32).to_bytes(4, "little") for _ in range(THREADS)]
    expected = [codec.apply_mask(shared, key, i) for i, key in enumerate(keys)]

    def work(index: int) -> List[bool]:
        checks = []
        for _ in range(ROUNDS):
            checks.append(codec.apply_mask(shared, keys[index], index) == expected[index])
            own = bytearray(shared)  # each thread masks its own buffer in place
            codec.apply_mask_inplace(own, keys[index], index)
            checks.append(own == expected[index])
            codec.apply_mask_inplace(memoryview(own)[::2], keys[index])  # strided, still private
            codec.apply_mask_inplace(memoryview(own)[::2], keys[index])
            checks.append(own == expected[index])
        return checks

    assert all(all(checks) for checks in run_threads(work))


def test_encode_frame_in_threads(codec: ModuleType) -> None:
    payloads = [bytes([i]) * size for i, size in enumerate((0, 125, 65535, 70000))]
    expected = [codec.encode_frame(Opcode.BINARY, p, mask=b"abcd") for p in payloads]

    def work(_: int) -> bool:
        return all(codec.encode_frame(Opcode.BINARY, p, mask=b"abcd") == e for p, e in zip(payloads, expected))

    assert all(run_threads(work))


def test_random_mask_keys_in_threads(codec: ModuleType) -> None:
    # mask=True draws keys from a pool shared by the process (RFC 6455 5.3):
    # concurrent draws must still give frames that decode to their payload.
    payload = bytes(range(256)) * 4

    def work(_: int) -> Tuple[bool, int]:
        parser = codec.FrameParser(is_server=True)
        keys = set()
        ok = True
        for _ in range(500):
            wire = codec.encode_frame(Opcode.BINARY, payload, mask=True)
            keys.add(wire[4:8])  # the key of a 1024-byte payload follows a 4-byte header
            (frame,) = parser.feed(wire)
            ok = ok and frame.payload == payload
        return ok, len(keys)

    results = run_threads(work)
    assert all(ok for ok, _ in results)
    assert all(distinct > 400 for _, distinct in results)  # 500 random 32-bit keys: collisions are rare


# ---- the sans-I/O connection ----------------------------------------------------------


def converse(seed: int) -> List[Tuple[str, Any]]:
    """A client and a server Connection exchange messages; the server's events."""
    rng = random.Random(seed)
    client = Connection.opened("client")
    server = Connection.opened("server")
    seen: List[Tuple[str, Any]] = []
    for _ in range(30):
        if rng.random() < 0.5:
            client.send_text(random_payload(rng, rng.choice([3, 200, 5000]), True).decode(), fragment_size=1000)
        else:
            client.send_binary(random_payload(rng, rng.choice([0, 126, 70000]), False))
        if rng.random() < 0.2:
            client.send_ping(b"p")
        wire = client.data_to_send()
        for i in range(0, len(wire), 1500):
            server.receive_data(wire[i : i + 1500])
        seen += [(type(e).__name__, getattr(e, "data", None)) for e in server.events()]
        client.receive_data(server.data_to_send())  # pongs
        seen += [(type(e).__name__, getattr(e, "data", None)) for e in client.events()]
    client.close(1000, "bye")
    server.receive_data(client.data_to_send())
    client.receive_data(server.data_to_send())
    seen += [(type(e).__name__, getattr(e, "code", None)) for e in server.events() + client.events()]
    return seen


def test_connections_in_threads_match_single_thread() -> None:
    expected = [converse(seed) for seed in range(THREADS)]
    assert all(len(events) > 30 for events in expected)
    results = run_threads(lambda index: [converse(index) for _ in range(ROUNDS)])
    for index, rounds in enumerate(results):
        assert all(result == expected[index] for result in rounds)


# ---- free-threaded CPython ---------------------------------------------------------


@pytest.mark.skipif(not sysconfig.get_config_var("Py_GIL_DISABLED"), reason="not a free-threaded CPython build")
def test_compiled_module_keeps_the_gil_disabled() -> None:
    # A module without Py_mod_gil makes CPython turn the GIL back on at import
    # (with a RuntimeWarning); ours declares freethreading_compatible.
    if os.environ.get("PYTHON_GIL") == "1":
        pytest.skip("PYTHON_GIL=1 forces the GIL on")
    if wsframe.BACKEND != "c":
        pytest.skip(f"compiled backend not in use: {wsframe.C_IMPORT_ERROR}")
    from wsframe import _codec_c  # noqa: F401  (imported by wsframe already; re-importing changes nothing)

    assert not sys._is_gil_enabled()  # type: ignore[attr-defined]
