"""Sphinx configuration for the wsframe documentation (issue 18).

Build (warnings are errors, as in CI's .ci/checks/docs.sh)::

    pip install -r docs/requirements.txt
    sphinx-build -W --keep-going -b html docs /tmp/wsframe-docs

The API reference (docs/api/) is built from the docstrings of the installed
package by autodoc, with Google-style sections (napoleon); the guide pages
are the Markdown files of docs/ (myst-parser). It builds on both backends:
the codec names (``wsframe.FrameParser``...) come from the compiled
extension when it is built (their signatures from Cython's embedsignature)
and from the pure-Python twin under ``WSFRAME_NO_EXTENSIONS=1``.

Each object is documented in full once, in the first module of
``wsframe_public_modules`` whose ``__all__`` holds it; every other public
module that re-exports it (``wsframe.Connection``, ``wsframe.sync.InvalidURI``)
gets a short entry that links there, so every ``module.name`` of every
``__all__`` is in objects.inv (scripts/check_api_coverage.py checks that).
"""

from __future__ import annotations

import importlib
import inspect
import os
import re
import sys
import types

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.errors import PycodeError
from sphinx.ext.napoleon.docstring import GoogleDocstring
from sphinx.pycode import ModuleAnalyzer
from sphinx.util.docutils import SphinxDirective
from sphinx.util.inspect import object_description

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

try:  # the installed package (CI: pip install .), with its compiled extension
    import wsframe
except ImportError:  # a bare checkout: the source tree (pure backend)
    sys.path.insert(0, os.path.join(ROOT, "src"))
    import wsframe

# -- project ---------------------------------------------------------------
project = "wsframe"
author = "wsframe developers"
copyright = "wsframe developers"
release = wsframe.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
# Everything in docs/ that is not a page: the build output, the requirements
# file, this configuration.
exclude_patterns = ["_build", "**/_build", "requirements.txt", "conf.py", "Thumbs.db", ".DS_Store"]
templates_path: list[str] = []

# -- autodoc / napoleon ----------------------------------------------------
# No "members" here: Sphinx 9.0 lets a default "members" override the explicit
# member list that the wsframe-module directive below gives each module.
autodoc_default_options = {
    "undoc-members": True,
    "show-inheritance": True,
}
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
autoclass_content = "class"
napoleon_google_docstring = True
napoleon_numpy_docstring = False
# "Attributes:" sections as fields, not as attribute directives that would
# describe a second time what autodoc finds on the class.
napoleon_use_ivar = True


def _balanced(text: str) -> bool:
    return all(text.count(o) == text.count(c) for o, c in ("()", "[]", "{}"))


# Napoleon takes "X: Y" on the first line of a Returns section for "type:
# description". A colon inside a parenthesis ("The masked (or unmasked: XOR
# is its own inverse) bytes.") is prose, not that separator: split only where
# the text before the colon is balanced.
_partition = GoogleDocstring._partition_field_on_colon


def _partition_field_on_colon(self, line):
    before, colon, after = _partition(self, line)
    if colon and not _balanced(before):
        return line.strip(), "", ""
    return before, colon, after


GoogleDocstring._partition_field_on_colon = _partition_field_on_colon

# -- myst --------------------------------------------------------------------
myst_heading_anchors = 3
myst_enable_extensions = ["deflist"]

# Links from a guide page to a repository file outside docs/ (such as
# ../fuzz/README.md, ../examples/...) have no page on this site: they stay
# plain text, unwarned.
nitpick_ignore_regex = [("myst", re.escape(ROOT) + r"/(?!docs/).*"), ("myst", r"\.\./.*")]

# -- html --------------------------------------------------------------------
html_theme = "furo"
html_title = f"wsframe {release}"
html_static_path: list[str] = []

# The public modules, most specific first: an object is documented in full
# under the first of these whose __all__ holds it (see the module docstring).
wsframe_public_modules = [
    "wsframe.errors",
    "wsframe.enums",
    "wsframe.events",
    "wsframe.extension",
    "wsframe.connection",
    "wsframe.broadcast",
    "wsframe.handshake",
    "wsframe.deflate",
    "wsframe.aio.options",
    "wsframe.aio.messages",
    "wsframe.aio",
    "wsframe.hub",
    "wsframe.sync",
    "wsframe.compat",
    "wsframe",
]


def _exported(modname: str) -> list[str]:
    mod = importlib.import_module(modname)
    return list(getattr(mod, "__all__", []))


def _owner(modname: str, name: str) -> str | None:
    """The public module that documents ``modname.name`` in full, if another."""
    obj = getattr(importlib.import_module(modname), name)
    if isinstance(obj, types.ModuleType):
        return obj.__name__  # a submodule: documented on its own page
    for other in wsframe_public_modules:
        if other == modname:
            return None
        try:
            mod = importlib.import_module(other)
        except ImportError:
            continue
        if name in getattr(mod, "__all__", ()) and getattr(mod, name, None) is obj:
            return other
    return None


def _directive_for(obj: object) -> str:
    if inspect.isclass(obj):
        return "exception" if issubclass(obj, BaseException) else "class"
    if inspect.isroutine(obj) or isinstance(obj, (types.FunctionType, types.BuiltinFunctionType)):
        return "function"
    return "data"


def _xref_role(obj: object) -> str:
    return {"exception": "exc", "class": "class", "function": "func", "data": "data"}[_directive_for(obj)]


# Data whose value depends on the machine that builds the docs: no value shown.
wsframe_no_value = {"wsframe.BACKEND", "wsframe.HAS_C_EXTENSION", "wsframe.C_IMPORT_ERROR", "wsframe.deflate.ZLIB"}


# For the top-level constants, which are assigned where no ``#:`` comment can
# be read (the compiled extension, or a computed assignment in _backend.py).
wsframe_constant_docs = {
    "wsframe.BACKEND": '``"c"`` when the compiled extension is in use, ``"python"`` for the pure-Python twin '
    "(:func:`wsframe.backend_info` says why).",
    "wsframe.HAS_C_EXTENSION": '``BACKEND == "c"``.',
    "wsframe.C_IMPORT_ERROR": "Why the compiled backend is not in use (a str), or None when it is.",
    "wsframe.__version__": "The package version.",
    "wsframe.DEFAULT_MAX_FRAME_SIZE": "The default ``max_frame_size`` of :class:`wsframe.FrameParser`: "
    "the largest payload of one frame, in bytes.",
    "wsframe.DEFAULT_MAX_MESSAGE_SIZE": "The default ``max_message_size`` of :class:`wsframe.FrameParser`: "
    "the largest reassembled message, in bytes.",
    "wsframe.DEFAULT_MAX_FRAGMENTS": "The default ``max_fragments`` of :class:`wsframe.FrameParser`: "
    "the most frames one data message may have.",
}


def _attr_doc(modname: str, name: str, obj: object) -> list[str]:
    """The ``#:`` comment or string after the assignment of a module constant.

    Looked up in ``modname`` first, then in the loaded ``wsframe`` modules that
    hold the same object under the same name (where a re-exported constant is
    assigned), the package's own submodules first.
    """
    candidates = [modname]
    others = sorted(m for m in list(sys.modules) if m.startswith("wsframe.") and m != modname)
    candidates += [m for m in others if m.startswith(modname + ".")]
    candidates += [m for m in others if not m.startswith(modname + ".")]
    for cand in candidates:
        mod = sys.modules.get(cand)
        if mod is None or getattr(mod, name, _MISSING) is not obj:
            continue
        try:
            docs = ModuleAnalyzer.for_module(cand).find_attr_docs()
        except PycodeError:  # a compiled module: no source to read
            continue
        lines = docs.get(("", name))
        if lines:
            return list(lines)
    fallback = wsframe_constant_docs.get(f"{modname}.{name}")
    return [fallback] if fallback else []


_MISSING = object()


class PublicModule(SphinxDirective):
    """``.. wsframe-module:: NAME``: autodoc for a public module's ``__all__``.

    Names whose object another public module documents in full get an entry
    that links there instead (a submodule listed in ``__all__`` is already a
    module entry of its own page). Constants (module data) are described here
    with their value and the ``#:`` comment of their assignment: autodoc
    itself leaves out module data that has no such comment in this very
    module, even with ``:undoc-members:``.
    """

    required_arguments = 1
    has_content = False
    option_spec = {"synopsis": directives.unchanged}

    def run(self) -> list[nodes.Node]:
        modname = self.arguments[0]
        mod = importlib.import_module(modname)
        own, data, elsewhere, submodules = [], [], [], []
        for name in _exported(modname):
            obj = getattr(mod, name)
            owner = _owner(modname, name)
            if isinstance(obj, types.ModuleType):
                submodules.append(obj.__name__)
            elif owner is not None:
                elsewhere.append((name, owner))
            elif _directive_for(obj) == "data":
                data.append(name)
            else:
                own.append(name)
        lines = [f".. automodule:: {modname}"]
        if own:
            lines.append(f"   :members: {', '.join(own)}")
        else:
            lines.append("   :no-members:")
        if "synopsis" in self.options:
            lines.append(f"   :synopsis: {self.options['synopsis']}")
        lines.append("")
        if submodules:
            refs = ", ".join(f":mod:`{sub}`" for sub in submodules)
            lines += [f"Submodules exported here: {refs}.", ""]
        if data:
            lines += [".. rubric:: Constants", ""]
            for name in data:
                obj = getattr(mod, name)
                lines += [f".. py:data:: {name}", f"   :module: {modname}"]
                if f"{modname}.{name}" in wsframe_no_value:
                    lines.append(f"   :type: {type(obj).__name__}")
                else:
                    lines.append(f"   :value: {object_description(obj)}")
                lines.append("")
                lines += [f"   {line}" if line else "" for line in _attr_doc(modname, name, obj)]
                lines.append("")
        if elsewhere:
            lines += [".. rubric:: Re-exported names", "",
                      "Each is the same object as the one documented under the module named.", ""]
            for name, owner in elsewhere:
                obj = getattr(mod, name)
                kind = _directive_for(obj)
                lines += [f".. py:{kind}:: {name}", f"   :module: {modname}", ""]
                lines += [f"   Re-export of :{_xref_role(obj)}:`{owner}.{name}`.", ""]
        result = self.parse_text_to_nodes("\n".join(lines), allow_section_headings=False)
        # The re-export entries are aliases: a short reference such as
        # :class:`MessageTooBig` in a docstring then resolves to the full
        # description (wsframe.errors.MessageTooBig), not ambiguously.
        objects = self.env.domains.python_domain.objects
        for name, _owner_mod in elsewhere:
            entry = objects.get(f"{modname}.{name}")
            if entry is not None:
                objects[f"{modname}.{name}"] = entry._replace(aliased=True)
        return result


def setup(app):
    app.add_directive("wsframe-module", PublicModule)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
