"""Is the content still up? The decision rule of one re-check, from what the page and the media URL answer now.

What was reported is the media at its URL, shown on a page. The decision follows the media:

==============================================  =========  ===========================================
the media URL now ...                           verdict    why
==============================================  =========  ===========================================
serves the same bytes, or an image that still   present    whoever holds the URL still sees it, whatever
matches the case's bank items                              the page shows now
answers 404, 410 or 451                         removed    gone (451: withheld for legal reasons)
serves something else: another image, a         removed    the reported content is no longer there
placeholder page, a file that is not media
serves other bytes of a video                   unknown    videos are not re-hashed here (see below)
times out, fails, answers 5xx, 401, 403, 429,   unknown    nothing is learnt: DNS errors and refused
or any other status; or the fetch is refused               connections are outages as often as removals
==============================================  =========  ===========================================

The page is fetched too and its state is recorded beside the verdict (gone, no longer showing the media, still
showing it), for the reviewer and the officer; it does not make a removal on its own: a post deleted while its
file stays on the operator's storage is not removed, because the file's URL was in the notice. A case closes as
removed only after two consecutive removed checks (:data:`takedown.cases.follow_up.REMOVED_CHECKS_TO_CLOSE`); an
unknown check ends the run.

Videos: the re-check function carries the imaging layer, not the video layer, so a video is compared by SHA-256
only. The same bytes are present; other bytes are ``unknown`` (a re-encode of the same video is as likely as a
replacement), recorded as ``media:changed-unverified`` for a human to look at; a 404 is removed as for images.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

from takedown.cases.follow_up import Verdict

GONE_STATUSES: Final = frozenset({404, 410, 451})


class PageState(enum.StrEnum):
    """What the page of a case is now."""

    GONE = "gone"  # 404, 410 or 451
    WITHOUT_MEDIA = "without-media"  # an HTML page that no longer refers to the media URL
    SHOWS_MEDIA = "shows-media"  # an HTML page that still refers to the media URL
    NOT_CHECKED = "not-checked"  # the media was reported without a page (its URL is the page URL)
    UNKNOWN = "unknown"  # fetch failed or refused, another status, or not HTML


class MediaState(enum.StrEnum):
    """What the media URL of a case serves now."""

    GONE = "gone"  # 404, 410 or 451
    SAME = "same"  # the same bytes, or an image that still matches the case's bank items
    CHANGED = "changed"  # not media any more, or media that no longer matches
    UNVERIFIED = "unverified"  # other bytes of a video: not re-hashed here
    UNKNOWN = "unknown"  # fetch failed or refused, or a status that says nothing


@dataclass(frozen=True)
class PageObservation:
    state: PageState
    status: int = 0  # the HTTP status, 0 when there was no response
    detail: str = ""  # a reason code: "status:503", "network:connect", "address:loopback" ...


@dataclass(frozen=True)
class MediaObservation:
    state: MediaState
    status: int = 0
    detail: str = ""


@dataclass(frozen=True)
class RecheckDecision:
    """The verdict of one check and its reason code (recorded on the case and its timeline)."""

    verdict: Verdict
    reason: str


def decide(page: PageObservation, media: MediaObservation) -> RecheckDecision:
    """The verdict of one check (the table in the module documentation).

    Examples
    --------
    >>> decide(PageObservation(PageState.GONE, 404), MediaObservation(MediaState.GONE, 404)).reason
    'media:gone (404); page:gone (404)'
    >>> decide(PageObservation(PageState.WITHOUT_MEDIA, 200), MediaObservation(MediaState.SAME, 200)).verdict
    <Verdict.PRESENT: 'present'>
    >>> decide(PageObservation(PageState.GONE, 404), MediaObservation(MediaState.UNKNOWN, 503, "status:503")).verdict
    <Verdict.UNKNOWN: 'unknown'>
    """
    verdicts = {
        MediaState.SAME: Verdict.PRESENT,
        MediaState.GONE: Verdict.REMOVED,
        MediaState.CHANGED: Verdict.REMOVED,
        MediaState.UNVERIFIED: Verdict.UNKNOWN,
        MediaState.UNKNOWN: Verdict.UNKNOWN,
    }
    return RecheckDecision(verdicts[media.state], f"media:{_said(media)}; page:{_said(page)}")


def _said(observation: PageObservation | MediaObservation) -> str:
    words = {"same": "still-served", "changed": "no-longer-matches", "unverified": "changed-unverified"}
    text = words.get(observation.state.value, observation.state.value)
    if observation.detail:
        return f"{text} ({observation.detail})"
    return f"{text} ({observation.status})" if observation.status else text


def state_for_status(status: int) -> MediaState | None:
    """GONE for 404/410/451, None for a 2xx the caller must look into, UNKNOWN for any other status."""
    if status in GONE_STATUSES:
        return MediaState.GONE
    if 200 <= status < 300:
        return None
    return MediaState.UNKNOWN
