/* The studio's decision-table editor: dmn-js's modeler on one DMN file of a bundle.
 *
 * The page (web/templates/studio/decision_editor.html) gives the file's URL; this script
 * loads it, opens its (first) decision table — a picker offers the others — and posts the
 * XML back to the same URL to stage it in the analyst's draft. The server answers with
 * what deploy's check says of the bundle, shown under the toolbar. "Save and deploy"
 * then sends the draft's diagram, unchanged, to the diagram editor's deploy endpoint, so
 * the bundle (this table included) becomes a new version exactly as from the editor.
 */
(function () {
  'use strict';

  var config = JSON.parse(document.getElementById('decision-config').textContent);
  var T = config.messages;
  var $ = function (id) { return document.getElementById(id); };
  var statusBox = $('studio-status');
  var saveButton = $('btn-save-table');
  var deployButton = $('btn-deploy-table');
  var picker = $('decision-pick');
  var modeler;
  var dirty = false;

  function say(text, kind, items) {
    window.StudioTalk.say(statusBox, text, kind, [], items);
  }

  function tableViews() {
    return modeler.getViews().filter(function (view) { return view.type === 'decisionTable'; });
  }

  function watch() {
    var viewer = modeler.getActiveViewer();
    if (viewer) {
      viewer.get('eventBus').on('elements.changed', function () { dirty = true; });
    }
  }

  function open(view) {
    return modeler.open(view).then(watch);
  }

  function fillPicker(views) {
    picker.textContent = '';
    views.forEach(function (view, index) {
      var option = document.createElement('option');
      option.value = String(index);
      option.textContent = view.name || view.element.id;
      picker.appendChild(option);
    });
    picker.hidden = views.length < 2;
    picker.addEventListener('change', function () { open(tableViews()[Number(picker.value)]); });
  }

  function postJSON(url, body) {
    return window.StudioTalk.postJSON(url, body, config.csrf).then(function (answer) {
      return answer.data;
    });
  }

  function saveTable() {
    return modeler.saveXML({format: true}).then(function (result) {
      return postJSON(config.xml_url, {xml: result.xml});
    }).then(function (answer) {
      if (answer.saved) { dirty = false; }
      var kind = answer.saved ? (answer.errors.length ? 'warning' : 'success') : 'error';
      say(answer.message, kind, answer.errors);
      return answer;
    });
  }

  function deploy() {
    return saveTable().then(function (answer) {
      if (!answer.saved || answer.errors.length) { return; }
      say(T.deploying, 'info');
      return fetch(config.diagram_url, {credentials: 'same-origin'}).then(function (response) {
        return response.text();
      }).then(function (xml) {
        return postJSON(config.deploy_url, {xml: xml});
      }).then(function (result) {
        var problems = (result.errors || []).map(function (e) { return e.message; });
        say(result.message, result.valid ? 'success' : 'error', problems);
      });
    });
  }

  /** One request at a time: the buttons wait while ``work`` runs. */
  function run(label, work) {
    saveButton.disabled = deployButton.disabled = true;
    say(label, 'info');
    return work().catch(function (error) {
      say(T.network + ' (' + (error && error.message || error) + ')', 'error');
    }).then(function () { saveButton.disabled = deployButton.disabled = false; });
  }

  function start() {
    modeler = new window.DmnJS({container: $('decision-canvas'), common: {keyboard: {bindTo: window}}});
    fetch(config.xml_url, {credentials: 'same-origin'}).then(function (response) {
      if (!response.ok) { throw new Error(response.status); }
      return response.text();
    }).then(function (xml) {
      return modeler.importXML(xml);
    }).then(function () {
      var views = tableViews();
      if (!views.length) { say(T.no_table, 'warning'); return null; }
      fillPicker(views);
      return open(views[0]);
    }).then(function () {
      saveButton.disabled = deployButton.disabled = false;
      document.body.setAttribute('data-studio-ready', '');
    }).catch(function (error) {
      say(T.load_failed + ' ' + (error && error.message || error), 'error');
    });
    saveButton.addEventListener('click', function () { run(T.saving, saveTable); });
    deployButton.addEventListener('click', function () { run(T.saving, deploy); });
    window.addEventListener('beforeunload', function (event) {
      if (dirty) { event.preventDefault(); event.returnValue = T.unsaved; }
    });
  }

  start();
}());
