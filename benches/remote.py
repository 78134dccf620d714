"""Section `remote` of ordo's benchmarks (issue 17): a loopback fleet of real sshd.

    python3 benches/run.py --sections remote            # 20 hosts, one trial
    python3 benches/run.py --sections remote --quick    # 5 hosts, 1 trial (for trying)
    python3 benches/run.py --sections remote --hosts 8 --trials 2

What it measures, in one run, on the same fleet:

* the fleet: N real `sshd` (the system's, by absolute path) on 127.0.0.1, one port each,
  with an ed25519 host key and a client key made here, `UsePAM no`, `StrictModes no`,
  `MaxSessions` left at its default (10); each simulated host has its own directory
  (the host variable `root`), per tool, so every tool starts cold;
* the workload: N hosts x 10 manifests, each writing one file of 1 KiB (a different
  content per manifest) into the host's directory; cold (the directory is empty), then
  warm (the same run again: nothing to change);
* ordo (the release binary; an inventory with the hosts and `sshOptions`, a handler whose
  `check` reads the remote file and whose `apply` writes it with `file::write`, `-j` equal
  to Ansible's forks), Ansible (`ansible-core`, the `copy` module, its default `ssh_args`
  `-C -o ControlMaster=auto -o ControlPersist=60s`, pipelining on, forks N, facts off) and
  pyinfra (`files.put`, its default parallelism: every host at once); both installed from
  PyPI into target/bench/remote-venv at the pinned versions below;
* the floor: a loop of `ssh -S SOCKET host true` over warm multiplexed masters (one per
  host), one command after another: what one command over a warm connection costs. Also
  the same commands N at a time (one loop per host), the machine's throughput for them.

Every ssh client gets the same options (`-F none`, the fleet's known_hosts with every host
key already in it, `StrictHostKeyChecking yes`, the client key only). Every sshd, and every
ssh master the tools leave behind (Ansible's ControlPersist ones), is stopped by pid at the
end, also on an error or Ctrl-C. Each run's files are checked afterwards (content, and that
the warm run rewrote nothing).
"""

import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ANSIBLE_CORE = "2.19.14"
PYINFRA = "3.10.0"
MANIFESTS = 10
FILE_BYTES = 1024
USER = os.environ.get("USER") or "root"

ORDO_HANDLER = """\
// RemoteFile v1: write spec.content to <host var root>/<spec.file> on each host.
// check: work to do iff the remote file is missing or has other content (one read);
// apply: one atomic write over the host's master connection.
register("RemoteFile", "^1");
permissions(["file:read", "file:write"]);
fn path(m) { `${m.host.vars.root}/${m.spec.file}` }
fn check(m) {
    try { return file::read(path(m)) != m.spec.content; } catch { return true; }
}
fn apply(m) { file::write(path(m), m.spec.content); }
"""

PYINFRA_DEPLOY = """\
# pyinfra deploy: the benchmark's 10 files per host, with files.put.
import json
from io import StringIO

from pyinfra import host
from pyinfra.operations import files

for i, content in enumerate(json.load(open(CONTENTS))):
    files.put(name=f"m{i:02d}", src=StringIO(content), dest=f"{host.data.root}/f{i:02d}.txt")
"""


def content(i):
    """The content manifest `i` writes: FILE_BYTES bytes, different per manifest."""
    line = f"manifest {i:02d}: written by the remote-hosts benchmark\n"
    text = (line * (FILE_BYTES // len(line) + 1))[: FILE_BYTES - 1] + "\n"
    return text


# ---------------------------------------------------------------------------------------
# processes: everything started here is stopped by pid


def alive(pid):
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return not stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def kill_pids(pids, grace=2.0):
    pids = [p for p in pids if p and p != os.getpid() and alive(p)]
    for p in pids:
        try:
            os.kill(p, signal.SIGTERM)
        except ProcessLookupError:
            pass
    until = time.monotonic() + grace
    while time.monotonic() < until and any(alive(p) for p in pids):
        time.sleep(0.02)
    for p in pids:
        if alive(p):
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass


def pids_mentioning(text):
    """Processes whose command line contains `text` (the fleet's unique directory)."""
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmd and int(d.name) != os.getpid():
            found.append(int(d.name))
    return found


def children_of(parents):
    parents = set(parents)
    kids = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid in parents:
            kids.append(int(d.name))
    return kids


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def keygen(path, comment):
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)], check=True)


class Fleet:
    """N sshd on 127.0.0.1 with keys made here; `close()` stops all of them by pid."""

    def __init__(self, count, scratch):
        self.sshd = next((p for p in ["/usr/sbin/sshd", "/usr/local/sbin/sshd", "/sbin/sshd"] if os.path.isfile(p)), None)
        scratch.mkdir(parents=True, exist_ok=True)
        # Short: Ansible's control sockets live under it, and sun_path is 108 bytes.
        self.dir = Path(tempfile.mkdtemp(prefix="rf-", dir=scratch))
        self.hosts = []  # (name, port)
        self.sftp_server = next((p for p in ["/usr/lib/openssh/sftp-server", "/usr/libexec/sftp-server"] if os.path.isfile(p)), "internal-sftp")
        self.listeners = []
        self.key = self.dir / "client_ed25519"
        self.known_hosts = self.dir / "known_hosts"

    def start(self, count):
        os.makedirs("/run/sshd", exist_ok=True)
        keygen(self.key, "ordo-bench-client")
        shutil.copy(self.dir / "client_ed25519.pub", self.dir / "authorized_keys")
        known = []
        for n in range(1, count + 1):
            name = f"h{n:02d}"
            host_key = self.dir / f"host_{name}"
            keygen(host_key, name)
            home = self.dir / f"home_{name}"
            home.mkdir()
            for _attempt in range(5):
                port = free_port()
                conf = self.dir / f"sshd_{name}.conf"
                pid_file = self.dir / f"sshd_{name}.pid"
                log = self.dir / f"sshd_{name}.log"
                conf.write_text(
                    f"ListenAddress 127.0.0.1\nPort {port}\nHostKey {host_key}\n"
                    f"AuthorizedKeysFile {self.dir / 'authorized_keys'}\nPidFile {pid_file}\n"
                    "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
                    "StrictModes no\nPermitRootLogin prohibit-password\n"
                    # VERBOSE logs one "Starting session" per command: what each tool ran.
                    "LogLevel VERBOSE\n"
                    # As Debian's own sshd_config: pyinfra and Ansible copy files over SFTP.
                    f"Subsystem sftp {self.sftp_server}\n"
                    # A home of its own, empty, as on a fresh host: the remote user is the
                    # one running this, and bash, run by sshd, sources ~/.bashrc (here the
                    # controller's, with `pyenv init`: +300 ms on every command of every tool).
                    f"SetEnv HOME={home}\n"
                )
                subprocess.run([self.sshd, "-t", "-f", str(conf)], check=True)
                ok = subprocess.run([self.sshd, "-f", str(conf), "-E", str(log)]).returncode == 0
                until = time.monotonic() + 10
                pid = None
                while ok and pid is None and time.monotonic() < until:
                    try:
                        pid = int(pid_file.read_text().strip())
                    except (OSError, ValueError):
                        time.sleep(0.01)
                if pid:
                    self.listeners.append(pid)
                    break
            else:
                raise RuntimeError(f"sshd for {name} did not start: {log.read_text()[-1000:]}")
            self.hosts.append((name, port))
            pub = (self.dir / f"host_{name}.pub").read_text().split()
            known.append(f"[127.0.0.1]:{port} {pub[0]} {pub[1]}\n")
        self.known_hosts.write_text("".join(known))

    def sessions(self):
        """Sessions (commands, SFTP subsystems) the fleet's sshd started so far, all hosts."""
        return sum(p.read_text(errors="replace").count("Starting session:") for p in self.dir.glob("sshd_h*.log"))

    def server_cpu(self):
        """CPU seconds the fleet's sshd have used so far, with every session and command of
        connections that have ended (a listener's own time and its reaped children's)."""
        total = 0
        for pid in self.listeners:
            try:
                f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += sum(int(x) for x in f[11:15])  # utime stime cutime cstime
            except (OSError, ValueError, IndexError):
                pass
        return total / os.sysconf("SC_CLK_TCK")

    def ssh_options(self):
        """What every ssh client of every tool is given (besides host, port, user, key)."""
        return [
            "-F", "none",
            "-o", f"UserKnownHostsFile={self.known_hosts}",
            "-o", "StrictHostKeyChecking=yes",
            "-o", "IdentitiesOnly=yes",
            "-o", "LogLevel=ERROR",
        ]  # fmt: skip

    def close_masters(self, control_dir):
        """Stops the ssh masters listening in `control_dir` (`-O exit`, then by pid)."""
        pids = []
        for sock in Path(control_dir).glob("*") if Path(control_dir).is_dir() else []:
            if not sock.is_socket():
                continue
            out = subprocess.run(["ssh", "-S", str(sock), "-O", "check", "x"], capture_output=True, text=True)
            m = re.search(r"pid=(\d+)", out.stderr)
            if m:
                pids.append(int(m.group(1)))
            subprocess.run(["ssh", "-S", str(sock), "-O", "exit", "x"], capture_output=True)
        kill_pids(pids)

    def close(self):
        """Stops every process of the fleet by pid: masters left by the tools (their command
        lines name this directory), the sessions of each sshd, then the sshd listeners."""
        for d in self.dir.glob("**/cp"):
            self.close_masters(d)
        kill_pids(pids_mentioning(str(self.dir)) if self.dir else [])
        sessions = children_of(self.listeners)
        kill_pids(self.listeners)
        kill_pids(sessions + children_of(sessions))
        self.listeners = []
        left = [p for p in pids_mentioning(str(self.dir)) if alive(p)]
        if left:
            print(f"  warning: processes still running: {left}", file=sys.stderr)
        shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------------------------------
# the tools


def venv(work):
    v = work / "remote-venv"
    stamp = v / f"installed-ansible-core-{ANSIBLE_CORE}-pyinfra-{PYINFRA}"
    if not stamp.exists():
        print(f"  installing ansible-core {ANSIBLE_CORE} and pyinfra {PYINFRA} into {v}", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(v)], check=True)
        subprocess.run([str(v / "bin" / "pip"), "install", "-q", f"ansible-core=={ANSIBLE_CORE}", f"pyinfra=={PYINFRA}"], check=True)
        stamp.touch()
    return v


def timed(cmd, cwd, env=None):
    """Runs `cmd`; returns (seconds, CPU seconds of it and the children it reaped, stdout,
    stderr); a failure stops the benchmark."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if code != 0:
        raise RuntimeError(f"failed ({code}): {' '.join(map(str, cmd))}\n{stdout[-3000:]}\n{stderr[-3000:]}")
    return elapsed, usage.ru_utime + usage.ru_stime, stdout, stderr


class Workload:
    """One tool's directories: a project dir and, per host, the directory it writes into."""

    def __init__(self, fleet, tool, trial):
        self.fleet = fleet
        self.dir = fleet.dir / f"{tool}-{trial}"
        self.data = self.dir / "hosts"
        self.roots = {}
        for name, _ in fleet.hosts:
            r = self.data / name
            r.mkdir(parents=True)
            self.roots[name] = r

    def files(self):
        return [(self.roots[name] / f"f{i:02d}.txt", content(i)) for name, _ in self.fleet.hosts for i in range(MANIFESTS)]

    def verify(self):
        """Every file has its content; returns {path: (inode, mtime)} to compare later."""
        seen = {}
        for path, text in self.files():
            got = path.read_text() if path.exists() else None
            if got != text:
                raise RuntimeError(f"{path}: wrong or missing content after the run")
            st = path.stat()
            seen[path] = (st.st_ino, st.st_mtime_ns)
        extra = [p for r in self.roots.values() for p in r.iterdir() if p.name.startswith(".")]
        if extra:
            raise RuntimeError(f"temporary files left behind: {extra[:3]}")
        return seen


def ordo_tool(fleet, trial, ordo, extra_ssh_options=(), tool="ordo"):
    w = Workload(fleet, tool, trial)
    opts = fleet.ssh_options() + list(extra_ssh_options)
    lines = ["kind: Inventory", "version: v1", "metadata: {name: fleet}", "spec:", "  defaults:",
             f"    user: {USER}", f"    identityFile: {json.dumps(str(fleet.key))}",
             f"    sshOptions: {json.dumps(opts)}", "  hosts:"]  # fmt: skip
    for name, port in fleet.hosts:
        lines.append(f"    {name}: {{address: 127.0.0.1, port: {port}, vars: {{root: {json.dumps(str(w.roots[name]))}}}}}")
    (w.dir / "inventory.yaml").write_text("\n".join(lines) + "\n")
    docs = []
    for i in range(MANIFESTS):
        docs.append(
            f"---\nkind: RemoteFile\nversion: v1\nmetadata:\n  name: m{i:02d}\n  hosts: [all]\n"
            f"spec:\n  file: f{i:02d}.txt\n  content: {json.dumps(content(i))}\n"
        )
    (w.dir / "manifests.yaml").write_text("".join(docs))
    (w.dir / "remote_file.rhai").write_text(ORDO_HANDLER)
    cmd = [str(ordo), "apply", "-m", "manifests.yaml", "-s", ".", "-i", "inventory.yaml", "-j", str(len(fleet.hosts)), "-o", "json"]

    def run(phase):
        t, cpu, out, _ = timed(cmd, w.dir)
        summary = json.loads(out).get("summary", {})
        return t, {"changed": summary.get("changed"), "unchanged": summary.get("unchanged"), "client_cpu_s": cpu}

    return w, run, cmd


def ordo_can_run_remote(fleet, ordo):
    """Whether this ordo build runs manifests on hosts, over ssh: the workload on one host
    must validate, apply, and start sessions on that host's sshd."""
    w, _, cmd = ordo_tool(fleet, "probe", ordo)
    out = subprocess.run([str(ordo), "validate", *cmd[2:8]], cwd=w.dir, capture_output=True, text=True)
    if out.returncode != 0:
        if "not available" in out.stderr:
            return "remote execution is not in this build"
        raise RuntimeError(f"ordo validate refused the workload:\n{out.stderr[-3000:]}")
    before = fleet.sessions()
    out = subprocess.run([*cmd, "--limit", fleet.hosts[0][0]], cwd=w.dir, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"ordo failed on one host:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    if fleet.sessions() == before:
        return "its file::* act on the controller, not over ssh, in this build"
    return None


def ansible_tool(fleet, trial, v):
    w = Workload(fleet, "ansible", trial)
    opts = " ".join(fleet.ssh_options())
    inv = ["all:", "  vars:", f"    ansible_user: {USER}", f"    ansible_ssh_private_key_file: {json.dumps(str(fleet.key))}",
           f"    ansible_ssh_common_args: {json.dumps(opts)}", "    ansible_python_interpreter: /usr/bin/python3", "  hosts:"]  # fmt: skip
    for name, port in fleet.hosts:
        inv.append(f"    {name}: {{ansible_host: 127.0.0.1, ansible_port: {port}, root: {json.dumps(str(w.roots[name]))}}}")
    (w.dir / "inventory.yaml").write_text("\n".join(inv) + "\n")
    tasks = ["- hosts: all", "  gather_facts: false", "  tasks:"]
    for i in range(MANIFESTS):
        tasks += [f"    - name: m{i:02d}", "      ansible.builtin.copy:", f"        content: {json.dumps(content(i))}",
                  f'        dest: "{{{{ root }}}}/f{i:02d}.txt"']  # fmt: skip
    (w.dir / "playbook.yaml").write_text("\n".join(tasks) + "\n")
    # ssh_args stays Ansible's default (-C -o ControlMaster=auto -o ControlPersist=60s).
    (w.dir / "ansible.cfg").write_text(
        "[defaults]\n"
        f"forks = {len(fleet.hosts)}\n"
        "host_key_checking = True\n"
        "retry_files_enabled = False\n"
        f"local_tmp = {w.dir / 'local-tmp'}\n"
        "[ssh_connection]\n"
        "pipelining = True\n"
        f"control_path_dir = {w.dir / 'cp'}\n"
    )
    env = dict(os.environ, ANSIBLE_CONFIG=str(w.dir / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    cmd = [str(v / "bin" / "ansible-playbook"), "-i", "inventory.yaml", "playbook.yaml"]

    def run(phase):
        t, cpu, out, _ = timed(cmd, w.dir, env)
        recap = re.findall(r"^h\d+\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", out, re.M)
        if len(recap) != len(fleet.hosts) or any(int(u) or int(f) for _, _, u, f in recap):
            raise RuntimeError(f"ansible: unexpected recap\n{out[-3000:]}")
        changed = sum(int(c) for _, c, _, _ in recap)
        return t, {"changed": changed, "unchanged": len(fleet.hosts) * MANIFESTS - changed, "client_cpu_s": cpu}

    return w, run, cmd


def pyinfra_tool(fleet, trial, v):
    w = Workload(fleet, "pyinfra", trial)
    (w.dir / "contents.json").write_text(json.dumps([content(i) for i in range(MANIFESTS)]))
    hosts = []
    for name, port in fleet.hosts:
        data = {
            "ssh_hostname": "127.0.0.1",
            "ssh_port": port,
            "ssh_user": USER,
            "ssh_key": str(fleet.key),
            "ssh_known_hosts_file": str(fleet.known_hosts),
            "ssh_strict_host_key_checking": "yes",
            "ssh_allow_agent": False,
            "ssh_look_for_keys": False,
            "root": str(w.roots[name]),
        }
        hosts.append((name, data))
    (w.dir / "inventory.py").write_text(f"fleet = {hosts!r}\n")
    (w.dir / "deploy.py").write_text(f"CONTENTS = {str(w.dir / 'contents.json')!r}\n" + PYINFRA_DEPLOY)
    cmd = [str(v / "bin" / "pyinfra"), "-y", "--parallel", str(len(fleet.hosts)), "inventory.py", "deploy.py"]

    def run(phase):
        t, cpu, _, _ = timed(cmd, w.dir)
        return t, {"client_cpu_s": cpu}

    return w, run, cmd


# ---------------------------------------------------------------------------------------
# the floor: one command over a warm master


def floor(fleet, commands):
    cp = fleet.dir / "floor" / "cp"
    cp.mkdir(parents=True)
    base = fleet.ssh_options() + ["-i", str(fleet.key), "-l", USER]
    socks = []
    for name, port in fleet.hosts:
        sock = cp / name
        # A master: ControlMaster=yes alone (never with -M too), persisting until -O exit.
        subprocess.run(
            ["ssh", *base, "-p", str(port), "-o", "ControlMaster=yes", "-o", "ControlPersist=yes",
             "-o", f"ControlPath={sock}", "-f", "-N", "127.0.0.1"],
            check=True, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        socks.append((sock, port))

    def one(sock, port):
        return ["ssh", *base, "-p", str(port), "-o", "ControlMaster=no", "-S", str(sock), "127.0.0.1", "true"]

    try:
        for sock, port in socks:  # warm every master and the page cache
            subprocess.run(one(sock, port), check=True, stdin=subprocess.DEVNULL)
        times = []
        import resource

        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        for k in range(commands):
            sock, port = socks[k % len(socks)]
            start = time.perf_counter()
            subprocess.run(one(sock, port), check=True, stdin=subprocess.DEVNULL)
            times.append(time.perf_counter() - start)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        client_cpu = (r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime) / commands
        # The same commands, one loop per host at once: the machine's throughput for them.
        per_host = max(1, commands // len(socks))
        script = "for i in $(seq %d); do %s || exit 1; done" % (per_host, " ".join(f"'{a}'" for a in one("SOCK", "PORT")))
        start = time.perf_counter()
        procs = [
            subprocess.Popen(["sh", "-c", script.replace("SOCK", str(sock)).replace("PORT", str(port))], stdin=subprocess.DEVNULL)
            for sock, port in socks
        ]
        if any(p.wait() != 0 for p in procs):
            raise RuntimeError("floor: a parallel ssh loop failed")
        parallel = (time.perf_counter() - start) / (per_host * len(socks))
    finally:
        c0 = fleet.server_cpu()
        fleet.close_masters(cp)
    time.sleep(0.5)  # the listeners reap the connections that just ended
    server_cpu = (fleet.server_cpu() - c0) / (commands + per_host * len(socks) + len(socks))
    return {
        "client_cpu_per_command_s": client_cpu,
        "server_cpu_per_command_s": server_cpu,
        "commands": commands,
        "median_s": statistics.median(times),
        "mean_s": statistics.mean(times),
        "parallel_commands": per_host * len(socks),
        "parallel_per_command_s": parallel,
    }


# ---------------------------------------------------------------------------------------


def machine_remote():
    ssh_v = subprocess.run(["ssh", "-V"], capture_output=True, text=True).stderr.strip()
    return {"openssh": ssh_v, "loadavg_start": Path("/proc/loadavg").read_text().split()[:3]}


def markdown(r):
    """The section's results as the table BENCHMARKS.md shows."""
    runs, units = r["tools"], r["hosts"] * r["manifests"]
    o = runs.get("ordo")
    lines = ["| tool | cold | warm | cold: peer / ordo | warm: peer / ordo | per (host, manifest) cold / warm |",
             "|---|---:|---:|---:|---:|---:|"]  # fmt: skip
    for t, x in runs.items():
        ratio = {p: f"{r['ratios'][f'{t}/ordo {p}']['median_of_trials']:.1f}x" if o and not t.startswith("ordo") else "" for p in ("cold", "warm")}
        lines.append(
            f"| {t} | {x['cold_median_s']:.2f} s | {x['warm_median_s']:.2f} s | {ratio['cold']} | {ratio['warm']} "
            f"| {x['cold_median_s'] / units * 1000:.0f} / {x['warm_median_s'] / units * 1000:.0f} ms |"
        )
    fl = r["floor"]
    lines.append(f"| floor: `ssh -S … true`, one after another | | | | | {fl['median_s'] * 1000:.0f} ms (mean {fl['mean_s'] * 1000:.0f}) |")
    lines.append(f"| floor: {r['hosts']} such loops at once | | | | | {fl['parallel_per_command_s'] * 1000:.0f} ms |")
    lines.append("")
    for v in (t for t in runs if t.startswith("ordo")):
        x = runs[v]
        lines.append(f"{v} per (host, manifest) vs the floor: cold {x['cold_per_unit_vs_floor']:.2f}x, warm {x['warm_per_unit_vs_floor']:.2f}x")
    for k, x in r.get("ratios", {}).items():
        lines.append(f"{k}: {x['median_of_trials']:.1f}x")
    return "\n".join(lines)


def bench(ordo, work, scratch, hosts, trials, tools=("ordo", "ansible", "pyinfra")):
    """Runs the section; returns its results (and prints a table as it goes)."""
    fleet = Fleet(hosts, scratch)
    if not fleet.sshd:
        print("  skipping: no sshd on this machine (apt-get install openssh-server)")
        return None
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    results = {"hosts": hosts, "manifests": MANIFESTS, "file_bytes": FILE_BYTES, "trials": trials,
               "versions": {"ansible-core": ANSIBLE_CORE, "pyinfra": PYINFRA}, **machine_remote()}  # fmt: skip
    try:
        v = venv(work) if {"ansible", "pyinfra"} & set(tools) else None
        fleet.start(hosts)
        print(f"  fleet: {hosts} sshd on 127.0.0.1 ({fleet.dir})", flush=True)
        cannot = {"ordo", "ordo-kex"} & set(tools) and ordo_can_run_remote(fleet, ordo)
        if cannot:
            print(f"  skipping ordo ({ordo}): {cannot}", flush=True)
            tools = tuple(t for t in tools if not t.startswith("ordo"))
        runs = {t: {"cold_s": [], "warm_s": [], "reports": []} for t in tools}
        # ordo-kex: the same, with the key exchange paramiko (pyinfra) negotiates instead of
        # OpenSSH 9's default sntrup761x25519 (a diagnosis of where the time goes, not a peer).
        kex = ["-o", "KexAlgorithms=curve25519-sha256"]
        makers = {"ordo": lambda tr: ordo_tool(fleet, tr, ordo), "ordo-kex": lambda tr: ordo_tool(fleet, tr, ordo, kex, "ordo-kex"), "ansible": lambda tr: ansible_tool(fleet, tr, v),
                  "pyinfra": lambda tr: pyinfra_tool(fleet, tr, v)}  # fmt: skip
        for trial in range(trials if tools else 0):
            order = list(tools[trial % len(tools) :]) + list(tools[: trial % len(tools)])
            for tool in order:
                w, run, cmd = makers[tool](trial)
                results.setdefault("commands", {})[tool] = " ".join(map(str, cmd))
                c0 = fleet.server_cpu()
                s0 = fleet.sessions()
                cold, cold_report = run("cold")
                s1 = fleet.sessions()
                before = w.verify()
                time.sleep(0.5)  # the listeners reap the connections that just ended
                # (Ansible's masters persist into the warm run: its split is not per phase.)
                server_cold = fleet.server_cpu() - c0
                warm, warm_report = run("warm")
                s2 = fleet.sessions()
                after = w.verify()
                if s1 == s0 or s2 == s1:
                    # On loopback a file written locally passes the check: make sure not.
                    raise RuntimeError(f"{tool} did not act over ssh (no session on any host)")
                cold_report["sessions"], warm_report["sessions"] = s1 - s0, s2 - s1
                rewritten = sum(1 for p in before if before[p] != after[p])
                # Masters a tool left (Ansible's ControlPersist=60s) go before the next one.
                fleet.close_masters(w.dir / "cp")
                time.sleep(0.5)  # the listeners reap the connections that just ended
                server = fleet.server_cpu() - c0
                runs[tool]["cold_s"].append(cold)
                runs[tool]["warm_s"].append(warm)
                runs[tool]["reports"].append({"cold": cold_report, "warm": warm_report, "warm_rewrote_files": rewritten,
                                              "server_cpu_cold_and_warm_s": server,
                                              "server_cpu_cold_s": server_cold if tool != "ansible" else None})  # fmt: skip
                print(f"  trial {trial + 1} {tool:<8} cold {cold:7.2f} s   warm {warm:7.2f} s   "
                      f"sessions cold {s1 - s0}, warm {s2 - s1}   (warm rewrote {rewritten} files)\n"
                      f"  {'':<16} CPU: {tool} and its children cold {cold_report['client_cpu_s']:.2f} s, warm {warm_report['client_cpu_s']:.2f} s; "
                      f"sshd and the commands, cold + warm {server:.2f} s (cold {server_cold:.2f} s)", flush=True)  # fmt: skip
        fl = floor(fleet, 10 * hosts)
        results["floor"] = fl
        print(f"  floor: ssh -S ... true over a warm master: median {fl['median_s'] * 1000:.1f} ms "
              f"(mean {fl['mean_s'] * 1000:.1f} ms); {hosts} loops at once: {fl['parallel_per_command_s'] * 1000:.1f} ms per command;\n"
              f"  CPU per command: ssh client {fl['client_cpu_per_command_s'] * 1000:.1f} ms, sshd and the command {fl['server_cpu_per_command_s'] * 1000:.1f} ms", flush=True)  # fmt: skip
        units = hosts * MANIFESTS
        for t in tools:
            r = runs[t]
            r["cold_median_s"] = statistics.median(r["cold_s"])
            r["warm_median_s"] = statistics.median(r["warm_s"])
        results["tools"] = runs
        for variant in (t for t in tools if t.startswith("ordo")):
            o = runs[variant]
            for phase in ("cold", "warm"):
                per_unit = o[f"{phase}_median_s"] / units
                o[f"{phase}_per_unit_s"] = per_unit
                o[f"{phase}_per_unit_vs_floor"] = per_unit / fl["median_s"]
                for peer in ("ansible", "pyinfra"):
                    if peer in runs:
                        ratios = [p / q for p, q in zip(runs[peer][f"{phase}_s"], o[f"{phase}_s"])]
                        results.setdefault("ratios", {})[f"{peer}/{variant} {phase}"] = {
                            "median_of_trials": statistics.median(ratios),
                            "of_medians": runs[peer][f"{phase}_median_s"] / o[f"{phase}_median_s"],
                            "per_trial": ratios,
                        }
        print(f"  {'tool':<8} {'cold':>9} {'warm':>9}", flush=True)
        for t in tools:
            print(f"  {t:<8} {runs[t]['cold_median_s']:8.2f}s {runs[t]['warm_median_s']:8.2f}s", flush=True)
        for k, r in results.get("ratios", {}).items():
            print(f"  {k}: {r['median_of_trials']:.1f}x", flush=True)
        for variant in (t for t in tools if t.startswith("ordo")):
            o = runs[variant]
            print(f"  {variant} per (host, manifest): cold {o['cold_per_unit_s'] * 1000:.1f} ms ({o['cold_per_unit_vs_floor']:.2f}x the floor), "
                  f"warm {o['warm_per_unit_s'] * 1000:.1f} ms ({o['warm_per_unit_vs_floor']:.2f}x)", flush=True)  # fmt: skip
        results["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]
        print("\n" + markdown(results) + "\n", flush=True)
        return results
    finally:
        fleet.close()
        signal.signal(signal.SIGTERM, previous)
