// Times in words, in the browser's own time zone: "today at 07:00", "tomorrow at 07:00",
// "Mon 8 Dec at 07:00", "3 minutes ago".

const pad = (n) => String(n).padStart(2, "0");
const clock = (d) => `${pad(d.getHours())}:${pad(d.getMinutes())}`;
const dayStart = (d) => new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();

export function zone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

// A moment as a day and a time.
export function whenWords(date, now = new Date()) {
  const days = Math.round((dayStart(date) - dayStart(now)) / 86400000);
  if (days === 0) return `today at ${clock(date)}`;
  if (days === 1) return `tomorrow at ${clock(date)}`;
  if (days === -1) return `yesterday at ${clock(date)}`;
  const opts = { weekday: "short", day: "numeric", month: "short" };
  if (date.getFullYear() !== now.getFullYear()) opts.year = "numeric";
  return `${date.toLocaleDateString("en-GB", opts)} at ${clock(date)}`;
}

// A past moment relative to now when recent, else as whenWords.
export function agoWords(date, now = new Date()) {
  const s = Math.round((now - date) / 1000);
  if (s >= 0 && s < 45) return "just now";
  if (s >= 0 && s < 3600) {
    const m = Math.max(1, Math.round(s / 60));
    return m === 1 ? "a minute ago" : `${m} minutes ago`;
  }
  return whenWords(date, now);
}

// The day of an earlier moment, to follow "since": "earlier today", "yesterday", "Monday"
// within a week, else "3 Nov" (with the year when it is not this one).
export function sinceWords(date, now = new Date()) {
  const days = Math.round((dayStart(now) - dayStart(date)) / 86400000);
  if (days <= 0) return "earlier today";
  if (days === 1) return "yesterday";
  if (days < 7) return date.toLocaleDateString("en-GB", { weekday: "long" });
  const opts = { day: "numeric", month: "short" };
  if (date.getFullYear() !== now.getFullYear()) opts.year = "numeric";
  return date.toLocaleDateString("en-GB", opts);
}

export function plural(n, one, many) {
  return n === 1 ? `1 ${one}` : `${n} ${many}`;
}
