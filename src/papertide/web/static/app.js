// papertide: progressive enhancement. Every form works without this file; with it, upvotes
// are sent with fetch() and the count changes in place, without reloading the page.
(function () {
  "use strict";

  var status = document.createElement("div");
  status.setAttribute("role", "status");
  status.className = "visually-hidden";
  document.addEventListener("DOMContentLoaded", function () { document.body.appendChild(status); });

  function announce(text) {
    status.textContent = "";
    window.setTimeout(function () { status.textContent = text; }, 50);
  }

  // Errors (429, 5xx) are shown beside the button, not only announced (issue 10).
  function showError(form, text) {
    var box = form.querySelector("[data-vote-error]");
    if (!box) {
      box = document.createElement("p");
      box.className = "vote-error";
      box.setAttribute("data-vote-error", "");
      box.setAttribute("role", "alert");
      form.appendChild(box);
    }
    box.textContent = text;
  }

  function clearError(form) {
    var box = form.querySelector("[data-vote-error]");
    if (box) { box.remove(); }
  }

  function show(form, voted, upvotes) {
    var button = form.querySelector("button[name=vote]");
    var count = form.querySelector("[data-vote-count]");
    if (count) { count.textContent = String(upvotes); }
    if (button) {
      button.value = voted ? "down" : "up";
      button.setAttribute("aria-pressed", voted ? "true" : "false");
      button.title = voted ? "Remove your upvote" : "Upvote this paper";
    }
  }

  async function send(form, button) {
    var data = new FormData(form);
    if (button && button.name) { data.set(button.name, button.value); }
    button.disabled = true;
    form.setAttribute("aria-busy", "true");
    try {
      var response = await fetch(form.action, {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { "Accept": "application/json" }
      });
      var body = await response.json().catch(function () { return {}; });
      if (response.status === 401 && body.signin_url) {
        window.location.assign(body.signin_url);
        return;
      }
      if (!response.ok) {
        var text = typeof body.detail === "string" && body.detail ? body.detail
          : "The vote could not be recorded (error " + response.status + "). Please try again.";
        showError(form, text);
        return;
      }
      clearError(form);
      show(form, body.voted, body.upvotes);
      announce(body.voted ? "Upvoted. " + body.upvotes + " upvotes." : "Upvote removed. " + body.upvotes + " upvotes.");
    } catch (error) {
      // Network trouble: fall back to the plain form, which reports its own errors.
      form.submit();
    } finally {
      button.disabled = false;
      form.removeAttribute("aria-busy");
    }
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-vote-form") || !window.fetch) { return; }
    event.preventDefault();
    var button = event.submitter || form.querySelector("button[name=vote]");
    send(form, button);
  });
})();
