/*
 * The criteria builder: turns the credential form's criteria JSON textarea into a tree editor.
 *
 * Progressive enhancement: without JavaScript the textarea is the editor. With it, the builder
 * (the element named by the textarea's data-criteria-builder attribute) shows the requirement tree
 * of docs/catalog-format.md — groups (all / any / at least N, nested) and leaves (course passed,
 * course grade, completion, certificate, enrollment, another credential) — and writes the JSON back
 * to the textarea on every change, so the form posts exactly what the builder shows. Typing valid
 * JSON in the textarea redraws the builder.
 *
 * Plain JavaScript, no build step. Every control is a native, labelled form control or button;
 * changes are announced in a polite live region. The words come from a JSON script element the page
 * renders (translated on the server); the English below is only a fallback.
 */
(function () {
  "use strict";

  var GROUP_TYPES = ["all", "any", "at_least"];
  var LEAF_TYPES = ["course_passed", "course_grade", "course_completion", "certificate", "enrolled", "credential"];
  var COURSE_TYPES = ["course_passed", "course_grade", "course_completion", "certificate", "enrolled"];

  var FALLBACK = {
    builder: "Criteria builder",
    root: "Criteria",
    group: "Group %(number)s",
    requirement: "Requirement %(number)s",
    groupMode: "Learners must meet",
    modeAll: "all of these",
    modeAny: "any one of these",
    modeAtLeast: "at least a number of these",
    howMany: "How many",
    groupLabel: "Name of this group (optional)",
    addRequirement: "Add a requirement",
    addGroup: "Add a group",
    removeGroup: "Remove this group",
    removeRequirement: "Remove this requirement",
    combine: "Combine with more requirements",
    type: "Requirement type",
    type_course_passed: "Pass a course",
    type_course_grade: "Reach a course grade",
    type_course_completion: "Complete a course",
    type_certificate: "Earn a course certificate",
    type_enrolled: "Be enrolled in a course",
    type_credential: "Earn another credential",
    course: "Course key",
    minGrade: "Minimum grade (%)",
    minCompletion: "Minimum completion (%)",
    mode: "Certificate mode (optional)",
    modes: "Enrollment modes (optional, separated by commas)",
    credential: "Credential",
    chooseCredential: "Choose a credential",
    emptyGroup: "This group is empty: add a requirement to it, or remove it.",
    added: "Requirement added.",
    groupAdded: "Group added.",
    removed: "Requirement removed.",
    groupRemoved: "Group removed.",
    typeChanged: "Requirement type changed to: %(type)s.",
    combined: "The requirement is now in a group; add more requirements to it.",
    badJson: "The criteria JSON cannot be read, so the builder cannot show it. Correct the JSON, or start again.",
    startOver: "Start again with one requirement",
    jsonApplied: "The builder now shows the criteria typed as JSON."
  };

  function readJson(id) {
    var element = id && document.getElementById(id);
    if (!element) {
      return null;
    }
    try {
      return JSON.parse(element.textContent);
    } catch (error) {
      return null;
    }
  }

  function format(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (match, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : match;
    });
  }

  function isGroup(node) {
    return GROUP_TYPES.indexOf(node.type) !== -1;
  }

  function isPlainObject(value) {
    return value !== null && typeof value === "object" && !Array.isArray(value);
  }

  function el(tag, attributes, children) {
    var element = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      var value = attributes[name];
      if (value === true) {
        element.setAttribute(name, "");
      } else if (value !== false && value !== null && value !== undefined) {
        element.setAttribute(name, value);
      }
    });
    (children || []).forEach(function (child) {
      element.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return element;
  }

  function Builder(textarea, container) {
    var strings = readJson(container.getAttribute("data-strings")) || {};
    this.t = function (key, values) {
      var text = strings[key];
      if (!text) {
        text = FALLBACK[key] || key;
        if (typeof window.gettext === "function") {
          text = window.gettext(text);
        }
      }
      return values ? format(text, values) : text;
    };
    this.textarea = textarea;
    this.container = container;
    this.courses = readJson(container.getAttribute("data-courses")) || [];
    this.credentials = readJson(container.getAttribute("data-credentials")) || [];
    this.defaultCourse = container.getAttribute("data-default-course") || "";
    this.uid = 0;

    this.container.setAttribute("role", "group");
    this.container.setAttribute("aria-label", this.t("builder"));
    this.courseList = el("datalist", {id: this.id()}, this.courses.map(function (course) {
      return el("option", {value: course.key, label: course.name || course.key});
    }));
    this.tree = el("div", {"class": "cb-tree"});
    this.status = el("p", {"class": "visually-hidden", role: "status", "aria-live": "polite"});
    this.container.appendChild(this.courseList);
    this.container.appendChild(this.tree);
    this.container.appendChild(this.status);

    var text = textarea.value.trim();
    if (text) {
      this.model = this.parse(text);
    } else {
      this.model = this.newLeaf();
      this.write();
    }

    var builder = this;
    textarea.addEventListener("input", function () {
      builder.model = builder.parse(textarea.value);
      builder.render();
    });
    textarea.addEventListener("change", function () {
      if (builder.model !== null) {
        builder.announce(builder.t("jsonApplied"));
      }
    });
    if (textarea.form) {
      textarea.form.addEventListener("submit", function () {
        if (builder.model !== null) {
          builder.write();
        }
      });
    }
    this.render();
    this.container.hidden = false;
  }

  Builder.prototype.id = function () {
    this.uid += 1;
    return this.container.id + "-" + this.uid;
  };

  Builder.prototype.parse = function (text) {
    try {
      var data = JSON.parse(text);
      return isPlainObject(data) ? data : null;
    } catch (error) {
      return null;
    }
  };

  Builder.prototype.newLeaf = function () {
    return {type: "course_passed", course: this.defaultCourse};
  };

  Builder.prototype.write = function () {
    this.textarea.value = JSON.stringify(this.model, null, 2);
  };

  Builder.prototype.changed = function () {
    this.write();
  };

  Builder.prototype.announce = function (message) {
    var status = this.status;
    status.textContent = "";
    window.setTimeout(function () {
      status.textContent = message;
    }, 50);
  };

  Builder.prototype.key = function (path) {
    return path.length ? path.join(".") : "root";
  };

  Builder.prototype.nodeAt = function (path) {
    var node = this.model;
    path.forEach(function (index) {
      node = node.of[index];
    });
    return node;
  };

  Builder.prototype.focus = function (path, role) {
    var selector = "[data-node=\"" + this.key(path) + "\"][data-role=\"" + role + "\"]";
    var target = this.tree.querySelector(selector);
    if (target) {
      target.focus();
    }
  };

  Builder.prototype.render = function (focusPath, focusRole) {
    var builder = this;
    this.tree.textContent = "";
    if (this.model === null) {
      var restart = el("button", {type: "button", "class": "secondary"}, [this.t("startOver")]);
      restart.addEventListener("click", function () {
        builder.model = builder.newLeaf();
        builder.changed();
        builder.render([], "type");
        builder.announce(builder.t("added"));
      });
      this.tree.appendChild(el("p", {"class": "cb-empty"}, [this.t("badJson")]));
      this.tree.appendChild(restart);
      return;
    }
    this.tree.appendChild(this.renderNode(this.model, []));
    if (focusPath) {
      this.focus(focusPath, focusRole);
    }
  };

  Builder.prototype.legend = function (node, path) {
    if (!path.length) {
      return this.t("root");
    }
    var number = path.map(function (index) { return index + 1; }).join(".");
    return this.t(isGroup(node) ? "group" : "requirement", {number: number});
  };

  Builder.prototype.labelled = function (text, control) {
    var id = this.id();
    control.id = id;
    return el("div", {"class": "cb-field"}, [el("label", {"for": id}, [text]), control]);
  };

  Builder.prototype.button = function (text, path, role, legendId, handler) {
    var button = el("button", {type: "button", "class": "secondary small", "data-node": this.key(path),
                               "data-role": role, "aria-describedby": legendId}, [text]);
    button.addEventListener("click", handler);
    return button;
  };

  Builder.prototype.renderNode = function (node, path) {
    return isGroup(node) ? this.renderGroup(node, path) : this.renderLeaf(node, path);
  };

  Builder.prototype.renderGroup = function (node, path) {
    var builder = this;
    var key = this.key(path);
    var legendId = this.id();
    var fieldset = el("fieldset", {"class": "cb-node cb-group"}, [el("legend", {id: legendId}, [this.legend(node, path)])]);
    if (!Array.isArray(node.of)) {
      node.of = [];
    }

    var row = el("div", {"class": "cb-row"});
    var mode = el("select", {"data-node": key, "data-role": "mode"}, [
      el("option", {value: "all", selected: node.type === "all"}, [this.t("modeAll")]),
      el("option", {value: "any", selected: node.type === "any"}, [this.t("modeAny")]),
      el("option", {value: "at_least", selected: node.type === "at_least"}, [this.t("modeAtLeast")])
    ]);
    mode.addEventListener("change", function () {
      node.type = mode.value;
      if (node.type === "at_least") {
        node.n = Math.max(1, Math.min(typeof node.n === "number" ? node.n : 1, node.of.length || 1));
      } else {
        delete node.n;
      }
      builder.changed();
      builder.render(path, "mode");
    });
    row.appendChild(this.labelled(this.t("groupMode"), mode));

    if (node.type === "at_least") {
      var count = el("input", {type: "number", min: "1", max: String(Math.max(node.of.length, 1)), step: "1",
                               required: true, "data-node": key, "data-role": "n",
                               value: node.n === undefined ? "" : String(node.n)});
      count.addEventListener("input", function () {
        var value = parseInt(count.value, 10);
        if (isNaN(value)) {
          delete node.n;
        } else {
          node.n = value;
        }
        builder.changed();
      });
      row.appendChild(this.labelled(this.t("howMany"), count));
    }

    var name = el("input", {type: "text", "data-node": key, "data-role": "label", value: node.label || ""});
    name.addEventListener("input", function () {
      if (name.value.trim()) {
        node.label = name.value;
      } else {
        delete node.label;
      }
      builder.changed();
    });
    row.appendChild(this.labelled(this.t("groupLabel"), name));
    fieldset.appendChild(row);

    var list = el("ol", {"class": "cb-children"});
    node.of.forEach(function (child, index) {
      list.appendChild(el("li", {}, [builder.renderNode(child, path.concat([index]))]));
    });
    fieldset.appendChild(list);
    if (!node.of.length) {
      fieldset.appendChild(el("p", {"class": "cb-empty"}, [this.t("emptyGroup")]));
    }

    var buttons = el("div", {"class": "cb-buttons"});
    buttons.appendChild(this.button(this.t("addRequirement"), path, "add", legendId, function () {
      node.of.push(builder.newLeaf());
      builder.changed();
      builder.render(path.concat([node.of.length - 1]), "type");
      builder.announce(builder.t("added"));
    }));
    buttons.appendChild(this.button(this.t("addGroup"), path, "add-group", legendId, function () {
      node.of.push({type: "all", of: [builder.newLeaf()]});
      builder.changed();
      builder.render(path.concat([node.of.length - 1]), "mode");
      builder.announce(builder.t("groupAdded"));
    }));
    if (path.length) {
      buttons.appendChild(this.button(this.t("removeGroup"), path, "remove", legendId, function () {
        builder.remove(path, "groupRemoved");
      }));
    }
    fieldset.appendChild(buttons);
    return fieldset;
  };

  Builder.prototype.remove = function (path, message) {
    var parentPath = path.slice(0, -1);
    var parent = this.nodeAt(parentPath);
    parent.of.splice(path[path.length - 1], 1);
    if (parent.type === "at_least" && typeof parent.n === "number" && parent.n > parent.of.length) {
      parent.n = Math.max(parent.of.length, 1);
    }
    this.changed();
    this.render(parentPath, "add");
    this.announce(this.t(message));
  };

  Builder.prototype.changeType = function (node, type) {
    var old = {};
    Object.keys(node).forEach(function (name) {
      old[name] = node[name];
      if (name !== "type" && name !== "label") {
        delete node[name];
      }
    });
    node.type = type;
    if (COURSE_TYPES.indexOf(type) !== -1) {
      node.course = old.course || this.defaultCourse;
    }
    if (type === "course_grade" && typeof old.min_percent === "number") {
      node.min_percent = old.min_percent;
    }
    if (type === "course_completion") {
      node.min_percent = typeof old.min_percent === "number" ? old.min_percent : 100;
    }
    if (type === "certificate" && typeof old.mode === "string") {
      node.mode = old.mode;
    }
    if (type === "credential") {
      node.credential = old.credential || "";
    }
  };

  Builder.prototype.renderLeaf = function (node, path) {
    var builder = this;
    var key = this.key(path);
    var legendId = this.id();
    var fieldset = el("fieldset", {"class": "cb-node cb-leaf"}, [el("legend", {id: legendId}, [this.legend(node, path)])]);
    var row = el("div", {"class": "cb-row"});

    var type = el("select", {"data-node": key, "data-role": "type"});
    var types = LEAF_TYPES.slice();
    if (types.indexOf(node.type) === -1) {
      types.push(node.type);  // kept as it is: the server says what is wrong with it
    }
    types.forEach(function (value) {
      type.appendChild(el("option", {value: value, selected: node.type === value},
                          [LEAF_TYPES.indexOf(value) === -1 ? String(value) : builder.t("type_" + value)]));
    });
    type.addEventListener("change", function () {
      builder.changeType(node, type.value);
      builder.changed();
      builder.render(path, "type");
      builder.announce(builder.t("typeChanged", {type: builder.t("type_" + type.value)}));
    });
    row.appendChild(this.labelled(this.t("type"), type));

    if (COURSE_TYPES.indexOf(node.type) !== -1) {
      var course = el("input", {type: "text", list: this.courseList.id, required: true, spellcheck: "false",
                                "data-node": key, "data-role": "course", value: node.course || ""});
      course.addEventListener("input", function () {
        node.course = course.value.trim();
        builder.changed();
      });
      row.appendChild(this.labelled(this.t("course"), course));
    }
    if (node.type === "course_grade" || node.type === "course_completion") {
      var percent = el("input", {type: "number", min: "0", max: "100", step: "any", "data-node": key,
                                 "data-role": "min_percent", required: node.type === "course_grade",
                                 value: typeof node.min_percent === "number" ? String(node.min_percent) : ""});
      percent.addEventListener("input", function () {
        if (percent.value === "" || isNaN(Number(percent.value))) {
          delete node.min_percent;
        } else {
          node.min_percent = Number(percent.value);
        }
        builder.changed();
      });
      row.appendChild(this.labelled(this.t(node.type === "course_grade" ? "minGrade" : "minCompletion"), percent));
    }
    if (node.type === "certificate") {
      var mode = el("input", {type: "text", "data-node": key, "data-role": "mode", value: node.mode || ""});
      mode.addEventListener("input", function () {
        if (mode.value.trim()) {
          node.mode = mode.value.trim();
        } else {
          delete node.mode;
        }
        builder.changed();
      });
      row.appendChild(this.labelled(this.t("mode"), mode));
    }
    if (node.type === "enrolled") {
      var modes = el("input", {type: "text", "data-node": key, "data-role": "modes",
                               value: Array.isArray(node.modes) ? node.modes.join(", ") : ""});
      modes.addEventListener("input", function () {
        var list = modes.value.split(",").map(function (part) { return part.trim(); }).filter(Boolean);
        if (list.length) {
          node.modes = list;
        } else {
          delete node.modes;
        }
        builder.changed();
      });
      row.appendChild(this.labelled(this.t("modes"), modes));
    }
    if (node.type === "credential") {
      var credential = el("select", {"data-node": key, "data-role": "credential", required: true},
                          [el("option", {value: ""}, [this.t("chooseCredential")])]);
      var known = false;
      this.credentials.forEach(function (item) {
        known = known || item.slug === node.credential;
        credential.appendChild(el("option", {value: item.slug, selected: item.slug === node.credential},
                                  [item.title + " (" + item.slug + ")"]));
      });
      if (node.credential && !known) {
        credential.appendChild(el("option", {value: node.credential, selected: true}, [String(node.credential)]));
      }
      credential.addEventListener("change", function () {
        node.credential = credential.value;
        builder.changed();
      });
      row.appendChild(this.labelled(this.t("credential"), credential));
    }
    fieldset.appendChild(row);

    var buttons = el("div", {"class": "cb-buttons"});
    if (path.length) {
      buttons.appendChild(this.button(this.t("removeRequirement"), path, "remove", legendId, function () {
        builder.remove(path, "removed");
      }));
    } else {
      buttons.appendChild(this.button(this.t("combine"), path, "combine", legendId, function () {
        builder.model = {type: "all", of: [builder.model]};
        builder.changed();
        builder.render([], "add");
        builder.announce(builder.t("combined"));
      }));
    }
    fieldset.appendChild(buttons);
    return fieldset;
  };

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("textarea[data-criteria-builder]"), function (textarea) {
      var container = document.getElementById(textarea.getAttribute("data-criteria-builder"));
      if (container && !container.getAttribute("data-ready")) {
        container.setAttribute("data-ready", "true");
        textarea.criteriaBuilder = new Builder(textarea, container);
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
