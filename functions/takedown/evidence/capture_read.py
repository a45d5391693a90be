"""Read a page back out of its capture: what a later step (recipient discovery) needs of the page as fetched."""

from __future__ import annotations

import io
from dataclasses import dataclass

from warcio.archiveiterator import ArchiveIterator

# A page body larger than this is not read back (the crawl's own cap is per download; this keeps memory bounded).
MAX_PAGE_BYTES = 10 * 1024 * 1024


class CaptureReadError(ValueError):
    """The capture has no readable response for the page."""


@dataclass(frozen=True)
class CapturedPage:
    url: str
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes


def read_captured_page(warc_bytes: bytes, page_url: str) -> CapturedPage:
    """The first ``response`` record for ``page_url`` in a capture."""
    try:
        for record in ArchiveIterator(io.BytesIO(warc_bytes), check_digests=False):
            if record.rec_type != "response" or record.rec_headers.get_header("WARC-Target-URI") != page_url:
                continue
            http = record.http_headers
            body = record.content_stream().read(MAX_PAGE_BYTES + 1)
            if len(body) > MAX_PAGE_BYTES:
                raise CaptureReadError(f"the captured page is over {MAX_PAGE_BYTES} bytes")
            headers = {name.lower(): value for name, value in (http.headers if http else [])}
            status = int((http.get_statuscode() if http else "0") or 0)
            return CapturedPage(url=page_url, status=status, headers=headers, body=body)
    except CaptureReadError:
        raise
    except Exception as error:  # warcio raises assorted types on damaged input
        raise CaptureReadError(f"the capture could not be read: {type(error).__name__}") from error
    raise CaptureReadError("the capture has no response for the page")
