/* The rating form's light JavaScript: keyboard shortcuts, draft autosave and active time on task.
   Without it the form still works (plain POST); with it nothing leaves the page but the form itself. */
(function () {
  "use strict";
  var form = document.getElementById("rate-form");
  if (!form) return;
  var closed = form.hasAttribute("data-closed");
  var steps = Array.prototype.slice.call(form.querySelectorAll("[data-step]"));
  var activeInput = form.querySelector('input[name="active_seconds"]');
  var statusEl = form.querySelector("[data-draft-status]");
  var submitButton = document.getElementById("submit-button");
  var shortcuts = document.getElementById("shortcuts");
  var flagPanel = document.getElementById("flag-panel");

  /* ---- Active time: counted only while the tab is visible, focused and used in the last 90 s. ---- */
  var IDLE_MS = 90000;
  var active = parseFloat(form.getAttribute("data-active-seconds")) || 0;
  var lastUse = Date.now();
  var tick = Date.now();
  function used() { lastUse = Date.now(); }
  ["keydown", "pointerdown", "pointermove", "wheel", "scroll", "touchstart", "input"].forEach(function (name) {
    document.addEventListener(name, used, { passive: true, capture: true });
  });
  window.setInterval(function () {
    var now = Date.now();
    var seconds = Math.min((now - tick) / 1000, 2); // a sleeping laptop does not count
    tick = now;
    if (document.visibilityState === "visible" && document.hasFocus() && now - lastUse < IDLE_MS) {
      active += seconds;
    }
    activeInput.value = active.toFixed(1);
  }, 1000);

  /* ---- Draft autosave: shortly after every change, and when the tab is hidden. ---- */
  var timer = null;
  var dirty = false;
  var submitting = false;
  function say(text) { if (statusEl) statusEl.textContent = text; }
  function saveDraft(keepalive) {
    if (closed || submitting || !dirty) return;
    dirty = false;
    activeInput.value = active.toFixed(1);
    fetch(form.getAttribute("data-draft-url"), {
      method: "POST", body: new FormData(form), credentials: "same-origin", keepalive: !!keepalive,
      headers: { "X-Requested-With": "fetch" }
    }).then(function (response) {
      if (!response.ok) throw new Error(String(response.status));
      var time = new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      say("Draft saved at " + time);
      form.setAttribute("data-draft-saved", String(Date.now()));
    }).catch(function () {
      dirty = true;
      say("Draft not saved yet (connection?); retrying.");
      window.clearTimeout(timer);
      timer = window.setTimeout(saveDraft, 5000);
    });
  }
  function changed() {
    if (closed) return;
    dirty = true;
    say("Saving draft\u2026");
    window.clearTimeout(timer);
    timer = window.setTimeout(saveDraft, 500);
  }
  form.addEventListener("change", changed);
  form.addEventListener("input", changed);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") saveDraft(true);
  });
  form.addEventListener("submit", function () {
    submitting = true;
    window.clearTimeout(timer);
    activeInput.value = active.toFixed(1);
    if (submitButton) window.setTimeout(function () { submitButton.disabled = true; }, 0);
  });

  /* ---- "Cannot assess" turns a dimension's choices off; "dangerous" asks for a rationale. ---- */
  function applyCannot(box) {
    var dim = box.getAttribute("data-cannot-assess");
    steps.forEach(function (step) {
      if (step.getAttribute("data-dimension") !== dim) return;
      step.querySelectorAll("input[type=radio]").forEach(function (r) { r.disabled = box.checked; });
    });
  }
  var dangerous = document.getElementById("is_dangerous");
  function applyDangerous() {
    var wrap = form.querySelector("[data-rationale]");
    if (!wrap || !dangerous) return;
    wrap.hidden = !dangerous.checked;
    document.getElementById("dangerous_rationale").required = dangerous.checked;
  }
  form.addEventListener("change", function (ev) {
    if (ev.target.hasAttribute("data-cannot-assess")) applyCannot(ev.target);
    if (ev.target === dangerous) applyDangerous();
  });

  /* ---- Keyboard: number keys answer the current question and move on. ---- */
  function enabled(step) {
    var radio = step.querySelector("input[type=radio]");
    return radio && !radio.disabled;
  }
  function answered(step) { return !!step.querySelector("input[type=radio]:checked"); }
  function currentStep() {
    var el = document.activeElement;
    var step = el && el.closest ? el.closest("[data-step]") : null;
    if (step && steps.indexOf(step) >= 0) return step;
    for (var i = 0; i < steps.length; i++) if (enabled(steps[i]) && !answered(steps[i])) return steps[i];
    return null;
  }
  function after(step) {
    for (var i = steps.indexOf(step) + 1; i < steps.length; i++) if (enabled(steps[i])) return steps[i];
    return null;
  }
  function before(step) {
    for (var i = steps.indexOf(step) - 1; i >= 0; i--) if (enabled(steps[i])) return steps[i];
    return null;
  }
  function focusStep(step) {
    if (!step) { if (submitButton) submitButton.focus(); return; }
    var target = step.querySelector("input[type=radio]:checked") || step.querySelector("input[type=radio]:not(:disabled)");
    if (target) target.focus();
  }
  form.addEventListener("focusin", function (ev) {
    steps.forEach(function (s) { s.classList.toggle("current", s.contains(ev.target)); });
  });

  function submit() {
    if (submitting || closed) return;
    if (form.requestSubmit) form.requestSubmit(submitButton || undefined); else form.submit();
  }

  document.addEventListener("keydown", function (ev) {
    if (ev.defaultPrevented || ev.altKey || ev.metaKey) return;
    var t = ev.target;
    var typing = t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable ||
      (t.tagName === "INPUT" && /^(text|search|email|number|password|url|tel)$/.test(t.type));
    var inFlagPanel = flagPanel && flagPanel.contains(t);
    if (ev.key === "Enter" && (ev.ctrlKey || !typing)) {
      if (inFlagPanel || t.tagName === "BUTTON" || t.tagName === "A" || t.tagName === "SUMMARY") return;
      if (!form.contains(t) && t !== document.body) return;
      ev.preventDefault();
      submit();
      return;
    }
    if (ev.key === "Escape" && typing && form.contains(t)) { t.blur(); focusStep(currentStep() || steps[0]); return; }
    if (typing || ev.ctrlKey || inFlagPanel || closed) return;
    var step = currentStep();
    if (/^[1-9]$/.test(ev.key)) {
      if (!step) return;
      var option = step.querySelector('input[data-key="' + ev.key + '"]:not(:disabled)');
      if (!option) return;
      ev.preventDefault();
      option.checked = true;
      option.dispatchEvent(new Event("change", { bubbles: true }));
      focusStep(after(step));
      return;
    }
    var key = ev.key.length === 1 ? ev.key.toLowerCase() : ev.key;
    if (key === "x" && step) {
      var box = form.querySelector('[data-cannot-assess="' + step.getAttribute("data-dimension") + '"]');
      if (!box) return;
      ev.preventDefault();
      box.checked = !box.checked;
      box.dispatchEvent(new Event("change", { bubbles: true }));
      if (box.checked) {
        var next = step;
        while (next && next.getAttribute("data-dimension") === box.getAttribute("data-cannot-assess")) {
          var i = steps.indexOf(next) + 1;
          next = i < steps.length ? steps[i] : null;
        }
        focusStep(next && enabled(next) ? next : (next ? after(next) : null));
      } else {
        focusStep(step);
      }
    } else if (key === "c") {
      var comment = document.getElementById("comment");
      if (comment) { ev.preventDefault(); comment.focus(); }
    } else if (key === "d" && dangerous) {
      ev.preventDefault();
      dangerous.checked = !dangerous.checked;
      dangerous.dispatchEvent(new Event("change", { bubbles: true }));
      if (dangerous.checked) document.getElementById("dangerous_rationale").focus();
    } else if (key === "r" && document.getElementById("reason")) {
      ev.preventDefault();
      document.getElementById("reason").focus();
    } else if (key === "f" && flagPanel) {
      ev.preventDefault();
      flagPanel.open = true;
      var first = flagPanel.querySelector("input[type=radio]");
      if (first) first.focus();
    } else if (key === "Backspace" && step) {
      ev.preventDefault();
      focusStep(before(step) || step);
    } else if (key === "?" && shortcuts) {
      ev.preventDefault();
      shortcuts.classList.toggle("collapsed");
    }
  });

  var summary = document.getElementById("error-summary");
  if (summary) summary.focus();
})();
