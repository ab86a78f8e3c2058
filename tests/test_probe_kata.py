"""`katas probe NN`: a kata's app probed with its world running, leaving the folder as it was;
and a kata's file probed without its world gets told how to give it one."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from appimports import app_imports_undone

from fastapi_async_katas.commands import probe
from fastapi_async_katas.commands.probeworld import NEEDS_ITS_WORLD

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _isolated_imports(monkeypatch):
    """The probe puts the app's folder on sys.path and imports it: undo both after each test."""
    with app_imports_undone(monkeypatch):
        yield


def test_a_kata_number_probes_the_learners_app_with_its_world_and_leaves_nothing(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    before = sorted(os.listdir(ROOT))
    code = probe.main(["01", "GET", "/products/1", "-n", "3", "--json", "--block-ms", "50"], prog="katas probe")
    out = capsys.readouterr().out
    assert code == 0
    data = json.loads(out)
    assert data["target"] == "kata 01 (katas/01_blocking_db/app.py)"
    assert data["status_counts"] == {"200": 3}
    assert {(b["file"], b["function"], b["kind"]) for b in data["blocks"]} == {("katas/01_blocking_db/app.py", "get_product", "io")}
    assert sorted(os.listdir(ROOT)) == before
    assert "SHOP_DATABASE" not in os.environ and "CATALOG_URL" not in os.environ


def test_a_kata_file_probed_without_its_world_is_told_to_use_the_number(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SHOP_DATABASE", raising=False)
    probe.main([str(ROOT / "katas" / "01_blocking_db" / "app.py"), "GET", "/products/1", "-n", "1"], prog="katas probe")
    err = capsys.readouterr().err
    assert NEEDS_ITS_WORLD.format(app=ROOT / "katas" / "01_blocking_db" / "app.py", number="01", method="GET", path="/products/1") in err
