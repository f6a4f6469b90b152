// The job page: run now, follow the run live over the WebSocket (with the session cookie),
// stop it, and delete the job after a confirmation.
import { api } from "api";
import { say } from "app";
import { plural } from "words";

const live = document.getElementById("live");
const jobId = live?.dataset.job;
const maxPages = Number(live?.dataset.maxPages || 0);
const $ = (id) => document.getElementById(id);

let socket = null;
let runId = null;

const STATUS_WORDS = {
  pending: "Waiting for a free worker…",
  running: "Running",
  completed: "Finished",
  failed: "Failed",
  cancelled: "Stopped",
};

function setProgress(percent) {
  const bar = $("progress");
  const p = Math.max(0, Math.min(100, Math.round(percent)));
  bar.setAttribute("aria-valuenow", String(p));
  bar.setAttribute("aria-valuetext", `${p}%`);
  bar.firstElementChild.style.setProperty("width", `${p}%`);
}

function showCounts(pages, items) {
  $("live-pages").textContent = plural(pages, "page", "pages");
  $("live-items").textContent = plural(items, "item", "items");
  // Without a page limit the bar cannot know the total: it shows activity. Either way 100% means
  // the run has ended and its downloads are ready, so counts alone stop at 99%.
  if (maxPages > 0) setProgress(Math.min(99, (100 * pages) / maxPages));
  else setProgress(Math.min(90, pages * 10));
}

function finished(status, message) {
  const done = ["completed", "failed", "cancelled"].includes(status);
  if (!done) return false;
  setProgress(status === "completed" ? 100 : Number($("progress").getAttribute("aria-valuenow")));
  $("live-status").textContent = message || STATUS_WORDS[status];
  $("cancel-run")?.setAttribute("hidden", "");
  const base = `/api/v1/results/${runId}/export/`;
  $("live-xlsx").href = base + "xlsx";
  $("live-csv").href = base + "csv";
  $("live-json").href = base + "json";
  $("live-results").href = `/jobs/${jobId}/runs/${runId}`;
  $("live-downloads").hidden = false;
  $("run-now")?.removeAttribute("disabled");
  return true;
}

async function showOutcome(status) {
  try {
    const run = await api("GET", `/results/${runId}`);
    showCounts(run.pages_scraped ?? 0, run.total_items ?? run.items_count ?? 0);
    const warnings = run.warnings ?? [];
    $("live-warnings").textContent = warnings.length
      ? `${plural(warnings.length, "warning", "warnings")}: ${warnings.slice(0, 3).join(" ")}`
      : "";
    let words = STATUS_WORDS[status];
    if (status === "completed") words = `Finished: ${plural(run.total_items ?? 0, "item", "items")}.`;
    if (status === "failed") words = `Failed: ${run.error_message || "the run stopped with an error"}.`;
    finished(status, words);
  } catch (error) {
    finished(status, STATUS_WORDS[status]);
  }
}

function follow(id) {
  runId = id;
  live.hidden = false;
  $("live-downloads").hidden = true;
  $("cancel-run")?.removeAttribute("hidden");
  $("live-status").textContent = STATUS_WORDS.pending;
  setProgress(0);
  socket?.close();
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}/api/v1/ws/results/${id}`);
  socket.addEventListener("message", (event) => {
    let m;
    try {
      m = JSON.parse(event.data);
    } catch {
      return;
    }
    if (m.type === "progress") {
      showCounts(m.pages_scraped ?? 0, m.items_scraped ?? 0);
      if (m.current_url) $("live-url").textContent = m.current_url;
      if (m.message) $("live-warnings").textContent = m.message;
      if (!finished(m.status)) $("live-status").textContent = STATUS_WORDS[m.status] ?? "Running";
      else showOutcome(m.status);
    } else if (m.type === "completion") {
      showCounts(m.total_pages ?? 0, m.total_items ?? 0);
      showOutcome(m.status);
      socket.close();
    }
  });
  socket.addEventListener("close", (event) => {
    if (event.code === 1008) {
      $("live-status").textContent = "You are signed out, or no longer in this team. Reload the page to follow this run.";
    }
  });
}

$("run-now")?.addEventListener("click", async (event) => {
  const button = event.currentTarget;
  button.setAttribute("disabled", "");
  try {
    const run = await api("POST", `/jobs/${jobId}/run`, {});
    say("The run has started.");
    follow(run.result_id);
    $("live-title").focus?.();
  } catch (error) {
    button.removeAttribute("disabled");
    say(error.message, "error");
  }
});

$("cancel-run")?.addEventListener("click", async () => {
  if (!runId) return;
  try {
    await api("POST", `/results/${runId}/cancel`);
    $("live-status").textContent = "Stopping after the current page…";
  } catch (error) {
    say(error.message, "error");
  }
});

const dialog = $("confirm-delete");
$("delete-job")?.addEventListener("click", () => dialog.showModal());
$("confirm-delete-no")?.addEventListener("click", () => dialog.close());
$("confirm-delete-yes")?.addEventListener("click", async () => {
  try {
    await api("DELETE", `/jobs/${jobId}`);
    location.assign("/");
  } catch (error) {
    dialog.close();
    say(error.message, "error");
  }
});

// The run on the page, or the one the wizard just started (`?run=`), which may have finished
// before the page loaded: the socket then reports its outcome at once.
const asked = new URLSearchParams(location.search).get("run");
if (live?.dataset.run) follow(live.dataset.run);
else if (asked && /^[0-9a-f-]{36}$/i.test(asked)) follow(asked);
