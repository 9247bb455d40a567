// The private case link's copy button. Without script the link stays selectable in its box.
document.addEventListener("DOMContentLoaded", function () {
  var button = document.getElementById("copy-link");
  if (!button) { return; }
  button.addEventListener("click", function () {
    var field = document.getElementById(button.getAttribute("data-target"));
    var done = function () { button.textContent = button.getAttribute("data-done"); };
    var fallback = function () {
      field.focus();
      field.select();
      try { if (document.execCommand("copy")) { done(); } } catch (e) { /* selected: the phone's own copy */ }
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, fallback);
    } else {
      fallback();
    }
  });
});
