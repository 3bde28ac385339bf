"""Loading a corpus (qabot.documents): files, folders, the default corpus, and bad input."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from qabot.documents import (
    CORPUS_ENV,
    Document,
    corpus_hash,
    default_corpus_path,
    load_corpus,
    load_document,
)
from qabot.errors import CorpusError, QABotError
from qabot.passages import split_document

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "corpus" / "iom.txt"


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


# --- a file or a folder ----------------------------------------------------------------


def test_single_file_is_one_document_named_by_its_file_name(tmp_path: Path) -> None:
    path = write(tmp_path / "notes.txt", "Notes\n\nThe kettle boils at noon.\n")
    docs = load_corpus(path)
    assert len(docs) == 1
    doc = docs[0]
    assert isinstance(doc, Document)
    assert doc.name == "notes.txt"
    assert doc.format == "text"
    assert doc.text == "Notes\n\nThe kettle boils at noon.\n"


def test_folder_loads_supported_documents_in_name_order(tmp_path: Path) -> None:
    write(tmp_path / "b.md", "# Bee\n\nBees make honey.\n")
    write(tmp_path / "a.txt", "Ants\n\nAnts carry leaves.\n")
    write(tmp_path / "sub" / "c.html", "<h1>Cats</h1><p>Cats sleep a lot.</p>")
    docs = load_corpus(tmp_path)
    assert [d.name for d in docs] == ["a.txt", "b.md", "sub/c.html"]
    assert [d.format for d in docs] == ["text", "markdown", "html"]


def test_folder_ignores_unsupported_and_hidden_files(tmp_path: Path) -> None:
    write(tmp_path / "doc.txt", "Doc\n\nThe real document text.\n")
    write(tmp_path / "questions.jsonl", '{"question": "ignored?"}\n')
    write(tmp_path / "data.csv", "a,b\n1,2\n")
    write(tmp_path / "image.png", b"\x89PNG\r\n\x1a\n\x00\x00")
    write(tmp_path / ".hidden.txt", "Hidden\n\nThis must not be loaded.\n")
    write(tmp_path / ".git" / "notes.md", "# Hidden folder\n\nNot loaded either.\n")
    docs = load_corpus(tmp_path)
    assert [d.name for d in docs] == ["doc.txt"]


def test_shipped_corpus_folder_holds_only_the_iom_document() -> None:
    docs = load_corpus(REPO / "corpus")
    assert [d.name for d in docs] == ["iom.txt"]  # iom.questions.jsonl is not a document


# --- the default corpus ----------------------------------------------------------------


def test_default_corpus_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "elsewhere" / "env.txt", "Env\n\nChosen through the environment.\n")
    monkeypatch.setenv(CORPUS_ENV, str(tmp_path / "elsewhere"))
    monkeypatch.chdir(tmp_path)
    assert default_corpus_path() == tmp_path / "elsewhere"
    assert [d.name for d in load_corpus()] == ["env.txt"]


def test_default_corpus_is_dot_corpus_without_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "corpus" / "local.md", "# Local\n\nFound in ./corpus.\n")
    monkeypatch.delenv(CORPUS_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert default_corpus_path() == Path("corpus")
    assert [d.name for d in load_corpus()] == ["local.md"]
    assert [d.name for d in load_corpus(None)] == ["local.md"]


def test_missing_default_corpus_is_a_corpus_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(CORPUS_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CorpusError, match="corpus"):
        load_corpus()


# --- bad input -------------------------------------------------------------------------

BAD_FILES = [
    # id, file name, content, what the message says
    ("empty", "empty.txt", b"", "empty"),
    ("whitespace-only", "blank.txt", b"  \n\t\n   \r\n", "empty"),
    ("binary", "blob.txt", b"GIF89a\x00\x01\x02\x00binary\x00data", "binary"),
    ("non-utf8", "latin.txt", "caf\xe9 au lait\n".encode("latin-1"), "UTF-8"),
    ("unsupported-suffix", "questions.jsonl", b'{"q": "x"}\n', "unsupported"),
    ("unsupported-suffix-pdf", "paper.pdf", b"%PDF-1.4 text", "unsupported"),
]


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [pytest.param(n, c, p, id=i) for i, n, c, p in BAD_FILES],
)
def test_bad_single_file_raises_corpus_error_naming_it(
    tmp_path: Path, name: str, content: bytes, problem: str
) -> None:
    path = write(tmp_path / name, content)
    with pytest.raises(CorpusError, match=problem) as info:
        load_corpus(path)
    assert name in str(info.value)
    assert "\n" not in str(info.value)  # one line, shown to users as is


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [pytest.param(n, c, p, id=i) for i, n, c, p in BAD_FILES if not n.endswith((".jsonl", ".pdf"))],
)
def test_bad_file_inside_a_folder_is_skipped_or_with_strict_named(
    tmp_path: Path, name: str, content: bytes, problem: str
) -> None:
    write(tmp_path / "good.txt", "Good\n\nA perfectly fine document.\n")
    write(tmp_path / name, content)
    warnings: list[str] = []
    docs = load_corpus(tmp_path, warn=warnings.append)
    assert [d.name for d in docs] == ["good.txt"]
    assert [s.name for s in docs.skipped] == [name] and problem in docs.skipped[0].reason
    assert len(warnings) == 1 and name in warnings[0] and problem in warnings[0]
    with pytest.raises(CorpusError, match=problem) as info:
        load_corpus(tmp_path, strict=True)
    assert name in str(info.value)


@pytest.mark.parametrize(
    ("setup", "problem"),
    [
        pytest.param(lambda p: p / "nope", "no such file", id="missing-path"),
        pytest.param(lambda p: p / "missing" / "deep.txt", "no such file", id="missing-file"),
        pytest.param(lambda p: p, "no documents", id="empty-folder"),
        pytest.param(
            lambda p: (write(p / "only.jsonl", "{}\n"), write(p / ".h.txt", "hidden\n")) and p,
            "no documents",
            id="folder-without-documents",
        ),
    ],
)
def test_missing_path_or_folder_without_documents(tmp_path: Path, setup, problem: str) -> None:
    path = setup(tmp_path)
    with pytest.raises(CorpusError, match=problem) as info:
        load_corpus(path)
    assert str(path) in str(info.value)


def test_corpus_error_is_a_value_error_and_a_qabot_error() -> None:
    assert issubclass(CorpusError, ValueError)
    assert issubclass(CorpusError, QABotError)


def test_load_document_checks_too(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="empty"):
        load_document(write(tmp_path / "e.md", "\n\n"))


# --- text and titles -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "title"),
    [
        pytest.param(
            "t.txt", "\n\nMy Plain Title\n\nBody text here.\n", "My Plain Title", id="txt"
        ),
        pytest.param(
            "m.md",
            "Some front text.\n\n## The Markdown Title ##\n\nBody.\n",
            "The Markdown Title",
            id="md-first-heading",
        ),
        pytest.param(
            "h.html",
            "<html><head><title>Page &amp; Title</title></head><body><h1>Other</h1>"
            "<p>Body.</p></body></html>",
            "Page & Title",
            id="html-title",
        ),
        pytest.param(
            "h1.html",
            "<body><h1>  Heading <em>One</em> </h1><p>Body.</p></body>",
            "Heading One",
            id="html-h1",
        ),
        pytest.param("fallback.html", "<p>No title at all.</p>", "fallback", id="html-fallback"),
        pytest.param("long.txt", "word " * 60 + "\n", "long", id="txt-long-first-line"),
        pytest.param("s.txt", " \t\n\u00a0\n  Spaced Title  \nBody.", "Spaced Title",
                     id="txt-after-blank-lines"),
        pytest.param("n.md", "\n  First line, no heading.\n\n#hashtag\n", "First line, no heading.",
                     id="md-without-heading"),
    ],
)
def test_titles(tmp_path: Path, name: str, content: str, title: str) -> None:
    (doc,) = load_corpus(write(tmp_path / name, content))
    assert doc.title == title


def test_line_endings_are_normalised(tmp_path: Path) -> None:
    path = write(tmp_path / "win.txt", b"Title\r\n\r\nFirst line.\r\nOld mac line.\rEnd.\r\n")
    (doc,) = load_corpus(path)
    assert "\r" not in doc.text
    assert doc.text == "Title\n\nFirst line.\nOld mac line.\nEnd.\n"


def test_utf8_bom_is_dropped(tmp_path: Path) -> None:
    path = write(tmp_path / "bom.txt", "\ufeffCafé\n\nUn café crème.\n".encode())
    (doc,) = load_corpus(path)
    assert doc.text.startswith("Café")
    assert doc.title == "Café"


def test_shipped_document_is_read_unchanged() -> None:
    (doc,) = load_corpus(SHIPPED)
    assert doc.text == SHIPPED.read_bytes().decode("utf-8").replace("\r\n", "\n")
    assert doc.title == "International Organization for Migration (IOM)"


# --- corpus hash -----------------------------------------------------------------------


def test_corpus_hash_is_stable_and_tracks_content(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", "A\n\nOne text.\n")
    first = corpus_hash(load_corpus(tmp_path))
    assert first == corpus_hash(load_corpus(tmp_path))
    assert len(first) == 64 and int(first, 16) >= 0

    write(path, "A\n\nAnother text.\n")
    changed = corpus_hash(load_corpus(tmp_path))
    assert changed != first

    write(tmp_path / "b.txt", "B\n\nA second document.\n")
    assert corpus_hash(load_corpus(tmp_path)) != changed


def test_corpus_hash_depends_on_names_and_boundaries() -> None:
    a = Document("a.txt", "A", "xy", "text")
    b = Document("b.txt", "A", "xy", "text")
    assert corpus_hash([a]) != corpus_hash([b])
    split1 = [Document("a.txt", "A", "x", "text"), Document("b.txt", "B", "yz", "text")]
    split2 = [Document("a.txt", "A", "xy", "text"), Document("b.txt", "B", "z", "text")]
    assert corpus_hash(split1) != corpus_hash(split2)


# --- the corpus stays inside its folder; one bad file does not stop it ------------------


GOOD = "Good\n\nA perfectly fine document.\n"


def _load(path: Path, **kwargs) -> tuple[list[str], dict[str, str], list[str]]:
    """Loaded names, skipped name -> reason, and the warning lines."""
    warnings: list[str] = []
    docs = load_corpus(path, warn=warnings.append, **kwargs)
    return [d.name for d in docs], {s.name: s.reason for s in docs.skipped}, warnings


def test_a_link_outside_the_folder_is_skipped_with_a_warning_naming_it(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    write(corpus / "good.txt", GOOD)
    secret = write(tmp_path / "outside" / "secret.txt", "Secret\n\nThe vault code is 1234.\n")
    (corpus / "passwd.txt").symlink_to("/etc/passwd")
    (corpus / "secret.txt").symlink_to(secret)
    (corpus / "inside.md").symlink_to(corpus / "good.txt")  # inside the folder: fine
    names, skipped, warnings = _load(corpus)
    assert names == ["good.txt", "inside.md"]
    assert set(skipped) == {"passwd.txt", "secret.txt"}
    assert all("outside the corpus folder" in r and "/" not in r.split("(")[0]
               for r in skipped.values())
    assert len(warnings) == 2
    assert any("passwd.txt" in w and "/etc/passwd" in w for w in warnings)
    # --follow-symlinks allows them.
    names, skipped, _ = _load(corpus, follow_symlinks=True)
    assert names == ["good.txt", "inside.md", "passwd.txt", "secret.txt"] and not skipped


def test_linked_folders_are_walked_only_with_follow_symlinks(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    write(corpus / "good.txt", GOOD)
    write(tmp_path / "elsewhere" / "far.txt", "Far\n\nFar away text.\n")
    (corpus / "linked").symlink_to(tmp_path / "elsewhere")
    (corpus / "loop").symlink_to(corpus)  # a loop ends: each real folder is walked once
    (corpus / "a-link").symlink_to(corpus / "z-sub")  # inside: z-sub is still walked once
    write(corpus / "z-sub" / "deep.md", "# Deep\n\nDeep text.\n")
    names, skipped, warnings = _load(corpus)
    assert names == ["good.txt", "z-sub/deep.md"]
    assert skipped == {"linked/": "a symbolic link to a folder outside the corpus folder "
                                  "(--follow-symlinks allows it)"}
    assert len(warnings) == 1 and str(tmp_path / "elsewhere") in warnings[0]
    assert _load(corpus, follow_symlinks=True)[:2] == (
        ["a-link/deep.md", "good.txt", "linked/far.txt"], {})


def test_dangling_links_fifos_and_devices_are_skipped(tmp_path: Path) -> None:
    write(tmp_path / "good.txt", GOOD)
    (tmp_path / "dangling.txt").symlink_to(tmp_path / "gone.txt")
    (tmp_path / "self.txt").symlink_to(tmp_path / "self.txt")
    os.mkfifo(tmp_path / "pipe.txt")
    (tmp_path / "null.txt").symlink_to("/dev/null")
    result: list[tuple[list[str], dict[str, str], list[str]]] = []
    loader = threading.Thread(target=lambda: result.append(_load(tmp_path, follow_symlinks=True)),
                              daemon=True)
    loader.start()
    loader.join(timeout=30)
    assert result, "loading blocked on the FIFO"
    names, skipped, warnings = result[0]
    assert names == ["good.txt"]
    assert "dangling" in skipped["dangling.txt"] and "dangling" in skipped["self.txt"]
    assert skipped["pipe.txt"] == "not a regular file (a FIFO)"
    assert skipped["null.txt"] == "not a regular file (a character device)"
    assert len(warnings) == 4


def test_a_file_nobody_may_read_is_skipped_even_as_root(tmp_path: Path) -> None:
    write(tmp_path / "good.txt", GOOD)
    locked = write(tmp_path / "locked.txt", "Locked\n\nPrivate text.\n")
    locked.chmod(0)
    try:
        names, skipped, warnings = _load(tmp_path)
        assert names == ["good.txt"]
        assert "no read permission, mode 000" in skipped["locked.txt"]
        assert len(warnings) == 1 and "locked.txt" in warnings[0]
        with pytest.raises(CorpusError, match="locked.txt: cannot read file"):
            load_corpus(locked)
    finally:
        locked.chmod(0o644)


def test_an_open_error_is_skipped_with_its_reason(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "good.txt", GOOD)
    write(tmp_path / "denied.txt", GOOD)
    real_open = os.open

    def fake_open(path, flags, *args):  # type: ignore[no-untyped-def]
        if str(path).endswith("denied.txt"):
            raise PermissionError(13, "Permission denied")
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", fake_open)
    names, skipped, _ = _load(tmp_path)
    assert names == ["good.txt"]
    assert skipped == {"denied.txt": "cannot read file (Permission denied)"}


def test_a_folder_of_only_bad_files_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "empty.txt", "")
    write(tmp_path / "blob.md", b"\x00\x01\x02")
    with pytest.raises(CorpusError, match="no usable documents \\(2 skipped; first blob.md"):
        load_corpus(tmp_path, warn=lambda line: None)


@pytest.mark.parametrize(("codec", "bom"), [
    ("utf-8", b"\xef\xbb\xbf"), ("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff"),
    ("utf-32-le", b"\xff\xfe\x00\x00"), ("utf-32-be", b"\x00\x00\xfe\xff"),
])
def test_text_with_a_byte_order_mark_is_decoded(tmp_path: Path, codec: str, bom: bytes) -> None:
    text = "Café\n\nThe kettle boils at noon in Zürich.\n"
    path = write(tmp_path / "doc.txt", bom + text.encode(codec))
    assert load_corpus(path)[0].text == text
    assert load_corpus(tmp_path)[0].text == text


def test_utf16_without_a_byte_order_mark_is_named_not_called_binary(tmp_path: Path) -> None:
    path = write(tmp_path / "doc.txt", "Hello\n\nSome text.\n".encode("utf-16-le"))
    with pytest.raises(CorpusError, match="UTF-16 text without a byte-order mark"):
        load_corpus(path)


def test_a_bad_utf16_file_is_named_as_utf16(tmp_path: Path) -> None:
    path = write(tmp_path / "doc.txt", b"\xff\xfeH\x00\x00\xd8")  # a lone surrogate
    with pytest.raises(CorpusError, match="not valid UTF-16 text despite its byte-order mark"):
        load_corpus(path)


def test_the_shipped_corpora_skip_nothing() -> None:
    for folder in [REPO / "corpus", *sorted((REPO / "benchmarks" / "corpora").iterdir())]:
        assert load_corpus(folder, strict=True).skipped == ()


@pytest.mark.parametrize(("name", "content"), [
    ("t.html", "<title>" + "word " * 500 + "</title><p>Text.</p>"),
    ("t.md", "# " + "w" * 5000 + "\n\nText.\n"),
])
def test_a_title_is_bounded(tmp_path: Path, name: str, content: str) -> None:
    title = load_corpus(write(tmp_path / name, content))[0].title
    assert len(title) <= 200 and title.endswith("…")


def test_a_restructuredtext_file_is_read_as_plain_text_with_its_underlined_headings(
        tmp_path: Path) -> None:
    write(tmp_path / "guide.rst", "Guide\n=====\n\nInstall\n-------\n\nRun make, then make "
                                  "install, as root if the prefix needs it.\n")
    docs = load_corpus(tmp_path)
    assert [(d.name, d.format) for d in docs] == [("guide.rst", "text")]
    passages = split_document(docs[0])
    assert [(p.section, p.parents) for p in passages] == [("Install", ("Guide",))]
