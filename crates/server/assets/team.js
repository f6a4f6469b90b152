// Teams: start a team, and on a team's page change a member's role, remove a member, invite
// someone (showing the link to pass on, which is shown only once), withdraw an invitation,
// rename, delete or leave the team; on an invitation's page, join. Every change goes through
// the organizations API, which decides who may do what; its refusals are shown in words.
import { api } from "api";
import { say } from "app";
import { whenWords } from "words";

const $ = (id) => document.getElementById(id);
const team = $("team");
const orgId = team?.dataset.org;

function problem(id, message) {
  const box = $(id);
  if (!box) return say(message, "error");
  box.textContent = message;
  box.hidden = !message;
}

// The id of a team the API answered, whichever name it gives it.
const idOf = (org) => org?.org_id ?? org?.id;

$("new-team")?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = $("new-team-name").value.trim();
  if (!name) return problem("new-team-problem", "Give the team a name.");
  try {
    const org = await api("POST", "/orgs", { name });
    location.assign(`/orgs/${idOf(org)}`);
  } catch (error) {
    problem("new-team-problem", error.message);
  }
});

// Roles: the select keeps the role the server last accepted, to go back to on a refusal.
document.addEventListener("change", async (event) => {
  const select = event.target.closest("[data-role]");
  if (!select || !orgId) return;
  try {
    await api("PATCH", `/orgs/${orgId}/members/${select.dataset.role}`, { role: select.value });
    select.dataset.was = select.value;
    say("The role is changed.");
  } catch (error) {
    select.value = select.dataset.was;
    say(error.message, "error");
  }
});

// The member whose Remove button was clicked, while the dialog asks.
let removing = null;

document.addEventListener("click", async (event) => {
  const remove = event.target.closest("[data-remove]");
  const revoke = event.target.closest("[data-revoke]");
  if (remove && orgId) {
    removing = remove;
    $("confirm-remove-who").textContent = remove.dataset.email;
    $("confirm-remove").showModal();
  } else if (revoke && orgId) {
    try {
      await api("DELETE", `/orgs/${orgId}/invitations/${revoke.dataset.revoke}`);
      say("The invitation is withdrawn: its link no longer works.");
      const item = revoke.closest("li");
      const list = item.parentElement;
      item.remove();
      if (!list.children.length) list.outerHTML = '<p id="no-invitations">None.</p>';
      $("invite-email")?.focus();
    } catch (error) {
      say(error.message, "error");
    }
  }
});

$("invite-form")?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const email = $("invite-email").value.trim();
  if (!email) return problem("invite-problem", "Type the e-mail address of the person to invite.");
  problem("invite-problem", "");
  try {
    const made = await api("POST", `/orgs/${orgId}/invitations`, { email, role: $("invite-role").value });
    const path = made.link ?? made.url ?? `/invitations/${made.token}`;
    $("invite-link").value = new URL(path, location.origin).href;
    $("invite-who").textContent = email;
    $("invite-done").hidden = false;
    $("invite-email").value = "";
    $("invite-link").focus();
    $("invite-link").select();
  } catch (error) {
    problem("invite-problem", error.message);
  }
});

// Copies a read-only field's text; without clipboard access (an insecure address, a refusal)
// the text is selected instead, for the keyboard's copy.
async function copyField(field, copied, what) {
  try {
    await navigator.clipboard.writeText(field.value);
    say(copied);
  } catch {
    field.focus();
    field.select();
    say(`Press Ctrl+C (or ⌘+C) to copy the selected ${what}.`);
  }
}

$("copy-link")?.addEventListener("click", () =>
  copyField($("invite-link"), "The link is copied. Paste it into a message to the person.", "link"),
);

$("rename-form")?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = $("team-name").value.trim();
  if (!name) return problem("rename-problem", "Give the team a name.");
  try {
    await api("PATCH", `/orgs/${orgId}`, { name });
    location.reload();
  } catch (error) {
    problem("rename-problem", error.message);
  }
});

// Deleting and leaving ask first, in a dialog whose safe answer has the focus.
function confirmation(dialogId, yesId, noId, act) {
  const dialog = $(dialogId);
  if (!dialog) return;
  $(noId)?.addEventListener("click", () => dialog.close());
  $(yesId)?.addEventListener("click", async () => {
    try {
      await act();
    } catch (error) {
      dialog.close();
      say(error.message, "error");
    }
  });
}

$("delete-team")?.addEventListener("click", () => $("confirm-delete").showModal());
confirmation("confirm-delete", "confirm-delete-yes", "confirm-delete-no", async () => {
  await api("DELETE", `/orgs/${orgId}`);
  location.assign("/orgs");
});

confirmation("confirm-remove", "confirm-remove-yes", "confirm-remove-no", async () => {
  const button = removing;
  await api("DELETE", `/orgs/${orgId}/members/${button.dataset.remove}`);
  $("confirm-remove").close();
  say(`${button.dataset.email} is no longer a member.`);
  button.closest("tr").remove();
  $("members")?.focus();
});

$("leave")?.addEventListener("click", () => $("confirm-leave").showModal());
confirmation("confirm-leave", "confirm-leave-yes", "confirm-leave-no", async () => {
  await api("DELETE", `/orgs/${orgId}/members/${team.dataset.me}`);
  location.assign("/orgs");
});

$("accept")?.addEventListener("click", async (event) => {
  const button = event.currentTarget;
  button.setAttribute("disabled", "");
  try {
    await api("POST", "/invitations/accept", { token: button.dataset.token });
    // Straight to what the person came for: the team's scrapes.
    location.assign(`/?org=${button.dataset.org}`);
  } catch (error) {
    button.removeAttribute("disabled");
    problem("accept-problem", error.message);
  }
});

// An administrator's limits for the team: a whole number of 1 or more, or empty for the site's
// default. Commas and spaces between digits are allowed ("10,000").
$("limits-form")?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = {};
  for (const input of event.currentTarget.querySelectorAll("input[name]")) {
    const text = input.value.trim().replace(/[\s,]/g, "");
    if (!text) {
      body[input.name] = null;
      continue;
    }
    if (!/^[0-9]+$/.test(text) || Number(text) < 1 || !Number.isSafeInteger(Number(text))) {
      const what = input.labels[0]?.firstChild?.textContent.trim() ?? input.name;
      input.focus();
      return problem(
        "limits-problem",
        `${what}: give a whole number of 1 or more, or leave the box empty for the default.`,
      );
    }
    body[input.name] = Number(text);
  }
  try {
    const usage = await api("PUT", `/orgs/${orgId}/quotas`, body);
    problem("limits-problem", "");
    for (const [name, standing] of Object.entries(usage)) {
      const row = document.querySelector(`#usage tr[data-quota="max_${name}"]`);
      if (!row || typeof standing !== "object") continue;
      row.querySelector(".limit").textContent = standing.limit.toLocaleString("en-US");
      const input = $(`limit-max_${name}`);
      if (input) input.value = standing.overridden ? String(standing.limit) : "";
    }
    say("The team's limits are saved.");
  } catch (error) {
    problem("limits-problem", error.message);
  }
});

// API tokens for this team: made with the ticked scopes, their secret shown once; revoked at
// once (a lost or unwanted token is replaced by making another).
$("token-form")?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const name = $("token-name").value.trim();
  if (!name) {
    $("token-name").focus();
    return problem("token-problem", "Say what the token is for: a name such as “Nightly export”.");
  }
  const ticked = [...form.querySelectorAll("input[name=scope]:checked")];
  if (!ticked.length) return problem("token-problem", "Tick at least one thing the token may do.");
  const body = { name, org_id: orgId, scopes: ticked.map((box) => box.value) };
  if ($("token-days").value) body.expires_in_days = Number($("token-days").value);
  try {
    const made = await api("POST", "/auth/api-tokens", body);
    problem("token-problem", "");
    $("token-done-name").textContent = made.name;
    $("token-secret").value = made.token;
    $("token-done").hidden = false;
    listToken(made, ticked.map((box) => box.nextSibling.textContent.trim()));
    form.reset();
    $("token-secret").focus();
    $("token-secret").select();
  } catch (error) {
    problem("token-problem", error.message);
  }
});

// A token just made, at the top of the list (the page lists the others).
function listToken(token, can) {
  const item = document.createElement("li");
  item.dataset.token = token.id;
  const about = document.createElement("span");
  const name = document.createElement("strong");
  name.textContent = token.name;
  const prefix = document.createElement("code");
  prefix.textContent = `${token.prefix}…`;
  const hint = document.createElement("span");
  hint.className = "hint";
  const until = token.expires_at ? `Works until ${whenWords(new Date(token.expires_at))}` : "Never expires";
  hint.textContent = `${can.join("; ")}. ${until}; not used yet.`;
  about.append(name, " ", prefix, document.createElement("br"), hint);
  const actions = document.createElement("span");
  actions.className = "actions";
  const revoke = document.createElement("button");
  revoke.type = "button";
  revoke.className = "button danger";
  revoke.dataset.revokeToken = token.id;
  const who = document.createElement("span");
  who.className = "visually-hidden";
  who.textContent = ` the token ${token.name}`;
  revoke.append("Revoke", who);
  actions.append(revoke);
  item.append(about, actions);
  $("tokens").prepend(item);
  $("no-tokens").hidden = true;
}

$("copy-token")?.addEventListener("click", () =>
  copyField($("token-secret"), "The token is copied. Paste it where the program reads it.", "token"),
);

document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-revoke-token]");
  if (!button) return;
  try {
    await api("DELETE", `/auth/api-tokens/${button.dataset.revokeToken}`);
    button.closest("li").remove();
    $("no-tokens").hidden = !!document.querySelector("#tokens li");
    $("my-tokens-title").focus();
    say("The token is revoked: programs that use it are refused from now on.");
  } catch (error) {
    say(error.message, "error");
  }
});
