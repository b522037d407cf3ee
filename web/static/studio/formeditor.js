/* The form editor's live preview: after a pause in typing, the schema goes to the
 * studio's preview endpoint, which renders it with the portal's own form renderer
 * (web.formrender.render_form) and checks it as deploy does. The preview shows the last
 * valid schema; the problems are listed beside the text, JSON syntax errors with a
 * button that puts the cursor on their line. */
(function () {
  'use strict';

  var form = document.getElementById('form-editor');
  var source = document.getElementById('schema');
  var errorsBox = document.getElementById('schema-errors');
  var preview = document.getElementById('preview');
  var stale = document.getElementById('preview-stale');
  var lang = document.getElementById('preview-lang');
  var timer = null;
  var sent = 0;

  document.getElementById('btn-preview').hidden = true;  // the preview follows the typing

  function goToLine(line, column) {
    var lines = source.value.split('\n');
    var offset = 0;
    for (var i = 0; i < line - 1 && i < lines.length; i++) { offset += lines[i].length + 1; }
    offset += Math.max(0, (column || 1) - 1);
    source.focus();
    source.setSelectionRange(offset, offset);
  }

  function showErrors(errors) {
    errorsBox.textContent = '';
    if (!errors.length) {
      var ok = document.createElement('p');
      ok.className = 'studio-ok';
      ok.textContent = errorsBox.getAttribute('data-ok');
      errorsBox.appendChild(ok);
      return;
    }
    var list = document.createElement('ul');
    errors.forEach(function (error) {
      var li = document.createElement('li');
      if (error.line) {
        var button = document.createElement('button');
        button.type = 'button';
        button.className = 'link-button';
        button.textContent = errorsBox.getAttribute('data-line')
          .replace('__LINE__', error.line).replace('__COLUMN__', error.column);
        button.setAttribute('data-line', error.line);
        button.setAttribute('data-column', error.column);
        li.appendChild(button);
        li.appendChild(document.createTextNode(': '));
      } else if (error.path) {
        var path = document.createElement('span');
        path.className = 'code';
        path.textContent = error.path;
        li.appendChild(path);
        li.appendChild(document.createTextNode(': '));
      }
      li.appendChild(document.createTextNode(error.message));
      list.appendChild(li);
    });
    var box = document.createElement('div');
    box.className = 'error-summary';
    box.appendChild(list);
    errorsBox.appendChild(box);
  }

  /** POST ``body`` as JSON to one of the studio's endpoints; the answer's JSON. */
  function post(url, body) {
    return fetch(url, {
      method: 'POST', credentials: 'same-origin',
      headers: {'Content-Type': 'application/json', 'Accept': 'application/json',
                'X-CSRF-Token': form.getAttribute('data-csrf')},
      body: JSON.stringify(body)
    }).then(function (response) { return response.json(); });
  }

  function refresh() {
    var ticket = ++sent;
    post(form.getAttribute('data-preview-url'), {schema: source.value, lang: lang.value})
      .then(function (data) {
      if (ticket !== sent) { return; }  // an answer to older text
      showErrors(data.errors || []);
      if (data.html !== null && data.html !== undefined) { preview.innerHTML = data.html; }
      stale.hidden = data.html !== null && data.html !== undefined;
      form.setAttribute('data-previewed', String(ticket));
    }).catch(function () {
      if (ticket !== sent) { return; }
      errorsBox.textContent = errorsBox.getAttribute('data-failed');
    });
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  }

  source.addEventListener('input', later);
  lang.addEventListener('change', refresh);
  errorsBox.addEventListener('click', function (event) {
    var line = event.target.getAttribute && event.target.getAttribute('data-line');
    if (line) { goToLine(Number(line), Number(event.target.getAttribute('data-column'))); }
  });
  // The form builder (formbuilder.js) shares the requests and the list of problems.
  window.StudioFormEditor = {post: post, showErrors: showErrors};
  // The preview is not a real form: its fields submit nothing.
  preview.addEventListener('submit', function (event) { event.preventDefault(); });
}());
