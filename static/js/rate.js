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
  form.addEventListener("submit", function (ev) {
    if (!closed && !checkComplete()) { ev.preventDefault(); return; }
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

  /* ---- Shortcuts on or off (kept in this browser); off hides the key hints and aria-keyshortcuts too. ---- */
  var STORE_KEY = "persona-lab.rating-shortcuts";
  var shortcutsOn = true;
  try { shortcutsOn = window.localStorage.getItem(STORE_KEY) !== "off"; } catch (e) { /* storage blocked */ }
  var toggle = document.getElementById("shortcuts-toggle");
  function applyShortcuts() {
    document.documentElement.setAttribute("data-shortcuts", shortcutsOn ? "on" : "off");
    if (toggle) toggle.checked = shortcutsOn;
    document.querySelectorAll("[aria-keyshortcuts], [data-keyshortcuts]").forEach(function (el) {
      if (shortcutsOn && el.hasAttribute("data-keyshortcuts")) {
        el.setAttribute("aria-keyshortcuts", el.getAttribute("data-keyshortcuts"));
        el.removeAttribute("data-keyshortcuts");
      } else if (!shortcutsOn && el.hasAttribute("aria-keyshortcuts") && el !== submitButton) {
        el.setAttribute("data-keyshortcuts", el.getAttribute("aria-keyshortcuts"));
        el.removeAttribute("aria-keyshortcuts");
      }
    });
  }
  if (toggle) {
    var switchWrap = toggle.closest("[data-shortcuts-switch]");
    if (switchWrap) switchWrap.hidden = false;
    toggle.addEventListener("change", function () {
      shortcutsOn = toggle.checked;
      try { window.localStorage.setItem(STORE_KEY, shortcutsOn ? "on" : "off"); } catch (e) { /* storage blocked */ }
      applyShortcuts();
    });
  }
  applyShortcuts();

  /* ---- Keyboard. Single keys act only while the focus is in the rating form (or nowhere in particular),
     never from a link, button or text box elsewhere on the page, and only while shortcuts are on. ---- */
  function inScope(t) {
    return form.contains(t) || t === document.body || t === document.documentElement;
  }
  document.addEventListener("keydown", function (ev) {
    if (ev.defaultPrevented || ev.altKey || ev.metaKey) return;
    var t = ev.target;
    var typing = t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable ||
      (t.tagName === "INPUT" && /^(text|search|email|number|password|url|tel)$/.test(t.type));
    if (ev.key === "Enter" && (ev.ctrlKey || !typing)) {
      if (t.tagName === "BUTTON" || t.tagName === "A" || t.tagName === "SUMMARY") return;
      if (!inScope(t)) return;
      ev.preventDefault();
      submit();
      return;
    }
    if (ev.key === "Escape" && typing && form.contains(t)) { t.blur(); focusStep(currentStep() || steps[0]); return; }
    if (!shortcutsOn || typing || ev.ctrlKey || closed || !inScope(t)) return;
    if (t.tagName === "A") return; // the error summary's links; the submit button is part of the form
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
      // Only goes to the flag: ticking it (Space) is the clinician's own, deliberate act.
      ev.preventDefault();
      dangerous.focus();
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

  /* ---- Error summary: every missing answer, each a link to its question. ---- */
  var summary = document.getElementById("error-summary");
  function stepError(step, text) {
    var id = step.id.replace(/^q-/, "") + "-error"; // the id the server gives the same message
    var p = document.getElementById(id);
    if (!text) {
      if (p) p.remove();
      step.removeAttribute("aria-invalid");
      step.removeAttribute("aria-describedby");
      return;
    }
    if (!p) {
      p = document.createElement("p");
      p.className = "field-error";
      p.id = id;
      step.insertBefore(p, step.querySelector("legend").nextSibling);
    }
    p.textContent = text;
    step.setAttribute("aria-invalid", "true");
    step.setAttribute("aria-describedby", id);
  }
  function checkComplete() {
    var missing = [];
    steps.forEach(function (step) {
      if (enabled(step) && !answered(step)) {
        var canSkip = form.querySelector('[data-cannot-assess="' + step.getAttribute("data-dimension") + '"]');
        var text = step.classList.contains("step-confidence") ? "Say how confident you are."
          : "Choose an answer" + (canSkip ? ', or "cannot assess".' : ".");
        stepError(step, text);
        missing.push({ href: "#" + step.id, text: step.getAttribute("data-legend") + ": " + text });
      } else {
        stepError(step, "");
      }
    });
    var rationale = document.getElementById("dangerous_rationale");
    if (dangerous && dangerous.checked && rationale && !rationale.value.trim()) {
      missing.push({ href: "#dangerous_rationale", text: "Why is it dangerous? Say why this output is dangerous." });
    }
    if (!missing.length) return true;
    if (!summary) {
      summary = document.createElement("div");
      summary.className = "error-summary";
      summary.id = "error-summary";
      summary.tabIndex = -1;
      summary.setAttribute("aria-labelledby", "error-summary-title");
      var anchor = form.querySelector("[data-step]");
      anchor.parentNode.insertBefore(summary, anchor);
    }
    summary.textContent = "";
    var title = document.createElement("h3");
    title.className = "error-summary-title";
    title.id = "error-summary-title";
    title.textContent = missing.length === 1 ? "1 answer is missing:" : missing.length + " answers are missing:";
    var list = document.createElement("ul");
    list.className = "error-summary-list";
    missing.forEach(function (m) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = m.href;
      a.setAttribute("data-error-link", "");
      a.textContent = m.text;
      li.appendChild(a);
      list.appendChild(li);
    });
    summary.appendChild(title);
    summary.appendChild(list);
    summary.focus();
    return false;
  }
  // An error link goes to its question's first choice (or the text box), not only to the fieldset's top.
  form.addEventListener("click", function (ev) {
    var link = ev.target.closest ? ev.target.closest("a[data-error-link]") : null;
    if (!link) return;
    var target = document.getElementById(link.getAttribute("href").slice(1));
    if (!target) return;
    ev.preventDefault();
    if (target.hasAttribute("data-step")) {
      var input = target.querySelector("input:not(:disabled)");
      if (input) input.focus(); else target.scrollIntoView();
    } else {
      if (target.closest("[hidden]")) target.closest("[hidden]").hidden = false;
      target.focus();
    }
  });
  form.addEventListener("change", function (ev) {
    var step = ev.target.closest ? ev.target.closest("[data-step]") : null;
    if (step && answered(step)) stepError(step, "");
  });

  if (summary) summary.focus();
})();
