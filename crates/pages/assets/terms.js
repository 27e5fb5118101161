// The terms box of the page kit (ONB-04: "vous devez lire les CGU jusqu'en bas de la page
// pour que le bouton « Accepter » devienne cliquable"): the acceptance checkbox and the
// form's submit button stay disabled until the text has been scrolled to its end (or fits
// without scrolling). No inline script: the pages' CSP forbids it. The server accepts the
// acceptance only from this page's form, naming the version it showed.
(function () {
  "use strict";
  var boxes = document.querySelectorAll(".conditions");
  Array.prototype.forEach.call(boxes, function (box) {
    var form = box.closest("form");
    if (!form) return;
    var controls = form.querySelectorAll("input[type=checkbox], button[type=submit]");
    var hint = document.createElement("p");
    hint.className = "aide-champ";
    hint.id = "conditions-lecture";
    hint.setAttribute("aria-live", "polite");
    hint.textContent = box.getAttribute("data-lire") || "";
    box.parentNode.insertBefore(hint, box.nextSibling);
    function set(enabled) {
      Array.prototype.forEach.call(controls, function (c) {
        c.disabled = !enabled;
        if (!enabled) c.setAttribute("aria-describedby", "conditions-lecture");
      });
      if (enabled) hint.textContent = box.getAttribute("data-lu") || "";
    }
    function read() {
      return box.scrollTop + box.clientHeight >= box.scrollHeight - 4;
    }
    set(read());
    box.addEventListener("scroll", function () {
      if (read()) set(true);
    });
  });
})();
