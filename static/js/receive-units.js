/* The receiving form's unit follows its product: 斤 or grams for goods by weight, pieces for jars.
 *
 * Each product option says its unit (data-unit="g" or "piece"). Without this script the server
 * offers the chosen product's units when the form comes back (after Find, or a refusal) and
 * refuses a quantity in a unit the product is not counted in.
 */
(function () {
  "use strict";

  var product = document.getElementById("product");
  var unit = document.getElementById("unit");
  if (!product || !unit) {
    return;
  }
  // Every unit the page knows, in its order, whatever the server offered first.
  var all = Array.prototype.map.call(unit.options, function (o) {
    return { value: o.value, text: o.textContent };
  });
  var known = { jin: "Jin", g: "Gram", piece: "Piece" };
  ["jin", "g", "piece"].forEach(function (value) {
    var label = unit.dataset["label" + known[value]];
    if (label && !all.some(function (u) { return u.value === value; })) {
      all.push({ value: value, text: label });
    }
  });

  function fits(productUnit, value) {
    if (productUnit === "g") {
      return value === "jin" || value === "g";
    }
    if (productUnit === "piece") {
      return value === "piece";
    }
    return true;
  }

  function follow() {
    var option = product.options[product.selectedIndex];
    var productUnit = option ? option.getAttribute("data-unit") : null;
    var kept = unit.value;
    var offered = all.filter(function (u) { return fits(productUnit, u.value); });
    unit.textContent = "";
    offered.forEach(function (u) {
      var o = document.createElement("option");
      o.value = u.value;
      o.textContent = u.text;
      unit.appendChild(o);
    });
    var stays = offered.some(function (u) { return u.value === kept; });
    unit.value = stays ? kept : offered[0].value;
  }

  product.addEventListener("change", follow);
  follow();
})();
