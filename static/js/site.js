// Behaviour shared by every page. The Content-Security-Policy allows no inline
// scripts or event handlers, so pages get their JavaScript from static files.
(function () {
  "use strict";
  // The language switcher submits as soon as a language is chosen; without
  // JavaScript its <noscript> button does.
  var language = document.getElementById("language-select");
  if (language) {
    language.addEventListener("change", function () {
      language.form.submit();
    });
  }
})();
