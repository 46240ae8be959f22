// papertide: the browser's time zone for the digest preferences (issue 10). A static file, no
// inline script, so a Content-Security-Policy without 'unsafe-inline' allows it. Without
// JavaScript the select still works: the stored zone stays selected.
(function () {
  "use strict";

  function detectedZone() {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (error) {
      return "";
    }
  }

  function hasOption(select, zone) {
    return Array.prototype.some.call(select.options, function (option) { return option.value === zone; });
  }

  function setUp() {
    var select = document.querySelector("[data-time-zone-select]");
    var zone = detectedZone();
    if (!select || !zone || !hasOption(select, zone)) { return; }
    var note = document.querySelector("[data-time-zone-detected]");
    var button = document.querySelector("[data-time-zone-use]");
    if (select.getAttribute("data-detect") === "1" && select.value !== zone) {
      // Nobody chose a zone yet (the site default is stored): offer the browser's, to be saved.
      select.value = zone;
      if (note) {
        note.textContent = "Detected from your browser: " + zone.replace(/_/g, " ") + ". Save to keep it.";
        note.hidden = false;
      }
      return;
    }
    if (button && select.value !== zone) {
      button.textContent = "Use my browser's time zone (" + zone.replace(/_/g, " ") + ")";
      button.hidden = false;
      button.addEventListener("click", function () {
        select.value = zone;
        button.hidden = true;
        select.focus();
      });
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
})();
