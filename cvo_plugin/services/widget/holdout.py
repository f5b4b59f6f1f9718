"""Which arm a visitor is in: stable by anonymous id, a share of them held out.

The arm is a hash of the shop's public key and the visitor's anonymous id mapped onto
[0, 1): below the holdout share means holdout. The same visitor always lands in the same
arm, and the arms of different shops are independent.
"""

from __future__ import annotations

import hashlib
import re

ANON_ID_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
EXPOSED = "exposed"
HOLDOUT = "holdout"


def valid_anon_id(value: str | None) -> bool:
    """Whether `value` looks like an id the widget makes (8 to 64 URL-safe characters)."""
    return bool(value) and ANON_ID_RE.fullmatch(value or "") is not None


def arm_of(shop_key: str, anon_id: str, holdout_share: float) -> str:
    """`holdout` or `exposed` for this visitor of this shop."""
    if holdout_share <= 0:
        return EXPOSED
    digest = hashlib.blake2b(f"{shop_key}\x00{anon_id}".encode(), digest_size=8).digest()
    position = int.from_bytes(digest, "big") / 2**64
    return HOLDOUT if position < holdout_share else EXPOSED
