// Small touches on top of htmx: a live character count, the price of the request, the
// seconds a running job has taken, a picture dropped on the page read for its recipe,
// previews fetched early, and copy buttons. The page works without any of it.
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

  // A copy button copies the text of the element its data-copy names (a new token).
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-copy]");
    var source = button && document.getElementById(button.dataset.copy);
    if (!source || !navigator.clipboard) return;
    navigator.clipboard.writeText(source.textContent.trim()).then(function () {
      button.textContent = "Copied";
    });
  });

  // A picture dropped anywhere on the studio page is read for its recipe.
  document.addEventListener("dragover", function (event) {
    if (document.getElementById("recipe-form")) event.preventDefault();
  });
  document.addEventListener("drop", function (event) {
    var form = document.getElementById("recipe-form");
    var files = event.dataTransfer && event.dataTransfer.files;
    if (!form || !files || !files.length) return;
    event.preventDefault();
    document.getElementById("recipe_file").files = files;
    form.requestSubmit();
  });

  // The previews an answer names in its Link header are fetched as soon as its headers arrive,
  // while htmx still reads and swaps in the cards that show them.
  var preloading = new Set();
  document.addEventListener("htmx:beforeSend", function (event) {
    var xhr = event.detail.xhr;
    xhr.addEventListener("readystatechange", function preload() {
      if (xhr.readyState < 2) return;
      xhr.removeEventListener("readystatechange", preload);
      (xhr.getResponseHeader("Link") || "").split(",").forEach(function (link) {
        var url = /^\s*<([^>]+)>.*rel=preload/.exec(link);
        if (!url) return;
        var img = new Image();
        preloading.add(img);
        img.onload = img.onerror = function () { preloading.delete(img); };
        img.src = url[1];
      });
    });
  });

  // A running job's card counts its seconds between the server's updates.
  var shownAt = new WeakMap();
  setInterval(function () {
    document.querySelectorAll(".job[data-state=running] .elapsed").forEach(function (span) {
      if (!shownAt.has(span)) shownAt.set(span, Date.now() - Number(span.dataset.elapsed) * 1000);
      span.textContent = Math.floor((Date.now() - shownAt.get(span)) / 1000) + " s";
    });
  }, 500);

  // A copy button copies the text of the element it names: a share link, an API command.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-copy]");
    var source = button && document.querySelector(button.dataset.copy);
    if (!source || !navigator.clipboard) return;
    navigator.clipboard.writeText(source.textContent).then(function () {
      button.textContent = "Copied";
    });
  });
})();
