"""The one error type the analysis raises for input a user can fix."""

from __future__ import annotations


class InputError(ValueError):
    """Bad input: the message is one line naming the flag or column, the value, and what is allowed."""
