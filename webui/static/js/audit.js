/* The auditor's step control: previous / next / slider / number move through the audit
   events; each step fetches the replay at that event (replay.json?seq=N) and redraws the
   diagram's markers, the open tasks, the timers, the data and what the event changed.
   Everything comes from data-* attributes and the JSON routes they name: no inline
   script. Without script the same controls are plain links and a GET form. */
(function () {
  "use strict";

  var box = document.getElementById("step");
  if (!box || typeof window.fetch !== "function") {
    return;
  }
  var STATES = window.DingdanMarkers.STATES;
  var replaySrc = box.getAttribute("data-replay-src");
  var diagramSrc = box.getAttribute("data-diagram-src");
  var last = parseInt(box.getAttribute("data-last"), 10);
  var seq = parseInt(box.getAttribute("data-seq"), 10);
  var errorText = box.getAttribute("data-error-text") || "";
  var noneText = box.getAttribute("data-none-text") || "—";
  var slider = box.querySelector(".slider");
  var number = box.querySelector(".seq-number");
  var status = box.querySelector(".diagram-status");
  var canvasBox = box.querySelector(".diagram-canvas");
  var tabs = Array.prototype.slice.call(box.querySelectorAll("[data-diagram]"));
  var changes = box.querySelector("[data-field=changes]");

  var viewer = typeof window.BpmnJS === "function" ? new window.BpmnJS({ container: canvasBox }) : null;
  var xml = {};       // diagram key -> BPMN XML
  var shown = null;   // the diagram key on the canvas
  var marked = [];    // [element id, marker] on the canvas
  var step = null;    // the replay shown
  var asked = 0;      // the latest request, so a slow answer never overwrites a newer one
  var following = true; // the diagram follows the step's stage until a tab is chosen by hand

  function field(name) {
    return box.querySelector("[data-field=" + name + "]");
  }

  function say(text) {
    if (status) {
      status.textContent = text;
      status.hidden = !text;
    }
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined && text !== null) {
      node.textContent = text;
    }
    return node;
  }

  function clear(node) {
    while (node.firstChild) {
      node.removeChild(node.firstChild);
    }
  }

  // -- the diagram ------------------------------------------------------------------------

  function statesOf(key) {
    var found = null;
    (step ? step.diagrams : []).forEach(function (diagram) {
      if (diagram.key === key) {
        found = diagram;
      }
    });
    return found || { completed: [], active: [], overdue: [], counts: {} };
  }

  function unmark() {
    var canvas = viewer.get("canvas");
    marked.forEach(function (pair) {
      canvas.removeMarker(pair[0], pair[1]);
    });
    marked = [];
    viewer.get("overlays").remove({ type: "dd-count" });
  }

  function mark() {
    if (!viewer || !shown || !step) {
      return;
    }
    unmark();
    marked = window.DingdanMarkers.mark(viewer, statesOf(shown));
  }

  function show(key) {
    if (!viewer || !xml[key]) {
      return;
    }
    if (key === shown) {
      mark();
      return;
    }
    shown = key;
    marked = [];
    tabs.forEach(function (tab) {
      var on = tab.getAttribute("data-diagram") === key;
      tab.classList.toggle("selected", on);
      tab.setAttribute("aria-selected", on ? "true" : "false");
    });
    viewer.importXML(xml[key]).then(function () {
      if (shown !== key) {
        return;
      }
      viewer.get("canvas").zoom("fit-viewport", "auto");
      mark();
      say("");
    }).catch(function () {
      say(errorText);
    });
  }

  function tabStates() {
    tabs.forEach(function (tab) {
      var diagram = statesOf(tab.getAttribute("data-diagram"));
      var state = diagram.overdue.length ? "overdue" : diagram.active.length ? "active" :
        diagram.completed.length ? "completed" : null;
      STATES.forEach(function (s) { tab.classList.toggle("state-" + s, s === state); });
    });
  }

  // -- the panel --------------------------------------------------------------------------

  function render() {
    var d = step.display;
    field("seq").textContent = step.seq;
    field("at").textContent = d.at;
    field("actor").textContent = d.actor;
    field("type").textContent = d.type;
    field("text").textContent = d.text;
    field("detail").textContent = d.detail || "";
    field("status").textContent = d.status;
    field("stage").textContent = d.stage;
    field("incomplete").hidden = step.complete;
    field("data").textContent = d.data;

    var tasks = field("tasks");
    clear(tasks);
    step.open_tasks.forEach(function (task) {
      var row = el("tr", task.overdue ? "overdue" : "");
      [task.display_name, task.subject || "—", task.display_role, task.display_due || "—",
        task.assignee || "—"].forEach(function (text) {
        row.appendChild(el("td", "", text));
      });
      tasks.appendChild(row);
    });
    if (!step.open_tasks.length) {
      var empty = el("tr");
      var cell = el("td", "muted", noneText);
      cell.colSpan = 5;
      empty.appendChild(cell);
      tasks.appendChild(empty);
    }

    var timers = field("timers");
    clear(timers);
    step.timers.forEach(function (timer) {
      timers.appendChild(el("li", "", (timer.display_name || timer.name || timer.element) + " · " + timer.display_due));
    });
    if (!step.timers.length) {
      timers.appendChild(el("li", "muted", noneText));
    }

    clear(changes);
    var c = step.changed;
    function line(kind, text) {
      var item = el("li");
      item.appendChild(el("span", "kind", changes.getAttribute("data-" + kind) || kind));
      item.appendChild(document.createTextNode(" " + text));
      changes.appendChild(item);
      return item;
    }
    function taskText(task) {
      return (task.display_name || task.name) + (task.subject ? " · " + task.subject : "");
    }
    Object.keys(c.data).forEach(function (key) {
      var item = line("data", "");
      item.appendChild(el("code", "", key));
      var diff = el("div", "diff");
      diff.appendChild(el("pre", "before", JSON.stringify(c.data[key].before, null, 2)));
      diff.appendChild(el("span", "arrow", "→"));
      diff.appendChild(el("pre", "after", JSON.stringify(c.data[key].after, null, 2)));
      item.appendChild(diff);
    });
    c.tasks_opened.forEach(function (t) { line("opened", taskText(t)); });
    c.tasks_closed.forEach(function (t) { line("closed", taskText(t)); });
    c.timers_started.forEach(function (t) { line("started", t.display_name || t.element); });
    c.timers_stopped.forEach(function (t) { line("stopped", t.display_name || t.element); });
    d.moves.forEach(function (move) {
      var item = el("li");
      item.appendChild(el("span", "kind", move.kind));
      item.appendChild(document.createTextNode(" " + move.text));
      changes.appendChild(item);
    });
    if (!changes.firstChild) {
      changes.appendChild(el("li", "muted", noneText));
    }

    Array.prototype.forEach.call(document.querySelectorAll(".audit-timeline li[data-seq]"),
      function (item) {
        item.classList.toggle("current", parseInt(item.getAttribute("data-seq"), 10) === step.seq);
      });
    tabStates();
    var here = following ? stepDiagram() : null;
    if (here && here !== shown) {
      show(here);
    } else {
      mark();
    }
  }

  // The diagram the step happened in: the last tab (the called stages come after the main
  // process) with an open or overdue element, else the last with a completed one.
  function stepDiagram() {
    var found = null;
    ["active", "completed"].forEach(function (state) {
      if (found) {
        return;
      }
      tabs.forEach(function (tab) {
        var key = tab.getAttribute("data-diagram");
        var diagram = statesOf(key);
        if ((diagram[state] || []).length || (state === "active" && diagram.overdue.length)) {
          found = key;
        }
      });
    });
    return found;
  }

  function go(target, keepSlider) {
    target = Math.max(1, Math.min(last, target));
    seq = target;
    if (slider && !keepSlider) {
      slider.value = target;
    }
    if (number) {
      number.value = target;
    }
    var ticket = ++asked;
    window.DingdanMarkers.getJson(replaySrc + "?seq=" + target).then(function (data) {
      if (ticket !== asked) {
        return;
      }
      step = data;
      render();
      if (window.history && window.history.replaceState) {
        var url = new URL(window.location.href);
        url.searchParams.set("seq", String(target));
        url.hash = "step";
        window.history.replaceState(null, "", url.toString());
      }
    }).catch(function () {
      if (ticket === asked) {
        say(errorText);
      }
    });
  }

  // -- wiring -----------------------------------------------------------------------------

  Array.prototype.forEach.call(box.querySelectorAll("[data-step]"), function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      go(seq + parseInt(link.getAttribute("data-step"), 10));
    });
  });
  var pending = null;
  if (slider) {
    slider.addEventListener("input", function () {
      if (pending) {
        window.clearTimeout(pending);
      }
      var target = parseInt(slider.value, 10);
      pending = window.setTimeout(function () { go(target, true); }, 120);
    });
  }
  var form = box.querySelector("form.stepper");
  if (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      go(parseInt(number.value, 10) || seq);
    });
  }
  document.addEventListener("keydown", function (event) {
    var tag = (event.target && event.target.tagName) || "";
    if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA") {
      return;
    }
    if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
      event.preventDefault();
      go(seq + (event.key === "ArrowLeft" ? -1 : 1));
    }
  });
  Array.prototype.forEach.call(document.querySelectorAll("[data-goto]"), function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      go(parseInt(link.getAttribute("data-goto"), 10));
      box.scrollIntoView({ behavior: "smooth", block: "start" });
    });
  });
  tabs.forEach(function (tab) {
    tab.addEventListener("click", function () {
      following = false;
      show(tab.getAttribute("data-diagram"));
    });
  });

  if (!viewer) {
    say(errorText);
    go(seq);
    return;
  }
  window.DingdanMarkers.getJson(diagramSrc).then(function (data) {
    data.diagrams.forEach(function (diagram) {
      xml[diagram.key] = diagram.xml;
    });
    var first = tabs.filter(function (tab) { return tab.classList.contains("selected"); })[0];
    show(first ? first.getAttribute("data-diagram") : data.current);
    go(seq);
  }).catch(function () {
    say(errorText);
  });
}());
