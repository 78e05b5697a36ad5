"""The snr2u door (issue 3): not built yet."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["snr2u"])
