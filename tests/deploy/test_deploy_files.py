"""The reference deployment in deploy/ is checked here, since containers and nginx cannot run on the test machines.

What can run does: `systemd-analyze verify` on the units when systemd is installed, and click's
own parser on every papertide command line. What cannot is parsed and compared against the
code: the compose YAML, the nginx configuration (structurally: no `nginx` binary here), the
Dockerfile and the example environment file. Every PAPERTIDE_ name must be a real setting, and
every command line a real command with real options.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml

from papertide.cli import app
from papertide.config import Settings, proxy_entries

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
SETTING_NAMES = {f"PAPERTIDE_{name.upper()}" for name in Settings.model_fields}


def check_command_line(argv: list[str]) -> Any:
    """Parse ``papertide ARGV`` with the real CLI (no command runs); fails on an unknown command or option.

    Returns the parsed context (``.params``). Typer ships its own copy of click, so the
    commands are walked by what they offer rather than by click's classes.
    """
    command: Any = typer.main.get_command(app)
    args = list(argv)
    while hasattr(command, "get_command"):
        name = args.pop(0)
        found = command.get_command(command.context_class(command), name)
        assert found is not None, f"papertide has no command {name!r} (in {argv})"
        command = found
    return command.make_context(command.name or "papertide", args)


def parse_unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """A systemd unit as sections of keys with every value (keys like Environment= repeat)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None and "=" in line, f"{path.name}:{number}: not a key=value line in a section"
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def environment_of(unit: dict[str, dict[str, list[str]]]) -> dict[str, str]:
    return dict(entry.split("=", 1) for line in unit["Service"].get("Environment", []) for entry in shlex.split(line))


# --- systemd --------------------------------------------------------------------------------------


def test_there_is_a_unit_for_the_web_and_one_for_the_worker() -> None:
    assert [path.name for path in UNITS] == ["papertide-web.service", "papertide-worker.service"]


@pytest.mark.parametrize("path", UNITS, ids=lambda path: path.name)
def test_each_unit_has_the_required_keys_and_runs_a_real_papertide_command(path: Path) -> None:
    unit = parse_unit(path)
    assert set(unit) == {"Unit", "Service", "Install"}
    assert unit["Unit"]["Description"]
    service = unit["Service"]
    for key in ("Type", "User", "ExecStart", "Restart", "EnvironmentFile"):
        assert len(service.get(key, [])) == 1, f"{path.name}: [Service] {key}"
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]
    argv = shlex.split(service["ExecStart"][0])
    assert argv[0].endswith("/bin/papertide")
    check_command_line(argv[1:])
    assert set(environment_of(unit)) <= SETTING_NAMES
    assert service["ReadWritePaths"] == [environment_of(unit)["PAPERTIDE_DATA_DIR"]]


def test_the_web_unit_leaves_jobs_to_the_worker_and_trusts_only_its_local_proxy() -> None:
    web = parse_unit(DEPLOY / "systemd" / "papertide-web.service")
    context = check_command_line(shlex.split(web["Service"]["ExecStart"][0])[1:])
    assert context.params["no_jobs"] is True
    assert context.params["workers"] > 1
    assert context.params["host"] == "127.0.0.1"
    assert environment_of(web)["PAPERTIDE_FORWARDED_ALLOW_IPS"] == "127.0.0.1"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
@pytest.mark.parametrize("path", UNITS, ids=lambda path: path.name)
def test_systemd_finds_nothing_to_complain_about_in_the_units(path: Path, tmp_path: Path) -> None:
    # The binary the unit names is where an installation puts it; point at this one to verify the rest.
    papertide = shutil.which("papertide") or "/bin/true"
    copy = tmp_path / path.name
    copy.write_text(path.read_text(encoding="utf-8").replace("/opt/papertide/.venv/bin/papertide", papertide))
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(copy)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr


# --- the example environment ----------------------------------------------------------------------


def test_the_example_environment_names_real_settings_that_validate() -> None:
    pairs = [
        line.split("=", 1)
        for line in (DEPLOY / "papertide.env.example").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    names = [name for name, _ in pairs]
    assert set(names) <= SETTING_NAMES, set(names) - SETTING_NAMES
    settings = Settings(**{name.removeprefix("PAPERTIDE_").lower(): value for name, value in pairs})
    assert settings.database_url.startswith("postgresql+psycopg://")
    assert settings.base_url.startswith("https://")
    assert settings.secret()  # long enough to sign with


# --- compose and the image ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def test_compose_runs_postgresql_the_web_and_a_worker(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"postgres", "web", "worker"}
    assert services["postgres"]["image"].startswith("postgres:")
    assert "healthcheck" in services["postgres"]
    assert services["web"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    # The worker migrates too: it starts once the web (which migrated) is healthy.
    assert services["worker"]["depends_on"]["web"]["condition"] == "service_healthy"
    assert services["web"]["ports"] == ["127.0.0.1:8000:8000"]


def test_compose_environment_names_real_settings_and_the_database_compose_creates(compose: dict[str, Any]) -> None:
    postgres = compose["services"]["postgres"]["environment"]
    for name in ("web", "worker"):
        environment = compose["services"][name]["environment"]
        assert set(environment) <= SETTING_NAMES, set(environment) - SETTING_NAMES
        url = environment["PAPERTIDE_DATABASE_URL"]
        assert url.startswith(f"postgresql+psycopg://{postgres['POSTGRES_USER']}:")
        assert url.endswith(f"@postgres:5432/{postgres['POSTGRES_DB']}")


def test_compose_commands_are_real_commands_and_the_web_trusts_only_the_gateway(compose: dict[str, Any]) -> None:
    web = compose["services"]["web"]
    context = check_command_line(web["command"])
    assert context.params["no_jobs"] is True and context.params["port"] == 8000
    check_command_line(compose["services"]["worker"]["command"])
    gateway = compose["networks"]["papertide"]["ipam"]["config"][0]["gateway"]
    assert proxy_entries(web["environment"]["PAPERTIDE_FORWARDED_ALLOW_IPS"]) == [gateway]


def test_the_image_installs_papertide_and_runs_a_real_command() -> None:
    lines = [line.strip() for line in (DEPLOY / "Dockerfile").read_text(encoding="utf-8").splitlines()]
    instructions = [line for line in lines if line and not line.startswith("#") and line[0].isupper()]
    assert instructions[0].startswith("FROM python:3.11")
    entrypoint = next(line for line in instructions if line.startswith("ENTRYPOINT "))
    command = next(line for line in instructions if line.startswith("CMD "))
    assert yaml.safe_load(entrypoint.removeprefix("ENTRYPOINT ")) == ["papertide"]
    check_command_line(yaml.safe_load(command.removeprefix("CMD ")))
    assert any(line.startswith("USER ") and "root" not in line for line in instructions)


# --- nginx ----------------------------------------------------------------------------------------


def parse_nginx(text: str) -> list[tuple[list[str], Any]]:
    """nginx's grammar, enough to check structure: (directive words, block or None); unbalanced text fails."""
    tokens = re.findall(r'"[^"]*"|[{};]|[^\s{};"]+', re.sub(r"#[^\n]*", "", text))
    position = 0

    def block(depth: int) -> list[tuple[list[str], Any]]:
        nonlocal position
        items: list[tuple[list[str], Any]] = []
        words: list[str] = []
        while position < len(tokens):
            token = tokens[position]
            position += 1
            if token == ";":
                assert words, "an empty statement"
                items.append((words, None))
                words = []
            elif token == "{":
                items.append((words, block(depth + 1)))
                words = []
            elif token == "}":
                assert depth > 0 and not words, f"unexpected }} after {words}"
                return items
            else:
                words.append(token.strip('"'))
        assert depth == 0 and not words, "the file ends inside a block or a statement"
        return items

    return block(0)


def directives(items: list[tuple[list[str], Any]], name: str) -> list[tuple[list[str], Any]]:
    return [(words, inner) for words, inner in items if words[0] == name]


def test_the_nginx_config_terminates_tls_and_sets_the_forwarded_headers_papertide_trusts() -> None:
    # No `nginx` binary on the test machines: this is a structural check, not `nginx -t`.
    config = parse_nginx((DEPLOY / "nginx" / "papertide.conf").read_text(encoding="utf-8"))
    [(upstream, members)] = directives(config, "upstream")
    [(_, address)] = [(words, words[1]) for words, _ in directives(members, "server")]
    servers = [inner for _, inner in directives(config, "server")]
    tls = [server for server in servers if any("ssl" in words for words, _ in directives(server, "listen"))]
    assert len(tls) == 1
    assert directives(tls[0], "ssl_certificate") and directives(tls[0], "ssl_certificate_key")
    plain = [server for server in servers if server is not tls[0]]
    assert all(directives(server, "return")[0][0][1] == "301" for server in plain)
    locations = directives(tls[0], "location")
    assert locations
    for words, inner in locations:
        assert [w for w, _ in directives(inner, "proxy_pass")] == [["proxy_pass", f"http://{upstream[1]}"]]
        headers = {w[1]: w[2] for w, _ in directives(inner, "proxy_set_header")}
        assert headers["X-Forwarded-For"] == "$remote_addr", f"location {words[1]}: the client's own header is kept"
        assert headers["X-Forwarded-Proto"] == "$scheme"
    # The web unit listens where the upstream points and trusts that proxy address.
    web = parse_unit(DEPLOY / "systemd" / "papertide-web.service")
    context = check_command_line(shlex.split(web["Service"]["ExecStart"][0])[1:])
    assert address == f"{context.params['host']}:{context.params['port']}"
    trusted = proxy_entries(environment_of(web)["PAPERTIDE_FORWARDED_ALLOW_IPS"])
    assert any(ipaddress.ip_address(context.params["host"]) in ipaddress.ip_network(entry) for entry in trusted)


def test_the_structural_nginx_check_catches_an_unbalanced_block() -> None:
    with pytest.raises(AssertionError):
        parse_nginx("server { listen 80;")
    with pytest.raises(AssertionError):
        parse_nginx("server { listen 80 }")


def test_the_command_line_check_refuses_unknown_commands_options_and_values() -> None:
    for argv in (["serv"], ["serve", "--worker", "4"], ["serve", "--workers", "0"], ["worker", "--no-jobs"]):
        with pytest.raises((AssertionError, Exception)):
            check_command_line(argv)
    assert check_command_line(["serve", "--workers", "2"]).params["workers"] == 2
