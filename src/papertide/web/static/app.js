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
        announce(body.detail || "The vote could not be recorded. Please try again.");
        return;
      }
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
