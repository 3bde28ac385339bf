/* qabot chat page: plain ES2020, no build step, no dependencies.
 *
 * Safety rule for this file: every string that comes from the server or the user is put
 * into the page with document.createElement / textContent / text nodes only. Markup-parsing
 * APIs are never used (tests/test_web.py greps this file to keep it that way).
 */
(() => {
  "use strict";

  const STORAGE_KEY = "qabot.chat.v1";
  const TOP_K = 3;
  /** The server's limit (docs/api.md): characters once surrounding space is stripped. */
  const MAX_QUESTION = 1000;
  /** The counter under the box shows from this many characters on. */
  const COUNTER_FROM = 800;
  const REQUEST_TIMEOUT_MS = 30000;
  const SUGGESTION_COUNT = 4;
  /** Earlier questions sent along with a question, so that "When was it founded?" is read
   * as a follow-up of the one before (the server takes up to 5; 2 keep it to the topic). */
  const CONTEXT_QUESTIONS = 2;

  const $ = (id) => document.getElementById(id);
  const els = {
    log: $("log"),
    form: $("ask-form"),
    input: $("question"),
    send: $("send"),
    clear: $("clear"),
    exportBtn: $("export"),
    counter: $("counter"),
    status: $("status"),
    chat: $("chat"),
    composer: document.querySelector(".composer"),
    typing: $("typing"),
    corpusTitle: $("corpus-title"),
    corpusStats: $("corpus-stats"),
    suggestionsBox: $("suggestions-box"),
    suggestions: $("suggestions"),
    reader: $("reader"),
    readerTitle: $("reader-title"),
    readerWhere: $("reader-where"),
    readerBody: $("reader-body"),
    readerClose: $("reader-close"),
  };

  /** The conversation: a list of plain objects, saved to sessionStorage as JSON. */
  let messages = [];
  let pending = false;
  /** Bumped by Clear so that a reply to a cleared conversation is dropped. */
  let generation = 0;
  let nextId = 1;
  /** Whether the view keeps the end of the conversation in sight as the page grows. */
  let followEnd = false;
  /** While ↑ / ↓ walk through earlier questions: where we are and the text put in the box. */
  let recall = null;
  /** Whether the box held a question over the limit at the last update (to announce changes). */
  let wasTooLong = false;

  // ---------------------------------------------------------------- helpers

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function hiddenText(text) {
    return el("span", "visually-hidden", text);
  }

  function asText(value) {
    return typeof value === "string" ? value : "";
  }

  /** A question's length as the server counts it: code points once surrounding space is gone. */
  function questionLength(text) {
    return [...text.trim()].length;
  }

  function plural(n, word) {
    return `${n} ${word}${n === 1 ? "" : "s"}`;
  }

  /** Says something to screen-reader users through the page's one status region. */
  function announce(text) {
    // Emptied first so that the same sentence twice is announced twice.
    els.status.textContent = "";
    window.setTimeout(() => {
      els.status.textContent = text;
    }, 50);
  }

  function asScore(value) {
    const n = Number(value);
    if (!Number.isFinite(n)) return 0;
    return Math.min(1, Math.max(0, n));
  }

  /** A question to ask about a section heading: the heading itself when it is a question. */
  function questionForSection(section) {
    const s = asText(section).trim();
    if (s.endsWith("?")) return s;
    // "(iv) Health and Migration" / "2. UNICEF" -> drop the list numbering
    let topic = s.replace(/^(?:\((?:[ivx]+|\d+)\)|\d+\.)\s+/i, "") || s;
    // "How IOM addresses ..." -> "Tell me about how IOM addresses ..."
    if (/^(?:How|What|Why|When|Where|Who|Which|The|A|An)\b/.test(topic)) {
      topic = topic.charAt(0).toLowerCase() + topic.slice(1);
    }
    return `Tell me about ${topic}`;
  }

  /* Confidence bands for the score (cosine similarity of the question and the passage, 0..1),
   * relative to the engine's answer threshold (GET /api/health): from 1.2x the threshold a
   * match is Medium, from 2.4x High. 0.13 is the engine's default until health answers. */
  let answerThreshold = 0.13;
  /** The documents' titles, from GET /api/sections, for the transcript's header. */
  let corpusTitles = [];

  function confidenceOf(score) {
    const s = asScore(score);
    if (s >= 2.4 * answerThreshold) return { level: "high", label: "High", dots: 3 };
    if (s >= 1.2 * answerThreshold) return { level: "medium", label: "Medium", dots: 2 };
    return { level: "low", label: "Low", dots: 1 };
  }

  function scoreText(score) {
    return `score ${asScore(score).toFixed(2)}`;
  }

  // ---------------------------------------------------------------- storage

  function save() {
    try {
      sessionStorage.setItem(STORAGE_KEY, JSON.stringify(messages));
    } catch (_) {
      /* storage full or disabled: the conversation just won't survive a reload */
    }
  }

  function load() {
    try {
      const raw = sessionStorage.getItem(STORAGE_KEY);
      if (!raw) return [];
      const data = JSON.parse(raw);
      if (!Array.isArray(data)) return [];
      return data.filter((m) => m && typeof m === "object" && typeof m.role === "string");
    } catch (_) {
      return [];
    }
  }

  // ---------------------------------------------------------------- rendering

  function sourceLine(section, documentName) {
    const p = el("p", "source");
    const parts = [];
    if (asText(section)) parts.push(`Section: ${section}`);
    if (asText(documentName)) parts.push(documentName);
    p.textContent = parts.join(" · ");
    return p;
  }

  /** The passage, with the highlight sentence wrapped in <mark> when it is found in it. */
  function passage(answer, highlight, className) {
    const p = el("p", className);
    const text = asText(answer);
    const hl = asText(highlight);
    const at = hl ? text.indexOf(hl) : -1;
    if (at < 0) {
      p.appendChild(document.createTextNode(text));
      return p;
    }
    if (at > 0) p.appendChild(document.createTextNode(text.slice(0, at)));
    const mark = el("mark", "highlight", hl);
    p.appendChild(mark);
    const rest = text.slice(at + hl.length);
    if (rest) p.appendChild(document.createTextNode(rest));
    return p;
  }

  function confidence(score) {
    const c = confidenceOf(score);
    const wrap = el("p", `confidence confidence-${c.level}`);
    const dots = el("span", "confidence-dots");
    dots.setAttribute("aria-hidden", "true");
    for (let i = 0; i < 3; i += 1) {
      dots.appendChild(el("span", i < c.dots ? "cdot cdot-on" : "cdot"));
    }
    wrap.appendChild(dots);
    wrap.appendChild(el("span", "confidence-label", `${c.label} confidence`));
    wrap.appendChild(el("span", "confidence-score", scoreText(score)));
    wrap.title = "How closely the passage matches the question, from 0 to 1";
    return wrap;
  }

  /** A "Show in document" button for the answer (alt -1) or an alternative of message id,
   * or null when the reply has no passage id (a conversation saved by an older page). */
  function readerButton(id, alt, d, label) {
    if (!asText(d.passage_id) || !asText(d.document)) return null;
    const btn = el("button", "btn btn-small btn-reader", "Show in document");
    btn.type = "button";
    btn.dataset.reader = String(id);
    btn.dataset.alt = String(alt);
    btn.setAttribute("aria-haspopup", "dialog");
    btn.setAttribute("aria-label", `${label}, ${d.document}`);
    return btn;
  }

  function alternativesList(alternatives, id, m) {
    const all = Array.isArray(alternatives) ? alternatives : [];
    const list = all.filter((a) => a && typeof a === "object" && asText(a.answer));
    if (!list.length) return null;
    const details = el("details", "others");
    details.appendChild(el("summary", null, `Other matches (${list.length})`));
    const ol = el("ol", "others-list");
    for (const alt of list) {
      const li = el("li", "other");
      li.appendChild(passage(alt.answer, null, "other-answer"));
      const meta = sourceLine(alt.section, alt.document);
      meta.appendChild(document.createTextNode(` · ${scoreText(alt.score)}`));
      li.appendChild(meta);
      const show = readerButton(id, all.indexOf(alt), alt, "Show this match in its document");
      if (show) li.appendChild(show);
      const right = m ? rightPassageButton(m, all.indexOf(alt), alt) : null;
      if (right) li.appendChild(right);
      ol.appendChild(li);
    }
    details.appendChild(ol);
    return details;
  }

  function row(role, label) {
    const li = el("li", `msg msg-${role}`);
    if (role !== "user") {
      const avatar = el("span", "avatar", "Q");
      avatar.setAttribute("aria-hidden", "true");
      li.appendChild(avatar);
    }
    const bubble = el("div", `bubble bubble-${role === "user" ? "user" : "bot"}`);
    bubble.appendChild(hiddenText(`${label}: `));
    li.appendChild(bubble);
    return { li, bubble };
  }

  /** "Answered as: ..." when the server read the question as a follow-up. */
  function resolvedLine(d) {
    const text = asText(d.resolved_question);
    return text ? el("p", "resolved", `Answered as: ${text}`) : null;
  }

  function renderUser(m) {
    const { li, bubble } = row("user", "You");
    bubble.appendChild(el("p", "user-text", m.text));
    return li;
  }

  function renderAnswer(m) {
    const d = m.data || {};
    const { li, bubble } = row("bot", "qabot");
    bubble.classList.add("bubble-answer");
    bubble.appendChild(passage(d.answer, d.highlight, "answer"));
    const resolved = resolvedLine(d);
    if (resolved) bubble.appendChild(resolved);
    const foot = el("div", "answer-meta");
    foot.appendChild(sourceLine(d.section, d.document));
    const side = el("div", "answer-side");
    side.appendChild(confidence(d.score));
    const copy = el("button", "btn btn-small btn-copy", "Copy");
    copy.type = "button";
    copy.dataset.copy = String(m.id);
    copy.setAttribute("aria-label", "Copy the answer with its section and document");
    side.appendChild(copy);
    const show = readerButton(m.id, -1, d, "Show the answer in its document");
    if (show) side.appendChild(show);
    foot.appendChild(side);
    bubble.appendChild(foot);
    const votes = feedbackRow(m);
    if (votes) bubble.appendChild(votes);
    const others = alternativesList(d.alternatives, m.id, m);
    if (others) bubble.appendChild(others);
    return li;
  }

  function renderNotFound(m) {
    const d = m.data || {};
    const { li, bubble } = row("bot", "qabot");
    bubble.classList.add("bubble-notfound");
    bubble.appendChild(
      el("p", "notfound-message", asText(d.message) || "I couldn't find an answer to that."),
    );
    const resolved = resolvedLine(d);
    if (resolved) bubble.appendChild(resolved);
    const seen = new Set();
    const sections = [];
    for (const alt of Array.isArray(d.alternatives) ? d.alternatives : []) {
      const section = alt && asText(alt.section).trim();
      if (!section) continue;
      const key = section.toLowerCase();
      if (seen.has(key)) continue;
      seen.add(key);
      sections.push(section);
    }
    if (sections.length) {
      bubble.appendChild(el("p", "nearest-title", "Maybe one of these sections helps:"));
      const ul = el("ul", "chips chips-nearest");
      for (const section of sections) {
        const item = el("li");
        const btn = el("button", "chip", section);
        btn.type = "button";
        btn.dataset.question = questionForSection(section);
        btn.setAttribute("aria-label", `Ask about the section ${section}`);
        item.appendChild(btn);
        ul.appendChild(item);
      }
      bubble.appendChild(ul);
    }
    return li;
  }

  function renderError(m) {
    const { li, bubble } = row("error", "Error");
    bubble.classList.add("bubble-error");
    const title = el("p", "error-title");
    const icon = el("span", "error-icon", "!");
    icon.setAttribute("aria-hidden", "true");
    title.appendChild(icon);
    title.appendChild(document.createTextNode("Something went wrong."));
    bubble.appendChild(title);
    bubble.appendChild(el("p", "error-message", m.message || "Please try again."));
    const retry = el("button", "btn btn-retry", "Retry");
    retry.type = "button";
    retry.dataset.retry = String(m.id);
    retry.setAttribute("aria-label", `Retry the question: ${m.question}`);
    bubble.appendChild(retry);
    return li;
  }

  function renderMessage(m) {
    let node;
    if (m.role === "user") node = renderUser(m);
    else if (m.role === "bot" && m.kind === "answer") node = renderAnswer(m);
    else if (m.role === "bot") node = renderNotFound(m);
    else node = renderError(m);
    node.dataset.id = String(m.id);
    return node;
  }

  function renderAll() {
    els.log.replaceChildren(...messages.map(renderMessage));
    updateControls();
  }

  function append(m) {
    messages.push(m);
    save();
    els.log.appendChild(renderMessage(m));
    updateControls();
    scrollToEnd();
  }

  function removeMessage(id) {
    messages = messages.filter((m) => m.id !== id);
    save();
    const node = els.log.querySelector(`[data-id="${CSS.escape(String(id))}"]`);
    if (node) node.remove();
    updateControls();
  }

  /* Keeping the end in sight. Scrolling once is not enough: the page keeps growing after it
   * (the suggestions and stats arrive after a reload has drawn the conversation, the box grows
   * with its text), and the last answer would end up behind the question box. So the view
   * follows the end, re-scrolling whenever the chat changes size, until the reader scrolls,
   * clicks or uses the keyboard outside the composer (so that opening "Other matches" does
   * not jump away); reaching the end again resumes following. When the composer grows, a view
   * that was at the end stays there. */

  function atEnd() {
    const root = document.documentElement;
    return root.scrollHeight - (window.scrollY + window.innerHeight) <= 2;
  }

  /** Whether the view was at the end at the last scroll (growth itself fires no scroll). */
  let wasAtEnd = false;

  function jumpToEnd() {
    window.scrollTo({ top: document.documentElement.scrollHeight, behavior: "auto" });
    wasAtEnd = true;
  }

  function scrollToEnd({ smooth = true } = {}) {
    followEnd = true;
    window.requestAnimationFrame(() => {
      const reduce = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
      if (!followEnd) return;
      window.scrollTo({
        top: document.documentElement.scrollHeight,
        behavior: smooth && !reduce ? "smooth" : "auto",
      });
    });
  }

  function stopFollowing(event) {
    const target = event.target instanceof Node ? event.target : null;
    if (target && els.composer.contains(target)) return;
    followEnd = false;
  }

  if (typeof ResizeObserver === "function") {
    new ResizeObserver(() => {
      if (followEnd) jumpToEnd();
    }).observe(els.chat);
    new ResizeObserver(() => {
      if (followEnd || wasAtEnd) jumpToEnd();
    }).observe(els.composer);
  }
  for (const type of ["wheel", "touchstart", "pointerdown", "keydown"]) {
    window.addEventListener(type, stopFollowing, { capture: true, passive: true });
  }
  window.addEventListener(
    "scroll",
    () => {
      wasAtEnd = atEnd();
      if (wasAtEnd && document.body.classList.contains("has-messages")) followEnd = true;
    },
    { passive: true },
  );

  // ---------------------------------------------------------------- state

  /** The counter under the box: hidden while short, the count near the limit, an error over it. */
  function updateCounter(length) {
    const tooLong = length > MAX_QUESTION;
    els.counter.hidden = length < COUNTER_FROM;
    els.counter.classList.toggle("counter-over", tooLong);
    els.counter.textContent = tooLong
      ? `${length} / ${MAX_QUESTION} · Too long by ${plural(length - MAX_QUESTION, "character")}: shorten it to send.`
      : `${length} / ${MAX_QUESTION}`;
    if (tooLong) els.input.setAttribute("aria-invalid", "true");
    else els.input.removeAttribute("aria-invalid");
    if (tooLong !== wasTooLong) {
      announce(
        tooLong
          ? `Your question is too long: ${length} characters, the limit is ${MAX_QUESTION}.`
          : "Your question is short enough to send.",
      );
    }
    wasTooLong = tooLong;
    return tooLong;
  }

  function updateControls() {
    const length = questionLength(els.input.value);
    const tooLong = updateCounter(length);
    els.send.disabled = pending || length === 0 || tooLong;
    els.clear.disabled = messages.length === 0 && !pending;
    els.exportBtn.disabled = messages.length === 0;
    els.typing.hidden = !pending;
    els.log.setAttribute("aria-busy", pending ? "true" : "false");
    document.body.classList.toggle("has-messages", messages.length > 0);
    for (const btn of document.querySelectorAll("button[data-question], button[data-retry]")) {
      btn.disabled = pending;
    }
  }

  function setPending(value) {
    pending = value;
    updateControls();
    if (value) scrollToEnd();
  }

  // ---------------------------------------------------------------- network

  /** The last questions the conversation got a reply to, oldest first, each as it was
   * answered (a follow-up's resolved question), to send as the next question's context.
   * Clear empties the conversation, and with it the context. */
  function conversationContext() {
    const out = [];
    for (const m of messages) {
      if (m.role !== "bot" || !m.data) continue;
      const resolved = asText(m.data.resolved_question).trim();
      const asked = resolved && questionLength(resolved) <= MAX_QUESTION
        ? resolved : asText(m.data.question).trim();
      if (asked && questionLength(asked) <= MAX_QUESTION) out.push(asked);
    }
    return out.slice(-CONTEXT_QUESTIONS);
  }

  async function postQuestion(question, context) {
    const payload = { question, top_k: TOP_K };
    if (context.length) payload.context = context;
    const controller = new AbortController();
    const timer = window.setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
    let response;
    try {
      response = await fetch("/api/chat", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(payload),
        signal: controller.signal,
      });
    } catch (err) {
      const timedOut = err && err.name === "AbortError";
      return {
        ok: false,
        message: timedOut
          ? "The server took too long to answer. Please try again."
          : "I can't reach the server right now. Check that qabot is running, then retry.",
      };
    } finally {
      window.clearTimeout(timer);
    }
    let body = null;
    try {
      body = await response.json();
    } catch (_) {
      body = null;
    }
    if (!response.ok || !body || typeof body !== "object" || body.error) {
      const serverMessage = body && body.error && asText(body.error.message);
      return {
        ok: false,
        message:
          serverMessage ||
          (response.ok
            ? "The server sent a reply I couldn't read."
            : `The server answered with an error (status ${response.status}).`),
      };
    }
    return { ok: true, data: body };
  }

  /** The latest error bubble of a question, if its last attempt failed. */
  function failedAttempt(q) {
    for (let i = messages.length - 1; i >= 0; i -= 1) {
      const m = messages[i];
      if (m.role === "error" && m.question === q) return m;
    }
    return null;
  }

  /* Asking a question whose last attempt failed (Retry, or Enter on the question put back in
   * the box) replaces that attempt: its error bubble goes, and so does its question bubble
   * unless it is the last exchange, where it stays put and gets the answer below it. */
  function replaceFailedAttempt(failed, q) {
    const at = messages.indexOf(failed);
    const before = messages[at - 1];
    const ownQuestion = before && before.role === "user" && before.text === q ? before : null;
    const last = at === messages.length - 1;
    removeMessage(failed.id);
    if (ownQuestion && last) return;
    if (ownQuestion) removeMessage(ownQuestion.id);
    append({ id: nextId++, role: "user", text: q });
  }

  async function ask(question) {
    const q = question.trim();
    if (!q || pending) return;
    if (questionLength(q) > MAX_QUESTION) return;
    const gen = generation;
    recall = null;
    const context = conversationContext();
    const failed = failedAttempt(q);
    if (failed) replaceFailedAttempt(failed, q);
    else append({ id: nextId++, role: "user", text: q });
    setPending(true);
    const result = await postQuestion(q, context);
    if (gen !== generation) return; // the conversation was cleared meanwhile
    setPending(false);
    if (result.ok) {
      const d = result.data;
      append({ id: nextId++, role: "bot", kind: d.found ? "answer" : "notfound", data: d });
      if (els.input.value.trim() === q) {
        els.input.value = "";
      }
    } else {
      append({ id: nextId++, role: "error", question: q, message: result.message });
      if (!els.input.value.trim()) {
        // the typed question is not lost
        els.input.value = q;
      }
    }
    updateControls();
    els.input.focus();
  }

  function submitFromInput() {
    const q = els.input.value.trim();
    if (!q || pending) return;
    const length = questionLength(q);
    if (length > MAX_QUESTION) {
      // Never cut it: say so, and leave every character in the box.
      announce(
        `Not sent: your question is ${length} characters, the limit is ${MAX_QUESTION}. Shorten it to send.`,
      );
      return;
    }
    els.input.value = "";
    updateControls();
    ask(q);
    els.input.focus();
  }

  // ---------------------------------------------------------------- copy and export

  /** What Copy puts on the clipboard: the answer, then its section and document. */
  function answerAsText(d) {
    const lines = [asText(d.answer).trim(), ""];
    if (asText(d.section)) lines.push(`Section: ${d.section}`);
    if (asText(d.document)) lines.push(`Document: ${d.document}`);
    return lines.join("\n").trim();
  }

  async function writeClipboard(text) {
    if (navigator.clipboard && window.isSecureContext) {
      try {
        await navigator.clipboard.writeText(text);
        return true;
      } catch (_) {
        /* denied or unavailable: try the older way below */
      }
    }
    // A page served over plain HTTP to another machine has no navigator.clipboard.
    const active = document.activeElement;
    const buffer = el("textarea", "copy-buffer");
    buffer.value = text;
    buffer.setAttribute("readonly", "");
    buffer.setAttribute("aria-hidden", "true");
    buffer.tabIndex = -1;
    document.body.appendChild(buffer);
    buffer.select();
    let ok = false;
    try {
      ok = document.execCommand("copy");
    } catch (_) {
      ok = false;
    }
    buffer.remove();
    if (active instanceof HTMLElement) active.focus();
    return ok;
  }

  async function copyAnswer(button) {
    const id = Number(button.dataset.copy);
    const m = messages.find((x) => x.id === id && x.role === "bot");
    if (!m) return;
    const ok = await writeClipboard(answerAsText(m.data || {}));
    button.textContent = ok ? "Copied" : "Copy failed";
    button.classList.toggle("btn-copied", ok);
    announce(
      ok
        ? "Answer copied, with its section and document."
        : "Couldn't copy: select the answer's text and copy it by hand.",
    );
    window.clearTimeout(Number(button.dataset.timer) || 0);
    button.dataset.timer = String(
      window.setTimeout(() => {
        button.textContent = "Copy";
        button.classList.remove("btn-copied");
      }, 2000),
    );
  }

  /* Markdown export. Text from the user or the documents is escaped so that it reads as the
   * same text when the file is rendered: every character that could start markup inline is
   * backslash-escaped (CommonMark lets any ASCII punctuation be), and so is one that would
   * start a block (heading, quote, list, rule) at the start of a line. */
  function mdInline(text) {
    return text.replace(/[\\`*_[\]<>&|~]/g, "\\$&");
  }

  function mdLineStart(line) {
    const trimmed = line.replace(/^\s+/, "");
    return trimmed.replace(/^([#+=-])/, "\\$1").replace(/^(\d+)([.)])/, "$1\\$2");
  }

  /** A text as Markdown paragraphs, its single line breaks kept as hard breaks. */
  function mdText(text, highlight) {
    const hl = asText(highlight).trim();
    const at = hl && !hl.includes("\n") ? text.indexOf(hl) : -1;
    let escaped = mdInline(text);
    if (at >= 0) {
      escaped = `${mdInline(text.slice(0, at))}**${mdInline(hl)}**${mdInline(text.slice(at + hl.length))}`;
    }
    return escaped
      .split(/\n[ \t]*\n\s*/)
      .map((para) =>
        para
          .split("\n")
          .map(mdLineStart)
          .filter((line) => line !== "")
          .join("\\\n"),
      )
      .filter((para) => para !== "")
      .join("\n\n");
  }

  function mdSource(section, documentName, extra) {
    const parts = [];
    if (asText(section)) parts.push(`Section: ${mdInline(section)}`);
    if (asText(documentName)) parts.push(mdInline(documentName));
    if (extra) parts.push(extra);
    return parts.length ? `*${parts.join(" · ")}*` : "";
  }

  function pad2(n) {
    return String(n).padStart(2, "0");
  }

  /** Adds "Answered as: ..." to a transcript when the reply answered a follow-up. */
  function pushAnsweredAs(out, d) {
    if (asText(d.resolved_question)) out.push(`Answered as: ${mdInline(asText(d.resolved_question))}`, "");
  }

  /** The conversation as a Markdown document, built from what the page holds. */
  function transcriptMarkdown(now) {
    const stamp = `${now.getFullYear()}-${pad2(now.getMonth() + 1)}-${pad2(now.getDate())} ${pad2(now.getHours())}:${pad2(now.getMinutes())}`;
    const out = ["# qabot conversation", ""];
    if (corpusTitles.length) out.push(`Documents: ${mdInline(corpusTitles.join(" · "))}\\`);
    out.push(`Exported: ${stamp}`, "");
    for (const m of messages) {
      if (m.role === "user") {
        out.push("## You", "", mdText(asText(m.text)), "");
      } else if (m.role === "bot" && m.kind === "answer") {
        const d = m.data || {};
        const c = confidenceOf(d.score);
        out.push("## qabot", "", mdText(asText(d.answer), d.highlight), "");
        pushAnsweredAs(out, d);
        out.push(mdSource(d.section, d.document, `${c.label} confidence, ${scoreText(d.score)}`), "");
        const alternatives = (Array.isArray(d.alternatives) ? d.alternatives : []).filter(
          (a) => a && typeof a === "object" && asText(a.answer),
        );
        if (alternatives.length) {
          out.push("Other matches:", "");
          for (const a of alternatives) {
            const body = mdText(asText(a.answer)).replace(/\n/g, "\n   ");
            out.push(`1. ${body}\\`, `   ${mdSource(a.section, a.document, scoreText(a.score))}`, "");
          }
        }
      } else if (m.role === "bot") {
        const d = m.data || {};
        out.push("## qabot", "", mdText(asText(d.message) || "I couldn't find an answer to that."), "");
        pushAnsweredAs(out, d);
        const sections = [];
        for (const a of Array.isArray(d.alternatives) ? d.alternatives : []) {
          const section = a && asText(a.section).trim();
          if (section && !sections.includes(section)) sections.push(section);
        }
        if (sections.length) {
          out.push("Nearest sections:", "");
          for (const section of sections) out.push(`- ${mdInline(section)}`);
          out.push("");
        }
      } else if (m.role === "error") {
        out.push("## qabot", "", `*Error: ${mdText(asText(m.message) || "something went wrong.")}*`, "");
      }
    }
    return `${out.join("\n").trimEnd()}\n`;
  }

  /** Downloads the transcript: a file made in the page, nothing is sent to the server. */
  function exportTranscript() {
    if (!messages.length) return;
    const now = new Date();
    const name = `qabot-conversation-${now.getFullYear()}-${pad2(now.getMonth() + 1)}-${pad2(now.getDate())}-${pad2(now.getHours())}${pad2(now.getMinutes())}.md`;
    const blob = new Blob([transcriptMarkdown(now)], { type: "text/markdown;charset=utf-8" });
    const url = URL.createObjectURL(blob);
    const link = el("a", "visually-hidden", name);
    link.href = url;
    link.download = name;
    link.tabIndex = -1;
    document.body.appendChild(link);
    link.click();
    link.remove();
    window.setTimeout(() => URL.revokeObjectURL(url), 10000);
    announce(`Conversation saved as ${name}.`);
  }

  // ---------------------------------------------------------------- feedback

  /* Readers' votes (POST /api/feedback, docs/feedback.md): Yes / No under each answer and
   * "This was the right passage" on each of its other matches, which says the answer was
   * wrong and that match right. The controls carry the class feedback-control and show only
   * while the body has feedback-on, set when GET /api/health says the server records votes.
   * The latest vote is kept with its message (m.feedback = {vote, chosen}), so a reload
   * shows it pressed; pressing what is already pressed sends nothing. */

  /** A thumb icon (Feather's thumbs-up / thumbs-down, MIT), cloned from its template in
   * index.html: drawn as SVG, so no emoji font is needed. */
  function thumb(vote) {
    const template = document.getElementById(`icon-thumb-${vote}`);
    const icon = template && template.content.firstElementChild;
    return icon ? icon.cloneNode(true) : el("span", "vote-icon");
  }

  /** A message's recorded vote, {vote, chosen}, or null (none, or saved by an older page). */
  function feedbackOf(m) {
    const f = m && m.feedback;
    if (!f || typeof f !== "object" || (f.vote !== "up" && f.vote !== "down")) return null;
    return { vote: f.vote, chosen: Number.isInteger(f.chosen) && f.vote === "down" ? f.chosen : null };
  }

  function votePressed(m, vote) {
    const f = feedbackOf(m);
    return Boolean(f && f.vote === vote);
  }

  function voteButton(m, vote) {
    const btn = el("button", `btn btn-small btn-vote btn-vote-${vote}`);
    btn.type = "button";
    btn.dataset.vote = vote;
    btn.dataset.msg = String(m.id);
    btn.appendChild(thumb(vote));
    btn.appendChild(el("span", "vote-text", vote === "up" ? "Yes" : "No"));
    btn.setAttribute("aria-label", vote === "up" ? "Yes, the answer was right" : "No, the answer was wrong");
    btn.setAttribute("aria-pressed", String(votePressed(m, vote)));
    return btn;
  }

  /** "Was this the right answer? Yes / No" and its status line, for an answer with an id. */
  function feedbackRow(m) {
    const d = m.data || {};
    if (!asText(d.passage_id) || !asText(d.question)) return null;
    const row = el("div", "feedback feedback-control");
    row.setAttribute("role", "group");
    const label = el("span", "feedback-label", "Was this the right answer?");
    label.id = `feedback-label-${m.id}`;
    row.setAttribute("aria-labelledby", label.id);
    row.append(label, voteButton(m, "up"), voteButton(m, "down"));
    const status = el("p", "feedback-status");
    status.setAttribute("role", "status");
    status.dataset.feedbackStatus = String(m.id);
    row.appendChild(status);
    return row;
  }

  /** "This was the right passage" on the alternative at index of message m. */
  function rightPassageButton(m, index, alt) {
    const d = m.data || {};
    if (!asText(alt.passage_id) || !asText(d.passage_id) || !asText(d.question)) return null;
    const btn = el("button", "btn btn-small btn-right feedback-control", "This was the right passage");
    btn.type = "button";
    btn.dataset.right = String(m.id);
    btn.dataset.alt = String(index);
    const f = feedbackOf(m);
    btn.setAttribute("aria-pressed", String(Boolean(f && f.chosen === index)));
    if (asText(alt.section)) btn.setAttribute("aria-label", `This was the right passage: ${alt.section}`);
    return btn;
  }

  function messageNode(id) {
    return els.log.querySelector(`[data-id="${CSS.escape(String(id))}"]`);
  }

  /** Brings a rendered answer's buttons in line with its recorded vote. */
  function syncFeedback(m) {
    const node = messageNode(m.id);
    if (!node) return;
    const f = feedbackOf(m);
    for (const btn of node.querySelectorAll("button[data-vote]")) {
      btn.setAttribute("aria-pressed", String(votePressed(m, btn.dataset.vote)));
    }
    for (const btn of node.querySelectorAll("button[data-right]")) {
      btn.setAttribute("aria-pressed", String(Boolean(f && f.chosen === Number(btn.dataset.alt))));
    }
  }

  function setFeedbackStatus(id, text, isError) {
    const node = messageNode(id);
    const status = node && node.querySelector("[data-feedback-status]");
    if (!status) return;
    status.textContent = text;
    status.classList.toggle("feedback-error", Boolean(isError));
  }

  function setFeedbackBusy(id, busy) {
    const node = messageNode(id);
    if (!node) return;
    for (const btn of node.querySelectorAll("button[data-vote], button[data-right]")) {
      btn.disabled = busy;
    }
  }

  async function postFeedback(body) {
    let response;
    try {
      response = await fetch("/api/feedback", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(body),
      });
    } catch (_) {
      return { ok: false, message: "I can't reach the server right now." };
    }
    let reply = null;
    try {
      reply = await response.json();
    } catch (_) {
      reply = null;
    }
    if (response.ok && reply && typeof reply === "object" && !reply.error) return { ok: true };
    const message = reply && reply.error && asText(reply.error.message);
    return { ok: false, message: message || `The server answered with an error (status ${response.status}).` };
  }

  /** Sends a vote on message m: "up", "down", or "down" with the alternative at chosen. */
  async function vote(m, value, chosen) {
    const d = m.data || {};
    const f = feedbackOf(m);
    if (f && f.vote === value && (chosen === null || f.chosen === chosen)) return;
    const alt = chosen === null || !Array.isArray(d.alternatives) ? null : d.alternatives[chosen];
    // A follow-up is recorded as the question it was answered as, so its gold item stands alone.
    const resolved = asText(d.resolved_question);
    const asked = resolved && questionLength(resolved) <= MAX_QUESTION ? resolved : asText(d.question);
    const body = { question: asked, passage_id: asText(d.passage_id), vote: value };
    if (alt) body.chosen_passage_id = asText(alt.passage_id);
    setFeedbackBusy(m.id, true);
    const result = await postFeedback(body);
    setFeedbackBusy(m.id, false);
    if (!result.ok) {
      setFeedbackStatus(m.id, `Couldn't record your vote: ${result.message}`, true);
      return;
    }
    m.feedback = { vote: value, chosen: alt ? chosen : null };
    save();
    syncFeedback(m);
    const others = Array.isArray(d.alternatives) && d.alternatives.length > 0;
    let thanks = "Thanks! Your vote was recorded.";
    if (alt) thanks = "Thanks! The passage you marked was recorded as the right one.";
    else if (value === "down" && others) {
      thanks = "Thanks! If one of the other matches was right, mark it with “This was the right passage”.";
    }
    setFeedbackStatus(m.id, thanks, false);
  }

  function onVoteClick(button) {
    const id = Number(button.dataset.msg || button.dataset.right);
    const m = messages.find((x) => x.id === id && x.role === "bot");
    if (!m) return;
    if (button.dataset.right !== undefined) vote(m, "down", Number(button.dataset.alt));
    else vote(m, button.dataset.vote === "up" ? "up" : "down", null);
  }

  // ---------------------------------------------------------------- reader view

  /* "Show in document" opens the document in a modal dialog, scrolled to the passage, with
   * the passage and (for an answer) its best sentence marked. The document comes from
   * GET /api/documents/<name> as sections of passages and is put in the page as text only.
   * Escape, Close or a click beside the dialog close it; focus goes back to the button. */

  /** Documents fetched so far, by name, for this page's lifetime. */
  const documentCache = new Map();
  /** The control that opened the reader, to give focus back to when it closes. */
  let readerOpener = null;
  /** Bumped at each opening, so that a slow fetch cannot fill a later view. */
  let readerGeneration = 0;

  function documentUrl(name) {
    return `/api/documents/${name.split("/").map(encodeURIComponent).join("/")}`;
  }

  async function fetchDocument(name) {
    if (documentCache.has(name)) return documentCache.get(name);
    let response;
    try {
      response = await fetch(documentUrl(name), { headers: { Accept: "application/json" } });
    } catch (_) {
      throw new Error("I can't reach the server right now. Check that qabot is running.");
    }
    let body = null;
    try {
      body = await response.json();
    } catch (_) {
      body = null;
    }
    if (!response.ok || !body || typeof body !== "object" || !Array.isArray(body.sections)) {
      const message = body && body.error && asText(body.error.message);
      throw new Error(message || `The server answered with an error (status ${response.status}).`);
    }
    documentCache.set(name, body);
    return body;
  }

  /** One passage of the reader; the target gets a label for screen readers and its mark. */
  function readerPassage(p, target, highlight) {
    const text = asText(p && p.text);
    if (!target) return el("p", "reader-passage", text);
    const node = passage(text, highlight, "reader-passage reader-current");
    node.tabIndex = -1;
    node.setAttribute("aria-current", "location");
    node.insertBefore(hiddenText(highlight ? "The answer's passage: " : "The match's passage: "), node.firstChild);
    const mark = node.querySelector("mark");
    if (mark) mark.insertBefore(hiddenText("Best sentence: "), mark.firstChild);
    return node;
  }

  function renderDocument(doc, passageId, highlight) {
    const body = els.readerBody;
    body.replaceChildren();
    let target = null;
    let lastParents = "";
    for (const s of doc.sections) {
      if (!s || typeof s !== "object") continue;
      const section = el("section", "reader-section");
      const parents = (Array.isArray(s.parents) ? s.parents : []).map(asText).filter(Boolean);
      const trail = parents.join(" › ");
      if (trail && trail !== lastParents) section.appendChild(el("p", "reader-parents", trail));
      lastParents = trail;
      section.appendChild(el("h3", "reader-section-title", asText(s.section)));
      for (const p of Array.isArray(s.passages) ? s.passages : []) {
        const isTarget = !target && asText(p && p.passage_id) === passageId;
        const node = readerPassage(p, isTarget, isTarget ? highlight : "");
        if (isTarget) target = node;
        section.appendChild(node);
      }
      body.appendChild(section);
    }
    return target;
  }

  function readerMessage(text, className) {
    els.readerBody.replaceChildren(el("p", className, text));
  }

  async function openReader(button) {
    const id = Number(button.dataset.reader);
    const alt = Number(button.dataset.alt);
    const m = messages.find((x) => x.id === id && x.role === "bot");
    if (!m) return;
    const d = m.data || {};
    const item = alt >= 0 ? (Array.isArray(d.alternatives) ? d.alternatives[alt] : null) : d;
    if (!item || !asText(item.passage_id) || !asText(item.document)) return;
    const highlight = alt >= 0 ? "" : asText(d.highlight);
    const gen = ++readerGeneration;
    readerOpener = button;
    els.readerTitle.textContent = item.document;
    els.readerWhere.textContent = asText(item.section) ? `Section: ${item.section}` : "";
    readerMessage("Opening the document…", "reader-note");
    if (!els.reader.open) els.reader.showModal();
    els.readerClose.focus();
    let doc;
    try {
      doc = await fetchDocument(item.document);
    } catch (err) {
      if (gen !== readerGeneration || !els.reader.open) return;
      readerMessage(`Couldn't open the document: ${err.message}`, "reader-note reader-error");
      announce("Couldn't open the document.");
      return;
    }
    if (gen !== readerGeneration || !els.reader.open) return;
    const title = asText(doc.title) || item.document;
    els.readerTitle.textContent = title === item.document ? title : `${title} (${item.document})`;
    const target = renderDocument(doc, item.passage_id, highlight);
    if (!target) {
      els.readerBody.insertBefore(
        el("p", "reader-note reader-error", "This passage is no longer in the document (it has changed since the answer)."),
        els.readerBody.firstChild,
      );
      els.readerBody.scrollTop = 0;
      return;
    }
    // Scroll the reader's body only (scrollIntoView would also shift the dialog's header).
    const body = els.readerBody;
    const top = target.getBoundingClientRect().top - body.getBoundingClientRect().top;
    body.scrollTop += top - Math.max(0, (body.clientHeight - target.offsetHeight) / 2);
    target.focus({ preventScroll: true });
  }

  function closeReader() {
    if (els.reader.open) els.reader.close();
  }

  els.reader.addEventListener("close", () => {
    readerGeneration += 1;
    const opener = readerOpener;
    readerOpener = null;
    if (opener && opener.isConnected) opener.focus();
    else els.input.focus();
  });
  els.readerClose.addEventListener("click", closeReader);
  // A click on the backdrop lands on the dialog itself (its content fills it).
  els.reader.addEventListener("click", (event) => {
    if (event.target === els.reader) closeReader();
  });

  // ---------------------------------------------------------------- corpus info

  function pickSuggestions(documents) {
    const all = [];
    for (const doc of documents) {
      for (const s of Array.isArray(doc.sections) ? doc.sections : []) {
        const name = s && asText(s.section).trim();
        if (name && name.length <= 120) all.push(name);
      }
    }
    const unique = [...new Set(all)];
    const questions = unique.filter((s) => s.endsWith("?"));
    const others = unique.filter((s) => !s.endsWith("?"));
    const spread = (list, n) => {
      if (list.length <= n) return list.slice();
      const out = [];
      for (let i = 0; i < n; i += 1) out.push(list[Math.floor((i * list.length) / n)]);
      return out;
    };
    const picked = spread(questions, SUGGESTION_COUNT);
    if (picked.length < SUGGESTION_COUNT) {
      picked.push(...spread(others, SUGGESTION_COUNT - picked.length));
    }
    return picked.map(questionForSection);
  }

  function showSuggestions(list) {
    els.suggestions.replaceChildren();
    for (const q of list) {
      const item = el("li");
      const btn = el("button", "chip chip-suggestion", q);
      btn.type = "button";
      btn.dataset.question = q;
      item.appendChild(btn);
      els.suggestions.appendChild(item);
    }
    els.suggestionsBox.hidden = list.length === 0;
    updateControls();
  }

  async function loadCorpusInfo() {
    try {
      const response = await fetch("/api/sections", { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(`status ${response.status}`);
      const body = await response.json();
      const documents = Array.isArray(body && body.documents) ? body.documents : [];
      const titles = documents
        .map((d) => asText(d && d.title).trim() || asText(d && d.document).trim())
        .filter(Boolean);
      corpusTitles = titles;
      if (titles.length) {
        const shown = titles.length > 2 ? `${titles.slice(0, 2).join(" · ")} and ${titles.length - 2} more` : titles.join(" · ");
        els.corpusTitle.textContent = shown;
        els.corpusTitle.title = titles.join("\n");
        document.title = `qabot · ${titles[0]}`;
      } else {
        els.corpusTitle.textContent = "No documents loaded";
      }
      showSuggestions(pickSuggestions(documents));
    } catch (_) {
      els.corpusTitle.textContent = "Documents unavailable right now";
    }
    try {
      const response = await fetch("/api/health", { headers: { Accept: "application/json" } });
      if (!response.ok) return;
      const h = await response.json();
      const docs = Number(h && h.documents);
      const passages = Number(h && h.passages);
      const threshold = Number(h && h.threshold);
      if (Number.isFinite(threshold) && threshold > 0) answerThreshold = threshold;
      document.body.classList.toggle("feedback-on", Boolean(h) && h.feedback === true);
      if (Number.isFinite(docs) && Number.isFinite(passages)) {
        els.corpusStats.textContent = `Searching ${passages} passage${passages === 1 ? "" : "s"} in ${docs} document${docs === 1 ? "" : "s"}.`;
        els.corpusStats.hidden = false;
      }
    } catch (_) {
      /* stats are a nicety */
    }
  }

  // ---------------------------------------------------------------- events

  els.input.addEventListener("input", updateControls);

  /** The questions asked so far, oldest first, without immediate repeats. */
  function askedQuestions() {
    const out = [];
    for (const m of messages) {
      if (m.role === "user" && typeof m.text === "string" && m.text !== out[out.length - 1]) {
        out.push(m.text);
      }
    }
    return out;
  }

  function putInBox(text) {
    els.input.value = text;
    els.input.setSelectionRange(text.length, text.length);
    updateControls();
  }

  /* ↑ in an empty box brings back the last question, ↑ again the one before, ↓ the next;
   * once the recalled text is edited the arrows move the caret as usual. */
  function recallQuestion(step) {
    const value = els.input.value;
    const browsing = recall !== null && value === recall.text;
    if (!browsing && (step > 0 || value !== "")) return false;
    const caret = els.input.selectionStart;
    if (browsing && step < 0 && value.slice(0, caret).includes("\n")) return false;
    if (browsing && step > 0 && value.slice(caret).includes("\n")) return false;
    const questions = askedQuestions();
    if (!questions.length) return false;
    const index = browsing ? recall.index + step : questions.length - 1;
    if (index < 0) return true; // already at the first question: stay there
    if (index >= questions.length) {
      recall = null;
      putInBox("");
      return true;
    }
    recall = { index, text: questions[index] };
    putInBox(questions[index]);
    return true;
  }

  els.input.addEventListener("keydown", (event) => {
    if (event.isComposing || event.keyCode === 229) return;
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    if ((event.key === "ArrowUp" || event.key === "ArrowDown") && !event.shiftKey) {
      if (recallQuestion(event.key === "ArrowUp" ? -1 : 1)) event.preventDefault();
      return;
    }
    if (event.key !== "Enter") return;
    if (event.shiftKey) return; // Shift+Enter: the textarea inserts a newline
    event.preventDefault();
    submitFromInput();
  });

  els.form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitFromInput();
  });

  // One delegated handler for suggestion chips and Retry buttons, wherever they are.
  document.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    const chip = target.closest("button[data-question]");
    if (chip) {
      ask(chip.dataset.question || "");
      els.input.focus();
      return;
    }
    const retry = target.closest("button[data-retry]");
    if (retry) {
      const id = Number(retry.dataset.retry);
      const m = messages.find((x) => x.id === id && x.role === "error");
      if (!m) return;
      if (els.input.value.trim() === m.question) els.input.value = "";
      ask(m.question);
      els.input.focus();
      return;
    }
    const copy = target.closest("button[data-copy]");
    if (copy) {
      copyAnswer(copy);
      return;
    }
    const show = target.closest("button[data-reader]");
    if (show) {
      openReader(show);
      return;
    }
    const voted = target.closest("button[data-vote], button[data-right]");
    if (voted) onVoteClick(voted);
  });

  els.exportBtn.addEventListener("click", exportTranscript);

  els.clear.addEventListener("click", () => {
    generation += 1;
    closeReader();
    messages = [];
    pending = false;
    save();
    try {
      sessionStorage.removeItem(STORAGE_KEY);
    } catch (_) {
      /* ignore */
    }
    renderAll();
    els.input.focus();
  });

  // ---------------------------------------------------------------- start

  messages = load();
  nextId = messages.reduce((max, m) => Math.max(max, Number(m.id) || 0), 0) + 1;
  for (const m of messages) {
    if (!Number.isInteger(m.id) || m.id <= 0) m.id = nextId++;
  }
  renderAll();
  if (messages.length) scrollToEnd({ smooth: false });
  loadCorpusInfo();
  els.input.focus();
})();
