"""The tests whose dossiers reach every shape a walk of the task tree can get wrong — the
procedures' scenarios, a multi-instance task, a loop past the library's depth cap,
sub-processes and call activities, event sub-processes, timers, event-based gateways,
waiting messages, two pools in one dossier — for the modules that run them once more with
every walk checked (tests/engine/test_spiff_walks.py, tests/engine/step/test_rows_walk.py:
``from tests.engine.walked import *``)."""

from tests.bpmn.test_scenarios import test_scenario
from tests.engine.elements.test_events import (
    test_boundary_timer_reminds_and_boundary_message_interrupts,
    test_error_and_escalation_boundary_events_on_a_subprocess,
    test_event_based_gateway_message_first,
    test_event_based_gateway_timer_first,
    test_intermediate_timer_then_message,
)
from tests.engine.elements.test_loops import (
    test_a_loop_around_a_parallel_split_and_join_past_depth_1000,
    test_sub_workflows_are_ours_too,
)
from tests.engine.elements.test_messages import (
    test_a_request_and_its_reply_between_two_dossiers,
    test_two_pools_of_one_collaboration_talk_inside_the_dossier,
)
from tests.engine.elements.test_multi_instance import (
    test_multi_instance_manual_and_loops,
)
from tests.engine.elements.test_subprocesses import (
    test_embedded_subprocess_and_call_activities,
)
from tests.engine.test_eventsubs import (
    test_a_note_runs_beside_the_process_without_stopping_it,
    test_a_withdrawal_interrupts_the_steps_under_way,
)

__all__ = [
    "test_scenario",
    "test_boundary_timer_reminds_and_boundary_message_interrupts",
    "test_error_and_escalation_boundary_events_on_a_subprocess",
    "test_event_based_gateway_message_first",
    "test_event_based_gateway_timer_first",
    "test_intermediate_timer_then_message",
    "test_a_loop_around_a_parallel_split_and_join_past_depth_1000",
    "test_sub_workflows_are_ours_too",
    "test_a_request_and_its_reply_between_two_dossiers",
    "test_two_pools_of_one_collaboration_talk_inside_the_dossier",
    "test_multi_instance_manual_and_loops",
    "test_embedded_subprocess_and_call_activities",
    "test_a_note_runs_beside_the_process_without_stopping_it",
    "test_a_withdrawal_interrupts_the_steps_under_way",
]
