// Calls the server's JSON API (/api/v1) the way a signed-in page may: with the session cookie
// (sent by the browser, never readable here) and the session's CSRF token in X-CSRF-Token,
// read from the page's <meta name="csrf-token">. Nothing is ever kept in localStorage.
// Failures become an ApiError whose message is a sentence a person can act on.

const csrfToken = () =>
  document.querySelector('meta[name="csrf-token"]')?.getAttribute("content") ?? "";

export class ApiError extends Error {
  constructor(message, status, detail) {
    super(message);
    this.status = status;
    this.detail = detail;
  }
}

// What the API calls a field, as people would say it.
const FIELD_NAMES = {
  cron_expression: "The schedule",
  timezone: "The time zone",
  url: "The address",
  name: "The name",
  email: "The e-mail address",
  password: "The password",
  role: "The role",
  events: "The events",
  max_retries: "The number of retries",
  headers: "The extra headers",
  config: "The scrape's settings",
  body: "The request",
  max_jobs: "The limit of scrapes",
  max_runs_per_day: "The limit of runs a day",
  max_concurrent_runs: "The limit of runs at the same time",
  max_stored_items: "The limit of rows kept",
  max_schedules: "The limit of schedules",
};

function fieldName(path) {
  const top = String(path || "").replace(/^body\./, "").split(/[.[]/)[0];
  return FIELD_NAMES[top] ?? (top ? `“${top}”` : "");
}

function sentence(text) {
  const t = String(text ?? "").trim();
  if (!t) return "";
  const s = t[0].toUpperCase() + t.slice(1);
  return /[.!?]$/.test(s) ? s : s + ".";
}

// The words for an error answer of the API: `status` and its parsed JSON body (or null).
export function errorWords(status, body) {
  const detail = body?.detail;
  if (Array.isArray(detail)) {
    return detail
      .map((p) => {
        const who = fieldName(p.path);
        return sentence(who ? `${who}: ${p.message}` : p.message);
      })
      .join(" ");
  }
  switch (status) {
    case 0:
      return "The server could not be reached. Check your connection and try again.";
    case 401:
      return "You have been signed out. Reload the page and sign in again.";
    case 403:
      return sentence(typeof detail === "string" ? detail : "Your account is not allowed to do that");
    case 404:
      return "That is not there any more. Reload the page.";
    case 413:
      return "That is more than the server accepts. Make it shorter.";
    case 429:
      return "Too many requests at once. Wait a moment and try again.";
  }
  if (status >= 500) {
    return "Something went wrong on the server. Try again in a moment.";
  }
  return sentence(typeof detail === "string" ? detail : "That did not work");
}

// `method` `path` (under /api/v1) with an optional JSON `body`; resolves to the parsed answer
// (null for an empty one), rejects with an ApiError.
export async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (!["GET", "HEAD"].includes(method)) headers["X-CSRF-Token"] = csrfToken();
  const init = { method, headers, credentials: "same-origin" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch("/api/v1" + path, init);
  } catch {
    throw new ApiError(errorWords(0, null), 0);
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    throw new ApiError(errorWords(response.status, data), response.status, data?.detail);
  }
  return data;
}
