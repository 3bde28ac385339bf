"""Answer-accuracy evaluation against a gold question set (``qabot eval``).

Everything here is a pure function over frozen dataclasses. A run is::

    items = load_gold("corpus/iom.questions.jsonl")
    report = evaluate(items, bot_asker(bot, top_k=5), k=5)

where an *asker* is any callable ``question -> reply dict`` (the JSON shape of
:meth:`qabot.answer.Answer.to_dict`), called as ``asker(question, context)`` for a
follow-up item (kind ``"followup"``: its earlier questions, newest last). The in-process
bot (:func:`bot_asker`) and a running server (:func:`http_asker`, ``POST URL/api/chat``)
are both askers, so the two share every line of judging and arithmetic and must give the
same numbers.

The one correctness rule
------------------------
Texts are compared after :func:`normalize_answer` (Unicode NFKC, casefold, curly quotes
made straight, runs of whitespace collapsed to one space). A reply's *ranked list* is its
answer passage followed by its alternatives in order; when ``found`` is false it is just
the alternatives (the best passage of each of the nearest sections, offered as
suggestions). Then, for a gold item:

* an answerable item is **answered** when ``found`` is true and the first passage contains
  at least one of its answer strings;
* it is **retrieved at rank r** when the r-th passage of the ranked list is the first to
  contain one (whether or not the bot dared to answer);
* its **section is right** when ``found`` is true and the reply's normalised section
  equals the gold section;
* an unanswerable item is **right** when ``found`` is false.

An item is *correct* when it is answered (answerable) or declined (unanswerable).

Metrics (each a fraction 0..1, ``None`` when its denominator is empty)
------------------------------------------------------------------------
With ``A`` the answerable items, ``U`` the unanswerable ones and ``rank(i)`` the rank at
which item ``i`` is retrieved (``inf`` if not within the first ``k`` passages):

* ``answer_accuracy``    = |{i in A : answered}| / |A|                  (accuracy@1)
* ``recall_at_k``        = |{i in A : rank(i) <= k}| / |A|
* ``mrr``                = sum over A of 1/rank(i) (0 when not retrieved) / |A|    (MRR@k)
* ``section_accuracy``   = |{i in A : section right}| / |A|
* ``rejection_accuracy`` = |{i in U : found is false}| / |U|
* ``false_answer_rate``  = |{i in U : found is true}| / |U|  (= 1 - rejection_accuracy)
* ``overall_accuracy``   = |{i : correct}| / (|A| + |U|)

Held-out split
--------------
:func:`is_held_out`: an item whose id's number (its digits, e.g. ``q042`` -> 42) is
divisible by 3 belongs to the held-out third, which no tuning (threshold choice included)
may look at; the rest is the *tuning* part. See ``docs/gold-set.md``.

Threshold sweep
---------------
:func:`sweep` replays replies as if the bot had threshold ``t``. The bot declines when the
best score is below its threshold (and for reasons that do not depend on it: small talk, a
passage that covers too little of the question), so a reply is *found at t* when it was
found and ``score >= t``; a reply declined at ``t`` offers the same ranked list as its
alternatives, and the same rule judges it. Asked in-process with the threshold at 0, every
reply the bot would ever answer is found, so the replay is exact for every ``t``. Over
``--url`` the server's own threshold ``T`` already declined some replies; they cannot be
un-declined, so the sweep only starts at the lowest score the replies answered (which is at
least ``T``; below it, in-process, nothing changes anyway). :func:`best_threshold` picks
the threshold with the best overall accuracy on the tuning part only, as SQuAD 2.0's
best-threshold search does.

Layout
------
``gold`` (the file format and text normalisation), ``askers`` (in-process bot, running
server), ``metrics`` (the rule, the metrics, :func:`evaluate`), ``sweep`` (threshold replay
and plot) and ``report`` (the tables ``qabot eval`` prints). Everything public is
re-exported here, so ``from qabot.evaluate import ...`` is the one import to use.
"""

from .askers import Asker, RemoteError, bot_asker, http_asker
from .gold import (
    ALL_KINDS,
    KINDS,
    GoldItem,
    GoldSetError,
    is_held_out,
    items_not_in,
    load_gold,
    normalize_answer,
)
from .metrics import (
    METRIC_KEYS,
    ItemResult,
    Metrics,
    Report,
    ask_all,
    compute_metrics,
    evaluate,
    judge,
    report_from_replies,
)
from .report import format_failures, format_report, format_sweep
from .sweep import (
    Sweep,
    SweepPoint,
    at_threshold,
    best_threshold,
    plot_sweep,
    require_plotting,
    sweep,
    threshold_grid,
)

__all__ = [
    "ALL_KINDS",
    "KINDS",
    "METRIC_KEYS",
    "Asker",
    "GoldItem",
    "GoldSetError",
    "ItemResult",
    "Metrics",
    "RemoteError",
    "Report",
    "Sweep",
    "SweepPoint",
    "ask_all",
    "at_threshold",
    "best_threshold",
    "bot_asker",
    "compute_metrics",
    "evaluate",
    "format_failures",
    "format_report",
    "format_sweep",
    "http_asker",
    "is_held_out",
    "items_not_in",
    "judge",
    "load_gold",
    "normalize_answer",
    "plot_sweep",
    "report_from_replies",
    "require_plotting",
    "sweep",
    "threshold_grid",
]
