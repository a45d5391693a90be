"""The case workflow's definition: exact states, transitions, the task-token wait and the failure paths."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from takedown.aws.transient import TransientAwsError
from takedown_infra import ids
from takedown_infra.constructs.workflow import TRANSIENT_AWS_ERRORS
from tests.infra.template_reading import logical_id, state_machine_definition

if TYPE_CHECKING:
    from tests.infra.conftest import SynthesizedStack

TOP_LEVEL_STATES = {
    "IsFollowUp",
    "Score",
    "IsCandidate",
    "CloseNoMatch",
    "NoMatch",
    "ResolveRecipients",
    "BuildReport",
    "DraftNotice",
    "RenderLocales",
    "ReviewNeeded",
    "ApprovedByPolicy",
    "RequestApproval",
    "CloseExpired",
    "Expired",
    "ReviewDecision",
    "CloseRejected",
    "Rejected",
    "SendNotice",
    "Sent",
    "CloseFailed",
    "Failed",
}
# Tasks whose failure closes the case as FAILED.
GUARDED_STATES = ["Score", "ResolveRecipients", "BuildReport", "DraftNotice", "RenderLocales", "SendNotice"]
CLOSE_STATES = ["CloseNoMatch", "CloseExpired", "CloseRejected", "CloseFailed"]


@pytest.fixture(scope="module")
def definition(synthesized: SynthesizedStack) -> dict[str, Any]:
    resource = synthesized.resources[logical_id(synthesized.stack.workflow.state_machine)]
    return state_machine_definition(resource)


@pytest.fixture(scope="module")
def states(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = definition["States"]
    return found


def function_ref(synthesized: SynthesizedStack, construct_id: str) -> str:
    return "${" + logical_id(synthesized.stack.functions[construct_id]) + ".Arn}"


def test_state_names_are_exactly_the_designed_ones(definition: dict[str, Any]) -> None:
    # GIVEN the definition WHEN its states are listed THEN they are exactly the designed set, starting with the
    # choice between a first notice and a follow-up
    assert definition["StartAt"] == "IsFollowUp"
    assert set(definition["States"]) == TOP_LEVEL_STATES


def test_the_happy_path_runs_in_order(states: dict[str, dict[str, Any]]) -> None:
    # GIVEN the definition
    # WHEN the Next links are followed from ResolveRecipients
    path = ["ResolveRecipients"]
    while "Next" in states[path[-1]]:
        path.append(states[path[-1]]["Next"])

    # THEN they reach the review choice through report, draft and translation, whose default is the approval wait
    assert path == ["ResolveRecipients", "BuildReport", "DraftNotice", "RenderLocales", "ReviewNeeded"]
    assert states["ReviewNeeded"]["Default"] == "RequestApproval"
    assert states["RequestApproval"]["Next"] == "ReviewDecision"
    assert states["Score"]["Next"] == "IsCandidate"
    assert states["SendNotice"]["Next"] == "Sent"
    assert states["Sent"]["Type"] == "Succeed"


@pytest.mark.parametrize(
    ("task", "construct_id"),
    [
        ("Score", ids.SCORE_MATCH_FUNCTION),
        ("ResolveRecipients", ids.RESOLVE_RECIPIENTS_FUNCTION),
        ("BuildReport", ids.BUILD_REPORT_FUNCTION),
        ("DraftNotice", ids.DRAFT_NOTICE_FUNCTION),
        ("SendNotice", ids.SEND_NOTICE_FUNCTION),
        ("CloseNoMatch", ids.CLOSE_CASE_FUNCTION),
        ("CloseExpired", ids.CLOSE_CASE_FUNCTION),
        ("CloseRejected", ids.CLOSE_CASE_FUNCTION),
        ("CloseFailed", ids.CLOSE_CASE_FUNCTION),
    ],
)
def test_tasks_invoke_their_function_and_return_its_payload(
    synthesized: SynthesizedStack, states: dict[str, dict[str, Any]], task: str, construct_id: str
) -> None:
    # GIVEN a Lambda task
    state = states[task]

    # THEN it calls the function directly (payload only), retrying Lambda's service errors and throttling
    assert state["Type"] == "Task"
    assert state["Resource"] == function_ref(synthesized, construct_id)
    retried = {error for retry in state["Retry"] for error in retry["ErrorEquals"]}
    assert {
        "Lambda.ServiceException",
        "Lambda.SdkClientException",
        "Lambda.TooManyRequestsException",
    } <= retried


def test_score_gets_the_whole_input_and_its_output_replaces_the_state(
    states: dict[str, dict[str, Any]],
) -> None:
    # GIVEN the Score task THEN no Parameters, InputPath or ResultPath narrows or merges anything
    score = states["Score"]
    assert not {"Parameters", "InputPath", "ResultPath", "OutputPath"} & set(score)


def test_is_candidate_defaults_to_closing_as_no_match(states: dict[str, dict[str, Any]]) -> None:
    # GIVEN the IsCandidate choice
    choice = states["IsCandidate"]

    # THEN only a present, true $.candidate continues; anything else closes the case as NO_MATCH
    assert choice["Type"] == "Choice"
    assert choice["Default"] == "CloseNoMatch"
    assert choice["Choices"] == [
        {
            "And": [
                {"Variable": "$.candidate", "IsPresent": True},
                {"Variable": "$.candidate", "BooleanEquals": True},
            ],
            "Next": "ResolveRecipients",
        }
    ]
    assert states["CloseNoMatch"]["Next"] == "NoMatch"
    assert states["NoMatch"]["Type"] == "Succeed"


@pytest.mark.parametrize(
    ("task", "outcome", "then", "end_type"),
    [
        ("CloseNoMatch", "NO_MATCH", "NoMatch", "Succeed"),
        ("CloseExpired", "EXPIRED", "Expired", "Succeed"),
        ("CloseRejected", "REJECTED", "Rejected", "Succeed"),
    ],
)
def test_close_tasks_record_the_outcome(
    states: dict[str, dict[str, Any]], task: str, outcome: str, then: str, end_type: str
) -> None:
    # GIVEN a closing task THEN it passes the case id and its outcome, then ends the execution
    assert states[task]["Parameters"] == {"case_id.$": "$.case_id", "outcome": outcome}
    assert states[task]["Next"] == then
    assert states[then]["Type"] == end_type


def test_failures_close_the_case_with_the_error_and_fail(states: dict[str, dict[str, Any]]) -> None:
    # GIVEN the failure branch
    close_failed = states["CloseFailed"]

    # THEN it passes the error caught at $.error and ends in the Fail state
    assert close_failed["Parameters"] == {"case_id.$": "$.case_id", "outcome": "FAILED", "error.$": "$.error"}
    assert close_failed["Next"] == "Failed"
    assert states["Failed"]["Type"] == "Fail"


@pytest.mark.parametrize("task", GUARDED_STATES)
def test_work_states_catch_everything_into_close_failed(states: dict[str, dict[str, Any]], task: str) -> None:
    # GIVEN a working state THEN any error goes to CloseFailed with the state kept and the error at $.error
    assert states[task]["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "CloseFailed"}
    ]


# Every Lambda task whose step is idempotent: all but RequestApproval (its review email is not ledgered).
IDEMPOTENT_TASKS = [
    *(state for state in GUARDED_STATES if state != "RenderLocales"),
    "RenderNoticeLocale",
    *CLOSE_STATES,
]


def every_state(states: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """All states, those of a Map's item processor included."""
    found = dict(states)
    for state in states.values():
        if "ItemProcessor" in state:
            found |= every_state(state["ItemProcessor"]["States"])
    return found


def transient_retries(state: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in state.get("Retry", []) if "TransientAwsError" in r["ErrorEquals"]]


@pytest.mark.parametrize("task", IDEMPOTENT_TASKS)
def test_idempotent_tasks_retry_transient_aws_errors_with_backoff(
    states: dict[str, dict[str, Any]], task: str
) -> None:
    # GIVEN an idempotent task (inside the Map for RenderNoticeLocale)
    state = every_state(states)[task]
    # THEN it retries the handlers' TransientAwsError (an AWS error that outlasted botocore's retries), on its
    # own: 5 s, then twice as long each time, three times, capped at a minute, with full jitter
    assert transient_retries(state) == [
        {
            "ErrorEquals": ["TransientAwsError"],
            "IntervalSeconds": 5,
            "MaxAttempts": 3,
            "BackoffRate": 2,
            "MaxDelaySeconds": 60,
            "JitterStrategy": "FULL",
        }
    ]


def test_every_task_that_retries_transient_aws_errors_is_idempotent(
    states: dict[str, dict[str, Any]],
) -> None:
    # GIVEN every Lambda task of the definition
    tasks = {name: s for name, s in every_state(states).items() if s["Type"] == "Task"}
    # THEN exactly the idempotent ones retry TransientAwsError: RequestApproval does not, since a retry after its
    # review email went out would mail the reviewer a second valid link
    assert {name for name, s in tasks.items() if transient_retries(s)} == set(IDEMPOTENT_TASKS)
    assert "RequestApproval" in tasks and not transient_retries(tasks["RequestApproval"])


def test_the_retried_error_is_the_one_the_handlers_raise() -> None:
    # GIVEN the error class the handlers raise for transient AWS errors
    # THEN the state machine retries it by its class name (Lambda reports an error by that name)
    assert TRANSIENT_AWS_ERRORS == [TransientAwsError.__name__] == ["TransientAwsError"]


@pytest.mark.parametrize("task", CLOSE_STATES)
def test_close_tasks_do_not_catch(states: dict[str, dict[str, Any]], task: str) -> None:
    # GIVEN a closing task THEN a failure there is not routed back into another close (no loop)
    assert "Catch" not in states[task]


def test_render_locales_maps_over_the_locales_and_keeps_the_state(
    synthesized: SynthesizedStack, states: dict[str, dict[str, Any]]
) -> None:
    # GIVEN the Map state
    render = states["RenderLocales"]

    # THEN it renders each locale with the case id, and discards the results (the state stays as it was)
    assert render["Type"] == "Map"
    assert render["ItemsPath"] == "$.notice.locales"
    assert render["ItemSelector"] == {"case_id.$": "$.case_id", "locale.$": "$$.Map.Item.Value"}
    assert render["ResultPath"] is None
    processor = render["ItemProcessor"]
    assert processor["StartAt"] == "RenderNoticeLocale"
    inner = processor["States"]["RenderNoticeLocale"]
    assert inner["Resource"] == function_ref(synthesized, ids.RENDER_NOTICE_LOCALE_FUNCTION)
    assert inner["End"] is True


def test_request_approval_waits_for_the_task_token_with_a_timeout(
    synthesized: SynthesizedStack, states: dict[str, dict[str, Any]]
) -> None:
    # GIVEN the approval task
    task = states["RequestApproval"]

    # THEN it uses the callback integration, passes the token, times out and keeps the review at $.review
    assert task["Resource"] == "arn:${AWS::Partition}:states:::lambda:invoke.waitForTaskToken"
    assert task["Parameters"] == {
        "FunctionName": function_ref(synthesized, ids.REQUEST_APPROVAL_FUNCTION),
        "Payload": {"case_id.$": "$.case_id", "task_token.$": "$$.Task.Token"},
    }
    assert task["TimeoutSeconds"] == synthesized.config.approval_timeout_hours * 3600
    assert task["ResultPath"] == "$.review"


def test_approval_timeout_expires_the_case_before_any_other_catch(states: dict[str, dict[str, Any]]) -> None:
    # GIVEN the approval task's catchers THEN the timeout is caught first and closes the case as EXPIRED
    assert states["RequestApproval"]["Catch"] == [
        {"ErrorEquals": ["States.Timeout"], "ResultPath": "$.error", "Next": "CloseExpired"},
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "CloseFailed"},
    ]


def test_review_decision_sends_only_on_an_explicit_approval(states: dict[str, dict[str, Any]]) -> None:
    # GIVEN the decision choice
    choice = states["ReviewDecision"]

    # THEN only decision == "APPROVED" sends; the default rejects
    assert choice["Type"] == "Choice"
    assert choice["Default"] == "CloseRejected"
    assert choice["Choices"] == [
        {
            "And": [
                {"Variable": "$.review.decision", "IsPresent": True},
                {"Variable": "$.review.decision", "StringEquals": "APPROVED"},
            ],
            "Next": "SendNotice",
        }
    ]


def test_send_notice_gets_the_case_and_the_review(states: dict[str, dict[str, Any]]) -> None:
    # GIVEN the send task THEN it receives the case id and the reviewer's structured decision
    assert states["SendNotice"]["Parameters"] == {"case_id.$": "$.case_id", "review.$": "$.review"}


def test_state_machine_is_standard_logged_and_traced(synthesized: SynthesizedStack) -> None:
    # GIVEN the state machine resource
    workflow = synthesized.stack.workflow
    properties = synthesized.resources[logical_id(workflow.state_machine)]["Properties"]

    # THEN it is STANDARD, traced, and logs every event without execution data
    assert properties["StateMachineType"] == "STANDARD"
    assert properties["TracingConfiguration"] == {"Enabled": True}
    logging = properties["LoggingConfiguration"]
    assert logging["Level"] == "ALL"
    assert logging["IncludeExecutionData"] is False
    log_group = logical_id(workflow.node.find_child(ids.STATE_MACHINE_LOGS))
    assert logging["Destinations"] == [
        {"CloudWatchLogsLogGroup": {"LogGroupArn": {"Fn::GetAtt": [log_group, "Arn"]}}}
    ]


def test_state_machine_has_an_overall_timeout_beyond_the_approval_wait(
    synthesized: SynthesizedStack, definition: dict[str, Any]
) -> None:
    # GIVEN the definition THEN the execution timeout leaves room after the approval wait
    assert definition["TimeoutSeconds"] > synthesized.config.approval_timeout_hours * 3600


def test_a_follow_up_starts_at_the_drafting_and_anything_else_is_scored(
    states: dict[str, dict[str, Any]],
) -> None:
    # GIVEN the first state
    choice = states["IsFollowUp"]

    # THEN only an input with follow_up skips scoring, discovery and the report; everything else is scored
    assert choice["Type"] == "Choice"
    assert choice["Choices"] == [{"Variable": "$.follow_up", "IsPresent": True, "Next": "DraftNotice"}]
    assert choice["Default"] == "Score"


def test_the_drafting_keeps_its_input_beside_its_result(states: dict[str, dict[str, Any]]) -> None:
    # GIVEN the draft task THEN its result goes to $.notice, so a follow-up's input reaches the review choice
    assert states["DraftNotice"]["ResultPath"] == "$.notice"
    assert "Parameters" not in states["DraftNotice"]


def test_only_a_follow_up_under_the_policy_skips_the_review(states: dict[str, dict[str, Any]]) -> None:
    # GIVEN the review choice
    choice = states["ReviewNeeded"]

    # THEN only a present, true $.follow_up.policy_approved skips the review; the default is the review
    assert choice["Type"] == "Choice"
    assert choice["Choices"] == [
        {
            "And": [
                {"Variable": "$.follow_up.policy_approved", "IsPresent": True},
                {"Variable": "$.follow_up.policy_approved", "BooleanEquals": True},
            ],
            "Next": "ApprovedByPolicy",
        }
    ]
    assert choice["Default"] == "RequestApproval"
    # AND the policy path marks the state as a policy decision (never "APPROVED") and goes to SendNotice, which
    # checks the case record itself
    approved_by_policy = states["ApprovedByPolicy"]
    assert approved_by_policy["Type"] == "Pass"
    assert approved_by_policy["Result"] == {"decision": "POLICY", "policy": "auto-same-recipient"}
    assert approved_by_policy["ResultPath"] == "$.review"
    assert approved_by_policy["Next"] == "SendNotice"
