// The login page's tabs (WAI-ARIA Authoring Practices, "Tabs with automatic activation"):
// without this script each tab is a link that reloads the page on its panel; with it,
// one tab stop for the tab list, arrow keys / Home / End move between tabs, a click or a
// key shows the panel in place and the address keeps ?tab= (back, reload, bookmarks).
(function () {
  var list = document.querySelector('[data-onglets] [role="tablist"]');
  if (!list) return;
  var tabs = Array.prototype.slice.call(list.querySelectorAll('[role="tab"]'));
  if (!tabs.length) return;

  function panelOf(tab) {
    return document.getElementById(tab.getAttribute('aria-controls'));
  }

  function select(tab, focus) {
    tabs.forEach(function (t) {
      var on = t === tab;
      t.setAttribute('aria-selected', on ? 'true' : 'false');
      t.tabIndex = on ? 0 : -1;
      if (t.parentNode) t.parentNode.classList.toggle('actif', on);
      var p = panelOf(t);
      if (p) p.hidden = !on;
    });
    if (focus) tab.focus();
    try {
      var u = new URL(tab.href, window.location.href);
      window.history.replaceState(null, '', u.pathname + u.search);
    } catch (e) { /* an old browser keeps the address */ }
  }

  tabs.forEach(function (tab, i) {
    tab.tabIndex = tab.getAttribute('aria-selected') === 'true' ? 0 : -1;
    tab.addEventListener('click', function (ev) {
      ev.preventDefault();
      select(tab, true);
    });
    tab.addEventListener('keydown', function (ev) {
      var next = null;
      switch (ev.key) {
        case 'ArrowRight': case 'Right': next = tabs[(i + 1) % tabs.length]; break;
        case 'ArrowLeft': case 'Left': next = tabs[(i - 1 + tabs.length) % tabs.length]; break;
        case 'Home': next = tabs[0]; break;
        case 'End': next = tabs[tabs.length - 1]; break;
        case ' ': case 'Spacebar': next = tab; break;
        default: return;
      }
      ev.preventDefault();
      select(next, true);
    });
  });
})();
