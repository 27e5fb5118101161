// The directory page's copy buttons (/annuaire): copies the number the button names
// (data-copie: the id of the element holding it), then says so in the button's label.
// A file, not inline: the content security policy forbids inline scripts.
"use strict";
document.addEventListener("click", function (event) {
  var button = event.target.closest("button[data-copie]");
  if (!button) return;
  var source = document.getElementById(button.getAttribute("data-copie"));
  if (!source || !navigator.clipboard) return;
  navigator.clipboard.writeText(source.textContent.trim()).then(function () {
    var label = button.textContent;
    button.textContent = button.getAttribute("data-copie-fait");
    setTimeout(function () { button.textContent = label; }, 2000);
  });
});
