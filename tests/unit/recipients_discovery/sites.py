"""Synthetic websites for the site-contact and discovery tests: a Korean board and an English video page.

Every name, address and text here is made up; the domains are reserved example domains.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.unit.recipients_discovery.conftest import LoopbackServer

HTML = "text/html; charset=utf-8"


def cloudflare_protect(address: str, key: int = 0x5A) -> str:
    """Encode an address the way Cloudflare's e-mail protection does (key byte, then XOR-ed bytes)."""
    return f"{key:02x}" + "".join(f"{ord(char) ^ key:02x}" for char in address)


KOREAN_BOARD_PAGE = """<!doctype html>
<html lang="ko"><head><meta charset="utf-8"><title>자유게시판</title></head>
<body>
<article><h1>게시물</h1><img src="/m/1.png" alt=""></article>
<footer>
  <a href="/company/about">회사소개</a> | <a href="/help/inquiry">고객 문의</a> |
  <a href="/policy/youth">청소년보호정책</a> | <a href="https://partner.example.com/contact">제휴 문의</a>
  <a href="/board/2">다음 글</a>
  <p>대표 메일: <a href="mailto:help@board-site.example.com">help@board-site.example.com</a></p>
</footer>
</body></html>
"""

KOREAN_YOUTH_PAGE = """<html lang="ko"><body>
<h1>청소년보호정책</h1>
<p>회사는 청소년에게 유해한 정보를 차단하기 위해 노력합니다.</p>
<dl>
  <dt>청소년보호책임자</dt><dd>운영팀장</dd>
  <dt>이메일</dt><dd>youth [at] board-site.example [dot] com</dd>
</dl>
<footer>대표 메일: help@board-site.example.com</footer>
</body></html>
"""

KOREAN_INQUIRY_PAGE = """<html lang="ko"><body>
<h2>고객센터</h2>
<p>불법 게시물 신고 접수: abuse(at)board-site.example.com</p>
<p>로고 이미지: logo@2x.png</p>
</body></html>
"""

ENGLISH_VIDEO_PAGE = """<!doctype html>
<html lang="en"><head><title>Video 42</title></head>
<body>
<video src="/v/42.mp4"></video>
<nav><a href="/contact-us">Contact us</a> <a href="/legal/dmca">DMCA</a> <a href="/about">About</a></nav>
<p>Site operator: <span class="__cf_email__" data-cfemail="{protected}">[email&#160;protected]</span></p>
<p><a href="mailto:owner@video-site.example.org%0D%0ABcc:list@evil.example.org">write to us</a></p>
</body></html>
"""

ENGLISH_DMCA_PAGE = """<html lang="en"><body>
<h1>Copyright and abuse</h1>
<p>Send notices to <a href="mailto:DMCA@video-site.example.org?subject=Notice">our agent</a>.</p>
</body></html>
"""


def build_korean_board(site: LoopbackServer) -> str:
    """The Korean board: page, youth-protection policy, inquiry page; the about page is missing (404)."""
    site.serve("/policy/youth", KOREAN_YOUTH_PAGE, content_type=HTML)
    site.serve("/help/inquiry", KOREAN_INQUIRY_PAGE, content_type=HTML)
    return site.serve("/board/1", KOREAN_BOARD_PAGE, content_type=HTML)


def build_english_video_site(site: LoopbackServer) -> str:
    """The English video site: the DMCA page answers, contact is a PDF, about redirects off the site."""
    site.serve("/legal/dmca", ENGLISH_DMCA_PAGE, content_type="text/html")
    site.serve("/contact-us", b"%PDF-1.4 synthetic", content_type="application/pdf")
    site.redirect("/about", site.url("/moved-about").replace("127.0.0.1", "localhost"))
    site.serve("/moved-about", "<p>elsewhere: other@elsewhere.example.org</p>", content_type=HTML)
    page = ENGLISH_VIDEO_PAGE.replace("{protected}", cloudflare_protect("operator@video-site.example.org"))
    return site.serve("/watch/42", page, content_type=HTML)
