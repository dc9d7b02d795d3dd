"""Numbers as a person reads them: counts with their noun's plural, dollar amounts with
the digits that matter (a $0.00375 task is not "$0.00")."""

from __future__ import annotations

import math


def counted(number: int, noun: str, plural: str | None = None) -> str:
    """``1 job``, ``2 jobs``, ``0 jobs``; ``plural`` for nouns that do not take an s."""
    return f"{number} {noun if number == 1 else (plural or noun + 's')}"


def usd(amount: float) -> str:
    """A dollar amount: cents from $1 up; below, three significant digits (at least cents)."""
    if amount == 0:
        return "$0.00"
    if abs(amount) >= 1:
        return f"${amount:,.2f}"
    decimals = max(2, 2 - math.floor(math.log10(abs(amount))))  # three significant digits
    whole, _, cents = f"{amount:.{decimals}f}".partition(".")
    return f"${whole}.{cents.rstrip('0').ljust(2, '0')}"
