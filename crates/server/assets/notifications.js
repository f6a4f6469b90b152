// Notifications: add a webhook for this job, send it a test ping and say what came back,
// remove it.
import { api } from "api";
import { say } from "app";

const form = document.getElementById("webhook-form");

form?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const problem = document.getElementById("webhook-problem");
  const events = [...form.querySelectorAll('input[name="events"]:checked')].map((e) => e.value);
  if (events.length === 0) {
    problem.textContent = "Tick at least one moment to be told about.";
    problem.hidden = false;
    return;
  }
  try {
    await api("POST", "/webhooks", {
      name: form.elements.name.value.trim(),
      url: form.elements.url.value.trim(),
      job_id: form.dataset.job,
      events,
    });
    say("The address is added.");
    location.reload();
  } catch (error) {
    problem.textContent = error.message;
    problem.hidden = false;
  }
});

document.addEventListener("click", async (event) => {
  const test = event.target.closest("[data-test]");
  const remove = event.target.closest("[data-remove]");
  if (test) {
    const out = document.getElementById(`test-${test.dataset.test}`);
    out.textContent = " Sending…";
    try {
      const attempt = await api("POST", `/webhooks/${test.dataset.test}/test`);
      out.textContent = attempt.delivered
        ? ` The test arrived (answer ${attempt.response_status}).`
        : ` The test did not arrive: ${attempt.error || `the address answered ${attempt.response_status}`}.`;
      out.className = attempt.delivered ? "test-result ok" : "test-result problem-text";
    } catch (error) {
      out.textContent = ` ${error.message}`;
    }
  } else if (remove) {
    try {
      await api("DELETE", `/webhooks/${remove.dataset.remove}`);
      say("The address is removed.");
      remove.closest("li").remove();
    } catch (error) {
      say(error.message, "error");
    }
  }
});
