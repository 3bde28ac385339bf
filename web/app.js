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
  const MAX_QUESTION = 1000;
  const REQUEST_TIMEOUT_MS = 30000;
  const SUGGESTION_COUNT = 4;

  const $ = (id) => document.getElementById(id);
  const els = {
    log: $("log"),
    form: $("ask-form"),
    input: $("question"),
    send: $("send"),
    clear: $("clear"),
    typing: $("typing"),
    corpusTitle: $("corpus-title"),
    corpusStats: $("corpus-stats"),
    suggestionsBox: $("suggestions-box"),
    suggestions: $("suggestions"),
  };

  /** The conversation: a list of plain objects, saved to sessionStorage as JSON. */
  let messages = [];
  let pending = false;
  /** Bumped by Clear so that a reply to a cleared conversation is dropped. */
  let generation = 0;
  let nextId = 1;

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

  function alternativesList(alternatives) {
    const list = (Array.isArray(alternatives) ? alternatives : []).filter(
      (a) => a && typeof a === "object" && asText(a.answer),
    );
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
    const foot = el("div", "answer-meta");
    foot.appendChild(sourceLine(d.section, d.document));
    foot.appendChild(confidence(d.score));
    bubble.appendChild(foot);
    const others = alternativesList(d.alternatives);
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

  function scrollToEnd() {
    window.requestAnimationFrame(() => {
      const reduce = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
      window.scrollTo({ top: document.documentElement.scrollHeight, behavior: reduce ? "auto" : "smooth" });
    });
  }

  // ---------------------------------------------------------------- state

  function updateControls() {
    const text = els.input.value.trim();
    els.send.disabled = pending || text.length === 0;
    els.clear.disabled = messages.length === 0 && !pending;
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

  async function postQuestion(question) {
    const controller = new AbortController();
    const timer = window.setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
    let response;
    try {
      response = await fetch("/api/chat", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ question, top_k: TOP_K }),
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

  async function ask(question, { retryOf = null } = {}) {
    const q = question.trim();
    if (!q || pending) return;
    const gen = generation;
    if (retryOf === null) {
      append({ id: nextId++, role: "user", text: q });
    } else {
      removeMessage(retryOf);
    }
    setPending(true);
    const result = await postQuestion(q);
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
    if (q.length > MAX_QUESTION) return;
    els.input.value = "";
    updateControls();
    ask(q);
    els.input.focus();
  }

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

  els.input.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || event.isComposing || event.keyCode === 229) return;
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
      ask(m.question, { retryOf: id });
      els.input.focus();
    }
  });

  els.clear.addEventListener("click", () => {
    generation += 1;
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
  if (messages.length) scrollToEnd();
  loadCorpusInfo();
  els.input.focus();
})();
