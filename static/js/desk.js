// The booking desk's page: show the new crew's fields only when a new crew is chosen, and
// the crew search only when an existing one is. Without JavaScript both stay visible, and
// the server uses only the one chosen.
(function () {
  "use strict";
  var form = document.getElementById("desk-form");
  var existing = document.getElementById("desk-existing-crew");
  var fresh = document.getElementById("desk-new-crew");
  if (!form || !existing || !fresh) return;
  function sync() {
    var chosen = form.querySelector('input[name="crew_choice"]:checked');
    var isNew = chosen && chosen.value === "new";
    fresh.hidden = !isNew;
    existing.hidden = isNew;
  }
  form.querySelectorAll('input[name="crew_choice"]').forEach(function (radio) {
    radio.addEventListener("change", sync);
  });
  sync();
})();
