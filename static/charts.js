// Download buttons for the dashboards' inline SVG charts (templates/dashboards/_charts.html):
// the SVG as drawn, and a PNG drawn through a canvas at twice the size. Without script the
// charts still show; only the buttons are missing. The image is loaded from a data: URL, the
// one image source the Content-Security-Policy allows besides the site itself.
(function () {
  "use strict";

  function save(blob, filename) {
    var link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = filename;
    document.body.appendChild(link);
    link.click();
    setTimeout(function () { URL.revokeObjectURL(link.href); link.remove(); }, 1000);
  }

  function svgText(svg) {
    var copy = svg.cloneNode(true);
    var box = svg.viewBox.baseVal;
    copy.setAttribute("xmlns", "http://www.w3.org/2000/svg");
    copy.setAttribute("width", box.width);
    copy.setAttribute("height", box.height);
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + new XMLSerializer().serializeToString(copy);
  }

  function savePng(svg, filename) {
    var box = svg.viewBox.baseVal;
    var scale = 2;
    var image = new Image();
    image.onload = function () {
      var canvas = document.createElement("canvas");
      canvas.width = box.width * scale;
      canvas.height = box.height * scale;
      var context = canvas.getContext("2d");
      context.fillStyle = "#fff";
      context.fillRect(0, 0, canvas.width, canvas.height);
      context.drawImage(image, 0, 0, canvas.width, canvas.height);
      canvas.toBlob(function (blob) { save(blob, filename); }, "image/png");
    };
    image.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(svgText(svg));
  }

  function button(label, action) {
    var b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    b.addEventListener("click", action);
    return b;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var figures = document.querySelectorAll("figure.chart-figure");
    Array.prototype.forEach.call(figures, function (figure) {
      var svg = figure.querySelector("svg");
      if (!svg) { return; }
      var name = figure.getAttribute("data-name") || "bieu-do";
      var bar = document.createElement("p");
      bar.className = "chart-downloads";
      bar.appendChild(button(figure.getAttribute("data-svg"), function () {
        save(new Blob([svgText(svg)], { type: "image/svg+xml" }), name + ".svg");
      }));
      bar.appendChild(button(figure.getAttribute("data-png"), function () { savePng(svg, name + ".png"); }));
      figure.appendChild(bar);
    });
  });
}());
