// The control room's program switch (live / audio only / standby slate) and stream alerts, polled.
(function () {
  "use strict";
  // The page's JavaScript catalogue (base.html) translates; English when it is missing.
  var gettext = window.gettext || function (text) { return text; };
  var box = document.getElementById("stream-alerts");
  var group = document.getElementById("program-switch");
  if (!box || !group) return;
  var errorNode = document.getElementById("program-error");
  var csrf = (document.cookie.match(/(?:^|; )csrftoken=([^;]+)/) || [])[1] || "";

  function showProgram(mode) {
    group.setAttribute("data-program", mode);
    Array.prototype.forEach.call(group.querySelectorAll("button[data-mode]"), function (b) {
      var on = b.getAttribute("data-mode") === mode;
      b.setAttribute("aria-pressed", on ? "true" : "false");
      b.classList.toggle("secondary", !on);
    });
  }

  function showAlerts(alerts) {
    var list = document.getElementById("alert-list");
    while (list.firstChild) list.removeChild(list.firstChild);
    (alerts || []).forEach(function (a) {
      var li = document.createElement("li");
      li.className = "row alert-" + a.kind;
      li.setAttribute("data-kind", a.kind);
      var strong = document.createElement("strong");
      strong.textContent = a.label;
      var detail = document.createElement("span");
      detail.className = "muted";
      detail.textContent = " " + (a.detail || "");
      li.appendChild(strong);
      li.appendChild(detail);
      list.appendChild(li);
    });
    box.hidden = !(alerts && alerts.length);
  }

  group.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-mode]");
    if (!button || button.disabled) return;
    var body = new URLSearchParams({ mode: button.getAttribute("data-mode") });
    fetch(box.getAttribute("data-program-url"), {
      method: "POST", credentials: "same-origin", body: body,
      headers: { "X-CSRFToken": decodeURIComponent(csrf) }
    }).then(function (r) { return r.json().then(function (data) { return { ok: r.ok, data: data }; }); })
      .then(function (res) {
        errorNode.hidden = res.ok;
        if (res.ok) showProgram(res.data.program);
        else errorNode.textContent = res.data.detail || gettext("Could not switch.");
      })
      .catch(function () { errorNode.hidden = false; errorNode.textContent = gettext("No connection: try again."); });
  });

  function poll() {
    fetch(box.getAttribute("data-status-url"), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) { if (s) { showAlerts(s.alerts); if (s.program) showProgram(s.program); } })
      .catch(function () {});
  }
  setInterval(poll, 5000);
})();
