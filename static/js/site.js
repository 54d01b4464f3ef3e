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

// The set calendar: a first and then a last free day open the booking form with
// them. Without JavaScript every free day is a link that does the same in two
// page loads (the server checks the range); with it, the first tap is marked
// here and the second goes straight to the form when every day between is
// free and shown. Months load with htmx, which replaces #calendar, so the
// handler listens on the document and the first day chosen is kept here.
(function () {
  "use strict";
  var chosen = null; // {set: slug, day: "yyyy-mm-dd"}

  function calendarOf(element) {
    return element.closest ? element.closest("#calendar[data-book-url]") : null;
  }

  function say(calendar, text, kind) {
    var status = calendar.querySelector("#calendar-status");
    if (!status) {
      return;
    }
    var message = document.createElement("p");
    message.className = "alert py-2 mb-2 alert-" + kind;
    message.textContent = text;
    status.textContent = "";
    status.appendChild(message);
  }

  function mark(calendar) {
    calendar.querySelectorAll("td.cal-selected").forEach(function (cell) {
      cell.classList.remove("cal-selected");
    });
    if (chosen && chosen.set === calendar.dataset.set) {
      var cell = calendar.querySelector('td[data-date="' + chosen.day + '"]');
      if (cell) {
        cell.classList.add("cal-selected");
      }
    }
  }

  // Every day from first to last (ISO strings), if all of them are in this grid and free.
  function allFree(calendar, first, last) {
    var day = new Date(first + "T00:00:00Z");
    var end = new Date(last + "T00:00:00Z");
    while (day <= end) {
      var cell = calendar.querySelector('td[data-date="' + day.toISOString().slice(0, 10) + '"]');
      if (!cell) {
        return null; // not shown: let the server check
      }
      if (cell.dataset.state !== "free") {
        return false;
      }
      day.setUTCDate(day.getUTCDate() + 1);
    }
    return true;
  }

  function choose(calendar, link) {
    var set = calendar.dataset.set;
    var day = link.dataset.date;
    if (!chosen || chosen.set !== set || day < chosen.day) {
      chosen = { set: set, day: day };
      mark(calendar);
      say(calendar, calendar.dataset.firstChosen.replace("{date}", link.dataset.label), "info");
      return true;
    }
    var free = allFree(calendar, chosen.day, day);
    if (free === false) {
      say(calendar, calendar.dataset.busy, "warning");
      return true;
    }
    var query = "?set=" + encodeURIComponent(set) + "&start=" + chosen.day + "&end=" + day;
    if (free === null) {
      // The range runs across months: this page checks it and offers the form.
      query = "?month=" + day.slice(0, 7) + "&start=" + chosen.day + "&end=" + day;
      window.location.assign(window.location.pathname + query);
    } else {
      window.location.assign(calendar.dataset.bookUrl + query);
    }
    return true;
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a.cal-pick") : null;
    var calendar = link && calendarOf(link);
    if (calendar && choose(calendar, link)) {
      event.preventDefault();
    }
  });

  // A first day picked without JavaScript's help (or before a month change) stays marked.
  function restore() {
    var calendar = document.querySelector("#calendar[data-book-url]");
    if (!calendar) {
      return;
    }
    if (calendar.dataset.first) {
      chosen = { set: calendar.dataset.set, day: calendar.dataset.first };
    }
    if (chosen) {
      mark(calendar);
    }
  }
  restore(); // scripts are deferred: the page is parsed by now
  document.addEventListener("htmx:afterSettle", restore);
})();
