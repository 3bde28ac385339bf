"""Follow-up questions: decide whether a question leans on the previous one, and build the
standalone question that is asked instead.

A chat's second question is often not a question on its own: "When was it founded?",
"And the budget?", "Why?". Given the conversation's previous questions (``context``,
newest last), a question is a **follow-up** when

* it has a word pointing back (a third-person pronoun or a demonstrative: *it, its, they,
  their, this, that, these, those, there, he, she*...; :data:`REFERRING`), or
* it opens with an ellipsis (*"and ...?", "what about ...?", "how about ...?", "also ..."*;
  :data:`ELLIPSIS`), or
* it has no topic of its own: no content word once stop words, referring words and
  question fillers are removed ("Why?", "Tell me more", "What else?"). Asking the TF-IDF
  vocabulary instead (a word the corpus's index dropped as too common, like the
  document's own subject, would not count) was measured and changed no verdict on the
  tuning parts, so the rule needs no index and is the same for every corpus.

A question with none of these is self-contained and is asked as it is, whatever came
before. A follow-up's **topic** is the previous question's content words, in its order,
without those the follow-up already has (:func:`topic_words`); the newest context question
that has a topic is used. The **standalone question** (:func:`standalone_question`) puts the
topic where the follow-up points back: in place of its first referring word (a possessive
one, *its/their/his/her*, becomes ``topic's``), after an ellipsis opener, or, for a question
with no topic, after the question. It is plain text, shown to the user as what was
answered, and it is exactly what is asked: the retrieval signals see the follow-up's words
plus the topic's.

Everything here is a pure function of the texts; nothing depends on a corpus or a known
question.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .retrieval.lexical import STOP_WORDS, normalize

__all__ = [
    "ELLIPSIS",
    "POSSESSIVE",
    "REFERRING",
    "Resolution",
    "followup_reason",
    "referring_word",
    "resolve",
    "standalone_question",
    "topic_words",
]

#: Words that point back to something named earlier. Possessive ones get ``'s`` when
#: replaced by a topic.
POSSESSIVE = frozenset({"its", "their", "theirs", "his", "her", "hers"})
REFERRING = frozenset({
    "it", "its", "itself", "they", "them", "their", "theirs", "themselves", "he", "him",
    "his", "she", "her", "hers", "this", "that", "these", "those", "there", "such", "one",
    "ones",
})
#: Openers of an elliptical follow-up ("And in 2019?", "What about the budget?").
ELLIPSIS = re.compile(
    r"^\s*(?:and|also|what about|how about|and what about|and how about|same for|"
    r"what else about|but what about)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
#: Words that carry no topic even though no stop list has them (question fillers).
_FILLER = frozenset({"else", "more", "so", "why", "how", "what", "when", "where", "who",
                     "which", "whom", "whose", "ok", "okay", "now", "exactly", "then",
                     "again", "also", "and", "but", "or"})
#: "one" after these is a number or a quantifier, not a word pointing back.
_QUANTIFIERS = frozenset({"no", "any", "every", "each", "only", "just", "at", "than"})
_BE = frozenset({"is", "are", "was", "were", "be", "been", "isn't", "aren't", "wasn't",
                 "weren't"})


@dataclass(frozen=True)
class Resolution:
    """How a question was read: ``reason`` is ``None`` for a self-contained question (then
    ``question`` is returned as asked), else ``"pronoun"``, ``"ellipsis"`` or ``"no_topic"``,
    with ``standalone`` the question to ask instead and ``topic`` the words it borrowed."""

    question: str
    reason: str | None
    standalone: str
    topic: tuple[str, ...] = ()


def _words(text: str) -> list[str]:
    return _WORD.findall(text)


def _key(word: str) -> str:
    word = normalize(word)
    return word[:-2] if word.endswith("'s") else word


def _content(word: str) -> bool:
    """Whether ``word`` can name a topic: not a stop, referring or filler word, except
    that an acronym in capitals always can ("the WHO", though "who" is a stop word)."""
    bare = re.sub(r"['’]s$", "", word)
    if len(bare) >= 2 and bare.isupper():
        return True
    key = _key(word)
    return key not in STOP_WORDS and key not in REFERRING and key not in _FILLER


def followup_reason(question: str) -> str | None:
    """Why ``question`` leans on an earlier one (``"ellipsis"``, ``"pronoun"``,
    ``"no_topic"``, tested in that order), or ``None`` when it stands on its own."""
    if ELLIPSIS.match(question):
        return "ellipsis"
    if referring_word(question) is not None:
        return "pronoun"
    words = _words(question)
    if not any(_content(w) for w in words):
        return "no_topic"
    return None


def referring_word(question: str) -> re.Match[str] | None:
    """The first word of ``question`` that points back, or ``None``. Some uses of these
    words point nowhere and are skipped: an existential *there* ("Is there a fee?",
    "there are"), a *that* right after a content word, which opens a relative clause
    ("the states that joined"), and a *one* that counts ("one of the", "only one")."""
    matches = list(_WORD.finditer(question))
    for i, match in enumerate(matches):
        word = normalize(match.group(0))
        if word not in REFERRING:
            continue
        before = normalize(matches[i - 1].group(0)) if i else ""
        after = normalize(matches[i + 1].group(0)) if i + 1 < len(matches) else ""
        if word == "there" and (before in _BE or after in _BE):
            continue
        if word == "that" and before and _content(before):
            continue
        if word in ("one", "ones") and (after == "of" or before in _QUANTIFIERS):
            continue
        return match
    return None


def topic_words(previous: str, question: str) -> tuple[str, ...]:
    """The content words of ``previous`` (as typed, in order, each once) that are not
    content words of ``question`` already: what the follow-up is about."""
    have = {_key(w) for w in _words(question) if _content(w)}
    out: list[str] = []
    for word in _words(previous):
        key = _key(word)
        if _content(word) and key not in have:
            have.add(key)
            out.append(word)
    return tuple(out)


def standalone_question(question: str, reason: str, topic: Sequence[str]) -> str:
    """``question`` with ``topic`` put where it points back (module docstring)."""
    phrase = " ".join(topic)
    if not phrase:
        return question
    match = referring_word(question) if reason == "pronoun" else None
    if match is not None:
        replacement = f"{phrase}'s" if normalize(match.group(0)) in POSSESSIVE else phrase
        return question[: match.start()] + replacement + question[match.end():]
    if reason == "ellipsis":
        match = ELLIPSIS.match(question)
        if match is not None:
            rest = question[match.end():].strip()
            return f"{question[: match.end()].strip()} {phrase}: {rest}".rstrip(": ")
    body = question.rstrip().rstrip("?!.").rstrip()
    return f"{body} ({phrase})?" if question.rstrip().endswith("?") else f"{body} ({phrase})"


def resolve(question: str, context: Sequence[str]) -> Resolution:
    """Read ``question`` against ``context`` (earlier questions, newest last): a follow-up
    gets the topic of the newest earlier question that has one; a self-contained question,
    or one with nothing to lean on, is kept as asked."""
    reason = followup_reason(question) if context else None
    if reason is None:
        return Resolution(question, None, question)
    for previous in reversed(context):
        topic = topic_words(previous, question)
        if topic:
            return Resolution(question, reason,
                              standalone_question(question, reason, topic), topic)
    return Resolution(question, None, question)
