"""Amazon Translate as the notices' free-text :class:`~takedown.notices.free_text.Translator`.

Every failure becomes :class:`~takedown.notices.free_text.TranslationUnavailable` with a reason: the notice then
shows the original, marked untranslated, and the reason goes on the case's timeline. A notice is never held up by
the translation service. Throttling is retried by the client's standard retry mode (``takedown.aws.clients``)
before it counts as a failure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from takedown.aws.clients import client
from takedown.notices.free_text import TranslationUnavailable

if TYPE_CHECKING:
    from collections.abc import Mapping

# Notice locales whose Amazon Translate language code differs from the locale's name.
_TRANSLATE_CODES: Final[Mapping[str, str]] = {"zh-Hans": "zh", "zh-Hant": "zh-TW"}
_LOCALES_BY_CODE: Final[Mapping[str, str]] = {code: locale for locale, code in _TRANSLATE_CODES.items()}
# Amazon Translate detects the source language (through Amazon Comprehend) when told "auto".
AUTO_DETECT: Final = "auto"
_THROTTLING = frozenset({"TooManyRequestsException", "ThrottlingException", "LimitExceededException"})


def translate_code(locale: str) -> str:
    """The Amazon Translate language code of a notice locale.

    >>> [translate_code(x) for x in ("ko", "zh-Hans", "zh-Hant", "pt-BR")]
    ['ko', 'zh', 'zh-TW', 'pt']
    """
    if locale in _TRANSLATE_CODES:
        return _TRANSLATE_CODES[locale]
    return locale.split("-", 1)[0]


def locale_of_code(code: str) -> str:
    """The notice locale of an Amazon Translate language code (``zh-TW`` -> ``zh-Hant``)."""
    return _LOCALES_BY_CODE.get(code, code)


class AmazonTranslator:
    """Translates free text with ``translate:TranslateText``.

    Parameters
    ----------
    translate_client
        A boto3 ``translate`` client; the process's shared one by default (tests pass a client wrapped in
        ``botocore.stub.Stubber``).
    """

    def __init__(self, translate_client: Any | None = None) -> None:
        self._client = translate_client

    def translate(self, text: str, source_language: str, target_language: str) -> tuple[str, str]:
        """Translate ``text``; the source language is detected when ``source_language`` is ``""``.

        Raises
        ------
        TranslationUnavailable
            The service refused (unsupported language pair, detection not confident, text too long), was
            throttled after the client's retries, or could not be reached.
        """
        source = translate_code(source_language) if source_language else AUTO_DETECT
        target = translate_code(target_language)
        translate = self._client if self._client is not None else client("translate")
        try:
            response = translate.translate_text(
                Text=text, SourceLanguageCode=source, TargetLanguageCode=target
            )
        except ClientError as error:
            details = error.response.get("Error", {})
            code = str(details.get("Code", "unknown"))
            message = str(details.get("Message", ""))[:200]
            what = "throttled Amazon Translate" if code in _THROTTLING else "Amazon Translate refused"
            raise TranslationUnavailable(f"{what} ({code}: {message}) for {source} -> {target}") from error
        except BotoCoreError as error:
            raise TranslationUnavailable(f"Amazon Translate could not be reached: {error}") from error
        detected = str(response.get("SourceLanguageCode") or source)
        return str(response.get("TranslatedText", "")), locale_of_code(detected)
