"""Section `soak` of ordo's benchmarks (issue 22): `ordo watch` over many cycles, memory at
the start and at the end.

    python3 benches/run.py --sections soak                     # 1000 cycles, 100 manifests
    python3 benches/run.py --sections soak --cycles 200        # shorter, for trying
    python3 benches/soak.py --ordo target/debug/ordo --cycles 1000   # this section alone

What it runs: a generated project of 100 manifests (kind `SoakFile`: `check` reads a small
file, `apply` writes it), watched by `ordo watch --interval 10ms --jitter 0 -o jsonl
--listen 127.0.0.1:PORT`. The first cycle writes the 100 files; every later cycle checks
them all and finds nothing to do, except that every 50th cycle the script edits one file,
each time another (drift, corrected by the next cycle: 20 corrections in 1000 cycles). `/metrics` and `/status` are scraped every 20
cycles, so the endpoints' allocations are part of what is measured.

What it measures: the watch process's resident set size (VmRSS of /proc/PID/status) after
cycle 10 (the engine, the handlers and the first apply are done), after cycle 100 (the
start: the board's bounded history of 100 cycles is full, so everything bounded has
reached its size) and after the last cycle, its peak (VmHWM), samples every 100 cycles,
and the cycles per second. Growth is the end minus the start; a loop that keeps something
per cycle beyond its bounds (events, label sets, compiled handlers) shows it here. Stops
the watch with SIGTERM (exit 0 expected).
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

HANDLER = """\
register("SoakFile", "^1");
permissions(["file:read", "file:write"]);
fn check(m) {
    let f = path::join(m.dir, m.spec.file);
    if m.action == "delete" { return file::exists(f); }
    !file::exists(f) || file::read(f) != m.spec.text
}
fn apply(m) { file::write(path::join(m.dir, m.spec.file), m.spec.text); }
fn delete(m) { file::remove(path::join(m.dir, m.spec.file)); }
"""


def generate(d, manifests):
    if d.exists():
        shutil.rmtree(d)
    (d / "out").mkdir(parents=True)
    (d / "ordo.yaml").write_text("kind: Project\nversion: v1\nmetadata: {name: soak}\n")
    (d / "soak.rhai").write_text(HANDLER)
    docs = []
    for i in range(manifests):
        docs.append(
            f"kind: SoakFile\nversion: v1\nmetadata: {{name: f{i:03}}}\n"
            f"spec: {{file: out/f{i:03}.txt, text: 'soak {i}'}}\n"
        )
    (d / "soak.yaml").write_text("---\n".join(docs))


def rss_kib(pid):
    fields = {}
    for line in open(f"/proc/{pid}/status"):
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as r:
        return r.read()


def bench(ordo, scratch, cycles=1000, manifests=100):
    d = Path(scratch) / "soak"
    generate(d, manifests)
    port = free_port()
    cmd = [str(ordo), "watch", "-m", ".", "--interval", "10ms", "--jitter", "0", "-o", "jsonl",
           "--listen", f"127.0.0.1:{port}"]
    proc = subprocess.Popen(cmd, cwd=d, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    err = []
    threading.Thread(target=lambda: err.extend(proc.stderr), daemon=True).start()
    samples, warm, start, finished, failed = [], None, None, 0, 0
    t0 = None
    try:
        for line in proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("event") != "cycle_finished":
                continue
            finished = event.get("cycle", finished + 1)
            if event.get("result") == "failed":
                failed += 1
            if finished == 10:
                warm = rss_kib(proc.pid)
                t0 = time.monotonic()
            if finished == 100:
                start = rss_kib(proc.pid)
            if finished % 50 == 25:
                # A person edits one file: drift for the next cycle to correct.
                # Each time another manifest: three corrections of one would make it flapping.
                (d / "out" / f"f{(finished // 50) % manifests:03}.txt").write_text("edited by hand")
            if finished % 20 == 0:
                scrape(port, "/metrics")
                scrape(port, "/status")
            if finished % 100 == 0:
                samples.append({"cycle": finished, **rss_kib(proc.pid)})
                print(f"  cycle {finished}: VmRSS {samples[-1]['VmRSS']} KiB", flush=True)
            if finished >= cycles:
                break
        end = rss_kib(proc.pid)
        elapsed = time.monotonic() - t0 if t0 else None
        metrics = scrape(port, "/metrics").decode()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
    if finished < cycles or start is None:
        sys.exit(f"the watch stopped after {finished} cycles (exit {code}):\n{''.join(err)[-3000:]}")
    corrected = sum(
        float(l.rsplit(" ", 1)[1]) for l in metrics.splitlines() if l.startswith("ordo_drift_corrected_total{")
    )
    result = {
        "command": " ".join(cmd),
        "cycles": finished,
        "manifests": manifests,
        "failed_cycles": failed,
        "drift_corrected": corrected,
        "rss_cycle10_kib": warm["VmRSS"],
        "rss_start_kib": start["VmRSS"],
        "rss_end_kib": end["VmRSS"],
        "rss_growth_kib": end["VmRSS"] - start["VmRSS"],
        "rss_peak_kib": end["VmHWM"],
        "samples": samples,
        "cycles_per_s": (finished - 10) / elapsed if elapsed else None,
        "exit_code": code,
    }
    shutil.rmtree(d, ignore_errors=True)
    return result


def main():
    import argparse

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    root = Path(__file__).resolve().parent.parent
    p.add_argument("--ordo", default=str(root / "target" / "release" / "ordo"))
    p.add_argument("--cycles", type=int, default=1000)
    p.add_argument("--manifests", type=int, default=100)
    p.add_argument("--dir", default="/dev/shm/ordo-bench" if Path("/dev/shm").is_dir() else str(root / "target" / "bench" / "work"))
    args = p.parse_args()
    result = bench(Path(args.ordo).resolve(), args.dir, args.cycles, args.manifests)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
