"""The analytics job's tests run in .venv-flink (``make flink-test``); its package sits in flink_apps/stream_analytics."""

from __future__ import annotations

import sys
from pathlib import Path

APP_DIR = Path(__file__).resolve().parents[2] / "flink_apps" / "stream_analytics"
sys.path.insert(0, str(APP_DIR))
