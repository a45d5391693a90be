"""Every Lambda function of the stack: handlers, runtime, sizing, logs, layers, environment and triggers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from takedown import config as runtime
from takedown_infra import ids
from tests.infra.template_reading import logical_id, render_intrinsics, resources_of_type

if TYPE_CHECKING:
    from tests.infra.conftest import SynthesizedStack

# construct id -> (handler module, timeout s, memory MB, layers)
EXPECTED_FUNCTIONS: dict[str, tuple[str, int, int, tuple[str, ...]]] = {
    ids.DISPATCH_CRAWL_FUNCTION: ("handle_dispatch_crawl", 30, 256, ("base", "config")),
    ids.CRAWL_PAGE_FUNCTION: ("handle_crawl_page", 120, 512, ("base", "config")),
    ids.HASH_MEDIA_FUNCTION: ("handle_hash_media", 120, 1024, ("base", "imaging", "config")),
    # Video frames are held in memory; never with imaging (together they pass Lambda's 250 MB limit).
    ids.HASH_VIDEO_FUNCTION: ("handle_hash_video", 300, 2048, ("base", "video", "config")),
    ids.SCORE_MATCH_FUNCTION: ("handle_score_match", 30, 256, ("base", "config")),
    ids.RESOLVE_RECIPIENTS_FUNCTION: ("handle_resolve_recipients", 30, 256, ("base", "config")),
    ids.BUILD_REPORT_FUNCTION: ("handle_build_report", 30, 256, ("base", "config")),
    ids.DRAFT_NOTICE_FUNCTION: ("handle_draft_notice", 30, 256, ("base", "config")),
    ids.RENDER_NOTICE_LOCALE_FUNCTION: ("handle_render_notice_locale", 30, 256, ("base", "config")),
    ids.REQUEST_APPROVAL_FUNCTION: ("handle_request_approval", 30, 256, ("base", "config")),
    ids.REVIEW_API_FUNCTION: ("handle_review_http", 15, 256, ("base", "config")),
    ids.SEND_NOTICE_FUNCTION: ("handle_send_notice", 30, 256, ("base", "config")),
    ids.CLOSE_CASE_FUNCTION: ("handle_close_case", 30, 256, ("base", "config")),
    # Re-fetched images are hashed again: the imaging layer.
    ids.RECHECK_CASES_FUNCTION: ("handle_recheck_cases", 600, 1024, ("base", "imaging", "config")),
    ids.REMIND_REVIEWERS_FUNCTION: ("handle_remind_reviewers", 60, 256, ("base", "config")),
    ids.MAIL_FEEDBACK_FUNCTION: ("handle_mail_feedback", 30, 256, ("base", "config")),
}

SHARED_ENVIRONMENT = {
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
    runtime.ENV_EVIDENCE_BUCKET,
    runtime.ENV_CASES_TABLE,
    runtime.ENV_BANK_TABLE,
    runtime.ENV_SENDER,
    runtime.ENV_REPLY_TO,
    runtime.ENV_CENTRE_NAME,
    runtime.ENV_SOURCES_FILE,
    runtime.ENV_TEMPLATES_DIR,
    runtime.ENV_PHASH_MAX_DISTANCE,
    runtime.ENV_MAX_MEDIA_BYTES,
    runtime.ENV_EVIDENCE_RETENTION_DAYS,
}
FOLLOW_UP_ENVIRONMENT = {
    runtime.ENV_RECHECK_INTERVAL_HOURS,
    runtime.ENV_FOLLOW_UP_INTERVAL_HOURS,
    runtime.ENV_ESCALATE_AFTER_INTERVALS,
    runtime.ENV_FOLLOW_UP_POLICY,
}
# What a function that emails a signed review link needs (the review function for a hand-over, the reminder).
REVIEW_LINK_ENVIRONMENT = {
    runtime.ENV_LINK_KEY_SECRET,
    runtime.ENV_LINK_TTL_HOURS,
    runtime.ENV_REVIEW_BASE_URL,
    runtime.ENV_CONFIGURATION_SET,
}
EXTRA_ENVIRONMENT: dict[str, set[str]] = {
    ids.DISPATCH_CRAWL_FUNCTION: {runtime.ENV_CRAWL_QUEUE_URL},
    ids.CRAWL_PAGE_FUNCTION: {runtime.ENV_CRAWL_QUEUE_URL, runtime.ENV_CRAWL_TABLE, runtime.ENV_RDAP_IP_URLS},
    ids.HASH_MEDIA_FUNCTION: {runtime.ENV_CRAWL_TABLE, runtime.ENV_STATE_MACHINE_ARN},
    ids.HASH_VIDEO_FUNCTION: {runtime.ENV_CRAWL_TABLE, runtime.ENV_STATE_MACHINE_ARN},
    ids.RENDER_NOTICE_LOCALE_FUNCTION: {runtime.ENV_TRANSLATE_FREE_TEXT},
    ids.REQUEST_APPROVAL_FUNCTION: {
        runtime.ENV_REVIEWERS,
        *REVIEW_LINK_ENVIRONMENT,
        runtime.ENV_APPROVAL_TIMEOUT_HOURS,
    },
    # The reviewers: whom a review may be handed to, and who may see the list of pending reviews.
    ids.REVIEW_API_FUNCTION: {runtime.ENV_REVIEWERS, *REVIEW_LINK_ENVIRONMENT},
    ids.REMIND_REVIEWERS_FUNCTION: {runtime.ENV_REVIEW_REMINDER_HOURS, *REVIEW_LINK_ENVIRONMENT},
    ids.RESOLVE_RECIPIENTS_FUNCTION: {
        runtime.ENV_PLATFORMS_FILE,
        runtime.ENV_RDAP_IP_URLS,
        runtime.ENV_RDAP_DOMAIN_URLS,
    },
    ids.SEND_NOTICE_FUNCTION: {runtime.ENV_CONFIGURATION_SET, *FOLLOW_UP_ENVIRONMENT},
    ids.CLOSE_CASE_FUNCTION: FOLLOW_UP_ENVIRONMENT,
    ids.RECHECK_CASES_FUNCTION: {
        runtime.ENV_STATE_MACHINE_ARN,
        runtime.ENV_CONFIGURATION_SET,
        runtime.ENV_OFFICER_IN_CHARGE,
        *FOLLOW_UP_ENVIRONMENT,
    },
}


def function_properties(synthesized: SynthesizedStack, construct_id: str) -> dict[str, Any]:
    properties: dict[str, Any] = synthesized.resources[logical_id(synthesized.stack.functions[construct_id])][
        "Properties"
    ]
    return properties


def environment_of(synthesized: SynthesizedStack, construct_id: str) -> dict[str, Any]:
    variables: dict[str, Any] = function_properties(synthesized, construct_id)["Environment"]["Variables"]
    return variables


def test_the_stack_has_exactly_the_expected_functions(synthesized: SynthesizedStack) -> None:
    # GIVEN the stack's own functions and every function in the template
    own = {logical_id(f) for f in synthesized.stack.functions.values()}
    in_template = set(resources_of_type(synthesized.resources, "AWS::Lambda::Function"))

    # THEN the expected ones are there, and the only other one is CDK's bucket-notification handler
    assert set(synthesized.stack.functions) == set(EXPECTED_FUNCTIONS) == set(ids.ALL_FUNCTIONS)
    assert own <= in_template
    assert [lid for lid in in_template - own if not lid.startswith("BucketNotificationsHandler")] == []


@pytest.mark.parametrize("construct_id", sorted(EXPECTED_FUNCTIONS))
def test_handler_runtime_and_sizing(synthesized: SynthesizedStack, construct_id: str) -> None:
    # GIVEN one function
    module, timeout, memory, _ = EXPECTED_FUNCTIONS[construct_id]
    properties = function_properties(synthesized, construct_id)

    # THEN it runs its handler module on python3.12/x86_64 with tracing, sized as specified
    assert properties["Handler"] == f"takedown.handlers.{module}.handler"
    assert properties["Runtime"] == "python3.12"
    assert properties["Architectures"] == ["x86_64"]
    assert properties["TracingConfig"] == {"Mode": "Active"}
    assert properties["Timeout"] == timeout
    assert properties["MemorySize"] == memory


@pytest.mark.parametrize("construct_id", sorted(EXPECTED_FUNCTIONS))
def test_each_function_logs_to_its_own_group_with_a_retention(
    synthesized: SynthesizedStack, construct_id: str
) -> None:
    # GIVEN one function and the log groups of the stack
    logging = function_properties(synthesized, construct_id)["LoggingConfig"]
    groups = resources_of_type(synthesized.resources, "AWS::Logs::LogGroup")

    # THEN its log group is one of the stack's, with a retention
    group_id = logging["LogGroup"]["Ref"]
    assert group_id in groups
    assert groups[group_id]["Properties"]["RetentionInDays"] == 365


def test_log_groups_are_not_shared(synthesized: SynthesizedStack) -> None:
    # GIVEN every function's log group
    groups = [
        function_properties(synthesized, cid)["LoggingConfig"]["LogGroup"]["Ref"]
        for cid in EXPECTED_FUNCTIONS
    ]

    # THEN no two functions share one
    assert len(set(groups)) == len(groups)


@pytest.mark.parametrize("construct_id", sorted(EXPECTED_FUNCTIONS))
def test_layers_of_each_function(synthesized: SynthesizedStack, construct_id: str) -> None:
    # GIVEN the four layer versions of the stack (a function's layers never overlap, so their order does not
    # matter)
    layers = synthesized.stack.layers
    by_name = {"base": layers.base, "imaging": layers.imaging, "video": layers.video, "config": layers.config}
    expected = {logical_id(by_name[name]) for name in EXPECTED_FUNCTIONS[construct_id][3]}

    # THEN the function has exactly its layers: imaging only for image hashing, video only for video hashing
    refs = function_properties(synthesized, construct_id)["Layers"]
    assert len(refs) == len(expected)
    assert {ref["Ref"] for ref in refs} == expected


def test_layers_target_python_312_on_x86(synthesized: SynthesizedStack) -> None:
    # GIVEN the layer versions
    layers = resources_of_type(synthesized.resources, "AWS::Lambda::LayerVersion")

    # THEN all four are built for the functions' runtime and architecture
    assert len(layers) == 4
    for layer in layers.values():
        assert layer["Properties"]["CompatibleRuntimes"] == ["python3.12"]
        assert layer["Properties"]["CompatibleArchitectures"] == ["x86_64"]


def test_config_layer_is_staged_with_templates_and_sources(synthesized: SynthesizedStack) -> None:
    # GIVEN the config layer folder staged during synth
    staged = synthesized.config_layer_dir

    # THEN it holds the sources file and the repository's templates
    assert (staged / "takedown-config" / "sources.json").is_file()
    assert (staged / "templates" / "notices").is_dir()
    assert any((staged / "templates").rglob("*.j2"))


@pytest.mark.parametrize("construct_id", sorted(EXPECTED_FUNCTIONS))
def test_environment_variable_names(synthesized: SynthesizedStack, construct_id: str) -> None:
    # GIVEN one function's environment
    names = set(environment_of(synthesized, construct_id))

    # THEN it has the shared settings plus exactly the handles its permissions go with
    assert names == SHARED_ENVIRONMENT | EXTRA_ENVIRONMENT.get(construct_id, set())


def test_shared_environment_values(synthesized: SynthesizedStack) -> None:
    # GIVEN the environment of any function (they share these values)
    config = synthesized.config
    storage = synthesized.stack.storage
    variables = environment_of(synthesized, ids.SCORE_MATCH_FUNCTION)

    # THEN the values come from the deployment file, the stack's resources and the config layer paths
    assert variables == {
        "POWERTOOLS_SERVICE_NAME": "takedown",
        "POWERTOOLS_METRICS_NAMESPACE": "Takedown",
        runtime.ENV_EVIDENCE_BUCKET: {"Ref": logical_id(storage.evidence_bucket)},
        runtime.ENV_CASES_TABLE: {"Ref": logical_id(storage.cases_table)},
        runtime.ENV_BANK_TABLE: {"Ref": logical_id(storage.bank_table)},
        runtime.ENV_SENDER: config.sender,
        runtime.ENV_REPLY_TO: config.reply_to,
        runtime.ENV_CENTRE_NAME: config.centre_name,
        runtime.ENV_SOURCES_FILE: "/opt/takedown-config/sources.json",
        runtime.ENV_TEMPLATES_DIR: "/opt/templates",
        runtime.ENV_PHASH_MAX_DISTANCE: str(config.phash_max_distance),
        runtime.ENV_MAX_MEDIA_BYTES: str(config.max_media_bytes),
        runtime.ENV_EVIDENCE_RETENTION_DAYS: str(config.evidence_retention_days),
    }


def test_approval_request_environment_values(synthesized: SynthesizedStack) -> None:
    # GIVEN the approval-request function's own variables
    stack = synthesized.stack
    variables = environment_of(synthesized, ids.REQUEST_APPROVAL_FUNCTION)

    # THEN reviewers are comma-joined, the link settings and the SES set refer to their resources
    assert variables[runtime.ENV_REVIEWERS] == ",".join(synthesized.config.reviewers)
    assert variables[runtime.ENV_LINK_TTL_HOURS] == str(synthesized.config.review_link_ttl_hours)
    assert variables[runtime.ENV_LINK_KEY_SECRET] == {"Ref": logical_id(stack.approval.link_key_secret)}
    assert variables[runtime.ENV_CONFIGURATION_SET] == {
        "Ref": logical_id(stack.notifications.configuration_set)
    }
    review_url = render_intrinsics(variables[runtime.ENV_REVIEW_BASE_URL])
    assert review_url.startswith("https://${" + logical_id(stack.approval.api) + "}.execute-api.")
    assert review_url.endswith("/${" + logical_id(stack.approval.api.deployment_stage) + "}/")


def test_resource_handles_point_at_their_resources(synthesized: SynthesizedStack) -> None:
    # GIVEN the crawl and hashing functions
    stack = synthesized.stack
    queue_url = {"Ref": logical_id(stack.crawl.queue)}

    # THEN the queue URL, crawl table and state machine ARN are the stack's own
    assert environment_of(synthesized, ids.DISPATCH_CRAWL_FUNCTION)[runtime.ENV_CRAWL_QUEUE_URL] == queue_url
    assert environment_of(synthesized, ids.CRAWL_PAGE_FUNCTION)[runtime.ENV_CRAWL_QUEUE_URL] == queue_url
    assert environment_of(synthesized, ids.CRAWL_PAGE_FUNCTION)[runtime.ENV_CRAWL_TABLE] == {
        "Ref": logical_id(stack.storage.crawl_table)
    }
    for hashing in (ids.HASH_MEDIA_FUNCTION, ids.HASH_VIDEO_FUNCTION):
        assert environment_of(synthesized, hashing)[runtime.ENV_STATE_MACHINE_ARN] == {
            "Ref": logical_id(stack.workflow.state_machine)
        }
        assert environment_of(synthesized, hashing)[runtime.ENV_CRAWL_TABLE] == {
            "Ref": logical_id(stack.storage.crawl_table)
        }


def test_review_function_gets_the_link_key_but_no_state_machine(synthesized: SynthesizedStack) -> None:
    # GIVEN the review API function's environment
    variables = environment_of(synthesized, ids.REVIEW_API_FUNCTION)

    # THEN it can verify links, and it resumes executions by task token only
    assert variables[runtime.ENV_LINK_KEY_SECRET] == {
        "Ref": logical_id(synthesized.stack.approval.link_key_secret)
    }
    assert runtime.ENV_STATE_MACHINE_ARN not in variables


def test_crawl_worker_reads_the_queue_in_batches_of_five(synthesized: SynthesizedStack) -> None:
    # GIVEN the event source mappings
    mappings = list(resources_of_type(synthesized.resources, "AWS::Lambda::EventSourceMapping").values())
    crawl = synthesized.stack.crawl

    # THEN the only one feeds the crawl queue to the worker, five at a time, reporting partial failures
    assert len(mappings) == 1
    mapping = mappings[0]["Properties"]
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": [logical_id(crawl.queue), "Arn"]}
    assert mapping["FunctionName"] == {"Ref": logical_id(crawl.worker)}
    assert mapping["BatchSize"] == 5
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_schedule_starts_the_dispatcher(synthesized: SynthesizedStack) -> None:
    # GIVEN the event rules that invoke the dispatcher
    dispatcher = {"Fn::GetAtt": [logical_id(synthesized.stack.crawl.dispatcher), "Arn"]}
    rules = [
        r
        for r in resources_of_type(synthesized.resources, "AWS::Events::Rule").values()
        if any(target["Arn"] == dispatcher for target in r["Properties"]["Targets"])
    ]

    # THEN one rule runs the dispatcher on the deployment's schedule
    assert len(rules) == 1
    rule = rules[0]["Properties"]
    assert rule["ScheduleExpression"] == synthesized.config.crawl_schedule
    assert rule["State"] == "ENABLED"
    assert [target["Arn"] for target in rule["Targets"]] == [
        {"Fn::GetAtt": [logical_id(synthesized.stack.crawl.dispatcher), "Arn"]}
    ]


def test_media_and_video_uploads_trigger_their_hashing_functions(synthesized: SynthesizedStack) -> None:
    # GIVEN the bucket notification custom resource
    notifications = list(resources_of_type(synthesized.resources, "Custom::S3BucketNotifications").values())
    stack = synthesized.stack

    # THEN ObjectCreated under media/ of the evidence bucket invokes the image hashing function, under video/
    # the video hashing function, and nothing else is notified
    assert len(notifications) == 1
    properties = notifications[0]["Properties"]
    assert properties["BucketName"] == {"Ref": logical_id(stack.storage.evidence_bucket)}
    configuration = properties["NotificationConfiguration"]
    assert set(configuration) == {"LambdaFunctionConfigurations"}
    expected = [
        {
            "Events": ["s3:ObjectCreated:*"],
            "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": prefix}]}},
            "LambdaFunctionArn": {"Fn::GetAtt": [logical_id(stack.functions[construct_id]), "Arn"]},
        }
        for prefix, construct_id in (("media/", ids.HASH_MEDIA_FUNCTION), ("video/", ids.HASH_VIDEO_FUNCTION))
    ]
    assert sorted(configuration["LambdaFunctionConfigurations"], key=str) == sorted(expected, key=str)


@pytest.mark.parametrize("construct_id", [ids.HASH_MEDIA_FUNCTION, ids.HASH_VIDEO_FUNCTION])
def test_s3_may_invoke_each_hashing_function_from_the_evidence_bucket_only(
    synthesized: SynthesizedStack, construct_id: str
) -> None:
    # GIVEN the Lambda permissions that name the hashing function
    function_id = logical_id(synthesized.stack.functions[construct_id])
    permissions = [
        p["Properties"]
        for p in resources_of_type(synthesized.resources, "AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == {"Fn::GetAtt": [function_id, "Arn"]}
    ]

    # THEN exactly one lets S3 invoke it, for the evidence bucket of this account
    assert len(permissions) == 1
    assert permissions[0]["Principal"] == "s3.amazonaws.com"
    assert permissions[0]["Action"] == "lambda:InvokeFunction"
    assert permissions[0]["SourceArn"] == {
        "Fn::GetAtt": [logical_id(synthesized.stack.storage.evidence_bucket), "Arn"]
    }
    assert permissions[0]["SourceAccount"] == {"Ref": "AWS::AccountId"}
