/* What the studio's editors share when they talk to the server: a JSON POST carrying the
 * page's CSRF token, and the status line under the toolbar (a message, links after it,
 * and a list of problems below it). Loaded before editor.js and decision.js. */
(function () {
  'use strict';

  function postJSON(url, body, csrf) {
    return fetch(url, {
      method: 'POST', credentials: 'same-origin',
      headers: {'Content-Type': 'application/json', 'Accept': 'application/json',
                'X-CSRF-Token': csrf},
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        return {status: response.status, data: data};
      });
    });
  }

  function say(box, text, kind, links, items) {
    box.textContent = '';
    box.className = 'studio-status' + (kind ? ' flash flash--' + kind : '');
    if (!text) { return; }
    var p = document.createElement('p');
    p.textContent = text;
    (links || []).forEach(function (link) {
      var a = document.createElement('a');
      a.href = link.href;
      a.textContent = link.text;
      p.appendChild(document.createTextNode(' '));
      p.appendChild(a);
    });
    box.appendChild(p);
    if (items && items.length) {
      var list = document.createElement('ul');
      items.forEach(function (item) {
        var li = document.createElement('li');
        li.textContent = item;
        list.appendChild(li);
      });
      box.appendChild(list);
    }
  }

  window.StudioTalk = {postJSON: postJSON, say: say};
}());
