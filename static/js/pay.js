/* The pay page: Stripe's Payment Element, mounted and confirmed. No framework.
 *
 * The server hands over the publishable key, the PaymentIntent's client secret,
 * the order page to come back to and the messages in the page's language, in the
 * JSON block #pay-data. On success Stripe leaves this page for return_url, where
 * the server checks the payment with Stripe itself; this script never decides
 * that an order is paid.
 */
(function () {
  "use strict";

  var data = JSON.parse(document.getElementById("pay-data").textContent);
  var form = document.getElementById("pay-form");
  var button = document.getElementById("pay-submit");
  var message = document.getElementById("pay-message");

  function show(text) {
    message.textContent = text || "";
    message.hidden = !text;
  }

  // Stripe.js comes from js.stripe.com, which a network may block.
  if (typeof window.Stripe !== "function") {
    show(data.messages.unavailable);
    return;
  }

  var stripe = window.Stripe(data.publishableKey, { locale: data.locale });
  var elements = stripe.elements({
    clientSecret: data.clientSecret,
    locale: data.locale,
    appearance: { theme: "stripe", variables: { colorPrimary: "#0f6d74", borderRadius: "10px" } },
  });
  var payment = elements.create("payment");
  payment.on("ready", function () {
    button.disabled = false;
  });
  payment.on("loaderror", function () {
    show(data.messages.unavailable);
  });
  payment.mount("#payment-element");

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    button.disabled = true;
    show("");
    stripe
      .confirmPayment({ elements: elements, confirmParams: { return_url: data.returnUrl } })
      .then(function (result) {
        // Reached only when the payment could not start: success leaves for return_url.
        var error = result.error || {};
        var own = error.type === "card_error" || error.type === "validation_error";
        show(own && error.message ? error.message : data.messages.failed);
        button.disabled = false;
      })
      .catch(function () {
        show(data.messages.failed);
        button.disabled = false;
      });
  });
})();
