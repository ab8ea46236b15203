/* The dashboard's "Opret sag" form (templates/pages/dashboard.html): only the chosen
   kind's fields; the others are hidden and not sent (the server takes only the chosen
   kind's fields anyway, with or without this). A file, not inline: the
   Content-Security-Policy runs no inline script. */
(function () {
  var kind = document.getElementById("kind");
  function show() {
    document.querySelectorAll("#new-case [data-kinds]").forEach(function (el) {
      var on = el.getAttribute("data-kinds").split(" ").indexOf(kind.value) >= 0;
      el.hidden = !on;
      if (el.matches("fieldset")) { el.disabled = !on; }
      el.querySelectorAll("input, select, textarea").forEach(function (x) { x.disabled = !on; });
    });
  }
  kind.addEventListener("change", show);
  show();
})();
