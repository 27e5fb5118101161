// Security keys (PSC-07): the account page's registration (form#ajout-cle) and the login
// page's "Clé de sécurité" tab (form#connexion-cle, the key alone; form#connexion-cle-identifiant,
// after typing the identifier). The server gives the options (JSON,
// base64url), this script turns them into ArrayBuffers for navigator.credentials and the
// answers back into base64url JSON. Words come from the page (data-*).
(function () {
  function b64uToBuf(s) {
    var b = s.replace(/-/g, '+').replace(/_/g, '/');
    while (b.length % 4) b += '=';
    var bin = atob(b), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }
  function bufToB64u(buf) {
    var bytes = new Uint8Array(buf), s = '';
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }
  function post(url, body) {
    return fetch(url, {
      method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'Accept': 'application/json' },
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().then(function (j) { if (!r.ok) throw new Error(j.error || ''); return j; });
    });
  }
  function say(el, text) { if (el) el.textContent = text; }
  function why(form, e) {
    if (e && (e.name === 'NotAllowedError' || e.name === 'AbortError')) return form.dataset.cancelled;
    return (e && e.message) || form.dataset.failed;
  }
  var supported = !!(window.PublicKeyCredential && navigator.credentials);

  var add = document.getElementById('ajout-cle');
  if (add) {
    var addState = document.getElementById('etat-ajout');
    add.addEventListener('submit', function (ev) {
      ev.preventDefault();
      if (!supported) { say(addState, add.dataset.unsupported); return; }
      var name = add.querySelector('[name="name"]').value;
      say(addState, add.dataset.working);
      post(add.dataset.options, { csrf: add.dataset.csrf }).then(function (o) {
        var pk = o.publicKey;
        pk.challenge = b64uToBuf(pk.challenge);
        pk.user.id = b64uToBuf(pk.user.id);
        (pk.excludeCredentials || []).forEach(function (c) { c.id = b64uToBuf(c.id); });
        return navigator.credentials.create({ publicKey: pk }).then(function (c) {
          return post(add.dataset.register, {
            csrf: add.dataset.csrf, ceremony: o.ceremony, name: name,
            credential: {
              id: c.id, rawId: bufToB64u(c.rawId), type: c.type, extensions: {},
              response: {
                attestationObject: bufToB64u(c.response.attestationObject),
                clientDataJSON: bufToB64u(c.response.clientDataJSON),
                transports: c.response.getTransports ? c.response.getTransports() : []
              }
            }
          });
        });
      }).then(function () {
        window.location.reload();
      }).catch(function (e) { say(addState, why(add, e)); });
    });
  }

  // A login form: the key alone (#connexion-cle) or after the identifier
  // (#connexion-cle-identifiant, whose options are asked with the identifier typed).
  function loginForm(form, stateId, withIdentifier) {
    if (!form) return;
    var state = document.getElementById(stateId);
    form.addEventListener('submit', function (ev) {
      if (form.elements.credential.value) return;
      ev.preventDefault();
      if (!supported) { say(state, form.dataset.unsupported); return; }
      var body = { csrf: form.elements.csrf.value };
      if (withIdentifier) {
        body.identifier_type = form.elements.identifier_type.value;
        body.identifier = form.elements.identifier.value;
        if (!body.identifier.trim()) {
          say(state, form.dataset.empty);
          form.elements.identifier.focus();
          return;
        }
      }
      say(state, form.dataset.working);
      post(form.dataset.options, body).then(function (o) {
        var pk = o.publicKey;
        pk.challenge = b64uToBuf(pk.challenge);
        (pk.allowCredentials || []).forEach(function (c) { c.id = b64uToBuf(c.id); });
        return navigator.credentials.get({ publicKey: pk }).then(function (c) {
          form.elements.ceremony.value = o.ceremony;
          form.elements.credential.value = JSON.stringify({
            id: c.id, rawId: bufToB64u(c.rawId), type: c.type, extensions: {},
            response: {
              authenticatorData: bufToB64u(c.response.authenticatorData),
              clientDataJSON: bufToB64u(c.response.clientDataJSON),
              signature: bufToB64u(c.response.signature),
              userHandle: c.response.userHandle ? bufToB64u(c.response.userHandle) : null
            }
          });
          form.submit();
        });
      }).catch(function (e) { say(state, why(form, e)); });
    });
  }
  loginForm(document.getElementById('connexion-cle'), 'etat-cle', false);
  loginForm(document.getElementById('connexion-cle-identifiant'), 'etat-cle-identifiant', true);
})();
