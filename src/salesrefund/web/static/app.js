// The back office page's only script: the live preview of the refund form. The form works
// without it (the server checks everything again when it is sent); with it, every change asks
// the engine's own preview (POST .../preview, the same rules as POST /v1/refunds/preview) and
// shows the figures, or each error next to its field, before anything is written.
"use strict";
(function () {
  const form = document.getElementById("refund-form");
  if (!form) return;
  const panel = document.getElementById("preview");
  const figures = document.getElementById("preview-figures");
  const empty = document.getElementById("preview-empty");
  let timer = null, seq = 0;

  function clearErrors() {
    form.querySelectorAll(".field-error").forEach(function (el) { el.hidden = true; el.textContent = ""; el.removeAttribute("role"); });
    form.querySelectorAll("[aria-invalid]").forEach(function (el) { el.removeAttribute("aria-invalid"); });
    const general = document.getElementById("preview-general");
    if (general) general.remove();
  }

  function showErrors(errors, general) {
    Object.keys(errors).forEach(function (name) {
      const slot = document.getElementById(name + "-error");
      const input = document.getElementById(name);
      if (slot) { slot.textContent = errors[name]; slot.hidden = false; }
      if (input) input.setAttribute("aria-invalid", "true");
    });
    if (general && general.length) {
      const p = document.createElement("p");
      p.id = "preview-general"; p.className = "error"; p.textContent = general.join(" ");
      panel.appendChild(p);
    }
  }

  function hasInput() {
    return Array.prototype.some.call(form.querySelectorAll("input[name^='qty-'], input[name^='amt-'], #free_amount"),
      function (el) { return el.value.trim() !== ""; });
  }

  function refresh() {
    const mine = ++seq;
    if (!hasInput()) { clearErrors(); figures.hidden = true; empty.hidden = false; return; }
    panel.classList.add("stale");
    fetch(form.dataset.preview, {
      method: "POST", body: new URLSearchParams(new FormData(form)), credentials: "same-origin",
      headers: { "X-CSRF-Token": form.dataset.csrf, "Accept": "application/json" }
    }).then(function (r) { return r.json(); }).then(function (answer) {
      if (mine !== seq) return;
      panel.classList.remove("stale");
      clearErrors();
      if (!answer.ok) { figures.hidden = true; empty.hidden = true; showErrors(answer.errors || {}, answer.general); return; }
      const p = answer.preview;
      ["net", "tax", "rounding", "total"].forEach(function (k) {
        figures.querySelector("[data-k='" + k + "']").textContent = p[k] + " " + p.currency;
      });
      figures.querySelector("[data-k='payments']").textContent =
        p.payments.map(function (x) { return x.method + " " + x.amount; }).join(", ");
      figures.hidden = false; empty.hidden = true;
    }).catch(function () { panel.classList.remove("stale"); });
  }

  form.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(refresh, 250); });
  form.addEventListener("change", function () { clearTimeout(timer); timer = setTimeout(refresh, 100); });
  if (hasInput()) refresh();
})();
