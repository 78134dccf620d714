#!/usr/bin/env sh
# ordo's benchmarks, in one command; see benches/run.py for what is measured.
exec python3 "$(dirname "$0")/run.py" "$@"
