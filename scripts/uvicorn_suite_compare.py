"""Compare wsframe with uvicorn's built-in protocols in a JUnit report of
uvicorn's WebSocket tests (scripts/uvicorn_suite.sh).

A test id carries the protocol in its parameters (``wsframe``,
``websockets-sansio``, ``wsproto``). For each test run on ours, the same
test on the built-ins is looked up: if one of them passed, ours must have
passed or be a listed strict xfail. Prints a table of counts and exits 1 on
a regression.
"""

from __future__ import annotations

import collections
import sys
import xml.etree.ElementTree as ET

BUILTINS = ("websockets-sansio", "wsproto")


def outcomes(path: str) -> dict:
    result = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        outcome = "passed"
        for child in case:
            if child.tag in ("failure", "error"):
                outcome = "failed"
                break
            if child.tag == "skipped":
                outcome = "xfailed" if child.get("type") == "pytest.xfail" else "skipped"
                break
        result[case.get("name", "")] = outcome
    return result


def protocol_of(name: str) -> str:
    params = name.partition("[")[2].rstrip("]").split("-")
    joined = "-".join(params)
    for proto in ("wsframe", "websockets-sansio", "wsproto"):
        if proto in joined:
            return proto
    return "none"


def main(path: str) -> int:
    results = outcomes(path)
    counts: dict = collections.defaultdict(collections.Counter)
    for name, outcome in results.items():
        counts[protocol_of(name)][outcome] += 1
    print(f"{'protocol':<20}{'passed':>8}{'failed':>8}{'xfailed':>9}{'skipped':>9}")
    for proto in ("wsframe", "websockets-sansio", "wsproto", "none"):
        c = counts[proto]
        print(f"{proto:<20}{c['passed']:>8}{c['failed']:>8}{c['xfailed']:>9}{c['skipped']:>9}")
    regressions = []
    for name, outcome in sorted(results.items()):
        if protocol_of(name) != "wsframe" or outcome in ("passed", "xfailed"):
            continue
        peers = [results.get(name.replace("wsframe", builtin)) for builtin in BUILTINS]
        if "passed" in peers:
            regressions.append(f"{name}: {outcome} (a built-in passed)")
    for name, outcome in sorted(results.items()):
        if protocol_of(name) == "wsframe" and outcome == "xfailed":
            print(f"known difference: {name}")
    if regressions:
        print("REGRESSIONS:\n  " + "\n  ".join(regressions))
        return 1
    print("uvicorn suite: every test that passes for a built-in protocol passes for wsframe")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
