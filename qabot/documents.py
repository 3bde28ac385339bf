"""Load a corpus: a file or folder of .txt, .rst, .md and .html documents, read as checked text.

A corpus stays inside its folder and one bad file does not stop it:

* **Inside the folder**: a symbolic link that resolves outside the corpus folder is skipped
  (``follow_symlinks=True``, ``--follow-symlinks`` on the command line, allows it and also
  walks linked folders); a dangling or looping link, a FIFO, a device or a socket is skipped;
  so is a file nobody has read permission on (mode 000), even when qabot runs as root.
* **Bad files**: in a folder, a file that cannot be read, is binary, is not UTF-8 (or UTF-16
  or UTF-32 with a byte-order mark), is empty or is over 50 MB is skipped with one warning
  line each on the ``qabot.documents`` logger; the rest is served. :func:`load_corpus`
  returns a :class:`Corpus`, whose ``skipped`` lists each skipped file and why
  (``/api/health`` shows it). ``strict=True`` (``--strict``) refuses the first such file
  instead, with the :class:`~qabot.errors.CorpusError` a single file gets.
* **A single file** named as the corpus is never skipped: a bad one is a
  :class:`~qabot.errors.CorpusError` naming it.

Text may be UTF-8 (a byte-order mark is dropped) or UTF-16 / UTF-32 with a byte-order mark;
anything else holding NUL bytes is called binary, and UTF-16 without a byte-order mark is
named as such.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import CorpusError

__all__ = [
    "CORPUS_ENV",
    "DEFAULT_CORPUS",
    "SUPPORTED_SUFFIXES",
    "Corpus",
    "Document",
    "Skipped",
    "corpus_hash",
    "default_corpus_path",
    "load_corpus",
    "load_document",
]

CORPUS_ENV = "QABOT_CORPUS"
DEFAULT_CORPUS = "corpus"
#: Suffix -> document format. Other files in a corpus folder are ignored.
SUPPORTED_SUFFIXES = {
    ".txt": "text",
    ".text": "text",
    ".rst": "text",  # reStructuredText: underlined headings, read by the plain-text reader
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
}
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024
MAX_TITLE_CHARS = 200
#: Byte-order marks and the codec that reads past each, longest first (a UTF-32-LE mark
#: begins with the UTF-16-LE one).
BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32-le", "UTF-32"),
    (b"\x00\x00\xfe\xff", "utf-32-be", "UTF-32"),
    (b"\xef\xbb\xbf", "utf-8", "UTF-8"),
    (b"\xff\xfe", "utf-16-le", "UTF-16"),
    (b"\xfe\xff", "utf-16-be", "UTF-16"),
)

logger = logging.getLogger("qabot.documents")


@dataclass(frozen=True)
class Document:
    """One source document.

    ``name`` is the path relative to the corpus root (POSIX slashes), which is what answers
    cite; ``format`` is ``"text"``, ``"markdown"`` or ``"html"``.
    """

    name: str
    title: str
    text: str
    format: str


@dataclass(frozen=True)
class Skipped:
    """A file of a corpus folder that was not loaded: its name in the folder, and why."""

    name: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"document": self.name, "reason": self.reason}


class Corpus(tuple[Document, ...]):
    """The documents of a corpus (a tuple, as before), plus :attr:`skipped`: each file of
    the folder that was left out, with the reason."""

    skipped: tuple[Skipped, ...]

    def __new__(cls, documents: tuple[Document, ...] | list[Document] = (),
                skipped: tuple[Skipped, ...] | list[Skipped] = ()) -> Corpus:
        corpus = super().__new__(cls, documents)
        corpus.skipped = tuple(skipped)
        return corpus


def default_corpus_path() -> Path:
    """``$QABOT_CORPUS`` when set, else ``./corpus``."""
    return Path(os.environ.get(CORPUS_ENV) or DEFAULT_CORPUS)


def load_corpus(path: str | os.PathLike[str] | None = None, *, strict: bool = False,
                follow_symlinks: bool = False,
                warn: Callable[[str], object] | None = None) -> Corpus:
    """Load every supported document under ``path`` (a file or a folder), in name order.

    In a folder, a file that cannot be used is skipped and listed in the result's
    ``skipped`` (the module docstring says which), with one warning line each, passed to
    ``warn`` (default: the ``qabot.documents`` logger); ``strict`` refuses it instead.
    Raises :class:`CorpusError` naming the file when a path is missing, a single file
    cannot be used, or a folder holds no usable document.

    A skipped file's ``reason`` names no path outside the folder (it is served by
    ``/api/health``); the warning line does, for whoever runs qabot.
    """
    root = Path(path) if path is not None else default_corpus_path()
    if not root.exists():
        if root.is_symlink():
            raise CorpusError(f"{root}: a symbolic link to nothing (dangling)")
        raise CorpusError(f"{root}: no such file or folder")
    if root.is_file():
        return Corpus((load_document(root, name=root.name),))
    if not root.is_dir():
        raise CorpusError(f"{root}: not a regular file or folder")
    documents: list[Document] = []
    skipped: list[Skipped] = []
    for file, name in _candidates(root, follow_symlinks):
        try:
            if file.is_dir():  # a linked folder outside, not walked
                raise _outside(file, "folder")
            documents.append(_load_inside(root, file, name, follow_symlinks))
        except CorpusError as exc:
            if strict:
                raise
            skipped.append(Skipped(name, getattr(exc, "public_reason", None)
                                   or _reason(exc, file)))
            (warn or logger.warning)(f"{file}: skipped: {_reason(exc, file)}")
    if not documents:
        kinds = ", ".join(sorted(SUPPORTED_SUFFIXES))
        if skipped:
            raise CorpusError(f"{root}: no usable documents ({len(skipped)} skipped; first "
                              f"{skipped[0].name}: {skipped[0].reason})")
        raise CorpusError(f"{root}: no documents found (looked for {kinds} files)")
    return Corpus(documents, skipped)


def _candidates(root: Path, follow_symlinks: bool) -> list[tuple[Path, str]]:
    """Each not-hidden file or link with a supported suffix under ``root``, with its name
    (the path in the folder, POSIX slashes), in name order. Linked folders are walked only
    when ``follow_symlinks`` (each real folder once, so a link loop ends); otherwise one
    that leads outside the folder is returned too, to be reported."""
    found: list[tuple[Path, str]] = []
    real_root = os.path.realpath(root)
    seen = {real_root}
    for folder, dirs, files in os.walk(root, followlinks=follow_symlinks):
        keep = []
        for d in sorted(dirs):
            path = Path(folder, d)
            real = os.path.realpath(path)
            if d.startswith("."):
                continue
            if not follow_symlinks and path.is_symlink():  # os.walk does not enter it
                if os.path.commonpath([real, real_root]) != real_root:
                    found.append((path, path.relative_to(root).as_posix() + "/"))
                continue
            if real not in seen:
                seen.add(real)
                keep.append(d)
        dirs[:] = keep
        for f in files:
            if not f.startswith(".") and Path(f).suffix.lower() in SUPPORTED_SUFFIXES:
                path = Path(folder, f)
                found.append((path, path.relative_to(root).as_posix()))
    return sorted(found, key=lambda item: item[1])


def _load_inside(root: Path, path: Path, name: str, follow_symlinks: bool) -> Document:
    """One document of a folder, or :class:`CorpusError` saying why it cannot be used."""
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError):
        raise CorpusError(f"{path}: a symbolic link to nothing (dangling or looping)") from None
    if not follow_symlinks and not real.is_relative_to(root.resolve()):
        raise _outside(path, "file")
    return load_document(path, name=name)


def _outside(path: Path, kind: str) -> CorpusError:
    """The error for a link leading out of the corpus folder. The warning line names its
    target; the reason that ``/api/health`` shows does not."""
    error = CorpusError(f"{path}: a symbolic link to {path.resolve()}, outside the corpus "
                        "folder (--follow-symlinks allows it)")
    error.public_reason = (  # type: ignore[attr-defined]
        f"a symbolic link to a {kind} outside the corpus folder (--follow-symlinks allows it)")
    return error


def _reason(exc: CorpusError, path: Path) -> str:
    """The message of ``exc`` without the leading ``path: ``."""
    message = str(exc)
    prefix = f"{path}: "
    return message[len(prefix):] if message.startswith(prefix) else message


def load_document(path: str | os.PathLike[str], *, name: str | None = None) -> Document:
    """Read one document, checking it is a readable regular file of a supported format
    holding non-empty text (UTF-8, or UTF-16/UTF-32 with a byte-order mark)."""
    path = Path(path)
    fmt = SUPPORTED_SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        kinds = ", ".join(sorted(SUPPORTED_SUFFIXES))
        raise CorpusError(
            f"{path}: unsupported file type {path.suffix!r} (expected one of {kinds})"
        )
    raw = _read_regular_file(path)
    text = _decode(path, raw)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise CorpusError(f"{path}: file is empty")
    name = name or path.name
    title = _title(text, fmt, fallback=path.stem)
    if len(title) > MAX_TITLE_CHARS:  # a reply (/api/sections) stays bounded
        cut = title.rfind(" ", 0, MAX_TITLE_CHARS)
        title = title[: cut if cut > 0 else MAX_TITLE_CHARS - 1].rstrip() + "…"
    return Document(name=name, title=title, text=text, format=fmt)


def _read_regular_file(path: Path) -> bytes:
    """The bytes of ``path`` if it is a regular file someone may read, at most 50 MB.

    Opened without blocking and checked on the open file, so a FIFO (which would block a
    plain open) or a device is refused, even one swapped in after a check by name.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise CorpusError(f"{path}: cannot read file ({exc.strerror or exc})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise CorpusError(f"{path}: not a regular file ({_kind(info.st_mode)})")
        if not info.st_mode & 0o444:
            # root may open it anyway; a file nobody may read is not meant to be served.
            raise CorpusError(f"{path}: cannot read file (no read permission, mode "
                              f"{stat.S_IMODE(info.st_mode):03o})")
        if info.st_size > MAX_DOCUMENT_BYTES:
            raise CorpusError(f"{path}: file is {info.st_size} bytes, over the "
                              f"{MAX_DOCUMENT_BYTES} byte limit")
        with os.fdopen(fd, "rb") as file:
            fd = -1
            return file.read(MAX_DOCUMENT_BYTES + 1)
    except OSError as exc:
        raise CorpusError(f"{path}: cannot read file ({exc.strerror or exc})") from None
    finally:
        if fd >= 0:
            os.close(fd)


def _looks_like_utf16(head: bytes) -> bool:
    """True when ``head`` reads as printable UTF-16 text in either byte order."""
    head = head[: len(head) // 2 * 2]
    if len(head) < 16:
        return False
    for codec in ("utf-16-le", "utf-16-be"):
        try:
            text = head.decode(codec)
        except UnicodeDecodeError:
            continue
        if "\x00" not in text and sum(c.isprintable() or c.isspace() for c in text) \
                >= 0.95 * len(text):
            return True
    return False


def _kind(mode: int) -> str:
    for test, kind in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISDIR, "a folder")):
        if test(mode):
            return kind
    return "a special file"


def _decode(path: Path, raw: bytes) -> str:
    """The text of ``raw``: UTF-8 (a BOM dropped), or UTF-16/UTF-32 after their BOM."""
    for bom, codec, label in BOMS:
        if raw.startswith(bom):
            try:
                text = raw[len(bom):].decode(codec)
            except UnicodeDecodeError as exc:
                raise CorpusError(f"{path}: not valid {label} text despite its byte-order "
                                  f"mark (bad data at offset {exc.start + len(bom)}); save it "
                                  "as UTF-8") from None
            if "\x00" in text[:8192]:
                raise CorpusError(f"{path}: looks like a binary file, not text")
            return text
    if b"\x00" in raw[:8192]:
        if _looks_like_utf16(raw[:8192]):
            raise CorpusError(f"{path}: looks like UTF-16 text without a byte-order mark; "
                              "save it as UTF-8")
        raise CorpusError(f"{path}: looks like a binary file, not text")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CorpusError(
            f"{path}: not UTF-8 text (invalid byte at offset {exc.start}); save it as UTF-8"
        ) from None


def corpus_hash(documents: tuple[Document, ...] | list[Document]) -> str:
    """A SHA-256 over every document's name and text: equal hashes mean the same corpus."""
    digest = hashlib.sha256()
    for doc in documents:
        for part in (doc.name, doc.format, doc.text):
            data = part.encode("utf-8")
            digest.update(len(data).to_bytes(8, "big"))
            digest.update(data)
    return digest.hexdigest()


_HTML_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.I | re.S)
_HTML_H1 = re.compile(r"<h1[^>]*>(.*?)</h1>", re.I | re.S)
_TAG = re.compile(r"<[^>]+>")
_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")


def _title(text: str, fmt: str, *, fallback: str) -> str:
    """The document's title: <title>/<h1> for HTML, the first heading or line otherwise."""
    if fmt == "html":
        import html as html_lib

        for pattern in (_HTML_TITLE, _HTML_H1):
            match = pattern.search(text)
            if match:
                title = " ".join(html_lib.unescape(_TAG.sub(" ", match.group(1))).split())
                if title:
                    return title
        return fallback
    first = ""
    for line in _nonblank_lines(text):
        first = first or line
        if fmt != "markdown":
            break
        match = _MD_HEADING.match(line)
        if match and match.group(1):
            return match.group(1)
    first = first.lstrip("#").strip()
    if first and len(first) <= 120:
        return first
    return fallback


def _nonblank_lines(text: str) -> Iterator[str]:
    """The non-blank lines of ``text``, stripped, one at a time: a title is most often on
    the first, and a list of all of a 50 MB document's lines would cost a tenth of a GB."""
    start = 0
    while start <= len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        line = text[start:end].strip()
        if line:
            yield line
        start = end + 1
