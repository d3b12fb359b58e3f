/* Marks a bpmn-js diagram as an instance stood: a dd-completed / dd-active / dd-overdue
   marker on each element named in `diagram`, and a ×n badge on a multi-instance task with
   two rows or more. Shared by the instance page (diagram.js) and the auditor's step
   control (audit.js). Returns the [element id, marker] pairs it added, to take off again.
   Also `getJson(url)`: the page's own JSON (its session's cookie), failing on an HTTP
   error, as both pages read their diagrams and steps. */
(function () {
  "use strict";

  var STATES = ["completed", "active", "overdue"];

  function badgeFor(counts) {
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
    return badge;
  }

  function mark(viewer, diagram) {
    var canvas = viewer.get("canvas");
    var registry = viewer.get("elementRegistry");
    var overlays = viewer.get("overlays");
    var added = [];
    STATES.forEach(function (state) {
      (diagram[state] || []).forEach(function (id) {
        if (registry.get(id)) {
          canvas.addMarker(id, "dd-" + state);
          added.push([id, "dd-" + state]);
        }
      });
    });
    Object.keys(diagram.counts || {}).forEach(function (id) {
      var counts = diagram.counts[id];
      var total = 0;
      STATES.forEach(function (state) { total += counts[state] || 0; });
      if (total >= 2 && registry.get(id)) {
        overlays.add(id, "dd-count", { position: { top: -12, right: 12 }, html: badgeFor(counts) });
      }
    });
    return added;
  }

  function getJson(url) {
    return fetch(url, {
      credentials: "same-origin",
      headers: { Accept: "application/json" }
    }).then(function (response) {
      if (!response.ok) {
        throw new Error("HTTP " + response.status);
      }
      return response.json();
    });
  }

  window.DingdanMarkers = { STATES: STATES, mark: mark, getJson: getJson };
})();
