/*
 * Studio pages: confirmation in an accessible <dialog> for links marked data-confirm (publish,
 * archive). Without JavaScript, or where <dialog> is missing, the links lead to a confirmation
 * page instead. All words come from the page (translated on the server).
 */
(function () {
  "use strict";

  function init() {
    var dialog = document.getElementById("confirm-dialog");
    if (!dialog || typeof dialog.showModal !== "function") {
      return;
    }
    var form = document.getElementById("confirm-dialog-form");
    var title = document.getElementById("confirm-dialog-title");
    var text = document.getElementById("confirm-dialog-text");
    var ok = document.getElementById("confirm-dialog-ok");
    var cancel = document.getElementById("confirm-dialog-cancel");
    var opener = null;

    Array.prototype.forEach.call(document.querySelectorAll("a[data-confirm]"), function (link) {
      link.addEventListener("click", function (event) {
        event.preventDefault();
        opener = link;
        form.action = link.getAttribute("href");
        title.textContent = link.getAttribute("data-confirm-title");
        text.textContent = link.getAttribute("data-confirm-text");
        ok.textContent = link.getAttribute("data-confirm-button");
        ok.className = link.getAttribute("data-confirm") === "archive" ? "btn btn-danger" : "btn btn-primary";
        dialog.showModal();
        ok.focus();
      });
    });
    cancel.addEventListener("click", function () {
      dialog.close();
    });
    dialog.addEventListener("close", function () {
      if (opener) {
        opener.focus();
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
