"""Helpers for the feed's tests."""
from __future__ import annotations

import pytest

from entraide.core.errors import EntraideError


def refused(code: str, status: int | None = None):
    class _Refusal:
        def __enter__(self):
            self.ctx = pytest.raises(EntraideError)
            self.info = self.ctx.__enter__()
            return self.info

        def __exit__(self, *exc):
            result = self.ctx.__exit__(*exc)
            assert self.info.value.code == code, (self.info.value.code, self.info.value.message)
            if status is not None:
                assert self.info.value.status == status
            return result

    return _Refusal()
