"""permessage-deflate negotiation (RFC 7692 sections 5 and 7.1): offers, responses, both factories."""

from __future__ import annotations

import pytest

from wsframe.deflate import ClientPerMessageDeflate, PerMessageDeflate, ServerPerMessageDeflate
from wsframe.deflate.params import (
    Agreement,
    Offer,
    check_response,
    negotiate,
    offer_params,
    parse_offer,
    parse_response,
    response_params,
)
from wsframe.handshake import NegotiationError
from wsframe.handshake.extensions import format_extensions, parse_extensions


def params_of(header: str):
    """The parameters of the single extension in a header value."""
    [(name, params)] = parse_extensions([header])
    assert name == "permessage-deflate"
    return params


# ---- parsing offers -------------------------------------------------------------


@pytest.mark.parametrize(
    "header, offer",
    [
        ("permessage-deflate", Offer()),
        ("permessage-deflate; client_max_window_bits", Offer(client_max_window_bits=True)),
        ("permessage-deflate; client_max_window_bits=10", Offer(client_max_window_bits=10)),
        ('permessage-deflate; client_max_window_bits="10"', Offer(client_max_window_bits=10)),
        ("permessage-deflate; server_max_window_bits=8", Offer(server_max_window_bits=8)),
        ("permessage-deflate; server_max_window_bits=15", Offer(server_max_window_bits=15)),
        (
            (
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover;"
                " server_max_window_bits=9; client_max_window_bits=11"
            ),
            Offer(True, True, 9, 11),
        ),
    ],
)
def test_parse_offer(header, offer):
    assert parse_offer(params_of(header)) == offer


@pytest.mark.parametrize(
    "header, message",
    [
        ("permessage-deflate; x_foo", "unknown"),
        ("permessage-deflate; server_no_context_takeover; server_no_context_takeover", "duplicate"),
        ("permessage-deflate; client_max_window_bits; client_max_window_bits=10", "duplicate"),
        ("permessage-deflate; server_no_context_takeover=1", "takes no value"),
        ("permessage-deflate; client_no_context_takeover=true", "takes no value"),
        ("permessage-deflate; server_max_window_bits", "8..15"),  # 7.1.2.1: value required
        ("permessage-deflate; server_max_window_bits=7", "8..15"),
        ("permessage-deflate; server_max_window_bits=16", "8..15"),
        ("permessage-deflate; server_max_window_bits=08", "8..15"),  # no leading zeros
        ("permessage-deflate; server_max_window_bits=-9", "8..15"),
        ("permessage-deflate; client_max_window_bits=0", "8..15"),
        ("permessage-deflate; client_max_window_bits=99999999999999999999", "8..15"),
        ("permessage-deflate; client_max_window_bits=abc", "8..15"),
    ],
)
def test_parse_offer_refuses(header, message):
    with pytest.raises(NegotiationError, match=message):
        parse_offer(params_of(header))


def test_parse_response_needs_client_bits_value():
    # 7.1.2.2: in a response client_max_window_bits must have a value.
    with pytest.raises(NegotiationError):
        parse_response(params_of("permessage-deflate; client_max_window_bits"))
    assert parse_response(params_of("permessage-deflate; client_max_window_bits=9")) == Agreement(
        client_max_window_bits=9
    )


@pytest.mark.parametrize(
    "offer",
    [Offer(), Offer(True, True, 10, True), Offer(False, True, None, 12), Offer(True, False, 15, None)],
)
def test_offer_params_round_trip(offer):
    header = format_extensions([("permessage-deflate", offer_params(offer))])
    assert parse_offer(params_of(header)) == offer


@pytest.mark.parametrize("agreement", [Agreement(), Agreement(True, True, 9, 15), Agreement(False, False, 12, None)])
def test_response_params_round_trip(agreement):
    header = format_extensions([("permessage-deflate", response_params(agreement))])
    assert parse_response(params_of(header)) == agreement


# ---- server side: negotiate() ------------------------------------------------------


@pytest.mark.parametrize(
    "offer, policy, agreement",
    [
        # Nothing asked, nothing configured.
        (Offer(), {}, Agreement()),
        # 7.1.1.1: an offered server_no_context_takeover must be confirmed.
        (Offer(server_no_context_takeover=True), {}, Agreement(server_no_context_takeover=True)),
        # The server may add it on its own.
        (Offer(), {"server_no_context_takeover": True}, Agreement(server_no_context_takeover=True)),
        # The client's hint is confirmed (our decoder can then drop its window).
        (Offer(client_no_context_takeover=True), {}, Agreement(client_no_context_takeover=True)),
        (Offer(), {"client_no_context_takeover": True}, Agreement(client_no_context_takeover=True)),
        # 7.1.2.1: answer with the same or a smaller value.
        (Offer(server_max_window_bits=10), {}, Agreement(server_max_window_bits=10)),
        (Offer(server_max_window_bits=10), {"server_max_window_bits": 12}, Agreement(server_max_window_bits=10)),
        (Offer(server_max_window_bits=14), {"server_max_window_bits": 12}, Agreement(server_max_window_bits=12)),
        # ... and a server may state a limit the client did not ask for.
        (Offer(), {"server_max_window_bits": 12}, Agreement(server_max_window_bits=12)),
        # 7.1.2.2: client_max_window_bits only when the offer has it.
        (Offer(), {"client_max_window_bits": 10}, Agreement()),
        (Offer(client_max_window_bits=True), {"client_max_window_bits": 10}, Agreement(client_max_window_bits=10)),
        (Offer(client_max_window_bits=True), {}, Agreement()),
        (Offer(client_max_window_bits=11), {}, Agreement(client_max_window_bits=11)),
        (Offer(client_max_window_bits=11), {"client_max_window_bits": 9}, Agreement(client_max_window_bits=9)),
        (Offer(client_max_window_bits=9), {"client_max_window_bits": 12}, Agreement(client_max_window_bits=9)),
    ],
)
def test_negotiate(offer, policy, agreement):
    assert negotiate(offer, **policy) == agreement


# ---- client side: check_response() --------------------------------------------------


@pytest.mark.parametrize(
    "offer, response, message",
    [
        (Offer(server_no_context_takeover=True), Agreement(), "server_no_context_takeover"),
        (Offer(server_max_window_bits=10), Agreement(), "server_max_window_bits"),
        (Offer(server_max_window_bits=10), Agreement(server_max_window_bits=11), "above"),
        (Offer(), Agreement(client_max_window_bits=10), "not offered"),
    ],
)
def test_check_response_refuses(offer, response, message):
    with pytest.raises(NegotiationError, match=message):
        check_response([offer], response)


def test_check_response_accepts_extra_server_limits():
    # The server may add server_no_context_takeover, server_max_window_bits
    # and client_no_context_takeover without being asked.
    response = Agreement(True, True, 9, None)
    assert check_response([Offer()], response) == response


def test_check_response_applies_our_window_hint():
    assert check_response([Offer(client_max_window_bits=10)], Agreement()) == Agreement(client_max_window_bits=10)
    assert (
        check_response([Offer(client_max_window_bits=10)], Agreement(client_max_window_bits=9)).client_max_window_bits
        == 9
    )


def test_check_response_picks_the_first_matching_offer():
    offers = [Offer(server_no_context_takeover=True, server_max_window_bits=10), Offer(client_max_window_bits=True)]
    # Answers the second offer only (no server_no_context_takeover).
    assert check_response(offers, Agreement(client_max_window_bits=12)) == Agreement(client_max_window_bits=12)
    # Answers the first.
    assert check_response(offers, Agreement(True, False, 9, None)) == Agreement(True, False, 9, None)
    with pytest.raises(NegotiationError, match="matches no offer"):
        check_response(offers[:1], Agreement(client_max_window_bits=12))


# ---- the factories ---------------------------------------------------------------


def test_server_factory_accepts_and_builds_the_extension():
    factory = ServerPerMessageDeflate()
    params, extension = factory.accept(params_of("permessage-deflate; client_max_window_bits"), [])
    assert params == [("server_max_window_bits", "12"), ("client_max_window_bits", "12")]
    assert isinstance(extension, PerMessageDeflate)
    assert extension.local_window_bits == 12 and extension.remote_window_bits == 12


@pytest.mark.parametrize(
    "header",
    [
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; foo=bar",
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
    ],
)
def test_server_factory_declines_invalid_offers(header):
    # RFC 7692 section 5: "A server MUST decline an extension negotiation
    # offer for this extension if" it is invalid; the handshake goes on.
    assert ServerPerMessageDeflate().accept(params_of(header), []) is None


def test_server_takes_the_first_valid_offer_in_preference_order():
    from wsframe.handshake.extensions import negotiate_server_extensions

    offers = parse_extensions(
        [
            (
                "permessage-deflate; server_max_window_bits=99,"
                " permessage-deflate; server_no_context_takeover, permessage-deflate"
            )
        ]
    )
    response, extensions = negotiate_server_extensions(offers, [ServerPerMessageDeflate(server_max_window_bits=None)])
    assert response == [("permessage-deflate", [("server_no_context_takeover", None)])]
    assert len(extensions) == 1 and extensions[0].local_no_context_takeover


def test_server_factory_accepts_only_once():
    factory = ServerPerMessageDeflate()
    _, extension = factory.accept([], [])
    assert factory.accept([], [extension]) is None


def test_server_accepts_window_8_and_then_sends_uncompressed():
    # zlib cannot compress with an 8-bit window: accept, never compress.
    params, extension = ServerPerMessageDeflate().accept(params_of("permessage-deflate; server_max_window_bits=8"), [])
    assert ("server_max_window_bits", "8") in params
    assert extension.encode_message(1, b"a" * 1000) == (b"a" * 1000, False)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"server_max_window_bits": 8},  # ours: zlib cannot do 8
        {"server_max_window_bits": 16},
        {"client_max_window_bits": 7},
        {"compress_level": 10},
        {"mem_level": 0},
        {"min_size": -1},
    ],
)
def test_server_factory_refuses_bad_configuration(kwargs):
    with pytest.raises(ValueError):
        ServerPerMessageDeflate(**kwargs)


@pytest.mark.parametrize("kwargs", [{"server_max_window_bits": 7}, {"client_max_window_bits": 16}, {"offers": []}])
def test_client_factory_refuses_bad_configuration(kwargs):
    with pytest.raises(ValueError):
        ClientPerMessageDeflate(**kwargs)


def test_client_factory_offers():
    assert ClientPerMessageDeflate().offer() == [("client_max_window_bits", None)]
    assert ClientPerMessageDeflate(client_max_window_bits=None).offer() == []
    factory = ClientPerMessageDeflate(offers=[Offer(server_no_context_takeover=True), Offer()])
    assert factory.offers() == [[("server_no_context_takeover", None)], []]


def test_client_factory_accept():
    factory = ClientPerMessageDeflate(server_no_context_takeover=True)
    extension = factory.accept(
        params_of("permessage-deflate; server_no_context_takeover; client_max_window_bits=10"), []
    )
    assert extension.local_window_bits == 10 and extension.remote_no_context_takeover
    with pytest.raises(NegotiationError):
        factory.accept(params_of("permessage-deflate"), [])  # not confirmed
    with pytest.raises(NegotiationError):
        factory.accept(params_of("permessage-deflate; server_no_context_takeover; bogus"), [])
    with pytest.raises(NegotiationError):
        factory.accept(params_of("permessage-deflate; server_no_context_takeover; server_max_window_bits=16"), [])
    with pytest.raises(NegotiationError):
        factory.accept(params_of("permessage-deflate; server_no_context_takeover"), [extension])
