/* Garant: the little that needs a script; every page works without it.
   - the "Menu" button of narrow screens shows or hides the main menu (without scripts the
     button stays hidden and the menu is shown);
   - a form sent back with errors: its error summary takes the focus, so that a keyboard or
     screen reader user starts from the list of what to correct (the summary also carries
     `autofocus`, for browsers that honour it without this script). */
(function () {
  "use strict";
  var header = document.querySelector("header.top");
  var button = header && header.querySelector(".menu-toggle");
  var nav = document.getElementById("main-nav");
  if (button && nav) {
    var setClosed = function (closed) {
      header.classList.toggle("menu-closed", closed);
      button.setAttribute("aria-expanded", closed ? "false" : "true");
    };
    button.hidden = false;
    setClosed(true);
    button.addEventListener("click", function () {
      setClosed(button.getAttribute("aria-expanded") === "true");
    });
  }
  var summary = document.querySelector(".error-summary");
  if (summary && (document.activeElement === null || document.activeElement === document.body)) {
    summary.focus();
  }
})();
