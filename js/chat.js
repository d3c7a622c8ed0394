// The keboola_nb chat panel: renders `items` (see keboola_nb/ui/chat_panel.py) and reports what the user does.
// Plain ES module for anywidget; no build step, no dependencies.

const ACK_TIMEOUT_MS = 5000;
const STREAM_RENDER_MS = 100;
const BANNER_TEXT = "No answer from the kernel. If it was restarted, run %keboola chat again to reconnect.";
const PLACEHOLDER_KEY = "Ask about your data (Enter to send, Shift+Enter for a new line)";
const PLACEHOLDER_NO_KEY = "Type /help for commands (no API key: slash commands only)";

// ---------------------------------------------------------------------------------------------
// Markdown: everything is HTML-escaped first, then a small set of constructs is turned into tags.

function escapeHtml(text) {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

// `url` is already escaped, so it cannot leave the attribute; only harmless schemes are linked.
function safeUrl(url) {
  return /^(https?:\/\/|mailto:|#|\/)/i.test(url) ? url : null;
}

function inline(text) {
  const stash = [];
  const keep = (html) => `\u0000${stash.push(html) - 1}\u0000`;
  let out = text.replace(/`([^`\n]+)`/g, (_, code) => keep(`<code>${code}</code>`));
  out = out.replace(/\[([^\]\n]+)\]\(([^)\s]+)\)/g, (whole, label, url) => {
    const href = safeUrl(url);
    return href ? keep(`<a href="${href}" target="_blank" rel="noopener noreferrer">${emphasis(label)}</a>`) : whole;
  });
  out = out.replace(/(^|[\s(])(https?:\/\/[^\s<]*[^\s<.,:;!?)'"])/g,
    (_, lead, url) => lead + keep(`<a href="${url}" target="_blank" rel="noopener noreferrer">${url}</a>`));
  const restore = (html) => html.replace(/\u0000(\d+)\u0000/g, (_, i) => restore(stash[Number(i)]));
  return restore(emphasis(out));
}

function emphasis(text) {
  return text
    .replace(/\*\*(?=\S)([^*]*?\S)\*\*/g, "<strong>$1</strong>")
    .replace(/__(?=\S)([^_]*?\S)__/g, "<strong>$1</strong>")
    .replace(/(^|[^*\w])\*(?=\S)([^*]*?\S)\*(?![*\w])/g, "$1<em>$2</em>")
    .replace(/(^|[^_\w])_(?=\S)([^_]*?\S)_(?![_\w])/g, "$1<em>$2</em>")
    .replace(/~~(?=\S)([^~]*?\S)~~/g, "<del>$1</del>");
}

const FENCE = /^\s*(```+|~~~+)\s*([\w+#.-]*)/;
const HEADING = /^(#{1,6})\s+(.*?)\s*#*\s*$/;
const RULE = /^\s*([-*_])(\s*\1){2,}\s*$/;
const LIST_ITEM = /^(\s*)([-*+]|\d{1,9}[.)])\s+(.*)$/;
const QUOTE = /^\s*&gt;\s?(.*)$/;
const TABLE_RULE = /^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$/;

// Cells of a table row; a pipe inside `code` or written as \| stays in its cell.
function splitRow(line) {
  const body = line.trim().replace(/^\|/, "").replace(/\|$/, "");
  const cells = [""];
  let code = false;
  for (let i = 0; i < body.length; i++) {
    const ch = body[i];
    if (ch === "\\" && body[i + 1] === "|") {
      cells[cells.length - 1] += "|";
      i++;
    } else if (ch === "|" && !code) {
      cells.push("");
    } else {
      if (ch === "`") code = !code;
      cells[cells.length - 1] += ch;
    }
  }
  return cells.map((cell) => cell.trim());
}

function startsBlock(lines, i) {
  const line = lines[i];
  return FENCE.test(line) || HEADING.test(line) || RULE.test(line) || LIST_ITEM.test(line) || QUOTE.test(line)
    || (line.includes("|") && i + 1 < lines.length && TABLE_RULE.test(lines[i + 1]));
}

function blocks(lines) {
  const out = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    let m;
    if (!line.trim()) {
      i++;
    } else if ((m = FENCE.exec(line))) {
      const body = [];
      for (i++; i < lines.length && !lines[i].trim().startsWith(m[1]); i++) body.push(lines[i]);
      i++; // the closing fence (missing while the text is still streaming)
      out.push(`<pre class="kbnb-codeblock" data-lang="${m[2]}"><code>${body.join("\n")}</code></pre>`);
    } else if ((m = HEADING.exec(line))) {
      out.push(`<h${m[1].length}>${inline(m[2])}</h${m[1].length}>`);
      i++;
    } else if (RULE.test(line)) {
      out.push("<hr>");
      i++;
    } else if (line.includes("|") && i + 1 < lines.length && TABLE_RULE.test(lines[i + 1])) {
      const head = splitRow(line).map((c) => `<th>${inline(c)}</th>`).join("");
      const rows = [];
      for (i += 2; i < lines.length && lines[i].includes("|") && lines[i].trim(); i++) {
        rows.push(`<tr>${splitRow(lines[i]).map((c) => `<td>${inline(c)}</td>`).join("")}</tr>`);
      }
      out.push(`<div class="kbnb-table-wrap"><table><thead><tr>${head}</tr></thead>`
        + `<tbody>${rows.join("")}</tbody></table></div>`);
    } else if (QUOTE.test(line)) {
      const body = [];
      for (; i < lines.length && (m = QUOTE.exec(lines[i])); i++) body.push(m[1]);
      out.push(`<blockquote>${blocks(body)}</blockquote>`);
    } else if ((m = LIST_ITEM.exec(line))) {
      i = list(lines, i, out);
    } else {
      const para = [];
      for (; i < lines.length && lines[i].trim() && (para.length === 0 || !startsBlock(lines, i)); i++) {
        para.push(lines[i].trim());
      }
      out.push(`<p>${para.map(inline).join("<br>")}</p>`);
    }
  }
  return out.join("");
}

// A list starting at lines[start]; lines indented deeper than its markers belong to the current item.
function list(lines, start, out) {
  const first = LIST_ITEM.exec(lines[start]);
  const indent = first[1].length;
  const ordered = /\d/.test(first[2]);
  const items = [];
  let i = start;
  const sibling = (line) => {
    const m = LIST_ITEM.exec(line);
    return m && m[1].length === indent && /\d/.test(m[2]) === ordered ? m : null;
  };
  while (i < lines.length) {
    if (!lines[i].trim() && i + 1 < lines.length && sibling(lines[i + 1])) i++; // a loose list
    const m = sibling(lines[i]);
    if (!m) break;
    const body = [m[3]];
    for (i++; i < lines.length; i++) {
      const line = lines[i];
      const deeper = line.length - line.trimStart().length > indent;
      if (line.trim() && !deeper) break;
      if (!line.trim() && !(i + 1 < lines.length && lines[i + 1].length - lines[i + 1].trimStart().length > indent)) break;
      body.push(line.slice(Math.min(indent + 2, line.length - line.trimStart().length)));
    }
    const [head, ...rest] = body;
    items.push(`<li>${inline(head)}${rest.length ? blocks(rest) : ""}</li>`);
  }
  const startAttr = ordered && parseInt(first[2], 10) !== 1 ? ` start="${parseInt(first[2], 10)}"` : "";
  out.push(ordered ? `<ol${startAttr}>${items.join("")}</ol>` : `<ul>${items.join("")}</ul>`);
  return i;
}

export function renderMarkdown(source) {
  return blocks(escapeHtml(String(source).replace(/\u0000/g, "")).split(/\r?\n/));
}

// ---------------------------------------------------------------------------------------------
// Small DOM helpers.

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) node.append(child);
  }
  return node;
}

// A picture the kernel drew (SVG): parsed as an SVG document, never as HTML, so nothing in it can run.
function pictureNode(svg) {
  const parsed = new DOMParser().parseFromString(svg, "image/svg+xml").documentElement;
  const node = h("div", { class: "kbnb-picture" });
  if (parsed.nodeName === "svg") node.append(document.importNode(parsed, true));
  return node;
}

function markdownNode(text, extraClass = "") {
  const node = h("div", { class: `kbnb-md ${extraClass}`.trim() });
  node.innerHTML = renderMarkdown(text);
  decorateCode(node);
  return node;
}

function decorateCode(node) {
  for (const pre of node.querySelectorAll("pre.kbnb-codeblock")) {
    const code = pre.textContent;
    pre.before(h("div", { class: "kbnb-codebar" },
      h("span", { class: "kbnb-lang" }, pre.dataset.lang || ""),
      copyButton(() => code)));
  }
}

function copyButton(getText) {
  const button = h("button", { class: "kbnb-copy", type: "button", title: "Copy to clipboard" }, "Copy");
  button.addEventListener("click", async () => {
    const text = getText();
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      const area = h("textarea", { class: "kbnb-offscreen" });
      area.value = text;
      document.body.append(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = "Copy"; }, 1500);
  });
  return button;
}

function cellText(value) {
  if (value === null || value === undefined) return h("span", { class: "kbnb-null" }, "null");
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

function dataTable(columns, rows) {
  return h("div", { class: "kbnb-table-wrap" },
    h("table", { class: "kbnb-data" },
      h("thead", {}, h("tr", {}, (columns || []).map((c) => h("th", {}, String(c))))),
      h("tbody", {}, (rows || []).map((row) => h("tr", {}, row.map((v) => h("td", {}, cellText(v))))))));
}

function formatSeconds(seconds) {
  if (typeof seconds !== "number") return null;
  return seconds < 10 ? `${seconds.toFixed(2)} s` : `${seconds.toFixed(1)} s`;
}

// ---------------------------------------------------------------------------------------------
// The view.

function render({ model, el }) {
  el.classList.add("kbnb-host");
  const views = new Map();   // item id -> { node, key, item }
  const ui = new Map();      // item id -> local state a re-render must keep (open card, tab, draft JSON)
  const streams = new Map(); // assistant id -> { text, timer }
  const pendingAcks = new Map();
  let seq = 0;
  let stick = true;          // follow new content unless the user scrolled up

  const info = h("div", { class: "kbnb-info" });
  const banner = h("div", { class: "kbnb-banner", role: "alert", hidden: true }, BANNER_TEXT);
  const log = h("div", { class: "kbnb-log", role: "log", "aria-live": "polite" });
  const jump = h("button", { class: "kbnb-jump", type: "button", hidden: true }, "\u2193 New messages");
  const workingText = h("span", { class: "kbnb-working-text" });
  const stop = h("button", { class: "kbnb-stop", type: "button", title: "Stop (Esc)" }, "Stop");
  const working = h("div", { class: "kbnb-working", hidden: true },
    h("span", { class: "kbnb-spinner", "aria-hidden": "true" }), workingText, stop);
  const input = h("textarea", { class: "kbnb-input", rows: 2, "aria-label": "Message" });
  const sendButton = h("button", { class: "kbnb-send", type: "button", title: "Send (Enter)" }, "Send");
  const root = h("div", { class: "kbnb-chat" },
    h("div", { class: "kbnb-header" }, h("span", { class: "kbnb-title" }, "Keboola"), info),
    banner,
    h("div", { class: "kbnb-log-wrap" }, log, jump),
    working,
    h("div", { class: "kbnb-composer" }, input, sendButton));
  el.append(root);

  // -- talking to the kernel ------------------------------------------------------------------

  function setDead(dead) {
    banner.hidden = !dead;
    root.classList.toggle("kbnb-dead", dead);
  }

  // Returns false when the message surely did not leave (the widget's comm is gone).
  function send(message) {
    const n = ++seq;
    pendingAcks.set(n, setTimeout(() => {
      setDead(true);
      if (message.type === "submit" && !input.value) input.value = message.text; // not lost: retry later
    }, ACK_TIMEOUT_MS));
    try {
      model.send({ ...message, seq: n });
      return true;
    } catch {
      setDead(true);
      return false;
    }
  }

  function onAck(n) {
    for (const [pending, timer] of pendingAcks) {
      if (pending <= n) {
        clearTimeout(timer);
        pendingAcks.delete(pending);
      }
    }
    setDead(false);
  }

  // -- scrolling --------------------------------------------------------------------------------

  function contentChanged() {
    if (stick) log.scrollTop = log.scrollHeight;
    else jump.hidden = false;
  }

  log.addEventListener("scroll", () => {
    stick = log.scrollHeight - log.scrollTop - log.clientHeight < 30;
    if (stick) jump.hidden = true;
  });
  jump.addEventListener("click", () => {
    stick = true;
    jump.hidden = true;
    log.scrollTop = log.scrollHeight;
  });

  // -- items ----------------------------------------------------------------------------------

  function state(id) {
    if (!ui.has(id)) ui.set(id, {});
    return ui.get(id);
  }

  function itemNode(item, ...children) {
    const status = item.status ?? item.state ?? (item.kind === "assistant" ? (item.done ? "done" : "streaming") : null);
    return h("div", { class: `kbnb-item kbnb-${item.kind}`, "data-kind": item.kind, "data-id": item.id,
      "data-status": status }, ...children);
  }

  const renderers = {
    user: (item) => itemNode(item, h("div", { class: "kbnb-bubble" }, item.text)),

    assistant: (item) => {
      const stream = streams.get(item.id);
      const text = !item.done && stream && stream.text.length > (item.text || "").length ? stream.text : item.text || "";
      if (item.done) streams.delete(item.id);
      else if (stream) stream.text = text;
      else streams.set(item.id, { text, timer: null });
      return itemNode(item, markdownNode(text), h("span", { class: "kbnb-tail" }));
    },

    tool: (item) => {
      const s = state(item.id);
      const head = [item.name, item.status, formatSeconds(item.seconds)].filter(Boolean).join(" \u00b7 ");
      const details = h("details", { class: "kbnb-card", open: s.open },
        h("summary", {}, h("span", { class: "kbnb-dot" }), head),
        h("pre", { class: "kbnb-json" }, JSON.stringify(item.args ?? {}, null, 2)),
        item.summary ? h("div", { class: "kbnb-summary" }, item.summary) : null);
      details.addEventListener("toggle", () => { s.open = details.open; });
      return itemNode(item, details);
    },

    confirm: (item) => confirmCard(item),

    table: (item) => itemNode(item,
      item.title ? h("div", { class: "kbnb-card-title" }, item.title) : null,
      dataTable(item.columns, item.rows),
      h("div", { class: "kbnb-muted" }, `${(item.rows || []).length} rows`)),

    code: (item) => itemNode(item,
      h("div", { class: "kbnb-codebar" },
        h("span", { class: "kbnb-lang" }, item.language || ""),
        copyButton(() => item.code),
        h("button", { class: "kbnb-insert", type: "button", title: "Insert below the active cell",
          onclick: () => send({ type: "insert", id: item.id }) }, "Insert cell")),
      h("pre", { class: "kbnb-codeblock" }, h("code", {}, item.code)),
      item.inserted ? h("div", { class: "kbnb-muted kbnb-inserted" }, "inserted below the active cell") : null),

    credential: (item) => credentialCard(item),

    notice: (item) => itemNode(item, markdownNode(item.text)),

    error: (item) => itemNode(item, h("div", { role: "alert" }, item.text)),
  };

  function confirmCard(item) {
    const s = state(item.id);
    const pending = item.state === "pending";
    const tabs = [["overview", "Overview"], ["graph", "Graph"], ["preview", "Data preview"], ["json", "JSON"]]
      .filter(([tab]) => tab === "overview" || (tab === "graph" && item.picture) || (tab === "preview" && item.preview)
        || (tab === "json" && item.json !== null));
    if (!tabs.some(([tab]) => tab === s.tab)) s.tab = tabs[0][0];
    const editing = pending && s.editing;

    let body;
    if (s.tab === "graph") {
      body = pictureNode(item.picture);
    } else if (s.tab === "preview") {
      body = dataTable(item.preview.columns, item.preview.rows);
    } else if (s.tab === "json" && editing) {
      body = h("textarea", { class: "kbnb-json-edit", spellcheck: "false", "aria-label": "Configuration JSON",
        oninput: (e) => { s.draft = e.target.value; } });
      body.value = s.draft ?? item.json ?? "";
    } else if (s.tab === "json") {
      body = h("pre", { class: "kbnb-json" }, item.json);
    } else {
      body = h("table", { class: "kbnb-overview" },
        (item.overview || []).map(([label, value]) => h("tr", {}, h("th", {}, String(label)), h("td", {}, cellText(value)))));
    }

    const answer = (accept) => {
      s.sent = true;
      send({ type: "confirm", id: item.id, answer: accept ? "accept" : "cancel",
        json: accept && editing ? (s.draft ?? item.json) : null });
      rerender(item.id);
    };
    const buttons = pending ? h("div", { class: "kbnb-actions" },
      h("button", { class: "kbnb-confirm-accept kbnb-primary", type: "button", disabled: s.sent,
        onclick: () => answer(true) }, item.action || "OK"),
      item.editable && item.json !== null && !editing ? h("button", { class: "kbnb-confirm-edit", type: "button",
        disabled: s.sent, onclick: () => { s.editing = true; s.tab = "json"; rerender(item.id); } }, "Edit") : null,
      h("button", { class: "kbnb-confirm-cancel", type: "button", disabled: s.sent,
        onclick: () => answer(false) }, "Cancel"))
      : h("div", { class: "kbnb-muted kbnb-outcome" }, item.state === "accepted" ? "\u2713 Accepted" : "Cancelled");

    return itemNode(item, h("div", { class: "kbnb-card" },
      h("div", { class: "kbnb-card-title" }, item.title || item.tool,
        item.tool && item.title ? h("span", { class: "kbnb-muted" }, ` ${item.tool}`) : null),
      h("div", { class: "kbnb-tabs", role: "tablist" }, tabs.map(([tab, label]) =>
        h("button", { class: "kbnb-tab", type: "button", role: "tab", "data-tab": tab,
          "aria-selected": String(tab === s.tab), onclick: () => { s.tab = tab; rerender(item.id); } }, label))),
      h("div", { class: "kbnb-tab-body", "data-tab": s.tab }, body),
      item.error ? h("div", { class: "kbnb-confirm-error", role: "alert" }, item.error) : null,
      buttons));
  }

  function credentialCard(item) {
    const s = state(item.id);
    let body;
    if (item.state === "pending") {
      const field = h("input", { class: "kbnb-secret-input", type: "password", autocomplete: "new-password",
        "aria-label": item.label || "Secret" });
      const save = () => {
        if (!field.value) return;
        s.sent = true;
        send({ type: "secret", id: item.id, value: field.value });
        field.value = "";
        rerender(item.id);
      };
      field.addEventListener("keydown", (e) => {
        if (e.key === "Enter") { e.preventDefault(); save(); }
      });
      body = h("div", { class: "kbnb-actions" }, field,
        h("button", { class: "kbnb-secret-save kbnb-primary", type: "button", disabled: s.sent, onclick: save }, "Save"),
        h("button", { class: "kbnb-secret-cancel", type: "button", disabled: s.sent,
          onclick: () => { s.sent = true; send({ type: "credential_cancel", id: item.id }); rerender(item.id); } },
        "Cancel"));
    } else if (item.state === "stored") {
      body = h("div", { class: "kbnb-muted" }, "Stored as ", h("code", {}, item.reference || ""));
    } else {
      body = h("div", { class: "kbnb-muted" }, "Cancelled");
    }
    return itemNode(item, h("div", { class: "kbnb-card" },
      h("div", { class: "kbnb-card-title" }, item.label),
      item.prompt ? h("div", { class: "kbnb-summary" }, item.prompt) : null,
      body));
  }

  // One malformed item must not stop the rest of the conversation from showing.
  function renderItem(item) {
    try {
      return renderers[item.kind](item);
    } catch (error) {
      return itemNode({ ...item, kind: "error" }, `Could not show this ${item.kind} item: ${error}`);
    }
  }

  function rerender(id) {
    const entry = views.get(id);
    if (!entry?.item) return;
    const node = renderItem(entry.item);
    entry.node.replaceWith(node);
    entry.node = node;
  }

  function syncItems() {
    const items = model.get("items") || [];
    const seen = new Set();
    let previous = null;
    for (const item of items) {
      if (!renderers[item.kind]) continue;
      seen.add(item.id);
      const key = JSON.stringify(item);
      let entry = views.get(item.id);
      if (!entry || entry.key !== key) {
        if (entry) delete state(item.id).sent; // the kernel answered: buttons work again
        const node = renderItem(item);
        if (entry) entry.node.replaceWith(node);
        entry = { node, key, item };
        views.set(item.id, entry);
      }
      const expected = previous ? previous.nextSibling : log.firstChild;
      if (expected !== entry.node) log.insertBefore(entry.node, expected);
      previous = entry.node;
    }
    for (const [id, entry] of views) {
      if (seen.has(id)) continue;
      entry.node.remove();
      views.delete(id);
      ui.delete(id);
      const stream = streams.get(id);
      if (stream?.timer) clearTimeout(stream.timer);
      streams.delete(id);
    }
    contentChanged();
  }

  // -- streaming ------------------------------------------------------------------------------

  function onDelta({ id, text, t }) {
    let entry = views.get(id);
    if (entry?.item?.done) return;
    if (!entry) { // the delta overtook the item itself
      const item = { id, kind: "assistant", text: "", done: false };
      entry = { node: renderers.assistant(item), key: null, item };
      views.set(id, entry);
      log.append(entry.node);
    }
    const stream = streams.get(id) ?? { text: "", timer: null };
    stream.text += text;
    streams.set(id, stream);
    entry.node.querySelector(".kbnb-tail").append(text);
    // Kernel-to-DOM delay of each delta, read by benchmarks/panel_latency.py; bounded so it cannot grow forever.
    const latency = (window.keboolaNbLatency ??= []);
    if (typeof t === "number" && latency.length < 10000) latency.push(Date.now() / 1000 - t);
    if (!stream.timer) {
      stream.timer = setTimeout(() => {
        stream.timer = null;
        const current = views.get(id);
        if (!current || current.item?.done) return;
        current.node.querySelector(".kbnb-md").replaceWith(markdownNode(stream.text));
        current.node.querySelector(".kbnb-tail").textContent = "";
        contentChanged();
      }, STREAM_RENDER_MS);
    }
    contentChanged();
  }

  // -- status, info, input --------------------------------------------------------------------

  function syncStatus() {
    const status = model.get("status") || "idle";
    root.dataset.status = status;
    working.hidden = status === "idle";
    workingText.textContent = status === "stopping" ? "Stopping\u2026" : "Working\u2026";
    stop.disabled = status === "stopping";
    sendButton.disabled = status !== "idle";
  }

  function syncInfo() {
    info.textContent = model.get("info") || "";
    input.placeholder = model.get("has_key") ? PLACEHOLDER_KEY : PLACEHOLDER_NO_KEY;
  }

  function submit() {
    const text = input.value;
    if (!text.trim() || (model.get("status") || "idle") !== "idle") return;
    if (!send({ type: "submit", text })) return; // keep the text for a retry
    input.value = "";
    input.style.height = "";
    stick = true;
    jump.hidden = true;
    log.scrollTop = log.scrollHeight;
  }

  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      submit();
    } else if (e.key === "Escape" && (model.get("status") || "idle") === "working") {
      e.preventDefault();
      send({ type: "stop" });
    }
  });
  // JupyterLab cancels line breaks typed anywhere inside a notebook cell (outputs too) and runs the cell on
  // Shift+Enter; it leaves alone keys whose default was prevented, so type line breaks ourselves.
  root.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.defaultPrevented && !e.isComposing && e.target.matches("textarea")) {
      e.preventDefault();
      e.target.setRangeText("\n", e.target.selectionStart, e.target.selectionEnd, "end");
      e.target.dispatchEvent(new Event("input", { bubbles: true }));
    }
  });
  input.addEventListener("input", () => {
    input.style.height = "";
    input.style.height = `${Math.min(input.scrollHeight, 200)}px`;
  });
  sendButton.addEventListener("click", submit);
  stop.addEventListener("click", () => send({ type: "stop" }));

  const onCustom = (message) => {
    if (message?.type === "delta") onDelta(message);
    else if (message?.type === "ack") onAck(message.seq);
  };
  model.on("msg:custom", onCustom);
  model.on("change:items", syncItems);
  model.on("change:status", syncStatus);
  model.on("change:info", syncInfo);
  model.on("change:has_key", syncInfo);
  syncInfo();
  syncStatus();
  syncItems();

  return () => {
    model.off("msg:custom", onCustom);
    model.off("change:items", syncItems);
    model.off("change:status", syncStatus);
    model.off("change:info", syncInfo);
    model.off("change:has_key", syncInfo);
    for (const timer of pendingAcks.values()) clearTimeout(timer);
    for (const stream of streams.values()) if (stream.timer) clearTimeout(stream.timer);
  };
}

export default { render };
