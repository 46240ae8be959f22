"""Postfix's C test tools for bench/digest.py: ``smtp-sink`` (a server that accepts and discards) and
``smtp-source`` (a client that sends fixed-size messages), the yardstick of what a mail server takes.

They come from Debian's ``postfix`` package without installing it: ``apt-get download postfix`` and
``dpkg -x`` into a cache folder give ``usr/sbin/smtp-sink``, ``usr/sbin/smtp-source`` and the
libraries they load (``usr/lib/postfix``); no mail service is installed or started.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HOW_TO_GET = (
    "bench/digest.py needs Postfix's smtp-sink and smtp-source. On Debian or Ubuntu:\n"
    "  cd /tmp && apt-get download postfix && dpkg -x postfix_*.deb {folder}\n"
    "or install the `postfix` package, or pass --postfix-dir FOLDER (a folder holding usr/sbin/smtp-sink)."
)


@dataclass(frozen=True)
class PostfixTools:
    """Where the two programs are, and the library path they need."""

    sink: Path
    source: Path
    library_path: str

    def environment(self) -> dict[str, str]:
        """The environment to run them in."""
        env = dict(os.environ)
        if self.library_path:
            env["LD_LIBRARY_PATH"] = self.library_path + (
                ":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else ""
            )
        return env


def cache_folder() -> Path:
    """Where the benchmark keeps what it fetched once (the tools, the exported embedding model)."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "papertide-bench"


def _tools_in(root: Path) -> PostfixTools | None:
    sink, source = root / "usr/sbin/smtp-sink", root / "usr/sbin/smtp-source"
    if sink.is_file() and source.is_file():
        return PostfixTools(sink, source, str(root / "usr/lib/postfix"))
    return None


def find_postfix_tools(folder: Path | None = None) -> PostfixTools:
    """The tools from ``folder``, the system, or the cache; fetched into the cache when missing there."""
    if folder is not None:
        tools = _tools_in(folder)
        if tools is None:
            missing = f"{folder} holds no usr/sbin/smtp-sink and usr/sbin/smtp-source.\n"
            raise SystemExit(missing + HOW_TO_GET.format(folder=folder))
        return tools
    system = "/usr/sbin:/usr/bin"
    sink, source = shutil.which("smtp-sink", path=system), shutil.which("smtp-source", path=system)
    if sink and source:
        return PostfixTools(Path(sink), Path(source), "")
    root = cache_folder() / "postfix"
    tools = _tools_in(root)
    if tools is not None:
        return tools
    if not shutil.which("apt-get") or not shutil.which("dpkg"):
        raise SystemExit("no apt-get or dpkg here to fetch them.\n" + HOW_TO_GET.format(folder=root))
    print(f"fetching Postfix's smtp-sink and smtp-source (apt-get download postfix) into {root}", flush=True)
    with tempfile.TemporaryDirectory(prefix="papertide-postfix-") as download:
        fetched = subprocess.run(
            ["apt-get", "download", "postfix"], cwd=download, capture_output=True, text=True, timeout=300
        )
        packages = list(Path(download).glob("postfix_*.deb"))
        if fetched.returncode != 0 or not packages:
            detail = (fetched.stderr or fetched.stdout).strip()[-500:]
            raise SystemExit(f"apt-get download postfix failed: {detail}\n" + HOW_TO_GET.format(folder=root))
        root.mkdir(parents=True, exist_ok=True)
        subprocess.run(["dpkg", "-x", str(packages[0]), str(root)], check=True, timeout=300)
    tools = _tools_in(root)
    if tools is None:
        unpacked = f"the postfix package unpacked into {root} has no smtp-sink.\n"
        raise SystemExit(unpacked + HOW_TO_GET.format(folder=root))
    return tools


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Sink:
    """A running ``smtp-sink`` on loopback; counts the messages it accepted (its ``-c`` counters)."""

    def __init__(self, tools: PostfixTools, port: int, folder: Path) -> None:
        self.log = folder / "smtp-sink.out"
        command = [str(tools.sink), "-c"]
        if os.geteuid() == 0:
            command += ["-u", "nobody"]  # it refuses to run as root without dropping privileges
        command += [f"127.0.0.1:{port}", "1024"]
        self.output = self.log.open("wb")
        self.process = subprocess.Popen(command, stdout=self.output, stderr=subprocess.STDOUT, env=tools.environment())
        self.port = port
        deadline = time.monotonic() + 10
        while not self._listening():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"smtp-sink did not start: {self.log.read_text(errors='replace')[-500:]}")
            time.sleep(0.05)

    def _listening(self) -> bool:
        import socket

        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", self.port)) == 0

    def messages(self) -> int:
        """Messages accepted so far (the last ``mesg=`` counter it wrote)."""
        self.output.flush()
        tail = self.log.read_bytes()[-200:].decode(errors="replace")
        found = re.findall(r"mesg=(\d+)", tail)
        return int(found[-1]) if found else 0

    def cpu_seconds(self) -> float:
        """CPU time the sink has used so far."""
        return _cpu_seconds(self.process.pid)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        self.output.close()


def run_source(tools: PostfixTools, port: int, *, messages: int, size: int, sessions: int) -> float:
    """Send ``messages`` messages of ``size`` bytes over ``sessions`` kept connections; returns seconds."""
    command = [str(tools.source), "-d", "-s", str(sessions), "-l", str(size), "-m", str(messages)]
    command += ["-f", "bench@papers.example.org", "-t", "reader@example.org", f"127.0.0.1:{port}"]
    started = time.perf_counter()
    subprocess.run(command, check=True, env=tools.environment(), stdout=subprocess.DEVNULL, timeout=3600)
    return time.perf_counter() - started
