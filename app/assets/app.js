// Small touches on top of htmx: a live character count, the price of the request, and the
// seconds spent waiting. The page works without any of it.
(function () {
  "use strict";

  function updateCount(textarea) {
    var hint = document.getElementById("prompt-count");
    if (!hint) return;
    var used = Array.from(textarea.value).length;
    var limit = Number(textarea.dataset.limit);
    hint.querySelector(".count").textContent = used;
    hint.classList.toggle("over", used > limit);
  }

  function updatePrice(select) {
    var price = document.getElementById("price");
    if (price) price.textContent = "$" + (Number(select.dataset.price) * Number(select.value)).toFixed(3);
  }

  document.addEventListener("input", function (event) {
    if (event.target.id === "prompt") updateCount(event.target);
  });
  document.addEventListener("change", function (event) {
    if (event.target.id === "count") updatePrice(event.target);
    if (event.target.id === "seed") {
      var fixed = document.querySelector('input[name="seed_mode"][value="fixed"]');
      if (fixed) fixed.checked = true;
    }
  });

  var timer = null;
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (event.target.id !== "generate-form") return;
    var started = Date.now();
    var elapsed = document.getElementById("elapsed");
    if (elapsed) elapsed.textContent = "0";
    timer = setInterval(function () {
      if (elapsed) elapsed.textContent = Math.floor((Date.now() - started) / 1000);
    }, 250);
  });
  document.addEventListener("htmx:afterRequest", function () {
    clearInterval(timer);
  });
})();
