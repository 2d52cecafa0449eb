/* Ask before a form that takes money or gives it back is sent. No framework.
 *
 * A form with data-confirm="…" asks that question (written by the server, with the amounts)
 * when it is submitted, and is sent only on OK. Without this script the form is sent at once;
 * the pages that must never act on one tap without it ask on the server instead.
 */
(function () {
  "use strict";

  document.addEventListener(
    "submit",
    function (event) {
      var form = event.target;
      var question = form && form.getAttribute && form.getAttribute("data-confirm");
      if (question && !window.confirm(question)) {
        event.preventDefault();
      }
    },
    true
  );
})();
