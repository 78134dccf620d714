#!/usr/bin/env python3
"""ordo's benchmarks: one command, every workload, a table at the end.

    python3 benches/run.py            # everything (about ten minutes on 2 cores)
    python3 benches/run.py --quick    # fewer repetitions, no 100k

Builds ordo in release, then measures:

1. side by side with py-animus 1.0.16 (installed into a virtualenv under target/bench/)
   on the workload of ../shared/bench/generate_animus_workload.py: 1000 BenchFile
   manifests in chains of 3, and 1000 without dependencies. The two tools alternate run by
   run, each run in a freshly generated directory; medians, the median of the per-pair
   ratios, and the handler calls each tool made;
2. scale: 1k, 10k and 100k manifests (chains of 3, and none): validate, plan, apply —
   wall time, time per manifest, peak RSS;
3. engine overhead: a no-op handler over 10k manifests, minus the cost of one;
4. parallel efficiency: 100 independent `sleep 0.2` commands at -j 20;
5. start-up: `ordo --version` and the hello-world example;
6. remote hosts (issue 17, benches/remote.py): a loopback fleet of 20 real sshd, 20 hosts
   x 10 file-writing manifests, cold then warm, with ordo, Ansible (ansible-core) and
   pyinfra (both installed into target/bench/remote-venv), and the floor: one
   `ssh -S SOCKET host true` over a warm multiplexed master;
7. soak (issue 22, benches/soak.py): `ordo watch` for 1000 cycles over 100 manifests
   at a 10 ms interval, its endpoints scraped, resident memory at the start and the end.

Workloads are generated, never committed, and run on a tmpfs (/dev/shm) unless --disk.
Results go to target/bench/results.json.
Nothing here is timed by CI.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "target" / "bench"
ORDO = Path(os.environ.get("ORDO_BIN", ROOT / "target" / "release" / "ordo"))
SHARED = Path(os.environ.get("ORDO_BENCH_SHARED", ROOT.parent / "shared" / "bench"))
GENERATOR = SHARED / "generate_animus_workload.py"
VENV = WORK / "animus-venv"
# Workloads live on a tmpfs when there is one: on a disk file system, creating files right
# after many were deleted can be several times slower (ext4 skips recently freed inodes),
# which would measure the file system's history rather than the tools. `--disk` measures
# on disk instead, in target/bench/work.
TMPFS = Path("/dev/shm")
SCRATCH = Path(os.environ.get("ORDO_BENCH_DIR", TMPFS / "ordo-bench" if TMPFS.is_dir() else WORK / "work"))

BENCH_FILE = """\
// BenchFile v1 for ordo, per HANDLER_CONTRACT.md: write spec.content to spec.file; the
// variable <name>.file holds the path; delete removes it; work to do iff the file is absent.
register("BenchFile", "^1");
permissions(["file:read", "file:write"]);
fn check(m) {
    if m.action == "delete" { return file::exists(m.spec.file); }
    !file::exists(m.spec.file)
}
fn apply(m) {
    file::write(m.spec.file, m.spec.content);
    #{ file: m.spec.file }
}
fn delete(m) { file::remove(m.spec.file); }
"""

NOOP = 'register("Noop", "^1");\nfn apply(m) { }\n'

SLEEP = 'register("Sleep", "^1");\npermissions(["shell"]);\nfn apply(m) { shell::run(["sleep", "0.2"]); }\n'


def run(cmd, cwd=None, check=True, env=None):
    """Runs a command; returns (seconds, peak RSS in KiB, stdout).

    Output goes to temporary files, not pipes: a chatty child (py-animus logs a lot) would
    otherwise block on a full pipe while we wait for it.
    """
    import tempfile

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env)
        # wait4 gives the child's own resource usage (peak RSS) without a wrapper process.
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if check and proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(map(str, cmd))}\n{stderr.decode()[-2000:]}")
    return elapsed, usage.ru_maxrss, stdout


def build():
    print("building ordo (release)...", flush=True)
    subprocess.run(["cargo", "build", "--release", "--locked", "-q"], cwd=ROOT, check=True)


def fresh(name):
    # Every run writes into a directory never used before, and nothing is deleted until
    # the end: ext4 makes creating files slow right after many were deleted (its inode
    # allocator skips recently freed inodes), which would measure the file system's
    # history rather than the tools.
    d = SCRATCH / f"{name}-{time.time_ns()}"
    d.mkdir(parents=True)
    return d


def cleanup():
    shutil.rmtree(SCRATCH, ignore_errors=True)


# ---------------------------------------------------------------------------------------
# 1. side by side with py-animus


def animus():
    exe = VENV / "bin" / "animus"
    if not exe.exists():
        print("installing py-animus 1.0.16 into", VENV, flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", "py-animus==1.0.16"], check=True)
    return exe


def generate(topology, count=1000, group=3):
    d = fresh(f"pair-{topology}")
    subprocess.run(
        [sys.executable, str(GENERATOR), "--out", str(d), "--count", str(count), "--group-size", str(group), "--topology", topology],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    (d / "bench_file.rhai").write_text(BENCH_FILE)
    return d


def verify(d):
    subprocess.run([sys.executable, str(GENERATOR), "--verify", str(d)], check=True, stdout=subprocess.DEVNULL)


def side_by_side(pairs):
    if not GENERATOR.exists():
        print(f"skipping the py-animus comparison: {GENERATOR} not found (set ORDO_BENCH_SHARED)")
        return None
    exe = animus()
    results = {}
    for topology, group in [("chain", 3), ("none", 1)]:
        a_times, o_times, ratios = [], [], []
        calls = None
        ordo_calls = None
        for i in range(pairs):
            order = ["animus", "ordo"] if i % 2 == 0 else ["ordo", "animus"]
            t = {}
            for tool in order:
                d = generate(topology, 1000, group)
                if tool == "animus":
                    # py-animus exits 1 even on success: check the end state instead.
                    t[tool], _, _ = run([str(exe), "apply", "-m", "manifests.yaml", "-s", "src_py_animus_1_0_16"], cwd=d, check=False)
                    calls = json.loads((d / "workload.json").read_text())["py_animus_1_0_16_expected_apply_calls"]
                else:
                    t[tool], _, out = run([str(ORDO), "apply", "-m", "manifests.yaml", "-s", ".", "-o", "json"], cwd=d)
                    ordo_calls = json.loads(out)["summary"]["changed"]
                verify(d)
            a_times.append(t["animus"])
            o_times.append(t["ordo"])
            ratios.append(t["animus"] / t["ordo"])
        results[f"{topology}-{group}"] = {
            "pairs": pairs,
            "animus_median_s": statistics.median(a_times),
            "ordo_median_s": statistics.median(o_times),
            "median_ratio": statistics.median(ratios),
            "ratios": ratios,
            "animus_times_s": a_times,
            "ordo_times_s": o_times,
            "animus_handler_calls": calls,
            "ordo_handler_calls": ordo_calls,
        }
        r = results[f"{topology}-{group}"]
        print(f"  {topology} of {group}: py-animus {r['animus_median_s']:.3f} s, ordo {r['ordo_median_s']:.3f} s, ratio {r['median_ratio']:.1f}x", flush=True)
    return results


# ---------------------------------------------------------------------------------------
# 2. scale


def scale_workload(kind, count, topology, handler, spec):
    d = fresh(f"{kind}-{topology}-{count}")
    files = d / "files"
    files.mkdir()
    with open(d / "manifests.yaml", "w") as f:
        for i in range(count):
            name = f"m{i:06d}"
            f.write(f"---\nkind: {kind}\nversion: v1\nmetadata:\n  name: {name}\n")
            if topology == "chain" and i % 3 != 0:
                f.write(f"  dependencies:\n    apply: [m{i - 1:06d}]\n")
            if spec:
                f.write(f"spec:\n  file: {files}/{name}.txt\n  content: \"bench {name}\\n\"\n")
    (d / "handler.rhai").write_text(handler)
    return d


def scale(sizes, reps):
    rows = []
    for count in sizes:
        for topology in ["chain", "none"]:
            for command in ["validate", "plan", "apply"]:
                times, rss = [], []
                for _ in range(reps):
                    d = scale_workload("BenchFile", count, topology, BENCH_FILE, True)
                    t, m, _ = run([str(ORDO), command, "-m", "manifests.yaml", "-s", "."], cwd=d)
                    times.append(t)
                    rss.append(m)
                row = {
                    "count": count,
                    "topology": topology,
                    "command": command,
                    "median_s": statistics.median(times),
                    "per_manifest_us": statistics.median(times) / count * 1e6,
                    "peak_rss_mib": max(rss) / 1024,
                }
                rows.append(row)
                print(f"  {count:>6} {topology:<5} {command:<8} {row['median_s']:.3f} s  {row['per_manifest_us']:.1f} us/manifest  {row['peak_rss_mib']:.0f} MiB", flush=True)
    return rows


# ---------------------------------------------------------------------------------------
# 3-5. engine overhead, parallel efficiency, start-up


def engine_overhead(reps):
    def timed(count):
        ts = []
        for _ in range(reps):
            d = scale_workload("Noop", count, "none", NOOP, False)
            t, _, _ = run([str(ORDO), "apply", "-m", "manifests.yaml", "-s", ".", "--no-state"], cwd=d)
            ts.append(t)
        return statistics.median(ts)

    one, many = timed(1), timed(10000)
    return {"one_s": one, "ten_thousand_s": many, "per_manifest_us": (many - one) / 9999 * 1e6}


def parallel(reps):
    ts = []
    for _ in range(reps):
        d = fresh("sleep")
        with open(d / "m.yaml", "w") as f:
            for i in range(100):
                f.write(f"---\nkind: Sleep\nversion: v1\nmetadata: {{name: s{i}}}\n")
        (d / "sleep.rhai").write_text(SLEEP)
        t, _, _ = run([str(ORDO), "apply", "-j", "20", "--no-state"], cwd=d)
        ts.append(t)
    return {"median_s": statistics.median(ts), "ideal_s": 1.0}


def startup(reps):
    version = statistics.median(run([str(ORDO), "--version"])[0] for _ in range(reps))
    hello = []
    for _ in range(reps):
        d = fresh("hello")
        shutil.copytree(ROOT / "examples" / "hello-world", d / "hello-world")
        hello.append(run([str(ORDO), "apply", "-m", "hello-world"], cwd=d)[0])
    return {"version_s": version, "hello_world_s": statistics.median(hello)}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="fewer repetitions, no 100k")
    p.add_argument("--pairs", type=int, default=None, help="py-animus/ordo run pairs per workload")
    p.add_argument("--sections", default="side,scale,engine,parallel,startup,remote,soak", help="which measurements, comma-separated")
    p.add_argument("--hosts", type=int, default=None, help="simulated hosts of the remote section (20; 5 with --quick)")
    p.add_argument("--trials", type=int, default=None, help="cold+warm runs per tool in the remote section (default 1)")
    p.add_argument("--tools", default="ordo,ansible,pyinfra,ordo-kex", help="tools of the remote section, comma-separated")
    p.add_argument("--cycles", type=int, default=None, help="cycles of the soak section (1000; 200 with --quick)")
    p.add_argument("--ordo", default=None, help="measure this ordo binary instead of building one (for before/after)")
    p.add_argument("--out", default=None, help="where to write the results JSON")
    p.add_argument("--disk", action="store_true", help="run the workloads on disk (target/bench/work), not on a tmpfs")
    args = p.parse_args()
    global ORDO, SCRATCH
    if args.disk:
        SCRATCH = WORK / "work"
    if args.ordo:
        ORDO = Path(args.ordo).resolve()
    sections = set(args.sections.split(","))
    reps = 3 if args.quick else 5
    pairs = args.pairs or (5 if args.quick else 11)
    sizes = [1000, 10000] if args.quick else [1000, 10000, 100000]

    if not args.ordo:
        build()
    cleanup()
    results = {"machine": machine(), "ordo": str(ORDO), "workloads_in": str(SCRATCH)}
    print(f"workloads in {SCRATCH}", flush=True)
    if "side" in sections:
        print("1. side by side with py-animus 1.0.16 (1000 manifests)", flush=True)
        results["side_by_side"] = side_by_side(pairs)
    if "scale" in sections:
        print("2. scale", flush=True)
        results["scale"] = scale(sizes, 1 if args.quick else 3)
    if "engine" in sections:
        print("3. engine overhead", flush=True)
        results["engine"] = engine_overhead(reps)
        print(f"  {results['engine']['per_manifest_us']:.1f} us per manifest", flush=True)
    if "parallel" in sections:
        print("4. parallel efficiency (100 x sleep 0.2, -j 20)", flush=True)
        results["parallel"] = parallel(reps)
        print(f"  {results['parallel']['median_s']:.3f} s (ideal 1.0 s)", flush=True)
    if "startup" in sections:
        print("5. start-up", flush=True)
        results["startup"] = startup(reps * 2)
        print(f"  --version {results['startup']['version_s'] * 1000:.1f} ms, hello-world apply {results['startup']['hello_world_s'] * 1000:.1f} ms", flush=True)
    if "remote" in sections:
        import remote

        hosts = args.hosts or (5 if args.quick else 20)
        print(f"6. remote hosts ({hosts} sshd on 127.0.0.1, {hosts} x {remote.MANIFESTS} files)", flush=True)
        results["remote"] = remote.bench(ORDO, WORK, SCRATCH, hosts, args.trials or 1, tuple(args.tools.split(",")))
    if "soak" in sections:
        import soak

        cycles = args.cycles or (200 if args.quick else 1000)
        print(f"7. soak (ordo watch, {cycles} cycles over 100 manifests)", flush=True)
        results["soak"] = soak.bench(ORDO, SCRATCH, cycles)
        s = results["soak"]
        print(f"  VmRSS {s['rss_start_kib']} KiB after cycle 100, {s['rss_end_kib']} KiB after cycle {s['cycles']} "
              f"({s['rss_growth_kib']:+} KiB), {s['cycles_per_s']:.0f} cycles/s", flush=True)
    cleanup()
    out = Path(args.out) if args.out else WORK / "results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"\nresults: {out}")


def machine():
    cpu = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem, 1), "rustc": rustc, "kernel": os.uname().release}


if __name__ == "__main__":
    main()
