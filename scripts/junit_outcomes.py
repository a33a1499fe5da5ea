"""Print "<test id> <outcome>" for each test case of a JUnit XML report, sorted.

Used by scripts/peer_suites.sh to compare a peer's test suite patched and
unpatched: outcome is passed, failed, error or skipped.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET


def outcomes(path: str) -> list:
    rows = []
    for case in ET.parse(path).getroot().iter("testcase"):
        name = f"{case.get('classname', '')}::{case.get('name', '')}"
        outcome = "passed"
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = {"failure": "failed"}.get(child.tag, child.tag)
                break
        rows.append(f"{name} {outcome}")
    return sorted(rows)


if __name__ == "__main__":
    print("\n".join(outcomes(sys.argv[1])))
