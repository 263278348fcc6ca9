"""The processes the soak starts, stops and restarts: its own Redis and
PostgreSQL (private instances on free ports, so restarting them cannot
disturb anyone else using the machine's), the upstream, and Wafer itself.
Each writes its pid under WORK/pids so that soak.sh's trap can stop what a
crashed driver left behind.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout, proc=None):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), 0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class Proc:
    """A child process with its log file and pid file."""

    def __init__(self, work, name, argv, env=None):
        self.work, self.name, self.argv, self.env = work, name, argv, env
        self.p = None

    def start(self):
        self.log = open(os.path.join(self.work, f"{self.name}.log"), "ab")
        self.p = subprocess.Popen(
            self.argv, stdout=self.log, stderr=subprocess.STDOUT, env=self.env, start_new_session=True
        )
        with open(os.path.join(self.work, "pids", self.name), "w") as f:
            f.write(str(self.p.pid))
        return self

    def stop(self, sig=signal.SIGTERM, timeout=60):
        """Returns the exit code, or None if it had to be killed."""
        if self.p is None or self.p.poll() is not None:
            return self.p.returncode if self.p else None
        self.p.send_signal(sig)
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            return None
        finally:
            self.log.close()


class Redis:
    def __init__(self, work):
        self.port = free_port()
        self.dir = os.path.join(work, "redis")
        os.makedirs(self.dir, exist_ok=True)
        argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", self.dir]
        self.proc = Proc(work, "redis", argv)
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.proc.start()
        if not wait_port(self.port, 10, self.proc.p):
            sys.exit(f"soak: redis-server did not start (see {self.proc.log.name})")

    def restart(self, down_secs):
        """Like a Redis without persistence after a crash: everything in it is gone."""
        subprocess.run(["redis-cli", "-p", str(self.port), "shutdown", "nosave"], capture_output=True)
        self.proc.p.wait(10)
        time.sleep(down_secs)
        self.start()

    def stop(self):
        self.proc.stop()


class Postgres:
    """A cluster of its own in the work directory (initdb, trust auth)."""

    def __init__(self, work):
        self.port = free_port()
        self.root = os.path.join(work, "pg")
        self.data = os.path.join(self.root, "data")
        self.bin = self._bindir()
        self.as_postgres = os.geteuid() == 0  # initdb refuses to run as root
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/wafer_soak"

    @staticmethod
    def _bindir():
        found = shutil.which("pg_ctl")
        if found:
            return os.path.dirname(found)
        base = "/usr/lib/postgresql"
        versions = sorted(os.listdir(base), key=lambda v: int(v) if v.isdigit() else 0) if os.path.isdir(base) else []
        if not versions:
            sys.exit("soak: PostgreSQL's server binaries (initdb, pg_ctl) are not installed")
        return os.path.join(base, versions[-1], "bin")

    def _run(self, *argv):
        cmd = [os.path.join(self.bin, argv[0]), *argv[1:]]
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"soak: {' '.join(argv[:2])} failed: {r.stderr.strip() or r.stdout.strip()}")

    def init(self):
        os.makedirs(self.root, exist_ok=True)
        os.chmod(os.path.dirname(self.root), 0o755)
        if self.as_postgres:
            shutil.chown(self.root, "postgres")
        self._run("initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "--no-sync")
        self.start()
        subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-qc",
                        "CREATE DATABASE wafer_soak"], check=True, capture_output=True)

    def start(self):
        opts = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        self._run("pg_ctl", "-D", self.data, "-o", opts, "-l", os.path.join(self.root, "postgres.log"), "-w", "start")

    def stop(self):
        self._run("pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")

    def restart(self, down_secs):
        self.stop()
        time.sleep(down_secs)
        self.start()

    def sql(self, query):
        r = subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", "wafer_soak",
                            "-AtF", "\t", "-c", query], capture_output=True, text=True, check=True)
        return [line.split("\t") for line in r.stdout.splitlines()]


class Wafer:
    """One run of `wafer run` (the soak starts two: before and after SIGTERM)."""

    def __init__(self, work, binary, config, token, admin_port):
        self.work, self.binary, self.config = work, binary, config
        self.token, self.admin_port = token, admin_port
        self.runs = []  # (run number, Proc, events file)

    @property
    def proc(self):
        return self.runs[-1][1]

    @property
    def pid(self):
        return self.proc.p.pid

    def start(self):
        n = len(self.runs) + 1
        events = os.path.join(self.work, f"events-run{n}.jsonl")
        argv = [self.binary, "run", "--config", self.config, "--events", events]
        proc = Proc(self.work, f"wafer-run{n}", argv).start()
        self.runs.append((n, proc, events))
        end = time.monotonic() + 60
        while time.monotonic() < end:
            if proc.p.poll() is not None:
                sys.exit(f"soak: wafer exited at start (code {proc.p.returncode}); see {proc.log.name}")
            try:
                self.admin("/api/info", timeout=1)
                return
            except OSError:
                time.sleep(0.1)
        sys.exit(f"soak: wafer did not answer within 60 s; see {proc.log.name}")

    def admin(self, path, timeout=10):
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.admin_port}{path}", headers={"Authorization": f"Bearer {self.token}"}
        )
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.read()

    def terminate(self):
        """SIGTERM, and the exit code (None: it had to be killed after 60 s)."""
        return self.proc.stop(signal.SIGTERM, timeout=60)

    def summaries(self):
        """Per run: the counts its 'stopped' log line gives, or None if it never said."""
        out = []
        for n, proc, events in self.runs:
            with open(proc.log.name, errors="replace") as f:
                log = f.read()
            m = None
            for m in re.finditer(r"stopped\S*\s+published=(\d+) dropped=(\d+) stored=(\d+)", log):
                pass
            with open(events) as f:
                lines = sum(1 for _ in f)
            out.append(
                {
                    "run": n,
                    "published": int(m.group(1)) if m else None,
                    "dropped": int(m.group(2)) if m else None,
                    "stored": int(m.group(3)) if m else None,
                    "file_lines": lines,
                    "panics": len(re.findall(r"panicked at", log)),
                    "errors": len(re.findall(r"\bERROR\b", log)),
                    "log": proc.log.name,
                }
            )
        return out
