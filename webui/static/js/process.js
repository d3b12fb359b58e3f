/* The process page's diagram: one version in a bpmn-js NavigatedViewer, with the elements a
   comparison found added or changed marked. Everything comes from data-* attributes. */
(function () {
  "use strict";

  var box = document.querySelector("[data-bpmn-src]");
  if (!box) {
    return;
  }
  var status = box.querySelector(".diagram-status");
  var errorText = box.getAttribute("data-error-text") || "";

  function say(text) {
    status.textContent = text;
    status.hidden = !text;
  }

  function ids(name) {
    return (box.getAttribute(name) || "").split(" ").filter(Boolean);
  }

  if (typeof window.BpmnJS !== "function" || typeof window.fetch !== "function") {
    say(errorText);
    return;
  }
  var viewer = new window.BpmnJS({ container: box.querySelector(".diagram-canvas") });

  fetch(box.getAttribute("data-bpmn-src"), { credentials: "same-origin" }).then(function (response) {
    if (!response.ok) {
      throw new Error("HTTP " + response.status);
    }
    return response.text();
  }).then(function (xml) {
    return viewer.importXML(xml);
  }).then(function () {
    var canvas = viewer.get("canvas");
    var registry = viewer.get("elementRegistry");
    canvas.zoom("fit-viewport", "auto");
    [["data-added", "dd-added"], ["data-changed", "dd-changed"]].forEach(function (pair) {
      ids(pair[0]).forEach(function (id) {
        if (registry.get(id)) {
          canvas.addMarker(id, pair[1]);
        }
      });
    });
    say("");
  }).catch(function () {
    say(errorText);
  });
}());
