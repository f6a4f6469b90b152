// The wizard: the page is shown from its snapshot in a sandboxed frame of our own origin; a
// click on it sends the clicked element's number (data-gs-node) to the snapshot API, which
// answers with the engine's items, columns, rows and pagination. Nothing is worked out here:
// this module only shows answers and keeps the person's choices. Without a mouse, the page is
// one stop of the Tab order whose elements the arrow keys walk and Enter chooses.

import { api } from "api";
import { say } from "app";

const $ = (id) => document.getElementById(id);
const root = $("wizard");
const frame = $("snapshot");
const jobId = root.dataset.job || "";
const columnWords = (root.dataset.columns || "").split(",").filter(Boolean);

const state = {
  snapshot: null, // {id, final_url, title}
  clicks: [], // the items clicked first
  included: [],
  excluded: [],
  items: null, // {item_selector, item_selector_type, item_nodes, count}
  fields: [], // job fields, each with `filled` and `alternatives`
  pagination: null, // {type, selector, selector_type, url_pattern, next_url}
  // Choices on the page wait here for the ones before them to be answered, so a quick second
  // click is answered after the first one rather than lost.
  choices: Promise.resolve(),
};

function problem(id, message) {
  const el = $(id);
  el.textContent = message || "";
  el.hidden = !message;
}

function mode() {
  return document.querySelector('input[name="mode"]:checked').value;
}

function setMode(value) {
  document.querySelector(`input[name="mode"][value="${value}"]`).checked = true;
  $("mode-words").textContent = {
    items: state.items
      ? "Click an item to leave it out, or another element to add it as an item."
      : "Click one item of the list you want, then a second one.",
    fields: "Click a value inside one item (a name, a price, a picture) to add a column.",
    next: 'Click the link that leads to the next page ("Next", "›", "2").',
  }[value];
}

// Marks on the page: items found, the clicks, the columns.
const MARKS = `
[data-gs-item] { outline: 3px solid #d9480f !important; outline-offset: -2px; background-color: rgba(255, 146, 43, 0.14) !important; }
[data-gs-example] { outline: 3px solid #1971c2 !important; outline-offset: -2px; }
[data-gs-column] { outline: 2px dashed #2b8a3e !important; }
[data-gs-hover] { outline: 2px solid #495057 !important; cursor: pointer !important; }
body:focus { outline: none; }
body:focus [data-gs-cursor] { outline: 3px solid #ffbf47 !important; outline-offset: 1px; box-shadow: 0 0 0 6px #1a1d23 !important; }
`;

function doc() {
  return frame.contentDocument;
}

function marked(attr, nodes) {
  const d = doc();
  if (!d) return;
  for (const el of d.querySelectorAll(`[${attr}]`)) el.removeAttribute(attr);
  for (const n of nodes) d.querySelector(`[data-gs-node="${n}"]`)?.setAttribute(attr, "");
}

function showMarks() {
  marked("data-gs-item", state.items ? state.items.item_nodes : []);
  marked("data-gs-example", state.items ? [] : state.clicks);
}

function nodeOf(target) {
  const el = target?.closest?.("[data-gs-node]");
  return el ? Number(el.getAttribute("data-gs-node")) : null;
}

frame.addEventListener("load", () => {
  const d = doc();
  if (!d || !d.head) return;
  const style = d.createElement("style");
  style.textContent = MARKS;
  d.head.append(style);
  // Capture: the page's own links and buttons never act.
  d.addEventListener("click", onPageClick, true);
  d.addEventListener("submit", (e) => e.preventDefault(), true);
  d.addEventListener("mouseover", (e) => e.target?.setAttribute?.("data-gs-hover", ""), true);
  d.addEventListener("mouseout", (e) => e.target?.removeAttribute?.("data-gs-hover"), true);
  // The keyboard's way in: the page is one stop of the Tab order (its own links and fields
  // are not), and the arrow keys walk its elements (see onPageKey).
  for (const el of d.querySelectorAll("a[href], area[href], button, input, select, textarea, summary, [tabindex]")) {
    el.tabIndex = -1;
  }
  if (d.body) {
    d.body.tabIndex = 0;
    d.body.setAttribute("aria-label", "The page: move with the arrow keys, choose with Enter");
    d.body.addEventListener("focus", () => pointAt(cursor() || walkable(d)[0] || null));
  }
  d.addEventListener("keydown", onPageKey, true);
  showMarks();
});

// The keyboard cursor on the page: the element Enter chooses, outlined while the page has the
// focus and named in words (an aria-live line) each time it moves.
function cursor() {
  return doc()?.querySelector("[data-gs-cursor]") || null;
}

// Elements the cursor can stand on: numbered, in the page's body and shown.
function walkable(d) {
  return [...d.body.querySelectorAll("[data-gs-node]")].filter((el) => el.getClientRects().length > 0);
}

function describe(el) {
  const text = (el.textContent || "").replace(/\s+/g, " ").trim();
  const what = el.closest("a[href]") ? "a link" : el.tagName === "IMG" ? "a picture" : "";
  const words = text ? `“${text.length > 60 ? `${text.slice(0, 60)}…` : text}”` : el.getAttribute("alt") || "an empty part";
  return what ? `${words}, ${what}` : words;
}

function pointAt(el) {
  cursor()?.removeAttribute("data-gs-cursor");
  if (!el) return;
  el.setAttribute("data-gs-cursor", "");
  el.scrollIntoView({ block: "nearest", inline: "nearest" });
  $("cursor-words").textContent = `On ${describe(el)}.`;
}

// Down and up: the next or previous element in reading order; left: the element around the
// current one; right: the first element inside it; Enter or Space: choose it, as a click would.
function onPageKey(event) {
  const d = doc();
  if (!d?.body || event.altKey || event.ctrlKey || event.metaKey) return;
  const here = cursor();
  const all = walkable(d);
  const at = here ? all.indexOf(here) : -1;
  let next = null;
  if (event.key === "ArrowDown") next = all[Math.min(at + 1, all.length - 1)];
  else if (event.key === "ArrowUp") next = all[Math.max(at - 1, 0)];
  else if (event.key === "ArrowLeft") next = here?.parentElement?.closest("[data-gs-node]") || here;
  else if (event.key === "ArrowRight") next = here ? all.find((el) => here.contains(el) && el !== here) || here : all[0];
  else if (event.key === "Enter" || event.key === " ") {
    event.preventDefault();
    if (here) choose(here);
    return;
  } else return;
  event.preventDefault();
  if (next && next !== d.body) pointAt(next);
}

async function call(method, path, body, problemId = "wizard-problem") {
  try {
    const answer = await api(method, path, body);
    problem(problemId, "");
    return answer;
  } catch (e) {
    problem(problemId, e.message);
    return null;
  }
}

function onPageClick(event) {
  event.preventDefault();
  event.stopPropagation();
  choose(event.target);
}

function choose(target) {
  const node = nodeOf(target);
  const snapshot = state.snapshot;
  if (node === null || !snapshot) return;
  state.choices = state.choices.then(async () => {
    // A new page was shown meanwhile: the number named an element of the old one.
    if (state.snapshot !== snapshot) return;
    const m = mode();
    if (m === "items") await clickItem(node, target);
    else if (m === "fields") await addField(node);
    else await pickNext(node);
  }).catch((e) => problem("wizard-problem", `That click could not be used: ${e.message}`));
}

// 2. Items: the first click waits for a second; then each click leaves an item out or adds one.
async function clickItem(node, target) {
  if (!state.items) {
    state.clicks.push(node);
    showMarks();
    if (state.clicks.length < 2) {
      $("items-status").textContent = "One item picked. Now click a second item like it.";
      return;
    }
  } else if (target.closest("[data-gs-item]")) {
    state.excluded.push(node);
  } else {
    state.included.push(node);
  }
  await findItems();
}

async function findItems() {
  const found = await call("POST", `/snapshots/${state.snapshot.id}/items`, {
    examples: state.clicks,
    excluded: state.excluded,
    included: state.included,
  });
  if (!found) {
    if (!state.items) {
      state.clicks = [];
      showMarks();
    }
    return;
  }
  state.items = {
    item_selector: found.item_selector,
    item_selector_type: "css",
    item_nodes: found.item_nodes,
    count: found.count,
  };
  showItems();
  if (!state.fields.length) setMode("fields");
  await refreshRows();
}

function showItems() {
  showMarks();
  const n = state.items ? state.items.count : 0;
  $("items-status").textContent = state.items
    ? `${n} ${n === 1 ? "item" : "items"} found.`
    : "No items picked yet.";
}

function resetItems() {
  Object.assign(state, { clicks: [], included: [], excluded: [], items: null, fields: [] });
  showItems();
  showFields();
  showRows(null);
  setMode("items");
}

// 3. Columns.
function uniqueName(name) {
  const taken = new Set(state.fields.map((f) => f.name));
  if (!taken.has(name)) return name;
  for (let i = 2; ; i++) if (!taken.has(`${name}_${i}`)) return `${name}_${i}`;
}

async function addField(node) {
  if (!state.items) {
    problem("wizard-problem", "Pick the items first: click one item, then a second one.");
    setMode("items");
    return;
  }
  if (state.items.item_selector_type !== "css") {
    problem("wizard-problem", "Columns can be added by clicking only to lists found by a CSS selector.");
    return;
  }
  const found = await call("POST", `/snapshots/${state.snapshot.id}/field`, {
    item_selector: state.items.item_selector,
    node,
  });
  if (!found) return;
  const field = { ...found.field, alternatives: found.alternatives };
  const guess = columnWords.find((w) => w === field.name);
  field.name = uniqueName(guess || field.name);
  state.fields.push(field);
  showFields();
  await refreshRows();
}

function kindWords(f) {
  if (f.attribute === "href") return "its link";
  if (f.attribute === "src") return "its picture";
  if (f.attribute === "custom") return `its ${f.custom_attribute}`;
  return "its text";
}

function showFields() {
  const list = $("fields");
  list.replaceChildren();
  const total = state.items ? state.items.count : 0;
  state.fields.forEach((f, i) => {
    const li = document.createElement("li");
    li.className = "wizard-field";
    const id = `field-name-${i}`;
    const label = document.createElement("label");
    label.htmlFor = id;
    label.className = "visually-hidden";
    label.textContent = `Name of column ${i + 1}`;
    const input = document.createElement("input");
    input.id = id;
    input.value = f.name;
    input.maxLength = 100;
    input.addEventListener("change", () => {
      f.name = input.value.trim() || f.name;
      refreshRows();
    });
    const what = document.createElement("select");
    what.setAttribute("aria-label", `What column ${i + 1} holds`);
    for (const [j, option] of [f, ...(f.alternatives || [])].entries()) {
      const o = document.createElement("option");
      o.value = String(j);
      o.textContent = kindWords(option);
      what.append(o);
    }
    what.addEventListener("change", () => {
      const chosen = f.alternatives[Number(what.value) - 1];
      if (!chosen) return;
      const others = [{ ...f, alternatives: undefined }, ...f.alternatives.filter((a) => a !== chosen)];
      Object.assign(f, chosen, { name: f.name, alternatives: others });
      showFields();
      refreshRows();
    });
    const fill = document.createElement("span");
    fill.className = "hint";
    // A column of the job being edited has no count until it is clicked again.
    fill.textContent = f.filled === undefined ? "" : `filled in ${f.filled} of ${total}`;
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "button";
    remove.textContent = "Remove";
    remove.setAttribute("aria-label", `Remove column ${f.name}`);
    remove.addEventListener("click", () => {
      state.fields.splice(i, 1);
      showFields();
      refreshRows();
    });
    li.append(label, input, what, fill, remove);
    list.append(li);
  });
}

// The keys of a field the job document holds; the rest (`filled`, `alternatives`) are the
// wizard's own notes. Editing keeps what the wizard has no control for (required, default).
const FIELD_KEYS = ["name", "selector", "selector_type", "attribute", "custom_attribute", "multiple", "required", "default_value"];

function jobFields() {
  return state.fields.map((f) => {
    const out = {};
    for (const key of FIELD_KEYS) if (f[key] !== undefined && f[key] !== null) out[key] = f[key];
    return out;
  });
}

// 4. Rows, made by the engine on the snapshot.
let rowsAsked = 0;
async function refreshRows() {
  if (!state.items || !state.fields.length || !state.snapshot) {
    showRows(null);
    return;
  }
  const asked = ++rowsAsked;
  const rows = await call("POST", `/snapshots/${state.snapshot.id}/preview`, {
    item_selector: state.items.item_selector,
    item_selector_type: state.items.item_selector_type,
    fields: jobFields(),
  });
  if (asked === rowsAsked) showRows(rows);
}

function showRows(rows) {
  const table = $("rows");
  const head = table.tHead;
  const body = table.tBodies[0];
  head.replaceChildren();
  body.replaceChildren();
  if (!rows) {
    $("rows-status").textContent = "The rows appear here once there are items and columns.";
    return;
  }
  const names = state.fields.map((f) => f.name);
  const tr = document.createElement("tr");
  for (const n of names) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = n;
    tr.append(th);
  }
  head.append(tr);
  for (const item of rows.items) {
    const row = document.createElement("tr");
    for (const n of names) {
      const td = document.createElement("td");
      const v = item[n];
      td.textContent = v === null || v === undefined ? "" : Array.isArray(v) ? v.join(", ") : String(v);
      row.append(td);
    }
    body.append(row);
  }
  const n = rows.items_matched;
  $("rows-status").textContent =
    `${n} ${n === 1 ? "row" : "rows"} on this page` + (rows.items.length < n ? ` (the first ${rows.items.length} shown).` : ".");
}

// 5. Pagination.
async function pickNext(node) {
  const found = await call("POST", `/snapshots/${state.snapshot.id}/pagination`, { next_node: node });
  if (found) setPagination(found);
}

function setPagination(p) {
  state.pagination = p;
  $("pages-status").textContent = p
    ? p.words || `Page 2 is ${p.next_url}`
    : "Only this page is read.";
  setMode(state.items ? "fields" : "items");
}

function paginationValue() {
  const p = state.pagination;
  if (!p) return { type: "none" };
  if (p.kept) return p.kept;
  if (p.type === "next_button") {
    return { type: "next_button", next_button_selector: p.selector, next_button_selector_type: p.selector_type };
  }
  return { type: "url_pattern", url_pattern: p.url_pattern };
}

// "Find lists on this page": the engine's proposals; one click fills the items and columns.
async function findLists() {
  if (!state.snapshot) return;
  const found = await call("POST", `/snapshots/${state.snapshot.id}/detect`, {});
  if (!found) return;
  const list = $("lists");
  list.replaceChildren();
  if (!found.candidates.length) {
    problem("wizard-problem", "No list was found on this page. Click two items of the list you want instead.");
    list.hidden = true;
    return;
  }
  found.candidates.slice(0, 5).forEach((c, i) => {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button";
    b.className = "button";
    b.id = `use-list-${i}`;
    const first = c.sample[0] ? Object.values(c.sample[0]).find((v) => typeof v === "string") : "";
    b.textContent = `Use: ${c.count} items, columns ${c.fields.map((f) => f.name).join(", ")}` + (first ? ` (“${first.slice(0, 40)}” …)` : "");
    b.addEventListener("click", () => useList(c));
    li.append(b);
    list.append(li);
  });
  list.hidden = false;
}

async function useList(c) {
  Object.assign(state, { clicks: [], included: [], excluded: [] });
  state.items = {
    item_selector: c.item_selector,
    item_selector_type: c.item_selector_type,
    item_nodes: c.item_nodes,
    count: c.count,
  };
  state.fields = c.fields.map((f) => ({ ...f, alternatives: [] }));
  showItems();
  showFields();
  if (c.pagination) setPagination(c.pagination);
  else setMode("fields");
  $("lists").hidden = true;
  await refreshRows();
}

// 1. The page.
async function showPage(url, fetcher) {
  problem("wizard-problem", "");
  const button = $("show-page");
  button.disabled = true;
  button.textContent = "Loading the page…";
  try {
    const made = await call("POST", "/snapshots", { url, fetcher_type: fetcher });
    if (!made) return false;
    state.snapshot = made;
    resetItems();
    setPagination(null);
    if (!$("job-name").value) $("job-name").value = made.title || new URL(made.final_url).hostname;
    $("work").hidden = false;
    const loaded = new Promise((resolve) => frame.addEventListener("load", resolve, { once: true }));
    frame.src = made.view_url;
    await loaded;
    for (const w of made.warnings || []) say(w);
    return true;
  } finally {
    button.disabled = false;
    button.textContent = "Show the page";
  }
}

$("url-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const url = $("page-url").value.trim();
  if (!url) {
    problem("wizard-problem", "Paste the address of the page with the list.");
    return;
  }
  await showPage(url, $("fetcher").value);
});

// 6. Save. An edited job keeps every setting the wizard does not show (its description,
// timeouts, item key, checks, ...): the wizard's answers are laid over the job's document.
const original = JSON.parse($("job-config").textContent || "null");

function config() {
  const delayMs = Math.round(Math.max(0, Number($("delay").value) || 0) * 1000);
  const maxItems = $("max-items").value.trim();
  return {
    ...(original || {}),
    name: $("job-name").value.trim(),
    start_url: state.snapshot.final_url,
    item_selector: state.items.item_selector,
    item_selector_type: state.items.item_selector_type,
    fields: jobFields(),
    pagination: paginationValue(),
    max_pages: Math.max(1, Number($("max-pages").value) || 1),
    max_items: maxItems === "" ? null : Math.max(1, Math.round(Number(maxItems)) || 1),
    min_delay_ms: delayMs,
    max_delay_ms: Math.max(delayMs, Math.round(delayMs * 1.5)),
    respect_robots_txt: $("robots").checked,
    fetcher_type: $("fetcher").value,
  };
}

async function save(run) {
  if (!state.snapshot || !state.items || !state.fields.length) {
    problem("save-problem", "Show a page, pick its items and at least one column first.");
    return;
  }
  if (!$("job-name").value.trim()) {
    problem("save-problem", "Give this scrape a name.");
    return;
  }
  const body = { config: config() };
  // A new scrape is saved in the team picked; an edited one stays in its own.
  const team = $("job-org")?.value;
  if (!jobId && team) body.org_id = team;
  const saved = jobId
    ? await call("PUT", `/jobs/${jobId}`, body, "save-problem")
    : await call("POST", "/jobs/", body, "save-problem");
  if (!saved) return;
  const id = saved.id || jobId;
  if (!run) {
    window.location.assign(`/jobs/${id}`);
    return;
  }
  const started = await call("POST", `/jobs/${id}/run`, undefined, "save-problem");
  if (!started) return;
  // The job page follows this run even when it has already finished by the time it loads.
  window.location.assign(`/jobs/${id}?run=${encodeURIComponent(started.result_id)}`);
}

$("save").addEventListener("click", () => save(false));
$("save-run").addEventListener("click", () => save(true));
$("find-lists").addEventListener("click", findLists);
$("reset-items").addEventListener("click", resetItems);
$("pick-next").addEventListener("click", () => setMode("next"));
$("one-page").addEventListener("click", () => setPagination(null));
$("page-numbers").addEventListener("click", async () => {
  if (!state.snapshot) return;
  const found = await call("POST", `/snapshots/${state.snapshot.id}/pagination`, { page_numbers: true });
  if (found) setPagination(found);
});
for (const radio of document.querySelectorAll('input[name="mode"]')) {
  radio.addEventListener("change", () => setMode(radio.value));
}

// Editing: the job's document fills the steps once its page is shown.
async function prefill() {
  const cfg = original;
  if (!cfg) return;
  $("page-url").value = cfg.start_url;
  $("job-name").value = cfg.name;
  if (cfg.max_pages) $("max-pages").value = cfg.max_pages;
  $("max-items").value = cfg.max_items ?? "";
  if (cfg.min_delay_ms !== undefined) $("delay").value = cfg.min_delay_ms / 1000;
  if (cfg.respect_robots_txt !== undefined) $("robots").checked = cfg.respect_robots_txt;
  if (cfg.fetcher_type) $("fetcher").value = cfg.fetcher_type;
  if (!(await showPage(cfg.start_url, $("fetcher").value))) return;
  $("job-name").value = cfg.name;
  const type = cfg.item_selector_type || "css";
  const nodes =
    type === "css"
      ? [...doc().querySelectorAll(cfg.item_selector)].map((el) => Number(el.getAttribute("data-gs-node")))
      : [];
  state.items = { item_selector: cfg.item_selector, item_selector_type: type, item_nodes: nodes, count: nodes.length };
  state.fields = (cfg.fields || []).map((f) => ({ selector_type: "css", attribute: "text", ...f, alternatives: [] }));
  showItems();
  showFields();
  const p = cfg.pagination || {};
  if (p.type === "next_button") {
    setPagination({ type: "next_button", selector: p.next_button_selector, selector_type: p.next_button_selector_type || "css", next_url: "the page its link leads to" });
  } else if (p.type === "infinite_scroll") {
    // Nothing to click for it: the job's scrolling is kept as it is.
    setPagination({ type: p.type, kept: p, words: "More items come by scrolling the page, as this scrape was set up." });
  } else if (p.type === "url_pattern") {
    setPagination({ type: "url_pattern", url_pattern: p.url_pattern, next_url: p.url_pattern.replace("{page}", "2") });
  }
  await refreshRows();
}

setMode("items");
prefill();
