// The users page: an admin changes a role or switches an account off; the API refuses what
// would leave the server without an admin, and the refusal is shown in words.
import { api } from "api";
import { say } from "app";

document.addEventListener("change", async (event) => {
  const role = event.target.closest("[data-role]");
  const active = event.target.closest("[data-active]");
  if (!role && !active) return;
  const id = (role ?? active).dataset.role ?? active.dataset.active;
  const change = role ? { role: role.value } : { is_active: active.checked };
  try {
    await api("PATCH", `/users/${id}`, change);
    if (active) active.nextElementSibling.textContent = active.checked ? "Yes" : "No";
    say("Saved.");
  } catch (error) {
    say(error.message, "error");
    if (active) active.checked = !active.checked;
    if (role) role.value = role.querySelector("[selected]")?.value ?? role.value;
  }
});
