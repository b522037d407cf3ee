/* Reading and writing what the platform keeps in a diagram's elements: SpiffWorkflow's
 * extensions (spiffworkflow:properties, serviceTaskOperator and its parameters, message
 * payload, variable and correlation — described to bpmn-js by spiffworkflow.json), timer
 * expressions, gateway conditions, message names.
 *
 * Every change goes through bpmn-js's modeling service, so it lands on the command stack:
 * undo works and the editor knows the diagram changed. No DOM here: editor.js puts these
 * values in the properties panel and takes them back.
 *
 *   var model = StudioModel(modeler);
 *   model.property(task, 'dueIn');  model.setProperty(task, 'dueIn', "working_days(2)");
 */
window.StudioModel = function (modeler) {
  'use strict';

  var S = 'spiffworkflow:';
  var modeling = modeler.get('modeling');
  var moddle = modeler.get('moddle');

  function bo(element) { return element.businessObject; }
  function isA(element, type) { return !!element && bo(element).$instanceOf(type); }
  function first(list, test) { return (list || []).filter(test)[0]; }
  function update(element, target, values) { modeling.updateModdleProperties(element, target, values); }

  // -- bpmn:extensionElements ---------------------------------------------------------

  function extension(obj, type) {
    return first(obj.extensionElements && obj.extensionElements.get('values'),
                 function (v) { return v.$instanceOf(type); });
  }
  function ensureExtension(element, obj, type, attrs) {
    var found = extension(obj, type);
    if (found) { return found; }
    var container = obj.extensionElements;
    if (!container) {
      container = moddle.create('bpmn:ExtensionElements', {values: []});
      container.$parent = obj;
      update(element, obj, {extensionElements: container});
    }
    found = moddle.create(type, attrs || {});
    found.$parent = container;
    update(element, container, {values: container.get('values').concat([found])});
    return found;
  }
  function removeExtension(element, obj, item) {
    var container = obj.extensionElements;
    if (!container || !item) { return; }
    var rest = container.get('values').filter(function (v) { return v !== item; });
    if (rest.length) { update(element, container, {values: rest}); }
    else { update(element, obj, {extensionElements: undefined}); }
  }
  function setBody(element, obj, type, text) {
    var found = extension(obj, type);
    if (!text) { removeExtension(element, obj, found); return; }
    update(element, found || ensureExtension(element, obj, type), {value: text});
  }

  // -- user tasks: spiffworkflow:properties / property name+value -----------------------

  function property(element, name) {
    var props = extension(bo(element), S + 'Properties');
    var prop = props && first(props.get('properties'), function (p) { return p.name === name; });
    return prop ? prop.value || '' : '';
  }
  function setProperty(element, name, value) {
    var obj = bo(element);
    var props = extension(obj, S + 'Properties');
    var list = props ? props.get('properties') : [];
    var existing = first(list, function (p) { return p.name === name; });
    if (!value) {
      if (!existing) { return; }
      var rest = list.filter(function (p) { return p !== existing; });
      if (rest.length) { update(element, props, {properties: rest}); }
      else { removeExtension(element, obj, props); }
      return;
    }
    if (existing) { update(element, existing, {value: value}); return; }
    props = props || ensureExtension(element, obj, S + 'Properties');
    var prop = moddle.create(S + 'Property', {name: name, value: value});
    prop.$parent = props;
    update(element, props, {properties: props.get('properties').concat([prop])});
  }

  // -- service tasks: serviceTaskOperator id+resultVariable, parameters -----------------

  function operator(element) { return extension(bo(element), S + 'ServiceTaskOperator'); }
  /** {id: {type, value}} of the task's parameters. */
  function parameters(element) {
    var op = operator(element);
    var values = {};
    ((op && op.parameterList && op.parameterList.get('parameters')) || []).forEach(function (p) {
      values[p.id] = {type: p.type, value: p.value};
    });
    return values;
  }
  /** Name the operator (none: remove it); a new operator starts without parameters. */
  function setOperator(element, name) {
    var op = operator(element);
    if (!name) { removeExtension(element, bo(element), op); return; }
    if (!op) { ensureExtension(element, bo(element), S + 'ServiceTaskOperator', {id: name}); }
    else if (op.id !== name) { update(element, op, {id: name, parameterList: undefined}); }
  }
  /** Set the parameters ``[{id, type, value}]`` (an empty value removes one). Parameters
   * not in the list stay: the operator does not declare them, and validation names them. */
  function setParameters(element, given) {
    var op = operator(element);
    if (!op) { return; }
    var named = {};
    var params = given.filter(function (p) { named[p.id] = true; return p.value; }).map(function (p) {
      return moddle.create(S + 'Parameter', {id: p.id, type: p.type || 'str', value: p.value});
    });
    ((op.parameterList && op.parameterList.get('parameters')) || []).forEach(function (p) {
      if (!named[p.id]) { params.push(p); }
    });
    var list = op.parameterList;
    if (!params.length) {
      if (list) { update(element, op, {parameterList: undefined}); }
      return;
    }
    if (!list) {
      list = moddle.create(S + 'Parameters', {parameters: []});
      list.$parent = op;
      update(element, op, {parameterList: list});
    }
    params.forEach(function (p) { p.$parent = list; });
    update(element, list, {parameters: params});
  }
  function setResultVariable(element, name) {
    var op = operator(element);
    if (op) { update(element, op, {resultVariable: name || undefined}); }
  }

  // -- timers: a timeDate expression (the platform's convention, bpmn/README.md) --------

  function definition(element, type) {
    return first(bo(element).eventDefinitions, function (d) { return d.$instanceOf(type); });
  }
  function timer(element) { return definition(element, 'bpmn:TimerEventDefinition'); }
  /** {expression, kind}: the timer's expression and which of timeDate/Duration/Cycle. */
  function timerExpression(element) {
    var def = timer(element);
    var kind = ['timeDate', 'timeDuration', 'timeCycle'].filter(function (k) { return def[k]; })[0];
    return {expression: kind ? def[kind].body || '' : '', kind: kind || 'timeDate'};
  }
  function setTimeDate(element, text) {
    var expression = text ? moddle.create('bpmn:FormalExpression', {body: text}) : undefined;
    update(element, timer(element), {timeDate: expression, timeDuration: undefined, timeCycle: undefined});
  }

  // -- sequence flows out of a gateway: condition, default ------------------------------

  function isGateway(element) {
    return isA(element, 'bpmn:ExclusiveGateway') || isA(element, 'bpmn:InclusiveGateway');
  }
  function isConditionalFlow(element) {
    return isA(element, 'bpmn:SequenceFlow')
      && (isGateway(element.source) || !!bo(element).conditionExpression);
  }
  function condition(flow) { return (bo(flow).conditionExpression || {}).body || ''; }
  function setCondition(flow, text) {
    modeling.updateProperties(flow, {conditionExpression: text
      ? moddle.create('bpmn:FormalExpression', {body: text}) : undefined});
  }
  function isDefault(flow) { return !!flow.source && bo(flow.source)['default'] === bo(flow); }
  function setDefault(flow, yes) {
    modeling.updateProperties(flow.source, {'default': yes ? bo(flow) : undefined});
  }

  // -- message events: name, payload (throw) or variable (catch), correlation -----------

  function message(element) { return definition(element, 'bpmn:MessageEventDefinition'); }
  function isThrowing(element) {
    return isA(element, 'bpmn:IntermediateThrowEvent') || isA(element, 'bpmn:EndEvent');
  }
  function messageInfo(element) {
    var def = message(element);
    var correlation = extension(def, S + 'ProcessVariableCorrelation') || {};
    return {name: def.messageRef ? def.messageRef.name || '' : '',
            payload: (extension(def, S + 'MessagePayload') || {}).value || '',
            variable: (extension(def, S + 'MessageVariable') || {}).value || '',
            key: (correlation.propertyId || {}).value || '',
            expression: (correlation.expression || {}).value || ''};
  }
  /** Point the event at the bpmn:Message called ``name`` (created when there is none). */
  function setMessageName(element, name) {
    var def = message(element);
    if (!name) { update(element, def, {messageRef: undefined}); return; }
    var definitions = modeler.getDefinitions();
    var found = first(definitions.get('rootElements'), function (r) {
      return r.$instanceOf('bpmn:Message') && r.name === name;
    });
    if (!found) {
      found = moddle.create('bpmn:Message', {name: name});
      found.id = moddle.ids.nextPrefixed('Message_', found);
      found.$parent = definitions;
      update(element, definitions, {rootElements: definitions.get('rootElements').concat([found])});
    }
    update(element, def, {messageRef: found});
  }
  function setPayload(element, text) { setBody(element, message(element), S + 'MessagePayload', text); }
  function setVariable(element, text) { setBody(element, message(element), S + 'MessageVariable', text); }
  function setCorrelation(element, key, expression) {
    var def = message(element);
    var found = extension(def, S + 'ProcessVariableCorrelation');
    if (!key && !expression) { removeExtension(element, def, found); return; }
    found = found || ensureExtension(element, def, S + 'ProcessVariableCorrelation');
    update(element, found, {
      propertyId: moddle.create(S + 'PropertyId', {value: key || 'dossier_code'}),
      expression: moddle.create(S + 'Expression', {value: expression})});
  }

  return {
    bo: bo, isA: isA,
    property: property, setProperty: setProperty,
    operator: operator, parameters: parameters, setOperator: setOperator,
    setParameters: setParameters, setResultVariable: setResultVariable,
    timer: timer, timerExpression: timerExpression, setTimeDate: setTimeDate,
    isGateway: isGateway, isConditionalFlow: isConditionalFlow, condition: condition,
    setCondition: setCondition, isDefault: isDefault, setDefault: setDefault,
    message: message, isThrowing: isThrowing, messageInfo: messageInfo,
    setMessageName: setMessageName, setPayload: setPayload, setVariable: setVariable,
    setCorrelation: setCorrelation
  };
};
