/* What every studio diagram shares: the text face and fitting the drawing to the view.
 *
 * bpmn-js draws labels in Arial by default, a face many Linux desktops lack; the fallback
 * may stack Vietnamese marks beside their letters. Labels use faces that carry Vietnamese.
 * "Fit" leaves room for the modeler's palette (top left), so it never covers the first
 * steps of a diagram: the drawing is fitted into the part of the view right of it. */
(function () {
  'use strict';

  var FACE = '"Noto Sans", "DejaVu Sans", "Liberation Sans", Arial, sans-serif';
  window.StudioText = {defaultStyle: {fontFamily: FACE, fontSize: 12},
                       externalStyle: {fontFamily: FACE, fontSize: 11}};

  var MARGIN = 24;

  /** Fit the whole drawing in the view, clear of the palette if there is one. */
  window.StudioFit = function (diagram) {
    var canvas = diagram.get('canvas');
    canvas.zoom('fit-viewport');
    var box = canvas.viewbox();
    var inner = box.inner;
    var outer = box.outer;
    if (!inner || !inner.width || !outer.width) { return; }
    var container = canvas.getContainer();
    var palette = container.querySelector('.djs-palette');
    var left = 0;
    if (palette && palette.offsetParent !== null) {
      left = palette.getBoundingClientRect().right - container.getBoundingClientRect().left;
    }
    var width = Math.max(outer.width - left - 2 * MARGIN, 50);
    var height = Math.max(outer.height - 2 * MARGIN, 50);
    var scale = Math.min(width / inner.width, height / inner.height, 1.2);
    canvas.viewbox({
      x: inner.x - (left + MARGIN) / scale,
      y: inner.y - MARGIN / scale - (height - inner.height * scale) / 2 / scale,
      width: outer.width / scale,
      height: outer.height / scale
    });
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
