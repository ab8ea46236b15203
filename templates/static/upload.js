/* The case page's upload form (templates/pages/application.html): a file dropped on the
   drop zone becomes the form's chosen file (the file picker works without this). A file,
   not inline: the Content-Security-Policy runs no inline script. */
(function () {
  var zone = document.getElementById("dropzone");
  var input = document.getElementById("upload-file");
  if (!zone || !input) { return; }
  ["dragenter", "dragover"].forEach(function (name) {
    zone.addEventListener(name, function (ev) { ev.preventDefault(); zone.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (name) {
    zone.addEventListener(name, function () { zone.classList.remove("over"); });
  });
  zone.addEventListener("drop", function (ev) {
    ev.preventDefault();
    if (ev.dataTransfer && ev.dataTransfer.files.length === 1) {
      input.files = ev.dataTransfer.files;
      var shown = zone.querySelector("p");
      if (shown) { shown.textContent = "Valgt: " + input.files[0].name; }
    }
  });
})();
