// The web authenticator (/ecps): the e-CPS kept by this browser. It speaks the device API
// (/ecps/api/v1/…) exactly as the CLI `caducee ecps` does:
// - activation: POST /activations {id} → the masked hints; POST /activations/{id}/confirm
//   with both codes, the new password and the public JWK of a P-256 key made here by
//   WebCrypto, not extractable: the private key stays a CryptoKey kept by IndexedDB;
// - every device call carries a `DPoP` header: a compact JWS, ES256, header
//   {alg, typ: "ecps-proof+jwt", kid: device id}, claims {htm, htu: server + path (no
//   query), iat, jti}; WebCrypto's ECDSA signature is r‖s (IEEE P1363), what JWS wants;
// - the long-poll GET /requests?wait=25, then POST /requests/{id} {code, password}.
// The login page's activation request lands here with the activation in the fragment
// (#activation=…&email=…&sms=…&expires=…), straight to the codes.
// With a CPS card (PSC-04): « Activer avec ma carte CPS » keeps a random verifier in
// sessionStorage and sends the browser to the card host with its SHA-256 (?defi=, as
// PKCE's S256); the card host verifies the card and comes back with
// #carte=<activation>&jeton=<token>&expires=…; the confirmation then carries card_token and
// card_verifier instead of the codes, so a token that reaches another browser is useless.
// The words come from the page (data-* of #ecps, translated by the server); no inline script.
(function () {
  "use strict";
  var root = document.getElementById("ecps");
  if (!root) return;
  var SERVER = root.getAttribute("data-server") || location.origin;
  var API = "/ecps/api/v1";
  var DB = "caducee-ecps";
  var STORE = "device";
  var ACTIVATION = "caducee-ecps-activation";
  var CARD_VERIFIER = "caducee-ecps-card-verifier";
  var words = root.dataset;
  var $ = function (id) { return document.getElementById(id); };
  var sections = ["etape-identifiant", "etape-codes", "etape-carte", "etape-active", "etape-demande"];
  var device = null; // {id, key, expiresAt}
  var polling = false;
  var current = null; // the request shown
  var countdown = null;

  // ------------------------------------------------------------ page helpers
  function show(id) {
    $("ecps-chargement").hidden = true;
    sections.forEach(function (s) { $(s).hidden = s !== id; });
  }
  function say(box, text) {
    var el = $(box);
    el.querySelector("p").textContent = text || "";
    el.hidden = !text;
    if (text) el.focus();
  }
  function error(text) { say("ecps-message", ""); say("ecps-erreur", text); }
  function info(text) { say("ecps-erreur", ""); say("ecps-message", text); }
  function clear() { say("ecps-erreur", ""); say("ecps-message", ""); }
  function invalid(input, yes) {
    if (yes) input.setAttribute("aria-invalid", "true"); else input.removeAttribute("aria-invalid");
  }
  function busy(form, yes) {
    Array.prototype.forEach.call(form.querySelectorAll("button"), function (b) { b.disabled = yes; });
  }
  function date(unix) {
    return new Date(unix * 1000).toLocaleDateString(document.documentElement.lang || "fr",
      { day: "numeric", month: "long", year: "numeric" });
  }

  // ------------------------------------------------------------ IndexedDB
  function db() {
    return new Promise(function (resolve, reject) {
      var open = indexedDB.open(DB, 1);
      open.onupgradeneeded = function () { open.result.createObjectStore(STORE); };
      open.onsuccess = function () { resolve(open.result); };
      open.onerror = function () { reject(open.error); };
    });
  }
  function idb(mode, act) {
    return db().then(function (d) {
      return new Promise(function (resolve, reject) {
        var tx = d.transaction(STORE, mode);
        var req = act(tx.objectStore(STORE));
        tx.oncomplete = function () { d.close(); resolve(req.result); };
        tx.onerror = function () { d.close(); reject(tx.error); };
      });
    });
  }
  function load() { return idb("readonly", function (s) { return s.get("current"); }); }
  function save(d) { return idb("readwrite", function (s) { return s.put(d, "current"); }); }
  function forget() { return idb("readwrite", function (s) { return s.delete("current"); }); }

  // ------------------------------------------------------------ proofs
  function b64url(bytes) {
    var bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function b64json(v) { return b64url(new TextEncoder().encode(JSON.stringify(v))); }
  function jti() {
    if (crypto.randomUUID) return crypto.randomUUID();
    return b64url(crypto.getRandomValues(new Uint8Array(16)));
  }
  function proof(method, path) {
    var input = b64json({ alg: "ES256", typ: "ecps-proof+jwt", kid: device.id }) + "." +
      b64json({ htm: method, htu: SERVER + path, iat: Math.floor(Date.now() / 1000), jti: jti() });
    return crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, device.key, new TextEncoder().encode(input))
      .then(function (sig) { return input + "." + b64url(new Uint8Array(sig)); });
  }

  // ------------------------------------------------------------ API
  // Resolves {status, body}; rejects only when the server cannot be reached.
  function call(method, path, body, signed, query) {
    var headers = { "Accept": "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    var ready = signed ? proof(method, path) : Promise.resolve(null);
    return ready.then(function (p) {
      if (p) headers.DPoP = p;
      return fetch(path + (query || ""), {
        method: method, headers: headers, credentials: "omit", cache: "no-store",
        body: body === undefined ? undefined : JSON.stringify(body)
      });
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) { return { status: r.status, body: j }; });
    });
  }
  function failed(r) {
    return (r.body && r.body.message) ? r.body.message : words.network;
  }
  function deviceEnded(r) {
    var e = r.body && r.body.error;
    return e === "unknown_device" || e === "device_expired" || e === "device_locked";
  }

  // ------------------------------------------------------------ activation
  function startActivation(ev) {
    ev.preventDefault();
    clear();
    var form = ev.target;
    var input = $("identifier");
    var id = input.value.replace(/\s+/g, "");
    invalid(input, !id);
    if (!id) { error(words.identifierMissing); input.focus(); return; }
    busy(form, true);
    call("POST", API + "/activations", { id: id }).then(function (r) {
      busy(form, false);
      if (r.status !== 201) { invalid(input, r.body.error === "bad_id"); error(failed(r)); return; }
      sessionStorage.setItem(ACTIVATION, JSON.stringify(r.body));
      showCodes(r.body);
      $("email_code").focus();
    }, function () { busy(form, false); error(words.network); });
  }
  function showCodes(a) {
    $("indice-email").textContent = a.email_hint;
    $("indice-sms").textContent = a.sms_hint;
    show("etape-codes");
  }
  function resend(ev) {
    ev.preventDefault();
    var a = JSON.parse(sessionStorage.getItem(ACTIVATION) || "null");
    if (!a) { restart(ev); return; }
    busy(ev.target, true);
    call("POST", API + "/activations/" + encodeURIComponent(a.activation_id) + "/resend", {}).then(function (r) {
      busy(ev.target, false);
      if (r.status !== 200) { error(failed(r)); return; }
      sessionStorage.setItem(ACTIVATION, JSON.stringify(r.body));
      showCodes(r.body);
      info(words.resent);
    }, function () { busy(ev.target, false); error(words.network); });
  }
  function restart(ev) {
    if (ev) ev.preventDefault();
    sessionStorage.removeItem(ACTIVATION);
    clear();
    show("etape-identifiant");
    $("identifier").focus();
  }
  function passwordsOk(pw, pw2) {
    invalid(pw, pw.value.length < 8);
    if (Array.from(pw.value).length < 8) { error(words.passwordShort); pw.focus(); return false; }
    invalid(pw2, pw.value !== pw2.value);
    if (pw.value !== pw2.value) { error(words.passwordMismatch); pw2.focus(); return false; }
    return true;
  }
  function confirmActivation(ev) {
    ev.preventDefault();
    clear();
    var form = ev.target;
    var a = JSON.parse(sessionStorage.getItem(ACTIVATION) || "null");
    if (!a) { restart(); return; }
    var email = $("email_code"), sms = $("sms_code"), pw = $("password"), pw2 = $("password_confirmation");
    var codeOk = function (el) { return /^[0-9]{6}$/.test(el.value.trim()); };
    invalid(email, !codeOk(email)); invalid(sms, !codeOk(sms));
    if (!codeOk(email) || !codeOk(sms)) { error(words.codesMissing); (codeOk(email) ? sms : email).focus(); return; }
    if (!passwordsOk(pw, pw2)) return;
    register(form, a, { email_code: email.value.trim(), sms_code: sms.value.trim(), password: pw.value }, function (r) {
      if (r.body.error === "wrong_codes") { invalid(email, true); invalid(sms, true); }
      if (r.body.error === "bad_password") invalid(pw, true);
    });
  }
  // Activation proven by the card host: the password only.
  function confirmCard(ev) {
    ev.preventDefault();
    clear();
    var form = ev.target;
    var a = JSON.parse(sessionStorage.getItem(ACTIVATION) || "null");
    if (!a || !a.card_token) { restart(); return; }
    var pw = $("card_password"), pw2 = $("card_password_confirmation");
    if (!passwordsOk(pw, pw2)) return;
    register(form, a, { card_token: a.card_token, card_verifier: a.card_verifier, password: pw.value }, function (r) {
      if (r.body.error === "bad_password") { invalid(pw, true); return; }
      // Spent, expired or refused: only a new visit to the card host helps.
      sessionStorage.removeItem(ACTIVATION);
    });
  }
  function startCard(ev) {
    ev.preventDefault();
    var href = ev.currentTarget.getAttribute("href");
    var verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
    sessionStorage.setItem(CARD_VERIFIER, verifier);
    crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)).then(function (h) {
      location.assign(href + "?defi=" + b64url(new Uint8Array(h)));
    }, function () { error(words.unsupported); });
  }
  // Makes the device key, confirms the activation with `fields` and keeps the device.
  function register(form, a, fields, refused) {
    busy(form, true);
    var pair;
    crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]).then(function (p) {
      pair = p;
      return crypto.subtle.exportKey("jwk", p.publicKey);
    }).then(function (jwk) {
      fields.public_jwk = { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y };
      return call("POST", API + "/activations/" + encodeURIComponent(a.activation_id) + "/confirm", fields);
    }).then(function (r) {
      if (r.status !== 201) {
        busy(form, false);
        refused(r);
        error(failed(r));
        return;
      }
      device = { id: r.body.device_id, key: pair.privateKey, expiresAt: r.body.expires_at };
      return save(device).then(function () {
        sessionStorage.removeItem(ACTIVATION);
        form.reset();
        busy(form, false);
        active();
      });
    }).catch(function () { busy(form, false); error(words.network); });
  }

  // ------------------------------------------------------------ the active device
  function active() {
    $("valide-jusqu-au").textContent = date(device.expiresAt);
    show("etape-active");
    poll();
  }
  function ended() {
    polling = false;
    device = null;
    return forget().then(function () { show("etape-identifiant"); error(words.deviceEnded); });
  }
  function status() {
    return call("GET", API + "/device", undefined, true).then(function (r) {
      if (r.status === 200) {
        device.expiresAt = r.body.expires_at;
        save(device);
        active();
      } else if (deviceEnded(r)) {
        ended();
      } else {
        error(failed(r));
        active();
      }
    }, function () { error(words.network); active(); });
  }
  function poll() {
    if (polling || !device) return;
    polling = true;
    (function once() {
      if (!device || current) { polling = false; return; }
      call("GET", API + "/requests", undefined, true, "?wait=25").then(function (r) {
        if (!device) { polling = false; return; }
        if (r.status === 200) {
          var list = r.body.requests || [];
          if (list.length) { polling = false; ask(list[0]); return; }
          if (r.body.superseded) { polling = false; return; }
          once();
        } else if (deviceEnded(r)) {
          ended();
        } else {
          error(failed(r));
          setTimeout(once, 5000);
        }
      }, function () { setTimeout(once, 3000); });
    })();
  }
  function ask(req) {
    current = req;
    $("service").textContent = req.service;
    for (var i = 0; i < 3; i++) {
      var b = $("choix-" + i);
      b.textContent = req.choices[i] || "";
      b.value = req.choices[i] || "";
      b.hidden = !req.choices[i];
      b.disabled = false;
    }
    $("request_password").value = "";
    show("etape-demande");
    tick();
    $("request_password").focus();
  }
  function tick() {
    if (countdown) clearTimeout(countdown);
    if (!current) return;
    var left = Math.max(0, current.expires_at - Math.floor(Date.now() / 1000));
    $("secondes").textContent = String(left);
    if (left <= 0) { over(words.requestOver, true); return; }
    countdown = setTimeout(tick, 1000);
  }
  function over(text, isError) {
    if (countdown) clearTimeout(countdown);
    current = null;
    active();
    if (isError) error(text); else info(text);
  }
  function answer(ev) {
    ev.preventDefault();
    clear();
    var form = ev.target;
    var code = ev.submitter && ev.submitter.value;
    var pw = $("request_password");
    invalid(pw, !pw.value);
    if (!pw.value || !code || !current) { error(words.requestPasswordMissing); pw.focus(); return; }
    busy(form, true);
    call("POST", API + "/requests/" + encodeURIComponent(current.id), { code: code, password: pw.value }, true)
      .then(function (r) {
        busy(form, false);
        pw.value = "";
        if (r.status === 200 && r.body.outcome === "approved") { over(words.approved, false); return; }
        if (r.status === 200 && r.body.outcome === "denied") { over(words.denied, true); return; }
        if (r.status === 200 && r.body.outcome === "wrong_password") {
          invalid(pw, true);
          error(words.wrongPassword + " " + r.body.remaining);
          pw.focus();
          return;
        }
        if (deviceEnded(r)) { current = null; if (countdown) clearTimeout(countdown); ended(); return; }
        if (r.body.error === "request_expired" || r.body.error === "request_closed" || r.body.error === "request_not_found") {
          over(words.requestOver, true);
          return;
        }
        error(failed(r));
      }, function () { busy(form, false); error(words.network); });
  }

  // ------------------------------------------------------------ start
  $("form-identifiant").addEventListener("submit", startActivation);
  $("form-codes").addEventListener("submit", confirmActivation);
  $("form-carte").addEventListener("submit", confirmCard);
  $("recommencer-carte").addEventListener("click", restart);
  if ($("activer-carte")) $("activer-carte").addEventListener("click", startCard);
  $("form-renvoi").addEventListener("submit", resend);
  $("recommencer").addEventListener("click", restart);
  $("form-demande").addEventListener("submit", answer);
  $("form-oublier").addEventListener("submit", function (ev) {
    ev.preventDefault();
    polling = false;
    device = null;
    forget().then(function () { restart(); info(words.forgotten); });
  });
  if (!window.crypto || !crypto.subtle || !window.indexedDB) {
    $("ecps-chargement").hidden = true;
    error(words.unsupported);
    return;
  }
  // Sent here by the login page's activation request: the activation in the fragment.
  var handed = new URLSearchParams(location.hash.replace(/^#/, ""));
  // Back from the card host: only the browser holding the verifier goes on.
  if (handed.get("carte")) {
    var verifier = sessionStorage.getItem(CARD_VERIFIER);
    sessionStorage.removeItem(CARD_VERIFIER);
    history.replaceState(null, "", location.pathname);
    if (!verifier) { show("etape-identifiant"); error(words.cardForeign); return; }
    sessionStorage.setItem(ACTIVATION, JSON.stringify({
      activation_id: handed.get("carte"), card_token: handed.get("jeton") || "",
      card_verifier: verifier, expires_at: Number(handed.get("expires")) || 0
    }));
    show("etape-carte");
    $("card_password").focus();
    return;
  }
  if (handed.get("activation")) {
    sessionStorage.setItem(ACTIVATION, JSON.stringify({
      activation_id: handed.get("activation"), email_hint: handed.get("email") || "",
      sms_hint: handed.get("sms") || "", expires_at: Number(handed.get("expires")) || 0
    }));
    history.replaceState(null, "", location.pathname);
    showCodes(JSON.parse(sessionStorage.getItem(ACTIVATION)));
    return;
  }
  load().then(function (d) {
    if (d && d.id && d.key) {
      device = d;
      return status();
    }
    var a = JSON.parse(sessionStorage.getItem(ACTIVATION) || "null");
    if (a && a.expires_at > Date.now() / 1000) {
      if (a.card_token) show("etape-carte"); else showCodes(a);
    } else show("etape-identifiant");
  }).catch(function () { $("ecps-chargement").hidden = true; error(words.unsupported); });
})();
