/* The receiving form's household picker, made quicker. No framework.
 *
 * Without this script the clerk types a code, name or village and presses Find: the server
 * sends the form back with at most 20 matching households to choose from. With it, the
 * matches come as the clerk types (GET /api/households/search: code and full head name, each
 * shown household logged by the server), and choosing one shows the head's name large
 * (GET /api/households/<id>/head) so the clerk can check it is the person at the counter.
 */
(function () {
  "use strict";

  var picker = document.getElementById("household-picker");
  if (!picker || !window.fetch) {
    return;
  }
  var box = document.getElementById("household_search");
  var select = document.getElementById("household");
  var status = picker.querySelector("[data-picker-status]");
  var picked = picker.querySelector("[data-picked]");
  var pickedName = picker.querySelector("[data-picked-name]");
  var pickedCode = picker.querySelector("[data-picked-code]");
  var timer = null;
  var asked = 0;

  function getJson(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) {
        throw new Error(String(r.status));
      }
      return r.json();
    });
  }

  function label(h) {
    // Staff receiving goods get the full name: two heads masked alike (周*) are told apart.
    return h.code + " · " + (h.head_name || h.head_name_masked) + " · " + h.village;
  }

  // The placeholder and the household already chosen stay; the rest are the new matches.
  function offer(found) {
    var keep = select.value;
    var options = Array.prototype.slice.call(select.options);
    options.forEach(function (option) {
      if (option.value !== "" && option.value !== keep) {
        select.removeChild(option);
      }
    });
    found.forEach(function (h) {
      if (String(h.id) === keep) {
        return;
      }
      var option = document.createElement("option");
      option.value = String(h.id);
      option.textContent = label(h);
      select.appendChild(option);
    });
    status.textContent = found.length ? picker.dataset.found.replace("{n}", found.length) : picker.dataset.none;
    if (!keep && found.length === 1) {
      select.value = String(found[0].id);
      showHead();
    }
  }

  function search() {
    var text = box.value.trim();
    if (!text) {
      return;
    }
    var mine = ++asked;
    getJson(picker.dataset.searchUrl + "?q=" + encodeURIComponent(text))
      .then(function (found) {
        if (mine === asked) {
          offer(found);
        }
      })
      .catch(function () {
        /* The Find button still works. */
      });
  }

  function showHead() {
    var id = select.value;
    if (!id) {
      picked.hidden = true;
      return;
    }
    getJson(picker.dataset.headUrl.replace("/0/", "/" + encodeURIComponent(id) + "/"))
      .then(function (head) {
        if (select.value === String(head.id)) {
          pickedName.textContent = head.head_name;
          pickedCode.textContent = head.code;
          picked.hidden = false;
        }
      })
      .catch(function () {
        picked.hidden = true;
      });
  }

  box.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(search, 250);
  });
  select.addEventListener("change", showHead);
})();
