/* The form builder beside the JSON view: the same form as a list of fields.
 *
 * The server turns the schema into the builder's form (web/studio/formbuilder.py, read)
 * or says why it cannot; the builder then edits that form, and after each change the
 * server writes it back as JSON Schema (write), which replaces the JSON text and redraws
 * the live preview. So both views always hold one schema, and the saved file is the JSON
 * text, whichever view made it. */
(function () {
  'use strict';

  var $ = function (id) { return document.getElementById(id); };
  var config = JSON.parse($('builder-config').textContent);
  var T = config.t;
  var shared = window.StudioFormEditor;  // formeditor.js: requests, the list of problems
  var post = shared.post;
  var source = $('schema');
  var panel = $('form-builder');
  var tabBuilder = $('tab-builder');
  var tabJson = $('tab-json');
  var reasonBox = $('builder-reason');
  var lang = $('preview-lang');
  var form = null;   // the builder's form, while the builder is shown
  var timer = null;
  var sent = 0;

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === 'text') { node.textContent = attrs[key]; } else { node.setAttribute(key, attrs[key]); }
    });
    (children || []).forEach(function (child) { if (child) { node.appendChild(child); } });
    return node;
  }

  var uid = 0;
  /** A labelled input bound to ``target[key]``; ``kind``: text, number, checkbox, select. */
  function input(target, key, label, kind, options) {
    var id = 'b' + (++uid);
    var field = el('div', {'class': 'field' + (kind === 'checkbox' ? ' field--checkbox' : '')});
    var control;
    if (kind === 'select') {
      control = el('select', {id: id});
      options.forEach(function (o) {
        var option = el('option', {value: o[0], text: o[1]});
        if (String(target[key] === undefined || target[key] === null ? '' : target[key]) === o[0]) {
          option.selected = true;
        }
        control.appendChild(option);
      });
    } else if (kind === 'textarea') {
      control = el('textarea', {id: id, rows: '2'});
      control.value = target[key] || '';
    } else {
      control = el('input', {id: id, type: kind});
      if (kind === 'checkbox') { control.checked = !!target[key]; } else {
        control.value = target[key] === undefined || target[key] === null ? '' : target[key];
      }
    }
    control.setAttribute('data-key', key);
    control.addEventListener(kind === 'checkbox' || kind === 'select' ? 'change' : 'input', function () {
      var value = kind === 'checkbox' ? control.checked : control.value;
      if (kind === 'number') { value = control.value === '' ? null : Number(control.value); }
      target[key] = value;
      if (options && options.rebuild) { render(); }
      changed();
    });
    var labelNode = el('label', {'for': id, text: label});
    if (kind === 'checkbox') { field.appendChild(control); field.appendChild(labelNode); } else {
      field.appendChild(labelNode); field.appendChild(control);
    }
    return field;
  }

  function listInput(target, key, label) {  // ".pdf, .jpg" <-> [".pdf", ".jpg"]
    var proxy = {v: (target[key] || []).join(', ')};
    var field = input(proxy, 'v', label, 'text');
    field.querySelector('input').addEventListener('input', function () {
      var items = proxy.v.split(',').map(function (s) { return s.trim(); }).filter(Boolean);
      target[key] = items.length ? items : null;
    });
    return field;
  }

  function sizeInput(target) {  // bytes <-> MB
    var proxy = {v: target.max_bytes ? target.max_bytes / 1048576 : null};
    var field = input(proxy, 'v', T.max_mb, 'number');
    field.querySelector('input').addEventListener('input', function () {
      target.max_bytes = proxy.v ? Math.round(proxy.v * 1048576) : null;
    });
    return field;
  }

  function button(text, onClick, cls) {
    var b = el('button', {type: 'button', 'class': cls || 'button button--secondary', text: text});
    b.addEventListener('click', function () { onClick(); render(); changed(); });
    return b;
  }

  function typeSettings(field) {
    var box = el('div', {'class': 'studio-builder-settings'});
    var t = field.type;
    if (t === 'text') {
      box.appendChild(input(field, 'format', T.format, 'select',
        [['', T.format_none], ['email', T.format_email]]));
    }
    if (t === 'text' || t === 'longtext') {
      box.appendChild(input(field, 'min_length', T.min_length, 'number'));
      box.appendChild(input(field, 'max_length', T.max_length, 'number'));
      box.appendChild(input(field, 'pattern', T.pattern, 'text'));
    }
    if (t === 'number') {
      box.appendChild(input(field, 'integer', T.integer, 'checkbox'));
      box.appendChild(input(field, 'minimum', T.minimum, 'number'));
      box.appendChild(input(field, 'maximum', T.maximum, 'number'));
    }
    if (t === 'yesno') { box.appendChild(input(field, 'must_be_yes', T.must_be_yes, 'checkbox')); }
    if (t === 'document') {
      box.appendChild(listInput(field, 'accept', T.accept));
      box.appendChild(sizeInput(field));
    }
    if (t === 'choice') {
      box.appendChild(input(field, 'multiple', T.multiple, 'checkbox', {rebuild: true}));
      if (field.multiple) { box.appendChild(input(field, 'min_items', T.min_items, 'number')); }
      var list = el('fieldset', {'class': 'studio-builder-options'}, [el('legend', {text: T.options})]);
      field.options = field.options || [];
      field.options.forEach(function (option, i) {
        list.appendChild(el('div', {'class': 'studio-builder-option'}, [
          input(option, 'value', T.value, 'text'), input(option, 'title', T.title, 'text'),
          input(option, 'title_en', T.title_en, 'text'),
          button(T.remove_option, function () { field.options.splice(i, 1); }, 'link-button')]));
      });
      list.appendChild(button(T.add_option, function () {
        field.options.push({value: '', title: '', title_en: ''});
      }));
      box.appendChild(list);
    }
    return box;
  }

  /** The format hint under the field (its first example) and what a value of the wrong
   * shape is told, in Vietnamese and English: examples, x-error, x-error-en. */
  function hintSettings(field) {
    if (['text', 'longtext', 'number', 'date'].indexOf(field.type) < 0) { return null; }
    var box = el('div', {'class': 'studio-builder-settings studio-builder-hint'});
    var proxy = {v: (field.examples || [])[0] || ''};
    var example = input(proxy, 'v', T.example, 'text');
    example.querySelector('input').setAttribute('data-key', 'example');
    example.querySelector('input').addEventListener('input', function () {
      var rest = (field.examples || []).slice(1);  // further examples stay as they are
      field.examples = proxy.v.trim() ? [proxy.v].concat(rest) : (rest.length ? rest : null);
    });
    box.appendChild(example);
    box.appendChild(input(field, 'error', T.error, 'text'));
    box.appendChild(input(field, 'error_en', T.error_en, 'text'));
    return box;
  }

  /** Which later steps see the field (x-show-to): every officer's (no key), only the
   * roles ticked (a list), or none ([]). Codes the page does not know are kept. */
  function showToSettings(field) {
    var box = el('fieldset', {'class': 'studio-builder-roles'}, [el('legend', {text: T.show_to})]);
    var known = config.roles.map(function (r) { return r.code; });
    var mode = {v: !field.show_to ? 'all' : field.show_to.length ? 'some' : 'none'};
    var select = input(mode, 'v', T.show_to_mode, 'select',
      [['all', T.show_all], ['some', T.show_some], ['none', T.show_none]]);
    select.querySelector('select').setAttribute('data-key', 'show_to');
    select.querySelector('select').addEventListener('change', function () {
      field.show_to = mode.v === 'all' ? null : mode.v === 'none' ? []
        : known.filter(function (code) { return code !== 'applicant'; });
      render();
    });
    box.appendChild(select);
    if (mode.v !== 'some') { return box; }
    config.roles.forEach(function (role) {
      var holder = {v: field.show_to.indexOf(role.code) >= 0};
      var check = input(holder, 'v', role.name, 'checkbox');
      check.querySelector('input').setAttribute('data-role', role.code);
      check.querySelector('input').addEventListener('change', function () {
        var kept = field.show_to.filter(function (code) { return code !== role.code; });
        field.show_to = holder.v ? kept.concat([role.code]) : kept;
      });
      box.appendChild(check);
    });
    return box;
  }

  function conditionSettings(field) {
    var box = el('div', {'class': 'studio-builder-when'});
    var others = form.fields.filter(function (f) { return f !== field && f.name; });
    var holder = {on: field.required_when ? field.required_when.field : ''};
    var select = input(holder, 'on', T.required_when, 'select',
      [['', T.when_none]].concat(others.map(function (f) { return [f.name, f.title || f.name]; })));
    select.querySelector('select').addEventListener('change', function () {
      field.required_when = holder.on ? {field: holder.on, values: [],
        pattern: field.type === 'text' || field.type === 'longtext' ? '\\S' : null} : null;
      render();
      changed();
    });
    box.appendChild(select);
    var when = field.required_when;
    if (!when) { return box; }
    var on = others.filter(function (f) { return f.name === when.field; })[0];
    var values = el('fieldset', {'class': 'studio-builder-values'}, [el('legend', {text: T.when_values})]);
    var choices = on && on.type === 'choice' ? on.options.map(function (o) { return [o.value, o.title || o.value]; })
      : on && on.type === 'yesno' ? [[true, T.yes], [false, T.no]] : null;
    if (choices) {
      choices.forEach(function (c) {
        var holder2 = {v: when.values.indexOf(c[0]) >= 0};
        var check = input(holder2, 'v', c[1], 'checkbox');
        check.querySelector('input').addEventListener('change', function () {
          when.values = choices.map(function (x) { return x[0]; }).filter(function (v) {
            return v === c[0] ? holder2.v : when.values.indexOf(v) >= 0;
          });
        });
        values.appendChild(check);
      });
    } else {
      values.appendChild(listInput(when, 'values', T.when_values));
    }
    box.appendChild(values);
    if (field.type === 'text' || field.type === 'longtext') {
      box.appendChild(input(when, 'pattern', T.when_pattern, 'text'));
    }
    return box;
  }

  function card(field, index) {
    var moveBy = function (step) {
      return function () {
        var to = index + step;
        if (to < 0 || to >= form.fields.length) { return; }
        form.fields.splice(to, 0, form.fields.splice(index, 1)[0]);
      };
    };
    var head = el('div', {'class': 'studio-builder-head'}, [
      el('strong', {text: T.field + ' ' + (index + 1) + (field.title ? ': ' + field.title : '')}),
      button(T.up, moveBy(-1), 'link-button'), button(T.down, moveBy(1), 'link-button'),
      button(T.remove, function () { form.fields.splice(index, 1); }, 'link-button')]);
    var typeNames = Object.keys(T.types).map(function (k) { return [k, T.types[k]]; });
    return el('section', {'class': 'studio-builder-field', 'data-field': field.name || ''}, [
      head,
      el('div', {'class': 'studio-builder-grid'}, [
        input(field, 'name', T.name, 'text'),
        input(field, 'type', T.type, 'select', typeNames),
        input(field, 'title', T.title, 'text'), input(field, 'title_en', T.title_en, 'text'),
        input(field, 'help', T.help, 'text'), input(field, 'help_en', T.help_en, 'text'),
        input(field, 'required', T.required, 'checkbox'),
        input(field, 'prefill', T.prefill, 'select',
              [['', T.prefill_none]].concat(config.prefill.map(function (p) {
                return [p, T.prefill_fields[p] || p];
              })))]),
      typeSettings(field), hintSettings(field), conditionSettings(field), showToSettings(field)]);
  }

  /** The reception checklist on this step (x-checklist): the lane's default, on or off. */
  function checklistInput() {
    var proxy = {v: form.checklist === true ? 'on' : form.checklist === false ? 'off' : ''};
    var field = input(proxy, 'v', T.checklist, 'select',
      [['', T.checklist_default], ['on', T.checklist_on], ['off', T.checklist_off]]);
    field.querySelector('select').setAttribute('data-key', 'checklist');
    field.querySelector('select').addEventListener('change', function () {
      form.checklist = proxy.v === 'on' ? true : proxy.v === 'off' ? false : null;
    });
    return field;
  }

  function render() {
    panel.textContent = '';
    var top = el('div', {'class': 'studio-builder-grid'}, [
      input(form, 'title', T.form_title, 'text'), input(form, 'title_en', T.form_title_en, 'text'),
      input(form, 'description', T.form_help, 'textarea'),
      input(form, 'description_en', T.form_help_en, 'textarea'), checklistInput()]);
    panel.appendChild(top);
    form.fields.forEach(function (field, i) { panel.appendChild(card(field, i)); });
    panel.appendChild(button(T.add, function () {
      form.fields.push({name: 'truong_' + (form.fields.length + 1), type: 'text', title: '',
                        title_en: '', help: '', help_en: '', required: false, required_when: null});
    }, 'button'));
    // A change of type shows that type's settings.
    panel.querySelectorAll('select[data-key="type"]').forEach(function (select) {
      select.addEventListener('change', render);
    });
  }

  function changed() {
    clearTimeout(timer);
    timer = setTimeout(write, 250);
  }

  function write() {
    var ticket = ++sent;
    post(config.write_url, {form: form, lang: lang.value}).then(function (data) {
      if (ticket !== sent) { return; }
      if (data.schema) { source.value = data.schema; }
      shared.showErrors(data.errors || []);
      if (data.html !== null && data.html !== undefined) { $('preview').innerHTML = data.html; }
      panel.setAttribute('data-written', String(ticket));
    }).catch(function () { shared.showErrors([{message: T.failed}]); });
  }

  function show(builder) {
    panel.hidden = !builder;
    source.closest('.field').hidden = builder;
    tabBuilder.setAttribute('aria-selected', String(builder));
    tabJson.setAttribute('aria-selected', String(!builder));
    if (builder) { reasonBox.hidden = true; }
  }

  function openBuilder() {
    return post(config.read_url, {schema: source.value}).then(function (data) {
      if (!data.form) {
        reasonBox.textContent = T.cannot + ' ' + data.reason;
        reasonBox.hidden = false;
        show(false);
        return;
      }
      form = data.form;
      render();
      show(true);
    });
  }

  $('form-views').hidden = false;
  tabBuilder.addEventListener('click', openBuilder);
  tabJson.addEventListener('click', function () { show(false); form = null; });
  lang.addEventListener('change', function () { if (form) { write(); } });
  openBuilder().then(function () { document.body.setAttribute('data-builder-ready', ''); });
}());
