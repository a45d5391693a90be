"""Small readers for the synthesized template, so each test asserts on one exact resource."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aws_cdk import CfnResource, Stack

if TYPE_CHECKING:
    from constructs import IConstruct


def logical_id(construct: IConstruct) -> str:
    """The logical id of the CloudFormation resource behind an L2 construct (or of an L1 itself)."""
    resource = construct if isinstance(construct, CfnResource) else construct.node.default_child
    assert isinstance(resource, CfnResource), f"{construct.node.path} has no CloudFormation resource"
    return Stack.of(construct).get_logical_id(resource)


def resources_of_type(resources: dict[str, dict[str, Any]], resource_type: str) -> dict[str, dict[str, Any]]:
    return {lid: r for lid, r in resources.items() if r["Type"] == resource_type}


def render_intrinsics(value: Any) -> str:
    """Flatten an ``Fn::Join`` into text, writing references as ``${LogicalId}`` / ``${LogicalId.Attr}``."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(render_intrinsics(part) for part in parts)
    if isinstance(value, dict) and "Ref" in value:
        return "${" + str(value["Ref"]) + "}"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return "${" + ".".join(value["Fn::GetAtt"]) + "}"
    raise AssertionError(f"unexpected intrinsic in template: {value!r}")


def state_machine_definition(resource: dict[str, Any]) -> dict[str, Any]:
    """The parsed Amazon States Language definition of an ``AWS::StepFunctions::StateMachine``."""
    definition: dict[str, Any] = json.loads(render_intrinsics(resource["Properties"]["DefinitionString"]))
    return definition


def role_policy_statements(resources: dict[str, dict[str, Any]], role_id: str) -> list[dict[str, Any]]:
    """Every statement of every policy attached to the role ``role_id`` (inline or AWS::IAM::Policy)."""
    statements: list[dict[str, Any]] = []
    for policy in resources_of_type(resources, "AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"].get("Roles", []):
            statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    for inline in resources[role_id]["Properties"].get("Policies", []):
        statements.extend(inline["PolicyDocument"]["Statement"])
    return statements


def actions_of(statement: dict[str, Any]) -> list[str]:
    actions = statement.get("Action", [])
    return [actions] if isinstance(actions, str) else list(actions)


def resources_of(statement: dict[str, Any]) -> list[Any]:
    found = statement.get("Resource", [])
    return found if isinstance(found, list) else [found]


def statement_allows(statement: dict[str, Any], action: str) -> bool:
    """Whether an Allow statement grants ``action`` (exactly, or through a wildcard)."""
    return statement.get("Effect") == "Allow" and any(
        _action_matches(pattern, action) for pattern in actions_of(statement)
    )


def object_prefixes_allowed(
    resources: dict[str, dict[str, Any]], role_id: str, bucket_id: str, action: str
) -> set[str]:
    """The key prefixes of bucket ``bucket_id`` on whose objects the role may do ``action`` (``"video/"``).

    An object ARN ``<bucket>/video/*`` gives ``"video/"``; ``<bucket>/*`` would give ``""`` (the whole bucket).
    """
    bucket_arn = "${" + bucket_id + ".Arn}/"
    prefixes: set[str] = set()
    for statement in role_policy_statements(resources, role_id):
        if not statement_allows(statement, action):
            continue
        for resource in resources_of(statement):
            arn = render_intrinsics(resource)
            if arn.startswith(bucket_arn):
                prefixes.add(arn.removeprefix(bucket_arn).removesuffix("*"))
    return prefixes


def resource_allowed(
    resources: dict[str, dict[str, Any]], role_id: str, resource_id: str, action: str
) -> bool:
    """Whether the role may do ``action`` on the resource ``resource_id`` itself (its ``Arn`` attribute)."""
    target = {"Fn::GetAtt": [resource_id, "Arn"]}
    return any(
        target in resources_of(s)
        for s in role_policy_statements(resources, role_id)
        if statement_allows(s, action)
    )


def roles_allowed(resources: dict[str, dict[str, Any]], action: str) -> set[str]:
    """Logical ids of the roles whose policies allow ``action`` (exactly, or through a wildcard)."""
    allowed: set[str] = set()
    for role_id in resources_of_type(resources, "AWS::IAM::Role"):
        if any(statement_allows(s, action) for s in role_policy_statements(resources, role_id)):
            allowed.add(role_id)
    return allowed


def _action_matches(pattern: str, action: str) -> bool:
    if pattern == "*":
        return True
    if pattern.endswith("*"):
        return action.lower().startswith(pattern[:-1].lower())
    return pattern.lower() == action.lower()


def nag_suppressions(resources: dict[str, dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """``(logical id, suppression)`` for every cdk-nag suppression recorded in the template metadata."""
    found: list[tuple[str, dict[str, Any]]] = []
    for lid, resource in resources.items():
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", []):
            found.append((lid, rule))
    return found
