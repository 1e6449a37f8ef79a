"""History, corrections, deletion and erasure through real HTTP, with the audit log and the CLI agreeing."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from graph.store import open_store

from . import dataset as D
from .conftest import LiveServer

PROBLEM = "application/problem+json"


@pytest.fixture
def records_server(tmp_path):
    """A writable server whose school-alert worker is off: the test corrects the restaurant into a school canteen,
    and the worker would then (rightly) raise an alert naming the delivery the test deletes, which refuses the
    deletion (409) at a moment the test cannot know."""
    path = str(tmp_path / "store.db")
    D.build(path)
    s = LiveServer(path, str(tmp_path / "service.db"), env={"FOODTRACE_SCHOOL_ALERTS": "false"})
    try:
        yield s
    finally:
        s.stop()


def test_correct_history_delete_erase_round_trip(records_server):
    s = records_server
    admin = s.client("admin")
    investigator = s.client("investigator")
    # a correction: the value read as a template cell, the previous one kept with the key's holder and the request
    r = admin.post(f"/records/{D.RESTAURANT}/corrections", json={"field": "主体类型", "value": "学校食堂",
                                                                  "reason": "营业执照核实为学校食堂"})
    assert r.status_code == 201, r.text
    assert r.json() == {"table": "operator", "id": D.RESTAURANT, "field": "kind", "before": "Restaurant",
                        "after": "SchoolCanteen", "changed": True}
    h = investigator.get(f"/records/{D.RESTAURANT}/history", params={"as_of": "2000-01-01"}).json()
    (v,) = h["versions"]
    assert v["changes"] == {"kind": ["Restaurant", "SchoolCanteen"]} and v["reason"] == "营业执照核实为学校食堂"
    assert v["batch"]["actor"].startswith("测试-admin (key ") and v["batch"]["source"].startswith("POST /records/")
    assert h["current"]["kind"] == "SchoolCanteen"
    # the command line tells the same story
    out = subprocess.run([sys.executable, "-m", "api.cli", "history", D.RESTAURANT, "--format", "json", "--store",
                          s.store], capture_output=True, text=True, check=True).stdout
    assert json.loads(out)["versions"][0]["changes"] == v["changes"]
    # bad input: 422 with the reason; a role without the right: 403
    bad = admin.post(f"/records/{D.RESTAURANT}/corrections", json={"field": "主体类型", "value": "宇宙飞船", "reason": "x"})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith(PROBLEM) and "operator_kind" in bad.text
    assert investigator.post(f"/records/{D.RESTAURANT}/corrections",
                             json={"field": "name", "value": "x", "reason": "y"}).status_code == 403
    assert s.client().get(f"/records/{D.RESTAURANT}/history").status_code == 401
    # deletion: refused while referred to, then the leaf goes
    refused = admin.delete(f"/records/{D.RESTAURANT}", params={"reason": "重复"})
    assert refused.status_code == 409 and "delivery" in refused.text
    with open_store(s.store) as st:
        leaf = next(d.id for d in st.scan("delivery") if d.receiver_id == D.RESTAURANT)
    assert admin.delete(f"/records/{leaf}", params={"reason": "误录"}).status_code == 200
    assert investigator.get(f"/records/{leaf}/history").json()["current"] is None
    # erasure of the stall keeper: a tombstone, the trace still passes through the stall
    r = admin.post(f"/operators/{D.STALL}/erasure", json={"reason": "本人申请（登记号2026-07）"})
    assert r.status_code == 200 and r.json()["erased"] is True
    h = investigator.get(f"/records/{r.json()['id']}/history").json()
    text = json.dumps(h, ensure_ascii=False)
    assert D.STALL_KEEPER not in text and D.STALL_PHONE not in text and h["current"]["erased_by"].startswith("测试-admin")
    # the audit log names every record touched, with the key that did it
    audit = admin.get("/admin/audit").json()
    entries = audit["entries"] if isinstance(audit, dict) else audit
    touched = {e for row in entries for e in row.get("entities", [])}
    assert {D.RESTAURANT, leaf, D.STALL} <= touched
