// Small progressive enhancements; every page works without this file.
// Trend cells get a sparkline drawn from their data-points attribute.
(function () {
  "use strict";
  var ns = "http://www.w3.org/2000/svg";
  document.querySelectorAll("td.trend").forEach(function (cell) {
    var pts = (cell.getAttribute("data-points") || "").split(",").filter(function (p) { return p !== "" && p !== "none"; }).map(Number);
    if (pts.length < 2) { return; }
    var w = 80, h = 20, step = w / (pts.length - 1);
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("width", w); svg.setAttribute("height", h); svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", "trend " + pts.join(", "));
    var line = document.createElementNS(ns, "polyline");
    line.setAttribute("fill", "none"); line.setAttribute("stroke", "#0f6cbd"); line.setAttribute("stroke-width", "2");
    line.setAttribute("points", pts.map(function (p, i) { return (i * step) + "," + (h - (p / 100) * h); }).join(" "));
    svg.appendChild(line);
    cell.appendChild(svg);
  });
})();
