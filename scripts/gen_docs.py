"""Regenerate the generated parts of README.md: the configuration table and the CLI reference.

Run `python scripts/gen_docs.py` after adding a setting or a command; tests/test_docs.py fails
while README.md is out of date. Sections live between `<!-- BEGIN name -->` / `<!-- END name -->`.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import typer.main

from papertide.cli import app
from papertide.config import Settings

README = Path(__file__).resolve().parent.parent / "README.md"


def render_settings() -> str:
    """A Markdown table of every setting: variable, default, meaning."""
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        default = field.default
        if hasattr(default, "get_secret_value"):
            default = default.get_secret_value()
        shown = "" if default in (None, "") else f"`{default}`"
        description = (field.description or "").replace("|", "\\|").replace("\n", " ")
        lines.append(f"| `PAPERTIDE_{name.upper()}` | {shown} | {description} |")
    return "\n".join(lines)


def _walk(command: Any, prefix: str) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    if hasattr(command, "commands"):
        for name in sorted(command.commands):
            found.extend(_walk(command.commands[name], f"{prefix} {name}"))
    else:
        found.append((prefix, command))
    return found


def cli_commands() -> list[tuple[str, Any]]:
    """Every leaf command as (full name, click command)."""
    return _walk(typer.main.get_command(app), "papertide")


def render_cli() -> str:
    """One line per command: its usage and first help line."""
    lines = ["| command | what it does |", "|---|---|"]
    for name, command in cli_commands():
        params = " ".join(
            (f"[{p.opts[0]}]" if p.param_type_name == "option" else str(p.name).upper())
            for p in command.params
            if not (p.param_type_name == "option" and p.opts[0] in {"--help", "-h"})
        )
        summary = (command.help or "").strip().splitlines()[0] if command.help else ""
        lines.append(f"| `{name}{' ' + params if params else ''}` | {summary} |")
    return "\n".join(lines)


SECTIONS = {"settings": render_settings, "cli": render_cli}


def regenerate(text: str) -> str:
    """README text with every generated section replaced by its current rendering."""
    for name, render in SECTIONS.items():
        pattern = re.compile(rf"(<!-- BEGIN {name} -->)\n.*?(<!-- END {name} -->)", re.DOTALL)
        if not pattern.search(text):
            raise SystemExit(f"README.md has no <!-- BEGIN {name} --> section")
        text = pattern.sub(lambda m, r=render: f"{m.group(1)}\n{r()}\n{m.group(2)}", text)  # type: ignore[misc]
    return text


def main() -> int:
    current = README.read_text(encoding="utf-8")
    updated = regenerate(current)
    if "--check" in sys.argv:
        return 0 if updated == current else 1
    README.write_text(updated, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
