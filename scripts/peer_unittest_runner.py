"""Run a peer's unittest-based suite with its own runner and list the outcomes.

Used by scripts/peer_suites.sh for tornado, whose tests need tornado's own
runner (``tornado.test.runtests`` sets the log levels its ``ExpectLog``
checks rely on; under pytest every test fails on "unexpected logs").

    python peer_unittest_runner.py OUTCOMES_FILE RUNNER_MODULE TEST_MODULE [TEST_MODULE...]

Imports scripts/peer_patch_plugin.py first (which patches the library named by
``WSFRAME_PEER_PATCH``), runs ``RUNNER_MODULE.main()`` with ``--verbose`` and
the test modules, and writes "<test id> <outcome>" lines (passed, failed,
error, skipped) to OUTCOMES_FILE, in the format of junit_outcomes.py.
"""

from __future__ import annotations

import importlib
import io
import re
import sys

import peer_patch_plugin  # noqa: F401  (patches at import, before the tests import the library)

LINE = re.compile(r"^(\w+) \(([\w.]+)\)(?:\n.*?)? \.\.\. (ok|FAIL|ERROR|skipped.*|expected failure|unexpected success)$")


def main() -> int:
    outcomes_file, runner, *modules = sys.argv[1:]
    print(peer_patch_plugin.pytest_report_header(None), flush=True)
    captured = io.StringIO()

    class Tee(io.TextIOBase):
        def write(self, text: str) -> int:
            captured.write(text)
            return sys.__stderr__.write(text)

        def flush(self) -> None:
            sys.__stderr__.flush()

    sys.stderr = Tee()
    sys.argv = [runner, "--verbose", *modules]
    code = 0
    try:
        importlib.import_module(runner).main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        sys.stderr = sys.__stderr__
    names = {"ok": "passed", "FAIL": "failed", "ERROR": "error"}
    rows = []
    for line in captured.getvalue().splitlines():
        match = LINE.match(line)
        if match:
            method, full, result = match.groups()
            cls = full[: -len(method) - 1] if full.endswith("." + method) else full
            rows.append(f"{cls}::{method} {names.get(result, 'skipped' if result.startswith('skipped') else 'failed')}")
    with open(outcomes_file, "w") as out:
        out.write("\n".join(sorted(rows)) + "\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
