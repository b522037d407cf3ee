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
}());
