/* What every studio diagram shares: the text face, the opening view, zooming.
 *
 * bpmn-js draws labels in Arial by default, a face many Linux desktops lack; the fallback
 * may stack Vietnamese marks beside their letters. Labels use faces that carry Vietnamese.
 *
 * The opening view shows the whole drawing when its labels can still be read; a large
 * process (the transport licence's fits a 1366×768 screen only at about 30 %, its labels
 * 3.5 px high) opens instead at the smallest readable zoom, at its start. "Fit" leaves room
 * for the modeler's palette (top left), so it never covers the first steps of a diagram:
 * the drawing is placed in the part of the view right of it. */
(function () {
  'use strict';

  var FACE = '"Noto Sans", "DejaVu Sans", "Liberation Sans", Arial, sans-serif';
  var LABEL = 12;
  window.StudioText = {defaultStyle: {fontFamily: FACE, fontSize: LABEL},
                       externalStyle: {fontFamily: FACE, fontSize: LABEL}};

  var MARGIN = 24;
  // The smallest zoom that draws the labels readably: 12-unit labels 9 px high on screen.
  // Below ~9 px Noto Sans runs the stacked Vietnamese marks ("ể", "ồ", "ặ") into the letter
  // and into each other; at 0.6 they are 7 px, at the fitted 0.29 of the licence 3.5 px.
  var READABLE = 0.75;
  window.StudioReadableZoom = READABLE;

  function paletteRight(canvas) {
    var container = canvas.getContainer();
    var palette = container.querySelector('.djs-palette');
    if (!palette || palette.offsetParent === null) { return 0; }
    return palette.getBoundingClientRect().right - container.getBoundingClientRect().left;
  }

  /** The drawing's box (diagram units), the view's size (pixels), the palette's edge. */
  function measure(canvas) {
    canvas.zoom('fit-viewport');
    var box = canvas.viewbox();
    if (!box.inner || !box.inner.width || !box.outer.width) { return null; }
    var left = paletteRight(canvas);
    var width = Math.max(box.outer.width - left - 2 * MARGIN, 50);
    var height = Math.max(box.outer.height - 2 * MARGIN, 50);
    return {inner: box.inner, outer: box.outer, left: left, width: width, height: height,
            fitted: Math.min(width / box.inner.width, height / box.inner.height, 1.2)};
  }

  /** Fit the whole drawing in the view, clear of the palette if there is one. */
  window.StudioFit = function (diagram) {
    var canvas = diagram.get('canvas');
    var m = measure(canvas);
    if (!m) { return; }
    var scale = m.fitted;
    canvas.viewbox({
      x: m.inner.x - (m.left + MARGIN) / scale,
      y: m.inner.y - MARGIN / scale - (m.height - m.inner.height * scale) / 2 / scale,
      width: m.outer.width / scale,
      height: m.outer.height / scale
    });
  };

  /** Where a reader starts: the process's first start event (leftmost, not one inside a
   * sub-process). */
  function startEvent(diagram) {
    var starts = diagram.get('elementRegistry').filter(function (el) {
      return el.type === 'bpmn:StartEvent' && el.parent
        && /^bpmn:(Process|Participant)$/.test(el.parent.type);
    });
    starts.sort(function (a, b) { return a.x - b.x || a.y - b.y; });
    return starts[0] || null;
  }

  /** The drawing at the readable zoom: its top left corner right of the palette, moved so
   * that ``anchor`` (an element, default the start event) is in the view. */
  window.StudioReadable = function (diagram, anchor) {
    var canvas = diagram.get('canvas');
    var m = measure(canvas);
    if (!m) { return; }
    var scale = READABLE;
    var view = {width: m.outer.width / scale, height: m.outer.height / scale,
                x: m.inner.x - (m.left + MARGIN) / scale, y: m.inner.y - MARGIN / scale};
    var target = anchor || startEvent(diagram);
    if (target) {
      var free = (m.outer.width - m.left) / scale;  // the view's width right of the palette
      if (target.x + target.width + MARGIN / scale > view.x + view.width) {
        view.x = target.x + target.width / 2 - m.left / scale - free / 2;
      }
      if (target.y + target.height + MARGIN / scale > view.y + view.height) {
        view.y = target.y + target.height / 2 - view.height / 2;
      }
    }
    canvas.viewbox(view);
  };

  /** The opening view: the whole drawing if its labels stay readable fitted, else the
   * readable zoom at ``anchor`` (default the start event). Returns 'fit' or 'readable'. */
  window.StudioOpen = function (diagram, anchor) {
    var m = measure(diagram.get('canvas'));
    if (!m) { return 'fit'; }
    if (m.fitted >= READABLE) {
      window.StudioFit(diagram);
      return 'fit';
    }
    window.StudioReadable(diagram, anchor);
    return 'readable';
  };

  /** The zoom bar of a page (web/templates/studio/_macros.html zoom_bar) drives ``diagram``:
   * zoom out and in, the whole drawing, the readable size; the keyboard does the same
   * when the diagram has the focus: Ctrl and +/−, F for the whole drawing. */
  window.StudioZoomBar = function (diagram, bar, anchor) {
    if (!bar) { return; }
    var canvas = diagram.get('canvas');
    var level = bar.querySelector('[data-zoom-level]');
    function step(direction) {
      var box = canvas.viewbox();
      var center = {x: box.outer.width / 2, y: box.outer.height / 2};
      var zoom = Math.round(canvas.zoom() * 100) / 100;
      var next = direction > 0 ? zoom * 1.25 : zoom / 1.25;
      // stop on the readable zoom on the way, so it is one key press away
      if ((zoom < READABLE && next > READABLE) || (zoom > READABLE && next < READABLE)) {
        next = READABLE;
      }
      canvas.zoom(Math.min(Math.max(next, 0.1), 4), center);
    }
    var actions = {
      out: function () { step(-1); },
      'in': function () { step(1); },
      fit: function () { window.StudioFit(diagram); },
      readable: function () { window.StudioReadable(diagram, anchor); }
    };
    bar.addEventListener('click', function (event) {
      var button = event.target.closest('[data-zoom]');
      if (button) { actions[button.getAttribute('data-zoom')](); }
    });
    function show() {
      var zoom = canvas.zoom();
      var text = Math.round(zoom * 100) + ' %';
      if (level.textContent !== text) { level.textContent = text; }  // announced when it changes
      bar.classList.toggle('studio-zoom--small', zoom < READABLE - 0.005);
    }
    diagram.on('canvas.viewbox.changed', show);
    show();
    var keyboard = diagram.get('keyboard', false);
    if (!keyboard) { return; }
    keyboard.addListener(2000, function (context) {
      var event = context.keyEvent;
      var cmd = event.ctrlKey || event.metaKey;
      if (cmd && !event.altKey && (event.key === '+' || event.key === '=')) { step(1); return true; }
      if (cmd && !event.altKey && event.key === '-') { step(-1); return true; }
      if (!cmd && !event.altKey && !event.shiftKey && (event.key === 'f' || event.key === 'F')) {
        actions.fit();
        return true;
      }
    });
  };

  /** The editor's workbench fills the window below the page's head: its height follows
   * the window and whatever comes and goes above it (notices, the status line).
   * ``resized`` is called when it changes (bpmn-js must be told). */
  window.StudioFillWindow = function (workbench, resized) {
    if (!workbench) { return; }
    var last = null;
    function fill() {
      var top = workbench.getBoundingClientRect().top + window.scrollY;
      var height = Math.max(Math.floor(window.innerHeight - top - 12), 400);
      if (height === last) { return; }
      last = height;
      workbench.style.setProperty('--studio-height', height + 'px');
      if (resized) { resized(); }
    }
    fill();
    window.addEventListener('resize', fill);
    if (window.ResizeObserver) {
      new window.ResizeObserver(fill).observe(document.querySelector('main') || document.body);
    }
  };

  /** Lanes are named by role code (the platform's rule): show each role's name on its
   * lane. ``roles``: code -> name; a lane whose name is no role says so. */
  window.StudioRoleNames = function (diagram, roles, unknown) {
    var overlays = diagram.get('overlays');
    overlays.remove({type: 'studio-role'});
    diagram.get('elementRegistry').filter(function (el) { return el.type === 'bpmn:Lane'; })
      .forEach(function (lane) {
        var code = lane.businessObject.name || '';
        var label = document.createElement('div');
        label.className = 'studio-role' + (roles[code] ? '' : ' studio-role--unknown');
        label.textContent = roles[code] || (code + ': ' + unknown);
        label.title = code;
        overlays.add(lane.id, 'studio-role', {position: {top: 3, left: 36}, html: label});
      });
  };
}());
