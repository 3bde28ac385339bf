"""Load a corpus: a file or folder of .txt, .md and .html documents, read as checked UTF-8."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import CorpusError

__all__ = [
    "CORPUS_ENV",
    "DEFAULT_CORPUS",
    "SUPPORTED_SUFFIXES",
    "Document",
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
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
}
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024


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


def default_corpus_path() -> Path:
    """``$QABOT_CORPUS`` when set, else ``./corpus``."""
    return Path(os.environ.get(CORPUS_ENV) or DEFAULT_CORPUS)


def load_corpus(path: str | os.PathLike[str] | None = None) -> tuple[Document, ...]:
    """Load every supported document under ``path`` (a file or a folder), in name order.

    Raises :class:`CorpusError` naming the file when a path is missing, a file is not
    UTF-8 text or is empty, or a folder holds no supported document.
    """
    root = Path(path) if path is not None else default_corpus_path()
    if not root.exists():
        raise CorpusError(f"{root}: no such file or folder")
    if root.is_file():
        return (load_document(root, name=root.name),)
    if not root.is_dir():
        raise CorpusError(f"{root}: not a regular file or folder")
    files = sorted(
        p
        for p in root.rglob("*")
        if p.is_file()
        and p.suffix.lower() in SUPPORTED_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )
    if not files:
        kinds = ", ".join(sorted(SUPPORTED_SUFFIXES))
        raise CorpusError(f"{root}: no documents found (looked for {kinds} files)")
    return tuple(load_document(p, name=p.relative_to(root).as_posix()) for p in files)


def load_document(path: str | os.PathLike[str], *, name: str | None = None) -> Document:
    """Read one document, checking it is non-empty UTF-8 text of a supported format."""
    path = Path(path)
    fmt = SUPPORTED_SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        kinds = ", ".join(sorted(SUPPORTED_SUFFIXES))
        raise CorpusError(
            f"{path}: unsupported file type {path.suffix!r} (expected one of {kinds})"
        )
    try:
        size = path.stat().st_size
        if size > MAX_DOCUMENT_BYTES:
            raise CorpusError(
                f"{path}: file is {size} bytes, over the {MAX_DOCUMENT_BYTES} byte limit"
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise CorpusError(f"{path}: cannot read file ({exc.strerror or exc})") from None
    if b"\x00" in raw[:8192]:
        raise CorpusError(f"{path}: looks like a binary file, not text")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CorpusError(
            f"{path}: not UTF-8 text (invalid byte at offset {exc.start}); save it as UTF-8"
        ) from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise CorpusError(f"{path}: file is empty")
    name = name or path.name
    return Document(name=name, title=_title(text, fmt, fallback=path.stem), text=text, format=fmt)


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
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    if fmt == "markdown":
        for line in lines:
            match = _MD_HEADING.match(line)
            if match and match.group(1):
                return match.group(1)
    first = lines[0] if lines else ""
    first = first.lstrip("#").strip()
    if first and len(first) <= 120:
        return first
    return fallback
