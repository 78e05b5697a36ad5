"""Every ``curl`` example of the README runs as printed against ``serve --demo`` (only the host
and port are the test server's): it answers JSON without an error, and with the values its
``# {...}`` comment shows (those without digits: numbers and dates move with the day it runs)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
ERRORS = ('"/problems/', '"status":"error"', '"status":false', '"success":false', '"ErrorCode"')


def examples() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    return [block for block in blocks if "curl " in block]


def expected_pairs(block: str) -> list[str]:
    comments = " ".join(line.strip()[1:] for line in block.splitlines() if line.strip().startswith("#"))
    pairs = re.findall(r'"([\w-]+)": ("[^"\d]*"|true|false|null)', comments)
    return [f'"{key}":{value}' for key, value in pairs]


def test_the_readme_has_its_examples():
    found = examples()
    assert len(found) >= 6  # the worked example (2) and four doors
    assert any("/v1/refunds" in block for block in found)
    assert all("$TOKEN" not in block or "TOKEN=" in block for block in found)  # every variable is set


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
@pytest.mark.parametrize("index", range(len(examples())))
def test_every_curl_example_runs_as_printed(server, index):
    block = examples()[index]
    script = "set -euo pipefail\n" + block.replace("http://127.0.0.1:8000", server)
    run = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, (block, run.stdout, run.stderr)
    out = run.stdout.strip()
    assert out, block
    body = json.loads(out.splitlines()[-1])
    assert body, block
    compact = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    assert not [marker for marker in ERRORS if marker in compact], (block, out)
    for pair in expected_pairs(block):
        assert pair in compact, (pair, block, out)
