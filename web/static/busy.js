/* Một Cửa — a form marked data-busy="…" says so while it is being sent (signing takes a few
   seconds): its submit button shows that text, cannot be pressed twice, and a status line
   tells screen readers. Without JavaScript the form works the same, without the notice. */
(function () {
  "use strict";

  function reset(form) {
    form.removeAttribute("aria-busy");
    var button = form.querySelector("button[type=submit]");
    if (button && button.dataset.label) {
      button.textContent = button.dataset.label;
      button.removeAttribute("aria-disabled");
      button.classList.remove("button--busy");
    }
    var status = form.querySelector("[data-busy-status]");
    if (status) { status.textContent = ""; }
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.busy) { return; }
    if (form.getAttribute("aria-busy") === "true") { event.preventDefault(); return; }
    form.setAttribute("aria-busy", "true");
    var button = form.querySelector("button[type=submit]");
    if (button) {
      button.dataset.label = button.textContent;
      button.textContent = form.dataset.busy;
      button.setAttribute("aria-disabled", "true");
      button.classList.add("button--busy");
    }
    var status = form.querySelector("[data-busy-status]");
    if (status) { status.textContent = form.dataset.busy; }
  });

  // A page brought back by the browser's back button is not busy any more.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-busy]").forEach(reset);
  });
}());
