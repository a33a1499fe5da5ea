"""The API reference's own bookkeeping (issue 18), without building it.

.ci/checks/docs.sh builds the site with Sphinx and runs
scripts/check_api_coverage.py on it; these tests need no Sphinx: they check
the checker on a hand-made objects.inv, and that the lists the site is built
from agree (docs/conf.py's modules, the checker's, the docs/api pages, the
pins of docs/requirements.txt and of pyproject.toml's "docs" extra).
The sdist ships neither docs/conf.py nor scripts/: there they skip.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import re
import zlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SCRIPT = ROOT / "scripts" / "check_api_coverage.py"

pytestmark = pytest.mark.skipif(
    not (SCRIPT.is_file() and (DOCS / "conf.py").is_file()),
    reason="docs/conf.py or scripts/check_api_coverage.py not in this tree (an sdist)",
)


@pytest.fixture(scope="module")
def checker():
    spec = importlib.util.spec_from_file_location("check_api_coverage", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _inventory(entries):
    body = "".join(f"{name} {role} 1 api/x.html#$ -\n" for name, role in entries)
    head = (
        "# Sphinx inventory version 2\n# Project: wsframe\n# Version: 0\n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    return head.encode() + zlib.compress(body.encode())


def _conf_modules():
    tree = ast.parse((DOCS / "conf.py").read_text(encoding="utf-8"))
    for node in tree.body:
        target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
        if isinstance(target, ast.Name) and target.id == "wsframe_public_modules":
            return ast.literal_eval(node.value)
    raise AssertionError("docs/conf.py has no wsframe_public_modules")


def test_parse_inventory(checker):
    objects = checker.parse_inventory(
        _inventory([("wsframe.errors", "py:module"), ("wsframe.errors.ProtocolError", "py:exception"), ("intro", "std:doc")])
    )
    assert objects["wsframe.errors.ProtocolError"] == {"py:exception"}
    assert checker.python_names(objects) == {"wsframe.errors", "wsframe.errors.ProtocolError"}
    assert checker.documented_modules(objects) == ["wsframe.errors"]
    with pytest.raises(ValueError):
        checker.parse_inventory(b"not an inventory\n")


def test_check_lists_missing_names(checker):
    import wsframe.errors

    names = list(wsframe.errors.__all__)
    documented = {"wsframe.errors"} | {f"wsframe.errors.{n}" for n in names[1:]}
    covered, total, missing, problems = checker.check(documented, ["wsframe.errors"])
    assert (covered, total) == (len(names) - 1, len(names))
    assert missing == {"wsframe.errors": [names[0]]}
    assert problems == []
    # A module that is not in the reference at all, one that does not import.
    covered, total, missing, problems = checker.check(set(), ["wsframe.errors", "wsframe.no_such_module"])
    assert covered == 0 and len(missing["wsframe.errors"]) == len(names)
    assert any("wsframe.errors: the module itself" in p for p in problems)
    assert any("wsframe.no_such_module: cannot be imported" in p for p in problems)
    # An optional module that does not import is skipped, not a failure.
    assert checker.check(set(), ["wsframe.no_such_module"], ["wsframe.no_such_module"])[3] == []


def test_main_fails_on_a_gap_and_passes_when_complete(checker, tmp_path, capsys, monkeypatch):
    import wsframe.errors

    complete = [("wsframe.errors", "py:module")] + [(f"wsframe.errors.{n}", "py:exception") for n in wsframe.errors.__all__]
    monkeypatch.setattr(checker, "REQUIRED_MODULES", ("wsframe.errors",))
    (tmp_path / "objects.inv").write_bytes(_inventory(complete))
    assert checker.main([str(tmp_path)]) == 0
    assert f"{len(wsframe.errors.__all__)}/{len(wsframe.errors.__all__)} public names covered" in capsys.readouterr().out
    (tmp_path / "objects.inv").write_bytes(_inventory(complete[:-1]))
    assert checker.main([str(tmp_path / "objects.inv")]) == 1
    assert f"not in the reference: {wsframe.errors.__all__[-1]}" in capsys.readouterr().out
    assert checker.main([str(tmp_path / "missing.inv")]) == 2


def test_every_public_module_has_all(checker):
    for modname in checker.REQUIRED_MODULES:
        try:
            mod = importlib.import_module(modname)
        except ImportError:
            assert modname in checker.OPTIONAL_MODULES, modname
            continue
        assert isinstance(getattr(mod, "__all__", None), (list, tuple)), modname
        for name in mod.__all__:
            assert hasattr(mod, name), f"{modname}.__all__ names {name!r}, which it lacks"


def test_conf_checker_and_pages_agree(checker):
    conf_modules = _conf_modules()
    assert sorted(conf_modules) == sorted(checker.REQUIRED_MODULES)
    pages = {}
    for page in sorted((DOCS / "api").glob("*.rst")):
        for modname in re.findall(r"^\.\. wsframe-module:: (\S+)$", page.read_text(encoding="utf-8"), re.M):
            pages[modname] = page.stem
    assert sorted(pages) == sorted(conf_modules), "one docs/api page per public module"
    index = (DOCS / "api" / "index.rst").read_text(encoding="utf-8")
    listed = set(re.findall(r"^   (\S+)$", index, re.M))
    assert set(pages.values()) <= listed, "docs/api/index.rst lists every page"


def test_requirements_match_the_docs_extra():
    tomllib = pytest.importorskip("tomllib")
    pins = {}
    for line in (DOCS / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[name.lower()] = version
    assert pins and all(pins.values()), "docs/requirements.txt pins every package"
    with open(ROOT / "pyproject.toml", "rb") as f:
        extra = tomllib.load(f)["project"]["optional-dependencies"]["docs"]
    extra_pins = {}
    for req in extra:
        spec = req.split(";", 1)[0].strip()
        name, _, version = spec.partition("==")
        extra_pins[name.lower()] = version
    assert extra_pins == pins
