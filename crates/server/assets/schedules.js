// The schedule form: writes the cron expression from plain choices, in the browser's time
// zone, and shows what it means and its next five runs (asked of the server, which uses the
// same cron code as the scheduler) before anything is saved.
import { api } from "api";
import { say } from "app";
import { whenWords, zone } from "words";

const form = document.getElementById("schedule-form");
const $ = (id) => document.getElementById(id);
const timeZone = zone();
let latest = 0;

function expression() {
  const kind = form.elements.kind.value;
  const [hour, minute] = ($("time").value || "07:00").split(":").map(Number);
  if (kind === "daily") return `${minute} ${hour} * * *`;
  if (kind === "weekdays") return `${minute} ${hour} * * 1-5`;
  if (kind === "hours") return `0 */${$("hours").value} * * *`;
  return $("cron").value.trim();
}

function showBoxes() {
  const kind = form.elements.kind.value;
  $("time-box").hidden = !["daily", "weekdays"].includes(kind);
  $("hours-box").hidden = kind !== "hours";
  $("cron-box").hidden = kind !== "cron";
}

function problem(text) {
  $("schedule-problem").textContent = text;
  $("schedule-problem").hidden = !text;
}

async function preview() {
  const cron = expression();
  const asked = ++latest;
  $("upcoming").replaceChildren();
  if (!cron) {
    $("preview-words").textContent = "Type an expression to see when it would run.";
    return false;
  }
  try {
    const answer = await api("POST", "/schedules/preview", { cron_expression: cron, timezone: timeZone });
    if (asked !== latest) return false;
    problem("");
    $("preview-words").textContent = `Runs ${answer.description.replace(/^./, (c) => c.toLowerCase())}. The next five runs:`;
    for (const at of answer.upcoming_runs) {
      const li = document.createElement("li");
      const date = new Date(at);
      li.textContent = whenWords(date);
      li.title = date.toLocaleString();
      $("upcoming").append(li);
    }
    return true;
  } catch (error) {
    if (asked !== latest) return false;
    $("preview-words").textContent = "";
    problem(error.message);
    return false;
  }
}

if (form) {
  $("zone").textContent = timeZone;
  form.addEventListener("input", () => {
    showBoxes();
    preview();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!(await preview())) return;
    try {
      await api("POST", `/jobs/${form.dataset.job}/schedules`, {
        cron_expression: expression(),
        timezone: timeZone,
      });
      say("The schedule is saved.");
      location.reload();
    } catch (error) {
      problem(error.message);
    }
  });
  showBoxes();
  preview();
}

document.addEventListener("click", async (event) => {
  const remove = event.target.closest("[data-remove]");
  const toggle = event.target.closest("[data-toggle]");
  try {
    if (remove) {
      await api("DELETE", `/schedules/${remove.dataset.remove}`);
      location.reload();
    } else if (toggle) {
      const enabled = toggle.dataset.enabled !== "true";
      await api("PATCH", `/schedules/${toggle.dataset.toggle}`, { enabled });
      location.reload();
    }
  } catch (error) {
    say(error.message, "error");
  }
});
