// Runs on every page: times in words in the browser's time zone, confirmations before
// destructive buttons, and a polite status line (toast) other modules can speak through.
import { agoWords, sinceWords, whenWords } from "words";

export function say(message, kind = "info") {
  const toast = document.getElementById("toast");
  if (!toast) return;
  toast.textContent = message;
  toast.dataset.kind = kind;
  toast.classList.add("shown");
  clearTimeout(say.timer);
  say.timer = setTimeout(() => toast.classList.remove("shown"), kind === "error" ? 9000 : 4000);
}

export function showTimes(root = document) {
  for (const el of root.querySelectorAll("time[datetime]")) {
    const date = new Date(el.getAttribute("datetime"));
    if (Number.isNaN(date.getTime())) continue;
    el.title = date.toLocaleString();
    if (el.dataset.words === "since") el.textContent = sinceWords(date);
    else if (el.dataset.words === "when") el.textContent = whenWords(date);
    else el.textContent = date <= new Date() ? agoWords(date) : whenWords(date);
  }
}

// Forms and buttons with data-confirm ask first.
document.addEventListener("submit", (event) => {
  const question = event.target.dataset?.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});

showTimes();
