/* A diagram drawn read-only with bpmn-js's NavigatedViewer (pan with the mouse, zoom
 * with the wheel), with what the page says about it: element markers (CSS classes) and,
 * for a dossier, who holds each open task and until when, and when each timer fires.
 * The page gives the data in <script type="application/json" id="diagram-data">:
 * {bpmn | xml_url, markers: {id: class}, notes: [{element, lines}], completed, taken_flows,
 * active, timers, labels}. */
(function () {
  'use strict';

  var data = JSON.parse(document.getElementById('diagram-data').textContent);
  var container = document.getElementById('studio-canvas');
  if (!container || !window.BpmnJS) { return; }
  var viewer = new window.BpmnJS({container: container, textRenderer: window.StudioText});

  function box(className, lines) {
    var div = document.createElement('div');
    div.className = className;
    lines.forEach(function (line) {
      if (!line) { return; }
      var p = document.createElement('p');
      p.textContent = line;
      div.appendChild(p);
    });
    return div;
  }

  function draw() {
    var canvas = viewer.get('canvas');
    var overlays = viewer.get('overlays');
    var registry = viewer.get('elementRegistry');
    var labels = data.labels || {};
    function mark(id, className) { if (registry.get(id)) { canvas.addMarker(id, className); } }
    Object.keys(data.markers || {}).forEach(function (id) { mark(id, data.markers[id]); });
    (data.completed || []).forEach(function (id) { mark(id, 'studio-done'); });
    (data.taken_flows || []).forEach(function (id) { mark(id, 'studio-taken'); });
    (data.active || []).forEach(function (item) {
      var element = registry.get(item.element);
      if (!element) { return; }
      canvas.addMarker(item.element, 'studio-active');
      overlays.add(item.element, 'studio-holder', {
        position: {top: (element.height || 0) + 4, left: -10}, scale: {min: 0.8},
        html: box('studio-holder', [
          item.holder ? labels.holder + ' ' + item.holder : labels.holder + ' ' + labels.unclaimed,
          item.role_label ? labels.role + ' ' + item.role_label : '',
          item.due_label ? labels.due + ' ' + item.due_label : ''])
      });
    });
    (data.timers || []).forEach(function (item) {
      var element = registry.get(item.element);
      if (!element) { return; }
      canvas.addMarker(item.element, 'studio-waiting');
      overlays.add(item.element, 'studio-timer', {
        position: {top: (element.height || 0) + 18, left: -30}, scale: {min: 0.8},
        html: box('studio-timer', [labels.timer + ' ' + item.due_label])
      });
    });
    (data.notes || []).forEach(function (item) {
      var element = registry.get(item.element);
      if (!element) { return; }
      overlays.add(item.element, 'studio-note', {
        position: {top: (element.height || 0) + 4, left: -10}, scale: {min: 0.8},
        html: box('studio-note', item.lines || [])
      });
    });
    if (data.roles) { window.StudioRoleNames(viewer, data.roles, labels.unknown_role || ''); }
    // what the page is about: the step waiting, else the first element marked (a change)
    var anchor = (data.active || []).concat(Object.keys(data.markers || {}).map(function (id) {
      return {element: id};
    })).map(function (item) { return registry.get(item.element); }).filter(Boolean)[0];
    window.StudioOpen(viewer, anchor);
    window.StudioZoomBar(viewer, document.getElementById('studio-zoom'), anchor);
    document.body.setAttribute('data-studio-ready', '');
  }

  var xml = data.bpmn ? Promise.resolve(data.bpmn)
    : fetch(data.xml_url, {credentials: 'same-origin'}).then(function (r) { return r.text(); });
  xml.then(function (text) { return viewer.importXML(text); }).then(draw).catch(function (error) {
    container.textContent = String(error && error.message || error);
  });
}());
