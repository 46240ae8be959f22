"""The page templates' environment (web/templating.py)."""

from __future__ import annotations

from pathlib import Path

from papertide.web.templating import make_environment


def test_templates_are_compiled_once_and_not_checked_on_disk_for_every_include(tmp_path: Path) -> None:
    # A page of 30 cards includes ~200 templates; with auto_reload each include was a stat()
    # (issue 9, bench/load.py). Operators restart after editing overrides (README settings).
    (tmp_path / "_pager.html").write_text("first version", encoding="utf-8")
    environment = make_environment(tmp_path)
    assert environment.get_template("_pager.html").render() == "first version"
    (tmp_path / "_pager.html").write_text("edited while serving", encoding="utf-8")
    assert environment.get_template("_pager.html").render() == "first version"
    assert make_environment(tmp_path).get_template("_pager.html").render() == "edited while serving"
