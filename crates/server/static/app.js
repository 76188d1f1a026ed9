// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  // A refused form: the keyboard and the screen reader start at what to fix.
  var summary = document.querySelector(".error-summary[tabindex]");
  if (summary) summary.focus();
  var form = document.getElementById("apply-form");
  if (!form) return;

  var boxes = form.querySelectorAll('input[name="services"]');
  function sync() {
    boxes.forEach(function (box) {
      var sec = document.getElementById("sec-" + box.value);
      if (!sec) return;
      sec.hidden = !box.checked;
      sec.disabled = !box.checked;
    });
  }
  boxes.forEach(function (box) {
    box.addEventListener("change", function () {
      var all = Array.prototype.every.call(boxes, function (b) { return b.checked; });
      var mode = form.querySelector('input[name="mode"][value="' + (all ? "bundle" : "a_la_carte") + '"]');
      if (mode) mode.checked = true;
      sync();
    });
  });
  form.querySelectorAll('input[name="mode"]').forEach(function (radio) {
    radio.addEventListener("change", function () {
      if (radio.value === "bundle" && radio.checked) {
        boxes.forEach(function (b) { b.checked = true; });
        sync();
      }
    });
  });
  sync();

  // One more equipment row on demand.
  var eq = document.getElementById("f-services-gas-equipment");
  if (eq) {
    var add = document.createElement("button");
    add.type = "button";
    add.className = "button";
    add.textContent = "增加一行设备";
    add.addEventListener("click", function () {
      var rows = eq.querySelectorAll(".eq-row");
      var last = rows[rows.length - 1];
      var next = last.cloneNode(true);
      var n = rows.length;
      next.querySelectorAll("input").forEach(function (input) {
        input.name = input.name.replace(/equipment\.\d+\./, "equipment." + n + ".");
        input.id = input.id.replace(/equipment-\d+-/, "equipment-" + n + "-");
        input.value = "";
        input.removeAttribute("aria-invalid");
      });
      next.querySelectorAll("label").forEach(function (label) {
        label.htmlFor = label.htmlFor.replace(/equipment-\d+-/, "equipment-" + n + "-");
      });
      next.querySelectorAll(".error").forEach(function (e) { e.remove(); });
      next.querySelectorAll(".invalid").forEach(function (e) { e.classList.remove("invalid"); });
      last.after(next);
    });
    eq.appendChild(add);
  }

  // A second click while the first submission is on its way does nothing.
  form.addEventListener("submit", function (ev) {
    var btn = ev.submitter;
    if (btn && btn.value === "submit") {
      if (form.dataset.sent) { ev.preventDefault(); return; }
      form.dataset.sent = "1";
    }
  });
})();

// The supervisor's board fetches its live part again every 30 s and swaps
// it in, keeping the filters (they are in the fragment's address). Without
// this script the page shows the figures of its own loading.
(function () {
  "use strict";
  var live = document.getElementById("board-live");
  if (!live || !window.fetch) return;
  var src = live.getAttribute("data-src");
  var every = parseInt(live.getAttribute("data-refresh"), 10) || 30;
  function refresh() {
    if (document.hidden) return;
    fetch(src, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (res) {
        // Only the fragment is swapped in: never, say, a sign-in page.
        if (!res.ok || res.headers.get("X-Board-Fragment") !== "1") throw new Error(String(res.status));
        return res.text();
      })
      .then(function (html) {
        live.innerHTML = html;
        live.removeAttribute("data-stale");
      })
      .catch(function () { live.setAttribute("data-stale", "1"); });
  }
  setInterval(refresh, every * 1000);
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) refresh();
  });
})();

// The receipt's print button (printing is also the browser's own menu).
(function () {
  "use strict";
  document.querySelectorAll("[data-print]").forEach(function (b) {
    b.hidden = false;
    b.addEventListener("click", function () { window.print(); });
  });
})();

// The 15-minute circle: "使用我的位置" fills the hidden coordinates from the
// browser's geolocation (where allowed) and submits; without it, a district.
(function () {
  var button = document.getElementById("use-location");
  var form = document.getElementById("nearby-form");
  if (!button || !form || !navigator.geolocation) return;
  button.hidden = false;
  var state = document.getElementById("location-state");
  button.addEventListener("click", function () {
    state.textContent = "正在获取您的位置……";
    navigator.geolocation.getCurrentPosition(function (p) {
      document.getElementById("f-lat").value = p.coords.latitude.toFixed(5);
      document.getElementById("f-lng").value = p.coords.longitude.toFixed(5);
      document.getElementById("f-district").value = "";
      form.submit();
    }, function (e) {
      state.textContent = (e && e.code === 1 ? "您没有允许使用位置" : "暂时无法获取您的位置") + "，请选择所在区县。";
    }, { timeout: 10000, maximumAge: 60000 });
  });
  document.getElementById("f-district").addEventListener("change", function () {
    document.getElementById("f-lat").value = "";
    document.getElementById("f-lng").value = "";
  });
})();

// A page that waits for something the server is doing (a payment being
// sent to its utility) looks again after a few seconds.
(function () {
  "use strict";
  var el = document.querySelector("[data-refresh]");
  if (!el) return;
  var seconds = parseInt(el.getAttribute("data-refresh"), 10) || 3;
  setTimeout(function () { window.location.reload(); }, seconds * 1000);
})();
