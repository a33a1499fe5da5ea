"""API parity: both backends expose the names and signatures of ``_codec_c.pyi``.

The stub is parsed with ``ast``; each function, class constructor and method
is compared with what the backend shows: ``inspect.signature`` where it works
(Python functions, Cython functions), otherwise the signature line that
Cython's ``embedsignature`` puts at the top of the docstring (what ``help()``
shows). Parameter names, kinds (positional / keyword-only) and defaults must
match; a ``...`` default in the stub only says that a default exists.
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest

import wsframe

PYI = Path(wsframe.__file__).with_name("_codec_c.pyi")
ELLIPSIS = "..."
NO_DEFAULT = "<required>"

Param = Tuple[str, str, Any]  # (name, kind, default or NO_DEFAULT / ELLIPSIS)


def _params_from_ast(args: ast.arguments, resolve: Any = None) -> List[Param]:
    """Parameters of an ast function, ``self`` dropped, defaults as values."""

    def value(node: Optional[ast.expr]) -> Any:
        if node is None:
            return NO_DEFAULT
        if isinstance(node, ast.Constant) and node.value is Ellipsis:
            return ELLIPSIS
        try:
            return ast.literal_eval(node)
        except ValueError:
            text = ast.unparse(node)
            return resolve(text) if resolve else text

    out: List[Param] = []
    positional = list(args.posonlyargs) + list(args.args)
    pos_defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    for i, (arg, default) in enumerate(zip(positional, pos_defaults)):
        kind = "POSITIONAL_ONLY" if i < len(args.posonlyargs) else "POSITIONAL_OR_KEYWORD"
        out.append((arg.arg, kind, value(default)))
    if args.vararg:
        out.append((args.vararg.arg, "VAR_POSITIONAL", NO_DEFAULT))
    for arg, default in zip(args.kwonlyargs, args.kw_defaults):
        out.append((arg.arg, "KEYWORD_ONLY", value(default)))
    if args.kwarg:
        out.append((args.kwarg.arg, "VAR_KEYWORD", NO_DEFAULT))
    return [p for p in out if p[0] != "self"]


def load_stub() -> Dict[str, Any]:
    """{"functions": {name: params}, "classes": {name: {"methods": {...}, "attributes": set}}, "constants": set}."""
    tree = ast.parse(PYI.read_text())
    stub: Dict[str, Any] = {"functions": {}, "classes": {}, "constants": set()}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            stub["functions"][node.name] = _params_from_ast(node.args)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id.isupper():
            stub["constants"].add(node.target.id)
        elif isinstance(node, ast.ClassDef):
            methods, attributes = {}, set()
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    decorators = {ast.unparse(d) for d in item.decorator_list}
                    if "property" in decorators:
                        attributes.add(item.name)
                    elif item.name == "__init__" or not item.name.startswith("_"):
                        methods[item.name] = _params_from_ast(item.args)
                elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    attributes.add(item.target.id)
            stub["classes"][node.name] = {"methods": methods, "attributes": attributes}
    return stub


STUB = load_stub()
# Names that must exist in the stub itself: guards this parser against silently reading nothing.
assert {"apply_mask", "decode_frame_header", "kernel_info"} <= set(STUB["functions"])
assert {"FrameParser", "Frame", "FrameHeader", "Utf8Validator"} <= set(STUB["classes"])

CALLABLES = [(name, None) for name in sorted(STUB["functions"])] + [
    (cls, meth) for cls in sorted(STUB["classes"]) for meth in sorted(STUB["classes"][cls]["methods"])
]
CALLABLE_IDS = [name if meth is None else f"{name}.{meth}" for name, meth in CALLABLES]


def _from_docstring(obj: Any, module: Any) -> Optional[List[Param]]:
    """Parameters from an embedded signature line such as ``Frame(opcode, payload, fin=True)``."""
    doc = getattr(obj, "__doc__", None) or ""
    first = doc.strip().splitlines()[0] if doc.strip() else ""
    match = re.match(r"^[\w.]+\((.*)\)(\s*->.*)?$", first)
    if not match:
        return None
    fn = ast.parse(f"def f({match.group(1)}): pass").body[0]
    return _params_from_ast(fn.args, resolve=lambda text: getattr(module, text, text))


def runtime_params(module: Any, name: str, meth: Optional[str]) -> Optional[List[Param]]:
    """What the backend shows for a function, a class (meth "__init__") or a method; None if nothing."""
    obj = getattr(module, name)
    if meth is not None and meth != "__init__":
        obj = getattr(obj, meth)
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        sig = None
    if sig is not None and not (inspect.isclass(obj) and list(sig.parameters) == ["args", "kwargs"]):
        out = []
        for p in sig.parameters.values():
            default = NO_DEFAULT if p.default is inspect.Parameter.empty else p.default
            out.append((p.name, p.kind.name, default))
        return [p for p in out if p[0] != "self"]
    return _from_docstring(obj, module)


def compare(expected: List[Param], got: List[Param]) -> List[str]:
    """Differences between the stub's parameters and the backend's."""
    problems = []
    if [(n, k) for n, k, _ in expected] != [(n, k) for n, k, _ in got]:
        problems.append(f"parameters {[(n, k) for n, k, _ in got]} != stub {[(n, k) for n, k, _ in expected]}")
        return problems
    for (name, _, want), (_, _, have) in zip(expected, got):
        if want == NO_DEFAULT and have != NO_DEFAULT:
            problems.append(f"{name}: has default {have!r}, stub has none")
        elif want != NO_DEFAULT and have == NO_DEFAULT:
            problems.append(f"{name}: no default, stub has {want!r}")
        elif want not in (NO_DEFAULT, ELLIPSIS) and have != want:
            problems.append(f"{name}: default {have!r} != stub {want!r}")
    return problems


# ---- names -------------------------------------------------------------------------------------


def test_stub_names_exist(backend):
    missing = [n for n in list(STUB["functions"]) + list(STUB["classes"]) + sorted(STUB["constants"]) if not hasattr(backend, n)]
    assert missing == []


SHARED_MODULES = {"wsframe.enums", "wsframe.errors", "wsframe._reasons", "wsframe._backend"}


def defined_public_names(module: Any) -> set:
    """Public names the module defines itself (not imports such as ``os`` or ``Opcode``)."""
    names = set()
    for name, obj in vars(module).items():
        if name.startswith("_") or inspect.ismodule(obj):
            continue
        if isinstance(obj, (int, str, bytes, float, tuple)):
            names.add(name)
            continue
        owner = str(getattr(obj, "__module__", None))
        # the pure twin may define its classes in helper modules (the package wsframe._py)
        if owner.startswith("wsframe.") and owner not in SHARED_MODULES:
            names.add(name)
    return names


def test_same_public_names(py_codec, c_codec):
    assert defined_public_names(c_codec) == defined_public_names(py_codec)


def test_public_names_are_the_stub(backend):
    stub_names = set(STUB["functions"]) | set(STUB["classes"]) | STUB["constants"]
    assert defined_public_names(backend) == stub_names


@pytest.mark.parametrize("name", sorted(STUB["constants"]))
def test_constants_equal(py_codec, c_codec, name):
    assert getattr(c_codec, name) == getattr(py_codec, name)


# ---- signatures ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name,meth", CALLABLES, ids=CALLABLE_IDS)
def test_signature_matches_stub(backend, name, meth):
    expected = STUB["functions"][name] if meth is None else STUB["classes"][name]["methods"][meth]
    got = runtime_params(backend, name, meth)
    if got is None:
        pytest.fail(f"{backend.__name__}.{name}{'.' + meth if meth else ''}: no signature via inspect or docstring")
    assert compare(expected, got) == []


@pytest.mark.parametrize("name,meth", CALLABLES, ids=CALLABLE_IDS)
def test_signatures_equal_between_backends(py_codec, c_codec, name, meth):
    a, b = runtime_params(c_codec, name, meth), runtime_params(py_codec, name, meth)
    if a is None or b is None:
        pytest.skip("signature not obtainable from one backend")
    assert [(n, k) for n, k, _ in a] == [(n, k) for n, k, _ in b]
    assert [d for _, _, d in a] == [d for _, _, d in b]


def test_frame_parser_keyword_behaviour(backend):
    """Signatures aside, the call behaves as the stub says: only keyword arguments."""
    with pytest.raises(TypeError):
        backend.FrameParser(True)
    p = backend.FrameParser(is_server=True, max_frame_size=1, max_message_size=1, max_fragments=1, reassemble=False, validate_utf8=False, rsv_allowed=(True, False, False))
    assert p.buffered == 0 and p.failed is False
    with pytest.raises(TypeError):
        backend.FrameParser(is_server=True, bogus=1)


# ---- attributes and properties --------------------------------------------------------------------


def test_class_attributes(backend):
    instances = {
        "Frame": backend.Frame(1, b"x"),
        "FrameHeader": backend.FrameHeader(True, False, False, False, 1, False, 1, None, 2),
        "FrameParser": backend.FrameParser(is_server=False),
        "Utf8Validator": backend.Utf8Validator(),
    }
    for cls, spec in STUB["classes"].items():
        obj = instances[cls]
        for attr in spec["attributes"]:
            assert hasattr(obj, attr), f"{cls}.{attr}"
        for meth in spec["methods"]:
            assert callable(getattr(obj, meth)), f"{cls}.{meth}"


def test_kernel_info_shape(backend):
    info = backend.kernel_info()
    assert set(info) >= {"mask", "utf8", "supported"}
    assert isinstance(info["supported"], list) and info["supported"]
    if backend.__name__.endswith("_codec_py"):
        assert info == {"mask": "python", "utf8": "python", "supported": ["python"]}
    else:
        assert info["mask"] in info["supported"] and info["utf8"] in ("generic", "sse2", "avx2", "avx512")


def test_errors_are_the_shared_classes(backend):
    from wsframe.errors import InvalidUTF8, ProtocolError

    with pytest.raises(ProtocolError):
        backend.decode_close_payload(b"\x00")
    v = backend.Utf8Validator()
    with pytest.raises(InvalidUTF8):
        v.feed(b"\xff")
