"""A plausibility check for e-mail addresses found in pages and written in source files.

Deliberately simple: it answers "could a notice be addressed to this?", not full RFC 5322.
"""

from __future__ import annotations

import re

_EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}"
    r"@(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+"
)


def is_plausible_email(address: str) -> bool:
    """True for ``local@domain.tld`` shaped addresses (ASCII; the domain needs a dot).

    >>> is_plausible_email("abuse@example.org"), is_plausible_email("abuse@localhost")
    (True, False)
    """
    return _EMAIL.fullmatch(address) is not None
