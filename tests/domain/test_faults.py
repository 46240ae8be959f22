"""PAPERTIDE_FAULT parsing and counting; a misspelt fault stops the process instead of never firing."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import papertide
from papertide.domain.faults import (
    DELIVERY_FAULT_POINTS,
    FAULT_EXIT_CODE,
    FAULT_POINTS,
    INGEST_FAULT_POINTS,
    Fault,
    FaultTrigger,
    InvalidFault,
    parse_fault,
)


def test_a_fault_names_a_point_and_the_passes_before_it_fires() -> None:
    assert parse_fault("after-claim:1") == Fault("after-claim", 1)
    assert parse_fault(" after-250 ") == Fault("after-250", 0)


@pytest.mark.parametrize("text", ["after-clam:1", "after-claim:-1", "after-claim:x", "after-claim:١", ":3"])
def test_a_malformed_fault_is_refused_with_what_was_wrong(text: str) -> None:
    with pytest.raises(InvalidFault, match="PAPERTIDE_FAULT="):
        parse_fault(text)


def test_the_trigger_fires_at_the_chosen_pass_of_its_own_point_only() -> None:
    fired: list[str] = []
    trigger = FaultTrigger(Fault("after-data", 2), fired.append)
    for point in ["after-data", "after-claim", "after-data", "after-250", "after-data"]:
        assert not fired
        trigger.reach(point)
    assert len(fired) == 1 and "after-data fired after 2 passes" in fired[0]


def run_python(code: str, fault: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PAPERTIDE_FAULT": fault, "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)


def test_an_armed_process_exits_at_the_point_without_running_its_cleanup() -> None:
    code = (
        "from papertide.domain.faults import reach_fault_point\n"
        "try:\n"
        "    reach_fault_point('after-commit'); print('first pass')\n"
        "    reach_fault_point('after-commit'); print('second pass')\n"
        "finally:\n"
        "    print('cleanup')\n"
    )
    done = run_python(code, "after-commit:1")
    assert done.returncode == FAULT_EXIT_CODE
    assert done.stdout.split() == ["first", "pass"]
    assert "fault point after-commit fired after 1 passes" in done.stderr


def test_a_misspelt_fault_stops_the_process_at_start_with_a_clear_message() -> None:
    done = run_python("import papertide.domain.faults\nprint('ran')", "after-comit:1")
    assert done.returncode == 2 and done.stdout == ""
    assert "unknown point 'after-comit'" in done.stderr and "Traceback" not in done.stderr


def points_reached_under(*packages: str) -> set[str]:
    """The names passed to ``reach_fault_point("...")`` in the source of these packages."""
    source = Path(papertide.__file__).parent
    found: set[str] = set()
    for package in packages:
        for path in (source / package).rglob("*.py"):
            found |= set(re.findall(r'reach_fault_point\("([a-z0-9-]+)"\)', path.read_text(encoding="utf-8")))
    return found


def test_the_digest_crash_tests_draw_only_points_a_digest_run_passes_and_ingest_its_own() -> None:
    # A digest crash test that drew an ingest-only point ran to the end and never stopped (CI, issue 9).
    assert set(DELIVERY_FAULT_POINTS) == points_reached_under("digest", "mail")
    assert set(INGEST_FAULT_POINTS) == points_reached_under("ingest")
    assert set(FAULT_POINTS) == set(DELIVERY_FAULT_POINTS) | set(INGEST_FAULT_POINTS)
