"""pytest plugin for scripts/peer_suites.sh: patch a peer library at start-up.

``WSFRAME_PEER_PATCH=websockets python -m pytest -p peer_patch_plugin ...``
calls ``wsframe.compat.patch("websockets")`` when pytest loads the plugin,
before any test module is imported (the rule docs/compat.md gives: patch at
start-up). Unset or empty: nothing is patched, the same plugin prints the same
header, so the patched and unpatched runs differ only in the patch.
"""

from __future__ import annotations

import os
import sys

_NAME = os.environ.get("WSFRAME_PEER_PATCH", "")

if _NAME:
    import wsframe.compat

    wsframe.compat.patch(_NAME)


def pytest_configure(config: object) -> None:
    # Printed also under -q (which hides the report header): the log shows
    # which run was patched.
    sys.stderr.write(pytest_report_header(config) + "\n")


def pytest_report_header(config: object) -> str:
    import wsframe

    where = os.path.dirname(wsframe.__file__)
    what = f"patched {_NAME}" if _NAME else "unpatched"
    return f"wsframe.compat: {what} (wsframe {wsframe.__version__}, backend {wsframe.BACKEND}, {where})"
