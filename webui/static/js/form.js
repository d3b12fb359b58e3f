/* Dingdan forms: table rows added and removed in place, a row filled from a register
   (the expert register), computed totals kept up to date. Plain JavaScript, no inline
   handlers: everything is found through data-* attributes. Without it the page still
   works: the row buttons submit the form and the server redraws it. */
(function () {
  "use strict";

  var PLACEHOLDER = "__index__";

  function byData(root, attribute, value) {
    var found = root.querySelectorAll("[" + attribute + "]");
    for (var i = 0; i < found.length; i += 1) {
      if (found[i].getAttribute(attribute) === value) {
        return found[i];
      }
    }
    return null;
  }

  function escapeRegExp(text) {
    return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }

  function addRow(form, name) {
    var table = byData(form, "data-rows", name);
    var template = byData(form, "data-row-template", name);
    if (!table || !template) {
      return null;
    }
    var body = table.tBodies[0];
    var index = parseInt(table.getAttribute("data-next-index"), 10);
    if (isNaN(index)) {
      index = body.rows.length;
    }
    table.setAttribute("data-next-index", String(index + 1));
    body.insertAdjacentHTML("beforeend", template.innerHTML.split(PLACEHOLDER).join(String(index)));
    return body.rows[body.rows.length - 1];
  }

  function removeRow(form, button) {
    var row = button.closest("tr");
    var table = button.closest("table");
    if (!row || !table) {
      return;
    }
    var body = row.parentNode;
    body.removeChild(row);
    if (body.rows.length === 0) {
      addRow(form, table.getAttribute("data-rows"));
    }
  }

  function isBlank(row) {
    var inputs = row.querySelectorAll("[data-key]");
    for (var i = 0; i < inputs.length; i += 1) {
      var input = inputs[i];
      if (input.type === "checkbox" || input.type === "radio" ? input.checked : input.value.trim() !== "") {
        return false;
      }
    }
    return true;
  }

  function fillFromSource(form, select) {
    var option = select.options[select.selectedIndex];
    if (!option || !option.value) {
      return;
    }
    var name = select.getAttribute("data-source-rows");
    var table = byData(form, "data-rows", name);
    if (!table) {
      return;
    }
    var target = null;
    var rows = table.tBodies[0].rows;
    for (var i = 0; i < rows.length && !target; i += 1) {
      if (isBlank(rows[i])) {
        target = rows[i];
      }
    }
    target = target || addRow(form, name);
    var inputs = target.querySelectorAll("[data-key]");
    for (var j = 0; j < inputs.length; j += 1) {
      var value = option.getAttribute("data-fill-" + inputs[j].getAttribute("data-key"));
      if (value !== null) {
        inputs[j].value = value;
      }
    }
    select.value = "";
    var first = target.querySelector("[data-key]");
    if (first) {
      first.focus();
    }
  }

  function formatAmount(total) {
    var rounded = Math.round(total * 100) / 100;
    return rounded.toLocaleString("zh-CN", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }

  function recompute(form) {
    var outputs = form.querySelectorAll("output[data-sum-of]");
    for (var i = 0; i < outputs.length; i += 1) {
      var output = outputs[i];
      var pattern = new RegExp(
        "^" + escapeRegExp(output.getAttribute("data-sum-of")) + "\\.\\d+\\." +
          escapeRegExp(output.getAttribute("data-sum-field")) + "$"
      );
      var total = 0;
      for (var j = 0; j < form.elements.length; j += 1) {
        var element = form.elements[j];
        if (element.name && pattern.test(element.name)) {
          var amount = parseFloat(element.value);
          if (isFinite(amount)) {
            total += amount;
          }
        }
      }
      output.textContent = formatAmount(total);
    }
  }

  function setUp(form) {
    form.addEventListener("click", function (event) {
      var add = event.target.closest("[data-add-row]");
      var remove = event.target.closest("[data-remove-row]");
      if (add) {
        event.preventDefault();
        var row = addRow(form, add.getAttribute("data-add-row"));
        var first = row && row.querySelector("[data-key]");
        if (first) {
          first.focus();
        }
      } else if (remove) {
        event.preventDefault();
        removeRow(form, remove);
        recompute(form);
      }
    });
    form.addEventListener("change", function (event) {
      if (event.target.hasAttribute("data-source-rows")) {
        fillFromSource(form, event.target);
      }
      recompute(form);
    });
    form.addEventListener("input", function () {
      recompute(form);
    });
    recompute(form);
  }

  var forms = document.querySelectorAll("form[data-dingdan-form]");
  for (var i = 0; i < forms.length; i += 1) {
    setUp(forms[i]);
  }
})();
