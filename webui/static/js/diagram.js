/* The instance page's diagram: bpmn-js NavigatedViewer, one tab per process, markers for
   completed / active / overdue elements. Everything comes from data-* attributes and the
   JSON route they name: no inline script. */
(function () {
  "use strict";

  var box = document.querySelector("[data-diagram-src]");
  if (!box) {
    return;
  }
  var status = box.querySelector(".diagram-status");
  var canvasBox = box.querySelector(".diagram-canvas");
  var tabs = Array.prototype.slice.call(box.querySelectorAll("[data-diagram]"));
  var errorText = box.getAttribute("data-error-text") || "";
  var STATES = ["completed", "active", "overdue"];

  function say(text) {
    status.textContent = text;
    status.hidden = !text;
  }

  if (typeof window.BpmnJS !== "function" || typeof window.fetch !== "function") {
    say(errorText);
    return;
  }

  var viewer = new window.BpmnJS({ container: canvasBox });
  var diagrams = {};
  var shown = null;

  function select(key) {
    tabs.forEach(function (tab) {
      var on = tab.getAttribute("data-diagram") === key;
      tab.classList.toggle("selected", on);
      tab.setAttribute("aria-selected", on ? "true" : "false");
    });
  }

  function mark(diagram) {
    var canvas = viewer.get("canvas");
    var registry = viewer.get("elementRegistry");
    var overlays = viewer.get("overlays");
    STATES.forEach(function (state) {
      (diagram[state] || []).forEach(function (id) {
        if (registry.get(id)) {
          canvas.addMarker(id, "dd-" + state);
        }
      });
    });
    Object.keys(diagram.counts || {}).forEach(function (id) {
      var counts = diagram.counts[id];
      var total = 0;
      STATES.forEach(function (state) { total += counts[state] || 0; });
      if (total < 2 || !registry.get(id)) {
        return;
      }
      // A multi-instance task: how many of its rows are in which state.
      var badge = document.createElement("div");
      badge.className = "dd-count";
      STATES.forEach(function (state) {
        if (counts[state]) {
          var part = document.createElement("span");
          part.className = "dd-count-" + state;
          part.textContent = "×" + counts[state];
          badge.appendChild(part);
        }
      });
      overlays.add(id, "dd-count", { position: { top: -12, right: 12 }, html: badge });
    });
  }

  function show(key) {
    var diagram = diagrams[key];
    if (!diagram || key === shown) {
      return;
    }
    shown = key;
    select(key);
    viewer.importXML(diagram.xml).then(function () {
      if (shown !== key) {
        return;
      }
      viewer.get("canvas").zoom("fit-viewport", "auto");
      mark(diagram);
      say("");
    }).catch(function () {
      say(errorText);
    });
  }

  tabs.forEach(function (tab) {
    tab.addEventListener("click", function () {
      show(tab.getAttribute("data-diagram"));
    });
  });

  fetch(box.getAttribute("data-diagram-src"), {
    credentials: "same-origin",
    headers: { Accept: "application/json" }
  }).then(function (response) {
    if (!response.ok) {
      throw new Error("HTTP " + response.status);
    }
    return response.json();
  }).then(function (data) {
    data.diagrams.forEach(function (diagram) {
      diagrams[diagram.key] = diagram;
    });
    show(data.current);
  }).catch(function () {
    say(errorText);
  });
}());
