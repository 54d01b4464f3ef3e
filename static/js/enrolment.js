// Show the passport fields only to people who ask for a visa letter. Without
// JavaScript they stay visible, and the server ignores them when unticked.
(function () {
  "use strict";
  var box = document.getElementById("id_needs_visa_letter");
  var fields = document.getElementById("passport-fields");
  if (!box || !fields) return;
  function sync() {
    fields.hidden = !box.checked;
  }
  box.addEventListener("change", sync);
  sync();
})();
