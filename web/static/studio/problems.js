/* Validation problems on the diagram: a red marker on every element concerned, a note
 * with the messages next to the element a problem is about, and the list in the side
 * panel (a button per element selects it and scrolls to it).
 *
 * Problems come from the studio's validate and deploy endpoints:
 * [{file, element, message, element_id, related}] (web/studio/problems.py), the message
 * in the page's language. Warnings (suspicious but deployable choices) come the same way
 * and are drawn in amber after the errors. */
window.StudioProblems = function (modeler, list, empty, noElement, warningLabel) {
  'use strict';

  var registry = modeler.get('elementRegistry');
  var canvas = modeler.get('canvas');
  var overlays = modeler.get('overlays');
  var selection = modeler.get('selection');
  var marked = [];  // [id, marker class]

  function mark(id, marker) {
    if (!marked.some(function (m) { return m[0] === id && m[1] === marker; })) {
      canvas.addMarker(id, marker);
      marked.push([id, marker]);
    }
  }

  function clear() {
    overlays.remove({type: 'studio-problem'});
    marked.forEach(function (m) { if (registry.get(m[0])) { canvas.removeMarker(m[0], m[1]); } });
    marked = [];
    list.textContent = '';
  }

  function note(id, messages, warning) {
    var box = document.createElement('div');
    box.className = 'studio-problem' + (warning ? ' studio-problem--warning' : '');
    box.setAttribute('role', 'note');
    messages.forEach(function (message) {
      var line = document.createElement('p');
      line.textContent = message;
      box.appendChild(line);
    });
    var element = registry.get(id);
    // On a lane or pool: along its top, clear of its header and of the palette.
    var position = element.type === 'bpmn:Lane' || element.type === 'bpmn:Participant'
      ? {top: 6, left: Math.min(320, element.width / 3)}
      : {top: (element.height || 0) + 4, left: 0};
    overlays.add(id, 'studio-problem', {position: position, html: box, scale: {min: 1}});
  }

  function item(problem, elementId, warning) {
    var li = document.createElement('li');
    if (warning) {
      li.className = 'studio-warning-item';
      var tag = document.createElement('span');
      tag.className = 'studio-warning-tag';
      tag.textContent = warningLabel + ': ';
      li.appendChild(tag);
    }
    var where = document.createElement(elementId ? 'button' : 'span');
    where.className = elementId ? 'link-button code' : 'code';
    where.textContent = elementId || [problem.file, problem.element].filter(Boolean).join(': ')
      || noElement;
    if (elementId) {
      where.type = 'button';
      where.addEventListener('click', function () {
        var element = registry.get(elementId);
        selection.select(element);
        if (canvas.zoom() < 0.9) { canvas.zoom(0.9); }
        canvas.scrollToElement(element);
      });
    }
    li.appendChild(where);
    li.appendChild(document.createTextNode(' — ' + problem.message));
    return li;
  }

  /** Draw ``problems`` and ``warnings`` instead of the previous ones (empty lists clear). */
  function show(problems, warnings) {
    clear();
    warnings = warnings || [];
    empty.hidden = problems.length + warnings.length > 0;
    draw(problems, false);
    draw(warnings, true);
  }

  function draw(problems, warning) {
    var notes = {};  // element id -> its messages, each once
    problems.forEach(function (problem) {
      var ids = [problem.element_id].concat(problem.related || []).filter(function (id) {
        return id && registry.get(id);
      });
      ids.forEach(function (id) { mark(id, warning ? 'studio-warning' : 'studio-invalid'); });
      // A lane whose name is no role is the lane's problem: one note on the lane rather
      // than one on each of its tasks. A failing condition is told on its gateway.
      var lanes = ids.filter(function (id) { return registry.get(id).type === 'bpmn:Lane'; });
      var target = lanes[0] || ids[0];
      if (target) {
        var messages = notes[target] = notes[target] || [];
        if (messages.indexOf(problem.message) < 0) { messages.push(problem.message); }
      }
      list.appendChild(item(problem, ids[0], warning));
    });
    Object.keys(notes).forEach(function (id) { note(id, notes[id], warning); });
  }

  return {show: show};
};
