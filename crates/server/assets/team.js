// Teams: start a team, and on a team's page change a member's role, remove a member, invite
// someone (showing the link to pass on, which is shown only once), withdraw an invitation,
// rename, delete or leave the team; on an invitation's page, join. Every change goes through
// the organizations API, which decides who may do what; its refusals are shown in words.
import { api } from "api";
import { say } from "app";

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

$("copy-link")?.addEventListener("click", async () => {
  const field = $("invite-link");
  try {
    await navigator.clipboard.writeText(field.value);
    say("The link is copied. Paste it into a message to the person.");
  } catch {
    // Without clipboard access (an insecure address, a refusal): the link is selected, for
    // the keyboard's copy.
    field.focus();
    field.select();
    say("Press Ctrl+C (or ⌘+C) to copy the selected link.");
  }
});

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
