"""The README stays true: its two set-up commands, CI running its test command, every CLI option."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from qabot.cli import main

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text("utf-8")


def setup_commands() -> list[str]:
    """The commands of the README's first code block, comments removed."""
    block = re.search(r"```bash\n(.*?)```", README, re.S)
    assert block, "the README must open with a bash code block"
    return [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]


def test_readme_opens_with_exactly_two_setup_commands() -> None:
    commands = setup_commands()
    assert len(commands) == 2
    run_bot, run_tests = commands
    assert run_bot.startswith("pip install") and run_bot.endswith("qabot serve")
    assert "pytest" in run_tests


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    ci_script = (REPO / ".ci" / "run").read_text("utf-8")
    assert f"{{ {setup_commands()[1]}; }}" in ci_script


def _commands() -> dict[str, click.Command]:
    """Every command by its full name, the subcommands of a group (``feedback export``)
    included."""
    found: dict[str, click.Command] = {}
    for name, command in main.commands.items():
        found[name] = command
        if isinstance(command, click.Group):
            for sub, subcommand in command.commands.items():
                found[f"{name} {sub}"] = subcommand
    return found


@pytest.mark.parametrize("name", sorted(_commands()))
def test_every_command_and_option_is_in_the_readme(name: str) -> None:
    command = _commands()[name]
    assert f"qabot {name}" in README
    for param in command.params:
        if isinstance(param, click.Option):
            longest = max(param.opts, key=len)
            if longest != "--help":
                assert longest in README, f"qabot {name} {longest} is not documented"
