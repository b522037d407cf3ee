"""The conformance runner: per diagram, accepted or refused with reasons, and a run to the
end for what needs no person (timers jump the clock; the workflow is saved and restored
after every step)."""

from pathlib import Path

from click.testing import CliRunner

from engine import conformance
from web.cli import cli

DIAGRAMS = Path(__file__).resolve().parent / "elements" / "diagrams"

TIMER_THEN_SCRIPT = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="x">
  <bpmn:process id="wait_then_count" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="wait"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration>"P3D"</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:scriptTask id="count"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing><bpmn:script>total = sum([1, 2, 3])</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="e"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="wait"/>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="count"/>
    <bpmn:sequenceFlow id="f3" sourceRef="count" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>
"""


def folder(tmp_path: Path) -> Path:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "timer.bpmn").write_text(TIMER_THEN_SCRIPT, encoding="utf-8")
    (tmp_path / "a" / "person.bpmn").write_text((DIAGRAMS / "no_lane.bpmn").read_text())
    bad = TIMER_THEN_SCRIPT.replace("sum([1, 2, 3])", "__import__('os')")
    (tmp_path / "bad.bpmn").write_text(bad, encoding="utf-8")
    return tmp_path


def test_each_file_is_accepted_or_refused_and_runnable_ones_run_to_the_end(tmp_path):
    results = {r.file: r for r in conformance.run_folder(folder(tmp_path))}
    assert results["a/timer.bpmn"].accepted and results["a/timer.bpmn"].run == "completed"
    person = results["a/person.bpmn"]
    assert person.accepted and person.run == "person" and person.warnings
    bad = results["bad.bpmn"]
    assert not bad.accepted and bad.problems[0]["element"] == "count"
    assert "'_'" in bad.problems[0]["message"]
    totals = conformance.summary(list(results.values()))
    assert (totals["files"], totals["accepted"], totals["refused"]) == (3, 2, 1)
    assert totals["runs"] == {"completed": 1, "person": 1}


def test_the_command_prints_a_line_per_file_and_the_totals(tmp_path):
    out = CliRunner().invoke(cli, ["conformance", str(folder(tmp_path))])
    assert out.exit_code == 0, out.output
    assert "ACCEPTED a/timer.bpmn — run: completed" in out.output
    assert "REFUSED  bad.bpmn" in out.output
    assert "2 of 3 accepted, 1 refused." in out.output
