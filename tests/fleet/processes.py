"""Real `papertide` processes for the fleet tests: started with their own environment, awaited by deadline.

Nothing here sleeps in place of a signal: a server is ready when its readiness endpoint
(/healthz) answers 200, a job has run when its lease row says it finished; the polls only
bound how long the test waits before it fails with the process's own output.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import httpx
from sqlalchemy import Engine

from papertide.store.leases import JobState, list_jobs

T = TypeVar("T")
DEADLINE_S = 120.0


def clean_environment(extra: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without any PAPERTIDE_ setting, plus ``extra``."""
    base = {key: value for key, value in os.environ.items() if not key.startswith("PAPERTIDE_")}
    return {**base, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", **extra}


@dataclass
class Process:
    """One running `papertide` command; its output goes to a file the failure messages quote."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    closed: bool = field(default=False)

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-4000:]

    def check_alive(self) -> None:
        if self.popen.poll() is not None:
            raise AssertionError(f"{self.name} exited with {self.popen.returncode}:\n{self.output()}")

    def stop(self) -> int:
        """SIGTERM, as systemd stops it; the exit code."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        return self.popen.returncode


def start(name: str, args: list[str], env: Mapping[str, str], logs: Path) -> Process:
    """Start ``papertide ARGS`` as a subprocess."""
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{name}.log"
    with log.open("wb") as stream:
        popen = subprocess.Popen(
            [sys.executable, "-m", "papertide", *args], env=dict(env), stdout=stream, stderr=subprocess.STDOUT
        )
    return Process(name, popen, log)


def run_command(args: list[str], env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``papertide ARGS`` to completion."""
    return subprocess.run(
        [sys.executable, "-m", "papertide", *args], env=dict(env), capture_output=True, text=True, timeout=DEADLINE_S
    )


def wait_for(what: str, probe: Callable[[], T | None], watched: list[Process], deadline_s: float = DEADLINE_S) -> T:
    """Poll ``probe`` until it returns something, failing early if a watched process died."""
    deadline = time.monotonic() + deadline_s
    while True:
        for process in watched:
            process.check_alive()
        found = probe()
        if found is not None and found is not False:
            return found
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {p.name}:\n{p.output()}" for p in watched)
            raise AssertionError(f"waited {deadline_s:.0f} s for {what}\n{logs}")
        time.sleep(0.1)


def wait_ready(process: Process, base_url: str) -> None:
    """Until the server's readiness endpoint answers 200 (database reachable, schema current)."""

    def ready() -> bool:
        try:
            return httpx.get(f"{base_url}/healthz", timeout=5).status_code == 200
        except httpx.TransportError:
            return False

    wait_for(f"{process.name} to be ready at {base_url}", ready, [process])


def job_state(engine: Engine, name: str) -> JobState | None:
    return next((job for job in list_jobs(engine) if job.name == name), None)


def wait_job_finished(engine: Engine, name: str, after: dt.datetime, watched: list[Process]) -> JobState:
    """Until the job's lease row shows a run that started after ``after`` and has finished."""

    def finished() -> JobState | None:
        job = job_state(engine, name)
        if job is None or job.holder is not None or job.last_started_at is None or job.last_finished_at is None:
            return None
        if job.last_started_at >= after and job.last_finished_at >= job.last_started_at:
            return job
        return None

    return wait_for(f"job {name} to finish a run", finished, watched)
