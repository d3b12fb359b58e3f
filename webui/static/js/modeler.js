/* The modeler page: a bpmn-js Modeler on the process's latest version (or its draft), a
   small properties panel of our own for what the engine reads, and the buttons that save a
   draft, check and deploy. Settings and texts come from data-* attributes: no inline script.

   Why a panel of our own: bpmn-js-properties-panel ships as ES modules that need a bundler;
   this page needs only a handful of fields, each written through bpmn-js's `modeling`
   commands so that undo and redo cover them. */
(function () {
  "use strict";

  var SPIFF_URI = "http://spiffworkflow.org/bpmn/schema/1.0/core";
  // The spiffworkflow extension elements the engine reads (docs/DESIGN.md), described for
  // bpmn-js's moddle so that they can be read and written, not only carried along.
  var SPIFF = {
    name: "SpiffWorkflow",
    prefix: "spiffworkflow",
    uri: SPIFF_URI,
    xml: { tagAlias: "lowerCase" },
    associations: [],
    types: [
      {
        name: "Properties",
        superClass: ["Element"],
        properties: [{ name: "values", type: "Property", isMany: true }]
      },
      {
        name: "Property",
        superClass: ["Element"],
        properties: [
          { name: "name", type: "String", isAttr: true },
          { name: "value", type: "String", isAttr: true }
        ]
      },
      {
        name: "PreScript",
        superClass: ["Element"],
        properties: [{ name: "value", type: "String", isBody: true }]
      },
      {
        name: "PostScript",
        superClass: ["Element"],
        properties: [{ name: "value", type: "String", isBody: true }]
      }
    ]
  };
  var FORM = "formJsonSchemaFilename";
  var TIMER_KINDS = ["timeDuration", "timeDate", "timeCycle"];

  var root = document.getElementById("modeler");
  if (!root) {
    return;
  }
  var statusLine = root.querySelector(".modeler-status");
  var origin = root.querySelector(".modeler-origin");
  var panel = root.querySelector(".panel-fields");
  var panelEmpty = root.querySelector(".panel-empty");
  var checkList = root.querySelector(".check-list");

  function text(name, values) {
    var template = root.getAttribute("data-text-" + name) || "";
    return template.replace(/\{(\w+)\}/g, function (all, key) {
      return values && key in values ? String(values[key]) : all;
    });
  }

  function say(message, kind) {
    statusLine.textContent = message;
    statusLine.className = "modeler-status" + (kind ? " " + kind : "");
  }

  if (typeof window.BpmnJS !== "function" || typeof window.fetch !== "function") {
    say(text("load-failed"), "error");
    return;
  }

  var modeler = new window.BpmnJS({
    container: root.querySelector(".modeler-canvas"),
    moddleExtensions: { spiffworkflow: SPIFF }
  });
  var modeling = modeler.get("modeling");
  var moddle = modeler.get("moddle");
  var registry = modeler.get("elementRegistry");
  var canvas = modeler.get("canvas");
  var overlays = modeler.get("overlays");
  var selected = null;
  var busy = false;

  // -- talking to the server ---------------------------------------------------------

  function request(url, body) {
    var options = {
      credentials: "same-origin",
      headers: { Accept: "application/json" }
    };
    if (body !== undefined) {
      options.method = "POST";
      options.headers["Content-Type"] = "application/json";
      options.headers["X-CSRFToken"] = root.getAttribute("data-csrf");
      options.body = JSON.stringify(body);
    }
    return fetch(url, options).then(function (response) {
      return response.json().catch(function () {
        return {};
      }).then(function (data) {
        return { status: response.status, ok: response.ok, data: data };
      });
    });
  }

  function failure(answer) {
    var error = (answer.data && answer.data.error) || {};
    return text("failed", { message: error.message || "HTTP " + answer.status });
  }

  function xml() {
    return modeler.saveXML({ format: true }).then(function (result) {
      return result.xml;
    });
  }

  function load() {
    return request(root.getAttribute("data-source")).then(function (answer) {
      if (!answer.ok) {
        throw new Error(failure(answer));
      }
      var source = answer.data;
      return modeler.importXML(source.xml).then(function () {
        canvas.zoom("fit-viewport", "auto");
        showOrigin(source);
        showErrors([]);
        var none = document.createElement("li");
        none.className = "muted";
        none.textContent = text("unchecked");
        checkList.appendChild(none);
        root.setAttribute("data-version", source.version);
        root.classList.add("ready");
      });
    }).catch(function () {
      say(text("load-failed"), "error");
    });
  }

  function showOrigin(source) {
    var parts = [text("based-on", { version: source.version })];
    if (source.draft) {
      parts.push(text("draft", { who: source.draft.saved_by, when: source.draft.saved_at }));
    }
    origin.textContent = parts.join(" · ");
  }

  function act(name, run) {
    if (busy) {
      return;
    }
    busy = true;
    root.setAttribute("aria-busy", "true");
    run().catch(function (error) {
      say(String(error.message || error), "error");
    }).then(function () {
      busy = false;
      root.removeAttribute("aria-busy");
    });
  }

  var actions = {
    save: function () {
      return xml().then(function (diagram) {
        return request(root.getAttribute("data-draft"), { xml: diagram });
      }).then(function (answer) {
        if (!answer.ok) {
          throw new Error(failure(answer));
        }
        showOrigin({ version: root.getAttribute("data-version"), draft: answer.data.draft });
        say(text("saved"), "ok");
      });
    },
    check: function () {
      return xml().then(function (diagram) {
        return request(root.getAttribute("data-check"), { xml: diagram });
      }).then(function (answer) {
        if (!answer.ok) {
          throw new Error(failure(answer));
        }
        showErrors(answer.data.details);
        say(answer.data.valid ? text("valid") : text("invalid", { n: answer.data.details.length }),
          answer.data.valid ? "ok" : "error");
      });
    },
    deploy: function () {
      return xml().then(function (diagram) {
        return request(root.getAttribute("data-deploy"), { xml: diagram });
      }).then(function (answer) {
        if (answer.status === 422) {
          var details = (answer.data.error && answer.data.error.details) || [];
          showErrors(details);
          say(text("invalid", { n: details.length }), "error");
          return null;
        }
        if (!answer.ok) {
          throw new Error(failure(answer));
        }
        var done = answer.data;
        return load().then(function () {
          say(text(done.created ? "deployed" : "unchanged", { version: done.version }), "ok");
        });
      });
    },
    discard: function () {
      if (!window.confirm(text("confirm-discard"))) {
        return Promise.resolve();
      }
      return request(root.getAttribute("data-discard"), {}).then(function (answer) {
        if (!answer.ok) {
          throw new Error(failure(answer));
        }
        return load().then(function () {
          say(text("discarded"), "ok");
        });
      });
    }
  };

  Array.prototype.forEach.call(root.querySelectorAll("[data-action]"), function (button) {
    button.addEventListener("click", function () {
      var name = button.getAttribute("data-action");
      act(name, actions[name]);
    });
  });

  // -- check results on the diagram ---------------------------------------------------

  var marked = [];

  function showErrors(details) {
    marked.forEach(function (id) {
      if (registry.get(id)) {
        canvas.removeMarker(id, "dd-error");
      }
    });
    marked = [];
    overlays.remove({ type: "dd-error" });
    checkList.innerHTML = "";
    details.forEach(function (detail) {
      var item = document.createElement("li");
      var shape = detail.element ? registry.get(detail.element) : null;
      if (detail.element) {
        var code = document.createElement("code");
        code.textContent = detail.element;
        item.appendChild(code);
        item.appendChild(document.createTextNode(" "));
      }
      item.appendChild(document.createTextNode(detail.message));
      if (detail.file && !shape) {
        item.appendChild(document.createTextNode(" (" + detail.file + ")"));
      }
      if (shape) {
        item.className = "on-diagram";
        item.tabIndex = 0;
        item.addEventListener("click", function () {
          modeler.get("selection").select(shape);
          canvas.scrollToElement(shape);
        });
        if (marked.indexOf(detail.element) < 0) {
          marked.push(detail.element);
          canvas.addMarker(detail.element, "dd-error");
          var badge = document.createElement("div");
          badge.className = "dd-error-badge";
          badge.textContent = "!";
          badge.title = detail.message;
          overlays.add(detail.element, "dd-error", { position: { top: -10, left: -10 }, html: badge });
        } else {
          var existing = overlays.get({ element: detail.element, type: "dd-error" })[0];
          if (existing) {
            existing.html.title += "\n" + detail.message;
          }
        }
      }
      checkList.appendChild(item);
    });
  }

  // -- the properties panel -----------------------------------------------------------

  function field(name) {
    return panel.querySelector("[name='" + name + "']");
  }

  function part(name) {
    return panel.querySelector("[data-for='" + name + "']");
  }

  function is(element, type) {
    var bo = element && element.businessObject;
    return Boolean(bo && bo.$instanceOf && bo.$instanceOf(type));
  }

  function spiffProperties(bo, create, element) {
    var extension = bo.extensionElements;
    if (!extension) {
      if (!create) {
        return null;
      }
      extension = moddle.create("bpmn:ExtensionElements", { values: [] });
      modeling.updateModdleProperties(element, bo, { extensionElements: extension });
    }
    var values = extension.get("values");
    var found = values.filter(function (value) {
      return value.$instanceOf && value.$instanceOf("spiffworkflow:Properties");
    })[0];
    if (!found && create) {
      found = moddle.create("spiffworkflow:Properties", { values: [] });
      modeling.updateModdleProperties(element, extension, { values: values.concat([found]) });
    }
    return found || null;
  }

  function spiffProperty(element, name) {
    var properties = spiffProperties(element.businessObject, false);
    var found = properties && properties.get("values").filter(function (p) {
      return p.name === name;
    })[0];
    return found ? found.value || "" : "";
  }

  function setSpiffProperty(element, name, value) {
    var properties = spiffProperties(element.businessObject, Boolean(value), element);
    if (!properties) {
      return;
    }
    var values = properties.get("values");
    var existing = values.filter(function (p) {
      return p.name === name;
    })[0];
    if (existing && value) {
      modeling.updateModdleProperties(element, existing, { value: value });
    } else if (existing) {
      modeling.updateModdleProperties(element, properties, {
        values: values.filter(function (p) { return p !== existing; })
      });
    } else if (value) {
      var created = moddle.create("spiffworkflow:Property", { name: name, value: value });
      modeling.updateModdleProperties(element, properties, { values: values.concat([created]) });
    }
  }

  function expression(value) {
    return value ? moddle.create("bpmn:FormalExpression", { body: value }) : undefined;
  }

  function timerDefinition(element) {
    var definitions = element.businessObject.eventDefinitions || [];
    return definitions.filter(function (d) {
      return d.$instanceOf("bpmn:TimerEventDefinition");
    })[0] || null;
  }

  function multiInstance(element) {
    var loop = element.businessObject.loopCharacteristics;
    return loop && loop.$instanceOf("bpmn:MultiInstanceLoopCharacteristics") ? loop : null;
  }

  function hasOutgoingChoice(element) {
    return is(element, "bpmn:ExclusiveGateway") || is(element, "bpmn:InclusiveGateway");
  }

  function setValue(input, value) {
    if (document.activeElement !== input) {
      input.value = value || "";
    }
  }

  function render() {
    var element = selected;
    var show = element && element.type !== "label" && !is(element, "bpmn:Process") &&
      !is(element, "bpmn:Collaboration");
    panel.hidden = !show;
    panelEmpty.hidden = Boolean(show);
    if (!show) {
      return;
    }
    var bo = element.businessObject;
    var lane = is(element, "bpmn:Lane");
    var flowNode = is(element, "bpmn:FlowNode");
    var timer = flowNode && timerDefinition(element);
    var loop = flowNode && multiInstance(element);
    panel.querySelector(".panel-type").textContent = bo.$type.replace("bpmn:", "");
    setValue(field("id"), bo.id);
    setValue(field("name"), bo.name);
    field("name").closest("label").hidden = lane;
    part("lane").hidden = !lane;
    setValue(field("role"), lane ? bo.name : "");
    part("form").hidden = !(is(element, "bpmn:UserTask") || is(element, "bpmn:StartEvent"));
    setValue(field("form"), spiffProperty(element, FORM));
    part("name_en").hidden = !flowNode;
    setValue(field("name_en"), flowNode ? spiffProperty(element, "name_en") : "");
    part("condition").hidden = !is(element, "bpmn:SequenceFlow");
    setValue(field("condition"), bo.conditionExpression ? bo.conditionExpression.body : "");
    part("outgoing").hidden = !hasOutgoingChoice(element);
    if (hasOutgoingChoice(element)) {
      renderOutgoing(element);
    }
    part("timer").hidden = !timer;
    if (timer) {
      var kind = TIMER_KINDS.filter(function (k) { return timer[k]; })[0] || "timeDuration";
      setValue(field("timer_type"), kind);
      setValue(field("timer"), timer[kind] ? timer[kind].body : "");
    }
    part("loop").hidden = !loop;
    if (loop) {
      setValue(field("loop_input"), loop.loopDataInputRef ? loop.loopDataInputRef.id : "");
      setValue(field("loop_output"), loop.loopDataOutputRef ? loop.loopDataOutputRef.id : "");
      setValue(field("loop_input_item"), loop.inputDataItem ? loop.inputDataItem.name : "");
      setValue(field("loop_output_item"), loop.outputDataItem ? loop.outputDataItem.name : "");
    }
  }

  function renderOutgoing(gateway) {
    var list = panel.querySelector(".outgoing-list");
    var chooser = field("default");
    if (list.contains(document.activeElement)) {
      return;
    }
    list.innerHTML = "";
    chooser.innerHTML = "";
    chooser.appendChild(new Option(chooser.getAttribute("data-none") || "—", ""));
    (gateway.outgoing || []).forEach(function (connection) {
      var flow = connection.businessObject;
      var label = document.createElement("label");
      label.textContent = (flow.name || flow.id) + " → " + (flow.targetRef.name || flow.targetRef.id);
      var area = document.createElement("textarea");
      area.rows = 2;
      area.spellcheck = false;
      area.value = flow.conditionExpression ? flow.conditionExpression.body || "" : "";
      area.addEventListener("change", function () {
        modeling.updateProperties(connection, { conditionExpression: expression(area.value.trim()) });
      });
      label.appendChild(area);
      list.appendChild(label);
      chooser.appendChild(new Option(flow.name || flow.id, flow.id));
    });
    chooser.value = gateway.businessObject.default ? gateway.businessObject.default.id : "";
  }

  var writers = {
    name: function (element, value) {
      modeling.updateLabel(element, value);
    },
    role: function (element, value) {
      modeling.updateLabel(element, value);
    },
    form: function (element, value) {
      setSpiffProperty(element, FORM, value);
    },
    name_en: function (element, value) {
      setSpiffProperty(element, "name_en", value);
    },
    condition: function (element, value) {
      modeling.updateProperties(element, { conditionExpression: expression(value) });
    },
    default: function (element, value) {
      var flow = value ? registry.get(value) : null;
      modeling.updateProperties(element, { default: flow ? flow.businessObject : undefined });
    },
    timer_type: function (element) {
      writeTimer(element);
    },
    timer: function (element) {
      writeTimer(element);
    },
    loop_input: function (element, value) {
      writeLoop(element, "loopDataInputRef", value ? moddle.create("bpmn:Property", { id: value }) : undefined);
    },
    loop_output: function (element, value) {
      writeLoop(element, "loopDataOutputRef", value ? moddle.create("bpmn:Property", { id: value }) : undefined);
    },
    loop_input_item: function (element, value) {
      writeLoop(element, "inputDataItem", value ? moddle.create("bpmn:DataInput", { id: value, name: value }) : undefined);
    },
    loop_output_item: function (element, value) {
      writeLoop(element, "outputDataItem", value ? moddle.create("bpmn:DataOutput", { id: value, name: value }) : undefined);
    }
  };

  function writeTimer(element) {
    var definition = timerDefinition(element);
    if (!definition) {
      return;
    }
    var kind = field("timer_type").value;
    var changes = {};
    TIMER_KINDS.forEach(function (k) {
      changes[k] = undefined;
    });
    changes[kind] = expression(field("timer").value.trim());
    modeling.updateModdleProperties(element, definition, changes);
  }

  function writeLoop(element, property, value) {
    var loop = multiInstance(element);
    if (loop) {
      var changes = {};
      changes[property] = value;
      modeling.updateModdleProperties(element, loop, changes);
    }
  }

  Object.keys(writers).forEach(function (name) {
    var input = field(name);
    if (!input || input.readOnly) {
      return;
    }
    input.addEventListener("change", function () {
      if (selected) {
        writers[name](selected, input.value.trim());
      }
    });
  });

  modeler.on("selection.changed", function (event) {
    selected = event.newSelection.length === 1 ? event.newSelection[0] : null;
    render();
  });
  modeler.on("elements.changed", function (event) {
    if (selected && event.elements.indexOf(selected) >= 0) {
      render();
    }
  });

  load();
}());
