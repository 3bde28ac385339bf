"""The ``qabot`` command line: ask, list sections, serve the chat, evaluate accuracy."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .answer import DEFAULT_TOP_K, MAX_TOP_K, QABot
from .documents import CORPUS_ENV
from .errors import QABotError

__all__ = ["main"]

CORPUS_HELP = f"A corpus file or folder (default: ${CORPUS_ENV}, else ./corpus)."


def corpus_option(func):  # type: ignore[no-untyped-def]
    """The ``--corpus`` option shared by every command that loads a corpus."""
    return click.option(
        "--corpus",
        "corpus",
        type=click.Path(path_type=Path),
        default=None,
        envvar=CORPUS_ENV,
        show_envvar=True,
        help=CORPUS_HELP,
    )(func)


def fail(message: str) -> None:
    """Print one line on stderr and exit with status 1."""
    click.echo(f"qabot: error: {message}", err=True)
    sys.exit(1)


def load_bot(corpus: Path | None) -> QABot:
    """Build the bot, turning a corpus problem into one readable line and exit status 1."""
    try:
        return QABot.from_path(corpus)
    except QABotError as exc:
        fail(str(exc))
        raise  # unreachable


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="qabot", prog_name="qabot")
def main() -> None:
    """Ask a document questions: qabot answers with the passage and its section."""


@main.command()
@click.argument("question")
@corpus_option
@click.option("--top-k", "top_k", type=click.IntRange(1, MAX_TOP_K), default=DEFAULT_TOP_K,
              show_default=True, help="How many passages to return (the answer and runners-up).")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
def ask(question: str, corpus: Path | None, top_k: int, as_json: bool) -> None:
    """Answer QUESTION from the corpus."""
    bot = load_bot(corpus)
    try:
        result = bot.ask(question, top_k=top_k)
    except QABotError as exc:
        fail(str(exc))
        return
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
        return
    if result.found:
        click.echo(result.answer)
        click.echo(f"\nSection: {result.section} ({result.document})")
        click.echo(f"Score: {result.score:.2f}")
    else:
        click.echo(result.message)
    if result.alternatives:
        click.echo("\nOther matches:" if result.found else "\nNearest sections:")
        for alt in result.alternatives:
            click.echo(f"  - {alt.section} ({alt.document}) score {alt.score:.2f}")


@main.command()
@corpus_option
def sections(corpus: Path | None) -> None:
    """List each document's sections with their passage counts."""
    bot = load_bot(corpus)
    for doc in bot.sections():
        click.echo(f"{doc['document']}: {doc['title']}")
        for section in doc["sections"]:
            click.echo(f"  {section['passages']:3d}  {section['section']}")


if __name__ == "__main__":  # pragma: no cover
    main()
