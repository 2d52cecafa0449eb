// Drafts of forms marked data-draft="<key>": every field is kept in the phone's storage as it is
// typed, so a lost connection or a closed tab loses nothing. The draft is put back when the page
// loads, and forgotten once the server has saved the form: its answer carries data-saved="<key>".
(function () {
  "use strict";
  var PREFIX = "draft:";

  function store() {
    try {
      return window.localStorage;
    } catch (e) {
      return null; // storage turned off: the form still works, without drafts
    }
  }

  function kept(field) {
    var type = (field.type || "").toLowerCase();
    return field.name && field.name.slice(-10) !== "csrf_token" &&
      ["hidden", "submit", "button", "file", "password"].indexOf(type) < 0;
  }

  function read(form) {
    var values = {};
    Array.prototype.forEach.call(form.elements, function (field) {
      if (!kept(field)) return;
      var type = (field.type || "").toLowerCase();
      values[field.name] = type === "checkbox" || type === "radio" ? (field.checked ? field.value : null) : field.value;
    });
    return values;
  }

  function write(form, values) {
    Array.prototype.forEach.call(form.elements, function (field) {
      if (!kept(field) || !Object.prototype.hasOwnProperty.call(values, field.name)) return;
      var type = (field.type || "").toLowerCase();
      if (type === "checkbox" || type === "radio") {
        field.checked = values[field.name] === field.value;
      } else if (typeof values[field.name] === "string") {
        field.value = values[field.name];
      }
    });
  }

  function start() {
    var storage = store();
    if (!storage) return;
    Array.prototype.forEach.call(document.querySelectorAll("[data-saved]"), function (marker) {
      storage.removeItem(PREFIX + marker.getAttribute("data-saved"));
    });
    Array.prototype.forEach.call(document.querySelectorAll("form[data-draft]"), function (form) {
      var key = PREFIX + form.getAttribute("data-draft");
      var draft = storage.getItem(key);
      if (draft) {
        try {
          write(form, JSON.parse(draft));
          var box = form.closest("details");
          if (box) box.open = true; // show the officer that something typed is waiting
        } catch (e) {
          storage.removeItem(key);
        }
      }
      var save = function () {
        try {
          storage.setItem(key, JSON.stringify(read(form)));
        } catch (e) {
          // storage full: keep working without the draft
        }
      };
      form.addEventListener("input", save);
      form.addEventListener("change", save);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
