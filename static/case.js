// The private case link's copy button. Without script the link stays selectable in its box.
document.addEventListener("DOMContentLoaded", function () {
  var button = document.getElementById("copy-link");
  if (!button) { return; }
  button.addEventListener("click", function () {
    var field = document.getElementById(button.getAttribute("data-target"));
    var done = function () { button.textContent = button.getAttribute("data-done"); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, function () { field.select(); });
    } else {
      field.select();
      try { document.execCommand("copy"); done(); } catch (e) { /* selected: the phone's own copy */ }
    }
  });
});
