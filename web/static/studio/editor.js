/* The studio's diagram editor: bpmn-js's Modeler and our own properties panel.
 *
 * The page (web/templates/studio/editor.html) is rendered by the server with the panel's
 * fields and everything they offer (roles, forms, operators and their parameters,
 * documents). This script shows the fields that fit the selected element and writes
 * changes back into the diagram (model.js), and talks to the studio's JSON endpoints:
 * save the draft, validate, deploy; problems are drawn on their elements (problems.js).
 *
 * SpiffWorkflow's extensions are known to bpmn-js through the moddle descriptor
 * spiffworkflow.json, so they survive a load and a save.
 */
(function () {
  'use strict';

  var config = JSON.parse(document.getElementById('studio-config').textContent);
  var T = config.messages;
  var $ = function (id) { return document.getElementById(id); };
  var form = $('props-form');
  var statusBox = $('studio-status');
  var modeler, model, problems, canvas, registry;
  var current = null;            // the element shown in the panel
  var dirty = false;             // changed since loaded, saved or deployed
  var busy = false;
  var applied = new WeakMap();   // input -> {element, value} last written to the diagram

  // -- talking to the server ------------------------------------------------------------

  function postJSON(url, body) {
    return window.StudioTalk.postJSON(url, body, config.csrf);
  }

  function say(text, kind, links) {
    window.StudioTalk.say(statusBox, text, kind, links);
  }

  function sendDiagram(url) {
    return modeler.saveXML({format: true}).then(function (result) {
      return postJSON(url, {xml: result.xml});
    });
  }

  function failed(answer) {
    return new Error(answer.data.message_vi || answer.data.message || answer.status);
  }

  function setBusy(value) {
    busy = value;
    ['btn-save', 'btn-validate', 'btn-deploy', 'btn-deploy-confirm'].forEach(function (id) {
      $(id).disabled = value;
    });
  }

  /** One request at a time: the buttons wait while ``work`` runs. */
  function run(label, work) {
    if (busy) { return Promise.resolve(); }
    setBusy(true);
    say(label, 'info');
    return work().catch(function (error) {
      say(T.network + ' (' + (error && error.message || error) + ')', 'error');
    }).then(function () { setBusy(false); });
  }

  function saveDraft() {
    return sendDiagram(config.urls.draft_url).then(function (answer) {
      if (answer.status !== 200) { throw failed(answer); }
      dirty = false;
      say(answer.data.message, 'success');
    });
  }

  function validate() {
    return sendDiagram(config.urls.validate_url).then(function (answer) {
      if (answer.status !== 200) { throw failed(answer); }
      problems.show(answer.data.errors || [], answer.data.warnings || []);
      say(answer.data.message, answer.data.valid ? 'success' : 'error');
    });
  }

  function deploy() {
    $('deploy-confirm').hidden = true;
    return sendDiagram(config.urls.deploy_url).then(function (answer) {
      var data = answer.data;
      if (answer.status === 422 && data.errors) {
        problems.show(data.errors);
        say(data.message, 'error');
        return;
      }
      if (answer.status !== 200 && answer.status !== 201) { throw failed(answer); }
      problems.show([], data.warnings || []);
      dirty = false;
      say(data.message, data.created ? 'success' : 'info', [
        {href: data.editor_url, text: T.open_version.replace('__N__', data.version)},
        {href: data.versions_url, text: T.all_versions}]);
      goOnFrom(data);
    });
  }

  /** After a deploy, the page works on the version holding its content, so that the next
   * deploy starts from its files (forms staged and deployed included). */
  function goOnFrom(data) {
    var before = '/versions/' + config.version + '/';
    document.querySelectorAll('a[href*="' + before + '"], form[action*="' + before + '"]')
      .forEach(function (el) {
        var attr = el.tagName === 'FORM' ? 'action' : 'href';
        el.setAttribute(attr, el.getAttribute(attr).replace(before, '/versions/' + data.version + '/'));
      });
    config.urls = data.urls;
    config.version = data.version;
    $('studio-version').textContent = $('studio-version').textContent.replace(/\d+/, data.version);
    document.querySelectorAll('.studio-staged').forEach(function (el) { el.hidden = true; });
    history.replaceState(null, '', data.editor_url);
  }

  // -- the properties panel -------------------------------------------------------------

  function operatorBlock(name) {
    return Array.prototype.filter.call(form.querySelectorAll('[data-operator]'), function (block) {
      return block.getAttribute('data-operator') === name;
    })[0];
  }

  /** Show the parameter fields of operator ``name``, filled from ``values``. */
  function fillParameters(name, values) {
    form.querySelectorAll('[data-operator]').forEach(function (block) {
      block.hidden = block.getAttribute('data-operator') !== name;
    });
    var block = name && operatorBlock(name);
    if (!block) { return; }
    block.querySelectorAll('[data-param]').forEach(function (row) {
      var known = values[row.getAttribute('data-param')];
      var type = row.querySelector('.param-type');
      var input = row.querySelector('.param-value');
      if (input !== document.activeElement) { input.value = known ? known.value || '' : ''; }
      type.value = known && known.type ? known.type : type.getAttribute('data-default');
    });
  }

  function writeParameters(element) {
    var op = model.operator(element);
    var block = op && operatorBlock(op.id);
    if (!block) { return; }
    model.setParameters(element, Array.prototype.map.call(
      block.querySelectorAll('[data-param]'), function (row) {
        return {id: row.getAttribute('data-param'), type: row.querySelector('.param-type').value,
                value: row.querySelector('.param-value').value.trim()};
      }));
  }

  var APPLY = {
    name: function (el, value) { modeler.get('modeling').updateLabel(el, value); },
    role: function (el, value) { modeler.get('modeling').updateProperties(el, {name: value}); },
    form: function (el, value) { model.setProperty(el, 'formJsonSchemaFilename', value); showFormLink(value); },
    dueIn: function (el, value) { model.setProperty(el, 'dueIn', value); },
    signDocument: function (el, value) { model.setProperty(el, 'signDocument', value); },
    sameAssigneeAs: function (el, value) { model.setProperty(el, 'sameAssigneeAs', value); },
    operator: function (el, value) {
      var keep = model.parameters(el);  // values carry over to same-named parameters
      model.setOperator(el, value);
      fillParameters(value, keep);
      writeParameters(el);
    },
    param: writeParameters,
    resultVariable: function (el, value) { model.setResultVariable(el, value); },
    timeDate: function (el, value) { model.setTimeDate(el, value); },
    condition: function (el, value) { model.setCondition(el, value); },
    isDefault: function (el, value) { model.setDefault(el, value); },
    message: function (el, value) { model.setMessageName(el, value); },
    payload: function (el, value) { model.setPayload(el, value); },
    variable: function (el, value) { model.setVariable(el, value); },
    correlation: function (el) {
      model.setCorrelation(el, $('p-corrKey').value.trim(), $('p-corrExpr').value.trim());
    }
  };

  function kindsOf(element) {
    var kinds = {};
    kinds[model.isA(element, 'bpmn:Lane') ? 'lane' : 'named'] = true;
    kinds.userTask = model.isA(element, 'bpmn:UserTask');
    kinds.serviceTask = model.isA(element, 'bpmn:ServiceTask');
    kinds.timer = !!model.timer(element);
    kinds.flow = model.isConditionalFlow(element);
    if (model.message(element)) {
      kinds.message = true;
      kinds[model.isThrowing(element) ? 'messageThrow' : 'messageCatch'] = true;
    }
    return kinds;
  }

  function typeLabel(element) {
    var name = model.bo(element).$type.split(':')[1] || '';
    return config.types[name.charAt(0).toLowerCase() + name.slice(1)] || name;
  }

  /** Select ``value``; one the list does not offer is shown, saying so. */
  function selectValue(id, value, unknownNote) {
    var select = $(id);
    select.querySelectorAll('option[data-unknown]').forEach(function (o) { o.remove(); });
    var has = Array.prototype.some.call(select.options, function (o) { return o.value === value; });
    if (value && !has) {
      var option = document.createElement('option');
      option.value = value;
      option.textContent = value + ' — ' + unknownNote;
      option.setAttribute('data-unknown', '');
      select.appendChild(option);
    }
    select.value = value || '';
  }

  function fillUserTasks(element) {
    var select = $('p-sameAssigneeAs');
    while (select.options.length > 1) { select.remove(1); }
    registry.filter(function (el) {
      return model.isA(el, 'bpmn:UserTask') && el.id !== element.id;
    }).forEach(function (task) {
      var option = document.createElement('option');
      option.value = task.id;
      option.textContent = task.id + (model.bo(task).name ? ' — ' + model.bo(task).name : '');
      select.appendChild(option);
    });
  }

  function showFormLink(path) {
    var link = $('p-form-open');
    var match = /^forms\/(.+)\.json$/.exec(path || '');
    link.hidden = !match;
    if (match) { link.href = config.urls.form_url.replace('__FORM__', match[1]); }
  }

  function setField(id, value) {
    var input = $(id);
    if (input !== document.activeElement) { input.value = value || ''; }
  }

  function show(element) {
    if (element && element.type === 'label') { element = element.labelTarget; }
    if (!element || element === canvas.getRootElement() || element.type === 'bpmn:Process') {
      current = null;
      form.hidden = true;
      $('props-summary').textContent = T.select_hint;
      $('props-summary').classList.add('muted');
      return;
    }
    current = element;
    var kinds = kindsOf(element);
    form.hidden = false;
    $('props-summary').textContent = typeLabel(element);
    $('props-summary').classList.remove('muted');
    form.querySelectorAll('[data-kind]').forEach(function (part) {
      part.hidden = !kinds[part.getAttribute('data-kind')];
    });
    var name = model.bo(element).name || '';
    setField('p-id', element.id);
    setField('p-name', name);
    if (kinds.lane) { selectValue('p-role', name, T.unknown_role); }
    if (kinds.userTask) {
      var formPath = model.property(element, 'formJsonSchemaFilename');
      fillUserTasks(element);
      selectValue('p-form', formPath, T.unknown_form);
      showFormLink(formPath);
      setField('p-dueIn', model.property(element, 'dueIn'));
      selectValue('p-signDocument', model.property(element, 'signDocument'), T.unknown_form);
      selectValue('p-sameAssigneeAs', model.property(element, 'sameAssigneeAs'), T.unknown_form);
    }
    if (kinds.serviceTask) {
      var op = model.operator(element);
      selectValue('p-operator', op ? op.id : '', T.unknown_form);
      fillParameters(op ? op.id : '', model.parameters(element));
      setField('p-resultVariable', op ? op.resultVariable : '');
    }
    if (kinds.timer) {
      var timer = model.timerExpression(element);
      setField('p-timeDate', timer.expression);
      $('p-timer-note').hidden = timer.kind === 'timeDate';
      $('p-timer-note').textContent = T.duration_note.replace('__KIND__', timer.kind);
    }
    if (kinds.flow) {
      setField('p-condition', model.condition(element));
      $('p-default').checked = model.isDefault(element);
      $('p-default').disabled = !model.isGateway(element.source);
    }
    if (kinds.message) {
      var info = model.messageInfo(element);
      setField('p-message', info.name);
      setField('p-payload', info.payload);
      setField('p-variable', info.variable);
      setField('p-corrKey', info.key);
      setField('p-corrExpr', info.expression);
    }
  }

  function applyFrom(input) {
    var action = input.getAttribute('data-apply');
    if (!current || !APPLY[action]) { return; }
    var value = input.type === 'checkbox' ? input.checked : input.value.trim();
    var last = applied.get(input);
    if (last && last.element === current && last.value === value) { return; }
    applied.set(input, {element: current, value: value});
    APPLY[action](current, value);
  }

  function bindPanel() {
    var timers = new WeakMap();
    form.addEventListener('submit', function (event) { event.preventDefault(); });
    form.addEventListener('change', function (event) {
      if (!event.target.hasAttribute('data-apply')) { return; }
      clearTimeout(timers.get(event.target));
      applyFrom(event.target);
    });
    // Typing applies after a pause, so the diagram follows without a change per key.
    form.addEventListener('input', function (event) {
      var input = event.target;
      if (!input.hasAttribute('data-apply') || input.tagName === 'SELECT'
          || input.type === 'checkbox') { return; }
      clearTimeout(timers.get(input));
      timers.set(input, setTimeout(function () { applyFrom(input); }, 600));
    });
  }

  // -- start ----------------------------------------------------------------------------

  function bindButtons() {
    $('btn-save').addEventListener('click', function () { run(T.saving, saveDraft); });
    $('btn-validate').addEventListener('click', function () { run(T.validating, validate); });
    $('btn-deploy').addEventListener('click', function () {
      $('deploy-confirm').hidden = false;
      $('btn-deploy-confirm').focus();
    });
    $('btn-deploy-cancel').addEventListener('click', function () {
      $('deploy-confirm').hidden = true;
      $('btn-deploy').focus();
    });
    $('btn-deploy-confirm').addEventListener('click', function () { run(T.deploying, deploy); });
    // Links to the bundle's forms keep the diagram's changes: save the draft first.
    document.querySelectorAll('[data-save-first]').forEach(function (link) {
      link.addEventListener('click', function (event) {
        if (!dirty) { return; }
        event.preventDefault();
        run(T.saving, saveDraft).then(function () { if (!dirty) { window.location = link.href; } });
      });
    });
    window.addEventListener('beforeunload', function (event) {
      if (dirty) { event.preventDefault(); event.returnValue = T.unsaved; }
    });
  }

  function listen() {
    var events = modeler.get('eventBus');
    events.on('selection.changed', function (event) {
      applied = new WeakMap();
      show(event.newSelection[0] || null);
    });
    events.on('element.changed', function (event) {
      if (current && (event.element === current || event.element.labelTarget === current)) {
        show(current);
      }
    });
    events.on('commandStack.changed', function (event) {
      dirty = true;
      if (event.trigger === 'undo' || event.trigger === 'redo') { applied = new WeakMap(); }
    });
  }

  function showRoleNames() { window.StudioRoleNames(modeler, config.roles, T.unknown_role); }

  /** "What-if" and the test run use the saved draft: save the diagram first if changed. */
  function bindWhatif() {
    ['btn-whatif', 'btn-testrun'].forEach(function (id) { $(id).addEventListener('click', saveFirst); });
    function saveFirst(event) {
      if (!dirty) { return; }
      event.preventDefault();
      var href = event.currentTarget.href;
      run(T.saving, saveDraft).then(function () { if (!dirty) { window.location = href; } });
    }
  }

  /** The side panel (properties, problems, tables, forms) folds away to widen the
   * diagram; the choice is remembered in this browser. */
  function bindSide() {
    var button = $('btn-side');
    var side = $('studio-side');
    function set(open) {
      side.hidden = !open;
      $('studio-workbench').classList.toggle('studio-workbench--wide', !open);
      button.setAttribute('aria-expanded', String(open));
      button.textContent = button.getAttribute(open ? 'data-hide' : 'data-show');
      canvas.resized();
      try { window.localStorage.setItem('studio-side', open ? 'open' : 'closed'); } catch (e) { /* private mode */ }
    }
    button.addEventListener('click', function () { set(side.hidden); });
    var stored = null;
    try { stored = window.localStorage.getItem('studio-side'); } catch (e) { /* private mode */ }
    if (stored === 'closed') { set(false); }
  }

  function start() {
    say(T.loading, 'info');
    window.StudioFillWindow($('studio-workbench'), function () { if (canvas) { canvas.resized(); } });
    fetch(config.moddle_url).then(function (r) { return r.json(); }).then(function (descriptor) {
      modeler = new window.BpmnJS({container: '#studio-canvas',
                                   moddleExtensions: {spiffworkflow: descriptor},
                                   textRenderer: window.StudioText});
      model = window.StudioModel(modeler);
      problems = window.StudioProblems(modeler, $('problems-list'), $('problems-empty'),
                                       T.no_element, T.warning);
      canvas = modeler.get('canvas');
      registry = modeler.get('elementRegistry');
      listen();
      return fetch(config.urls.xml_url, {credentials: 'same-origin'});
    }).then(function (response) {
      if (!response.ok) { throw new Error(response.status); }
      return response.text();
    }).then(function (xml) {
      return modeler.importXML(xml);
    }).then(function () {
      bindSide();
      window.StudioOpen(modeler);
      window.StudioZoomBar(modeler, $('studio-zoom'));
      showRoleNames();
      modeler.on('elements.changed', function () {
        clearTimeout(showRoleNames.timer);
        showRoleNames.timer = setTimeout(showRoleNames, 100);
      });
      dirty = false;
      bindPanel();
      bindButtons();
      bindWhatif();
      setBusy(false);
      say('');
      document.body.setAttribute('data-studio-ready', '');
    }).catch(function (error) {
      say(T.load_failed + ' ' + (error && error.message || error), 'error');
    });
  }

  start();
}());
