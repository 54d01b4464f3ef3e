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

  // A read-only field holding a link to copy (the crew's calendar feed) selects
  // its whole text when focused, so copying by hand is one step too.
  document.querySelectorAll("[data-select-on-focus]").forEach(function (field) {
    field.addEventListener("focus", function () {
      field.select();
    });
  });

  // Copy buttons: hidden until this script runs, since they need it. The
  // result is announced through a role="status" region for screen readers.
  document.querySelectorAll("[data-copy-from]").forEach(function (button) {
    var field = document.getElementById(button.dataset.copyFrom);
    var status = document.getElementById(button.dataset.copyStatus);
    if (!field || !status) {
      return;
    }
    var label = button.textContent;
    var timer = null;
    function announce(message, copied) {
      // Emptied first, so saying the same thing twice is announced twice.
      status.textContent = "";
      window.setTimeout(function () {
        status.textContent = message;
      }, 50);
      if (copied) {
        button.textContent = message;
        window.clearTimeout(timer);
        timer = window.setTimeout(function () {
          button.textContent = label;
        }, 2000);
      }
    }
    function fallback() {
      field.focus();
      field.select();
      var copied = false;
      try {
        copied = document.execCommand("copy");
      } catch (error) {
        copied = false;
      }
      if (copied) {
        announce(button.dataset.copied, true);
      } else {
        announce(button.dataset.copyFailed, false);
      }
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(function () {
          announce(button.dataset.copied, true);
        }, fallback);
      } else {
        fallback();
      }
    });
  });
})();
