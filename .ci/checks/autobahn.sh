#!/usr/bin/env bash
# CI check: Autobahn|Testsuite sections 1-10 against the wsframe.aio echo
# server (about 20 s; 12/13 wait for permessage-deflate, see AUTOBAHN_EXCLUDE).
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-python} bash scripts/autobahn.sh
