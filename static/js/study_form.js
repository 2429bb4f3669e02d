/* The study page: add, remove and reorder the rating schema's rows and levels, keep the preview of the
   clinician's form up to date, and "select all" for personas. The page works without this file: the rows
   are plain fields, blank ones are skipped, and a checkbox removes a row. */
(function () {
  "use strict";

  var form = document.querySelector("form.study-form");
  if (!form) return;
  var rowsBox = form.querySelector("[data-schema-rows]");
  var preview = form.querySelector("[data-schema-preview]");
  var status = document.createElement("div");
  status.className = "visually-hidden";
  status.setAttribute("role", "status");
  status.setAttribute("aria-live", "polite");
  form.appendChild(status);

  function say(text) {
    status.textContent = "";
    window.setTimeout(function () { status.textContent = text; }, 50);
  }

  function each(root, selector, fn) {
    Array.prototype.forEach.call(root.querySelectorAll(selector), fn);
  }

  each(form, "[data-js-only]", function (el) { el.hidden = false; });
  each(form, "[data-no-js-only]", function (el) { el.hidden = true; });

  /* ---- personas: select all / clear */
  each(form, "[data-select-all-for]", function (box) {
    var name = box.getAttribute("data-select-all-for");
    box.addEventListener("click", function (ev) {
      var button = ev.target.closest("button[data-select]");
      if (!button) return;
      var on = button.getAttribute("data-select") === "all";
      var count = 0;
      each(form, 'input[type="checkbox"][name="' + name + '"]', function (input) {
        if (!input.disabled) { input.checked = on; count += 1; }
      });
      say(on ? count + " personas selected" : "No persona selected");
    });
  });

  if (!rowsBox) return;

  /* ---- rows and levels */
  var ATTRS = ["name", "id", "for", "aria-describedby"];

  function rename(root, pattern, replacement) {
    each(root, "*", function (el) {
      ATTRS.forEach(function (attr) {
        var value = el.getAttribute(attr);
        if (value) el.setAttribute(attr, value.replace(pattern, replacement));
      });
    });
  }

  function renumber() {
    each(rowsBox, "[data-dimension-row]", function (row, i) {
      rename(row, /dim-(\d+|__D__)-/g, "dim-" + i + "-");
      if (row.getAttribute("aria-describedby")) {
        row.setAttribute("aria-describedby", row.getAttribute("aria-describedby").replace(/dim-(\d+|__D__)-/, "dim-" + i + "-"));
      }
      var number = row.querySelector("[data-row-number]");
      if (number) number.textContent = String(i + 1);
      each(row, "[data-level-row]", function (level, j) {
        rename(level, /level-(\d+|__L__)-/g, "level-" + j + "-");
        level.setAttribute("aria-label", "Level " + (j + 1));
        var n = level.querySelector("[data-level-number]");
        if (n) n.textContent = String(j + 1);
      });
    });
  }

  function fromTemplate(id) {
    var template = document.getElementById(id);
    if (!template) return null;
    var holder = document.createElement("div");
    holder.appendChild(template.content.cloneNode(true));
    var el = holder.firstElementChild;
    each(el, "[data-js-only]", function (x) { x.hidden = false; });
    each(el, "[data-no-js-only]", function (x) { x.hidden = true; });
    return el;
  }

  function move(el, direction, selector) {
    var sibling = direction === "up" ? el.previousElementSibling : el.nextElementSibling;
    while (sibling && !sibling.matches(selector)) {
      sibling = direction === "up" ? sibling.previousElementSibling : sibling.nextElementSibling;
    }
    if (!sibling) return false;
    if (direction === "up") sibling.parentNode.insertBefore(el, sibling);
    else sibling.parentNode.insertBefore(sibling, el);
    return true;
  }

  function rowLabel(row) {
    var input = row.querySelector('input[name$="-label"]');
    return (input && input.value.trim()) || "dimension";
  }

  form.addEventListener("click", function (ev) {
    var button = ev.target.closest("button");
    if (!button || !form.contains(button)) return;
    var row = button.closest("[data-dimension-row]");
    var level = button.closest("[data-level-row]");
    var focusAfter = null;
    if (button.hasAttribute("data-add-dimension")) {
      var added = fromTemplate("dimension-row-template");
      if (!added) return;
      rowsBox.appendChild(added);
      focusAfter = added.querySelector('input[type="text"]');
      say("Dimension added");
    } else if (button.hasAttribute("data-remove-dimension") && row) {
      var name = rowLabel(row);
      var next = row.nextElementSibling || row.previousElementSibling;
      row.parentNode.removeChild(row);
      focusAfter = next ? next.querySelector("legend, input") : form.querySelector("[data-add-dimension]");
      say("Removed " + name);
    } else if (button.hasAttribute("data-move") && row) {
      if (move(row, button.getAttribute("data-move"), "[data-dimension-row]")) {
        focusAfter = button;
        say(rowLabel(row) + " moved " + button.getAttribute("data-move"));
      }
    } else if (button.hasAttribute("data-add-level") && row) {
      var newLevel = fromTemplate("level-row-template");
      if (!newLevel) return;
      row.querySelector("[data-levels]").appendChild(newLevel);
      focusAfter = newLevel.querySelector("input");
      say("Level added");
    } else if (button.hasAttribute("data-remove-level") && level) {
      var after = level.nextElementSibling || level.previousElementSibling;
      var addButton = level.closest("fieldset").querySelector("[data-add-level]");
      level.parentNode.removeChild(level);
      focusAfter = after ? after.querySelector("input") : addButton;
      say("Level removed");
    } else if (button.hasAttribute("data-move-level") && level) {
      if (move(level, button.getAttribute("data-move-level"), "[data-level-row]")) {
        focusAfter = button;
        say("Level moved " + button.getAttribute("data-move-level"));
      }
    } else {
      return;
    }
    ev.preventDefault();
    renumber();
    drawPreview();
    if (focusAfter) {
      if (focusAfter.tagName === "LEGEND") focusAfter.setAttribute("tabindex", "-1");
      focusAfter.focus();
    }
  });

  /* ---- preview of the clinician's form */
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function field(root, suffix) {
    return root.querySelector('[name$="-' + suffix + '"]');
  }

  function previewRow(row, n, confidenceText) {
    var label = field(row, "label").value.trim();
    var levels = [];
    each(row, "[data-level-row]", function (level) {
      var text = field(level, "label").value.trim() || field(level, "value").value.trim();
      if (text) levels.push({ label: text, definition: field(level, "definition").value.trim() });
    });
    if (!label && !levels.length) return null;
    var box = el("fieldset", "step preview-step");
    box.disabled = true;
    box.appendChild(el("legend", "", label || "(no label)"));
    levels.forEach(function (level) {
      var option = el("label", "option");
      var radio = document.createElement("input");
      radio.type = "radio";
      radio.name = "preview-" + n;
      option.appendChild(radio);
      option.appendChild(document.createTextNode(" "));
      option.appendChild(el("span", "", level.label));
      box.appendChild(option);
      if (level.definition) box.appendChild(el("p", "muted option-definition", level.definition));
    });
    var cannot = field(row, "cannot_assess");
    if (cannot && cannot.checked) {
      var c = el("label", "cannot");
      var check = document.createElement("input");
      check.type = "checkbox";
      c.appendChild(check);
      c.appendChild(document.createTextNode(" "));
      c.appendChild(el("span", "", "Cannot assess / outside my expertise"));
      box.appendChild(c);
    }
    var confidence = field(row, "confidence");
    if (confidence && confidence.checked) box.appendChild(el("p", "muted", "Then: your confidence (" + confidenceText + ")"));
    return box;
  }

  function drawPreview() {
    if (!preview) return;
    var levelsInput = form.querySelector('[name="schema-confidence_levels"]');
    var confidenceText = levelsInput ? levelsInput.value.trim() : "";
    var comment = form.querySelector('[name="schema-comment"]');
    var fragment = document.createDocumentFragment();
    each(rowsBox, "[data-dimension-row]", function (row, i) {
      var drawn = previewRow(row, i + 1, confidenceText);
      if (drawn) fragment.appendChild(drawn);
    });
    if (comment && comment.checked) fragment.appendChild(el("p", "muted", "Then: an optional comment box."));
    preview.textContent = "";
    preview.appendChild(fragment);
  }

  form.addEventListener("input", function (ev) {
    if (ev.target.closest && ev.target.closest(".schema-editor")) drawPreview();
  });
  form.addEventListener("change", function (ev) {
    if (ev.target.closest && ev.target.closest(".schema-editor")) drawPreview();
  });
})();
