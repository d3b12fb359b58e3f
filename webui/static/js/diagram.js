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
    window.DingdanMarkers.mark(viewer, diagram);
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

  window.DingdanMarkers.getJson(box.getAttribute("data-diagram-src")).then(function (data) {
    data.diagrams.forEach(function (diagram) {
      diagrams[diagram.key] = diagram;
    });
    show(data.current);
  }).catch(function () {
    say(errorText);
  });
}());
