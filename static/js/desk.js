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

// The admin's crew search (select2) names its box only by the chosen crew, so with none chosen
// screen readers announce a nameless field: name it by its label too, once select2 has drawn it
// (the admin draws it when jQuery is ready; handlers registered later run after it).
(window.django && window.django.jQuery ? window.django.jQuery : function (fn) { fn(); })(function () {
  "use strict";
  document.querySelectorAll("select.admin-autocomplete").forEach(function (select) {
    var label = document.querySelector('label[for="' + select.id + '"]');
    var box = select.parentNode.querySelector(".select2-selection");
    var shown = select.parentNode.querySelector(".select2-selection__rendered");
    if (!label || !box || !shown) return;
    label.id = label.id || select.id + "_label";
    box.setAttribute("aria-labelledby", label.id + " " + shown.id);
    shown.setAttribute("aria-labelledby", label.id);
  });
});
