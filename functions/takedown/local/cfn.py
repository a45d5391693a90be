"""Resolve the CloudFormation intrinsics that the synthesized template uses, against local physical ids.

Only what CDK emits for this stack is supported (Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select, Fn::Split and the
pseudo parameters); anything else raises, so a template change that the local stack cannot follow fails loudly.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


class UnsupportedIntrinsic(ValueError):
    """The template uses an intrinsic or attribute the local stack does not model."""


class Resolver:
    """Resolves intrinsics. ``ref`` and ``get_att`` map a logical id (and attribute) to a local value."""

    def __init__(
        self,
        *,
        region: str,
        account: str,
        stack_name: str,
        ref: Callable[[str], str],
        get_att: Callable[[str, str], str],
    ) -> None:
        self._pseudo = {
            "AWS::Region": region,
            "AWS::AccountId": account,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{region}:{account}:stack/{stack_name}/local",
            "AWS::NoValue": "",
        }
        self._ref = ref
        self._get_att = get_att

    def resolve(self, value: Any) -> Any:  # noqa: PLR0911 - one return per intrinsic reads best
        """Resolve ``value`` recursively; plain values come back unchanged."""
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((name, argument),) = value.items()
            if name == "Ref":
                return self._pseudo[argument] if argument in self._pseudo else self._ref(argument)
            if name == "Fn::GetAtt":
                logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
                return self._get_att(logical_id, attribute)
            if name == "Fn::Join":
                separator, parts = argument
                return str(separator).join(str(self.resolve(p)) for p in self.resolve(parts))
            if name == "Fn::Select":
                index, items = argument
                return self.resolve(items)[int(self.resolve(index))]
            if name == "Fn::Split":
                separator, text = argument
                return str(self.resolve(text)).split(separator)
            if name == "Fn::Sub":
                return self._sub(argument)
            if name.startswith("Fn::") or name == "Condition":
                raise UnsupportedIntrinsic(f"{name} is not supported by the local stack")
        return {k: self.resolve(v) for k, v in value.items()}

    def _sub(self, argument: Any) -> str:
        template, variables = (argument, {}) if isinstance(argument, str) else argument
        resolved = {k: str(self.resolve(v)) for k, v in variables.items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in resolved:
                return resolved[name]
            if name in self._pseudo:
                return self._pseudo[name]
            if "." in name:
                logical_id, attribute = name.split(".", 1)
                return self._get_att(logical_id, attribute)
            return self._ref(name)

        return _SUB_VARIABLE.sub(replace, template)
