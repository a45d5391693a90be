"""Amazon Translate for the free text in notices (page titles, reviewers' notes), when the deployment enables it.

Off by default (``translate_free_text`` in the deployment file): the notice then shows such text as written,
marked untranslated. On, the render function -- and only it -- may call ``translate:TranslateText``, and
``comprehend:DetectDominantLanguage``, which Amazon Translate calls on the caller's behalf when the page did not
say its language (source language ``auto``). Neither action supports resource-level permissions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from aws_cdk import aws_iam as iam

from takedown import config as runtime

if TYPE_CHECKING:
    from aws_cdk import aws_lambda as lambda_

TRANSLATE_ACTIONS: Final = ("translate:TranslateText", "comprehend:DetectDominantLanguage")


def configure_free_text_translation(function: lambda_.Function, *, enabled: bool) -> None:
    """Tell ``function`` whether to translate free text, and allow it to when ``enabled``.

    Parameters
    ----------
    function
        The function that renders notices (``RenderNoticeLocaleFunction``).
    enabled
        ``DeploymentConfig.translate_free_text``.
    """
    function.add_environment(runtime.ENV_TRANSLATE_FREE_TEXT, "true" if enabled else "false")
    if enabled:
        function.add_to_role_policy(iam.PolicyStatement(actions=list(TRANSLATE_ACTIONS), resources=["*"]))
