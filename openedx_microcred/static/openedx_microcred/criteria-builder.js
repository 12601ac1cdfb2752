/*
 * Enhances the credential form's criteria builder and badge platform picker, which work without
 * JavaScript (studio/builder.py renders them on the server):
 * - choosing another requirement type, or another platform account, shows its fields at once
 *   (the page's own "Show the fields…" button is pressed for you: the server renders them);
 * - the slug follows the title, as the server would make it, until the slug is typed in.
 */
(function () {
  "use strict";

  function slugify(text) {
    return text.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
      .replace(/[^\w\s-]/g, "").trim().replace(/[-\s]+/g, "-").slice(0, 100);
  }

  function pressOnChange(selector, buttonSelector) {
    var button = document.querySelector(buttonSelector);
    if (!button) { return; }
    button.hidden = true;
    Array.prototype.forEach.call(document.querySelectorAll(selector), function (select) {
      select.addEventListener("change", function () {
        if (button.form.requestSubmit) { button.form.requestSubmit(button); } else { button.click(); }
      });
    });
  }

  function followTitle() {
    var title = document.getElementById("id_title");
    var slug = document.getElementById("id_slug");
    if (!title || !slug || slug.disabled || slug.readOnly) { return; }
    var typed = slug.value !== "" && slug.value !== slugify(title.value);
    slug.addEventListener("input", function () { typed = slug.value !== ""; });
    title.addEventListener("input", function () {
      if (!typed) { slug.value = slugify(title.value); }
    });
  }

  function start() {
    pressOnChange("[data-cb-type]", "[data-cb-refresh]");
    pressOnChange("[data-pt-account]", "[data-pt-refresh]");
    followTitle();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
