"""The README documents every setting and every command, and its generated parts are current."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from papertide.config import Settings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def load_generator():
    spec = importlib.util.spec_from_file_location("gen_docs", ROOT / "scripts" / "gen_docs.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_docs"] = module
    spec.loader.exec_module(module)
    return module


def test_every_setting_has_a_description_and_appears_in_the_readme() -> None:
    for name, field in Settings.model_fields.items():
        assert field.description, f"setting {name} has no description"
        assert f"`PAPERTIDE_{name.upper()}`" in README, f"PAPERTIDE_{name.upper()} missing from README"


def test_every_command_appears_in_the_readme() -> None:
    for name, command in load_generator().cli_commands():
        assert f"`{name}" in README, f"{name} missing from README"
        assert command.help, f"{name} has no help text"


def test_generated_sections_are_current() -> None:
    generator = load_generator()
    assert generator.regenerate(README) == README, "run: .venv/bin/python scripts/gen_docs.py"
