// The mask painter of the edit page: paint over the picture with mouse, pen or touch (pointer
// events). Painted means "change this". Every stroke is written into the form's mask file
// input as a black-and-white PNG of the picture's own pixel size (white: change), so the form
// sends it like an uploaded mask. Without JavaScript the file input is all there is. For
// Outpaint, the sides to add are previewed around the picture instead.
(function () {
  "use strict";

  var MAX_UNDO = 20;
  var painter = document.getElementById("painter");
  if (!painter) return;
  var width = Number(painter.dataset.width);
  var height = Number(painter.dataset.height);
  var canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  canvas.className = "mask-layer";
  canvas.setAttribute("aria-label", "Mask: paint the area to change");
  painter.appendChild(canvas);
  var ink = canvas.getContext("2d");
  var undo = [];
  var last = null;
  var painted = false;

  function brush() {
    var size = document.getElementById("brush-size");
    return size ? Number(size.value) : 40;
  }

  function erasing() {
    var erase = document.getElementById("brush-erase");
    return erase && erase.checked;
  }

  // Pointer positions are in CSS pixels of the shown picture; the mask is in its own pixels.
  function at(event) {
    var box = canvas.getBoundingClientRect();
    return {
      x: ((event.clientX - box.left) * width) / box.width,
      y: ((event.clientY - box.top) * height) / box.height,
      scale: width / box.width,
    };
  }

  function stroke(from, to) {
    ink.globalCompositeOperation = erasing() ? "destination-out" : "source-over";
    ink.strokeStyle = "rgba(255, 40, 90, 1)";
    ink.lineCap = "round";
    ink.lineJoin = "round";
    ink.lineWidth = brush() * to.scale;
    ink.beginPath();
    ink.moveTo(from.x, from.y);
    ink.lineTo(to.x, to.y);
    ink.stroke();
  }

  function remember() {
    undo.push(ink.getImageData(0, 0, width, height));
    if (undo.length > MAX_UNDO) undo.shift();
  }

  canvas.addEventListener("pointerdown", function (event) {
    if (!document.getElementById("mask")) return;
    event.preventDefault();
    canvas.setPointerCapture(event.pointerId);
    remember();
    last = at(event);
    stroke(last, last);
  });
  canvas.addEventListener("pointermove", function (event) {
    if (!last) return;
    var next = at(event);
    stroke(last, next);
    last = next;
  });
  function end() {
    if (!last) return;
    last = null;
    write();
  }
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);

  var actions = {
    undo: function () {
      var previous = undo.pop();
      if (previous) ink.putImageData(previous, 0, 0);
    },
    clear: function () {
      remember();
      ink.clearRect(0, 0, width, height);
    },
    // What was painted is kept, and what was not is painted.
    invert: function () {
      remember();
      ink.globalCompositeOperation = "xor";
      ink.fillStyle = "rgba(255, 40, 90, 1)";
      ink.fillRect(0, 0, width, height);
    },
  };
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-mask-action]");
    if (!button) return;
    actions[button.dataset.maskAction]();
    write();
  });

  // The mask as Stability reads it: opaque black, white wherever paint is.
  function maskPng(done) {
    var white = document.createElement("canvas");
    white.width = width;
    white.height = height;
    var w = white.getContext("2d");
    w.drawImage(canvas, 0, 0);
    w.globalCompositeOperation = "source-in";
    w.fillStyle = "#fff";
    w.fillRect(0, 0, width, height);
    var out = document.createElement("canvas");
    out.width = width;
    out.height = height;
    var o = out.getContext("2d");
    o.fillStyle = "#000";
    o.fillRect(0, 0, width, height);
    o.drawImage(white, 0, 0);
    out.toBlob(done, "image/png");
  }

  function anyPaint() {
    var pixels = ink.getImageData(0, 0, width, height).data;
    for (var i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) return true;
    return false;
  }

  // Written after every change, and again into a form htmx has just swapped in. An empty
  // painting leaves the input alone, so a mask file chosen by hand still counts.
  function write() {
    var input = document.getElementById("mask");
    if (!input) return;
    var had = painted;
    painted = anyPaint();
    if (!painted) {
      if (had) input.value = "";
      return;
    }
    maskPng(function (blob) {
      var files = new DataTransfer();
      files.items.add(new File([blob], "mask.png", { type: "image/png" }));
      input.files = files.files;
      input.dispatchEvent(new Event("change", { bubbles: true }));
    });
  }

  // Outpaint's sides are previewed as the canvas they make: the picture inside a frame grown by
  // the pixels asked for, to scale.
  function previewSides() {
    var shown = painter.querySelector("img").getBoundingClientRect().width / width;
    ["left", "right", "up", "down"].forEach(function (side) {
      var input = document.getElementById(side);
      var pixels = input ? Math.max(0, Number(input.value) || 0) : 0;
      var edge = { left: "Left", right: "Right", up: "Top", down: "Bottom" }[side];
      painter.style["padding" + edge] = pixels * shown + "px";
    });
    painter.classList.toggle("extending", !!document.getElementById("left"));
  }
  document.addEventListener("input", function (event) {
    if (["left", "right", "up", "down"].indexOf(event.target.id) >= 0) previewSides();
  });

  // The brush shows only where the chosen operation takes a mask.
  function showTools() {
    previewSides();
    var takesMask = !!document.getElementById("mask");
    painter.classList.toggle("painting", takesMask);
    document.querySelectorAll(".mask-tools").forEach(function (tools) {
      tools.hidden = false;
    });
    if (takesMask && painted) write();
  }
  document.addEventListener("htmx:afterSwap", showTools);
  showTools();
})();
