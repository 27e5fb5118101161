// The live password meter of the page kit (PasswordInput::live): as the user types, posts
// the form's password, CSRF token and flow to the meter's address and shows the server's
// answer — the same estimator that decides when the form is sent. No inline script: the
// pages' CSP forbids it. Without JavaScript the form works the same; the meter then shows
// the answer of the last submission.
(function () {
  "use strict";
  var meters = document.querySelectorAll(".mot-de-passe[data-force]");
  Array.prototype.forEach.call(meters, function (meter) {
    var input = document.getElementById(meter.getAttribute("data-champ"));
    var form = input && input.form;
    if (!form) return;
    var url = meter.getAttribute("data-force");
    var label = meter.querySelector("[aria-live] strong");
    var gauge = meter.querySelector(".jauge");
    var list = meter.querySelector(".regles");
    var rules = meter.querySelectorAll(".regles li");
    var timer = null;
    var seq = 0;
    function field(name) {
      var el = form.elements.namedItem(name);
      return el && el.value ? el.value : "";
    }
    function show(answer) {
      var classes = ["jauge-faible", "jauge-moyen", "jauge-fort"];
      if (gauge) {
        classes.forEach(function (c) { gauge.classList.remove(c); });
        if (answer.level !== null) gauge.classList.add(classes[answer.level]);
      }
      if (label) label.textContent = answer.level === null ? "" : answer.label;
      (answer.rules || []).forEach(function (r, i) {
        var li = rules[i];
        if (!li) return;
        li.classList.toggle("regle-ok", r.met);
        li.classList.toggle("regle-ko", !r.met);
        var sr = li.querySelector(".sr-only");
        if (sr && list) sr.textContent = "(" + list.getAttribute(r.met ? "data-ok" : "data-ko") + ")";
      });
    }
    function ask() {
      var mine = ++seq;
      var body = new URLSearchParams();
      body.set("mot_de_passe", input.value);
      body.set("csrf", field("csrf"));
      body.set("flow", field("flow"));
      fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: body.toString()
      }).then(function (r) {
        return r.ok ? r.json() : null;
      }).then(function (answer) {
        if (answer && mine === seq) show(answer);
      }).catch(function () { /* the form still works without the meter */ });
    }
    input.addEventListener("input", function () {
      if (timer) clearTimeout(timer);
      timer = setTimeout(ask, 200);
    });
  });
})();
