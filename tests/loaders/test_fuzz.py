"""Loaders fed generated bad input (hypothesis): never a traceback, never a half-written store or file.

Each example is a valid seed (an EPCIS JSON document, an EPCIS XML document, a deliveries CSV, an
operators workbook) broken at random: bytes flipped, cut short, values replaced by arbitrary JSON or text,
cells filled with anything. ``load_files`` must come back with outcomes (rejects or an error naming the
file), never raise; the store either gains exactly what one complete write of the good records gives
(the same as loading the same file into a fresh store) or stays as it was; the rejects CSV is complete.

60 examples per test by default, the same ones each run; ``FUZZ_EXAMPLES=400`` runs more and ``FUZZ_RANDOM=1``
draws new ones (how the bugs fixed with these tests were found: a JSON document holding the XML binding's
internal key, an event whose type is a list; the loader now rejects such an event with its reason).
"""

from __future__ import annotations

import csv
import os
import json
import tempfile
from pathlib import Path

import openpyxl
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graph.store import open_store
from loaders.base import REJECT_HEADERS, Reject, write_rejects
from loaders.load import load_files
from ontology.identifiers import gs1_check_digit

SETTINGS = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "60")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow], derandomize="FUZZ_RANDOM" not in os.environ)
DL = "https://id.gs1.org"
GLNS = [b + str(gs1_check_digit(b)) for b in ("690123400050", "690123400060")]


def _event(i: int) -> dict:
    return {"type": "ObjectEvent", "eventTime": f"2026-03-0{1 + i % 9}T08:00:00+08:00", "eventTimeZoneOffset": "+08:00",
            "action": "OBSERVE", "bizStep": "shipping", "disposition": "in_transit",
            "quantityList": [{"epcClass": f"urn:epc:class:lgtin:6901234.056789.F{i}", "quantity": 5, "uom": "KGM"}],
            "bizTransactionList": [{"type": "inv", "bizTransaction": f"urn:epcglobal:cbv:bt:6901234000016:INV{i}"}],
            "sourceList": [{"type": "location", "source": f"{DL}/414/{GLNS[0]}"}],
            "destinationList": [{"type": "location", "destination": f"{DL}/414/{GLNS[1]}"}]}


SEED_JSON = {"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"], "type": "EPCISDocument",
             "schemaVersion": "2.0", "creationDate": "2026-03-01T09:00:00+08:00",
             "epcisBody": {"eventList": [_event(i) for i in range(4)]}}
SEED_XML = ('<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" schemaVersion="2.0" '
            'creationDate="2026-03-01T09:00:00+08:00"><EPCISBody><EventList>'
            + "".join(f'<ObjectEvent><eventTime>2026-03-01T08:00:00+08:00</eventTime>'
                      f'<eventTimeZoneOffset>+08:00</eventTimeZoneOffset><action>OBSERVE</action>'
                      f'<bizStep>shipping</bizStep><disposition>in_transit</disposition>'
                      f'<sourceList><source type="location">urn:epc:id:sgln:6901234.00005.0</source></sourceList>'
                      f'<destinationList><destination type="location">urn:epc:id:sgln:6901234.00006.0</destination>'
                      f'</destinationList><extension><quantityList><quantityElement>'
                      f'<epcClass>urn:epc:class:lgtin:6901234.056789.X{i}</epcClass><quantity>5</quantity>'
                      f'<uom>KGM</uom></quantityElement></quantityList></extension></ObjectEvent>' for i in range(3))
            + "</EventList></EPCISBody></epcis:EPCISDocument>").encode("utf-8")
DELIVERY_HEADER = ["产品", "批号", "发货方", "收货方", "发货时间", "数量", "单位", "票据号"]
DELIVERY_ROW = ["06901234567892", "L1", GLNS[0], GLNS[1], "2026-03-01 08:00", "12", "千克", "INV-1"]
OPERATOR_HEADER = ["名称", "主体类型", "全球位置码", "所属区县", "个体", "纬度"]
OPERATOR_ROW = ["南通某某超市", "超市", GLNS[0], "崇川区", "否", "32.0"]

json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
                           lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=8), kids,
                                                                                      max_size=3), max_leaves=8)
cells = st.one_of(st.text(max_size=30), st.sampled_from(["", "0", "-1", "1e309", "nan", "2026-13-45", "是", "N/A",
                                                          "=1+1", "\x00", "2026/2/30 25:61", "１２", "千克", "KGM"]))


def _paths(doc: dict) -> list[tuple]:
    """Every path (of keys and indexes) into a JSON value."""
    out: list[tuple] = []

    def walk(v, path):
        out.append(path)
        if isinstance(v, dict):
            for k, x in v.items():
                walk(x, path + (k,))
        elif isinstance(v, list):
            for i, x in enumerate(v):
                walk(x, path + (i,))

    walk(doc, ())
    return out


def _replace(doc, path, value):
    if not path:
        return value
    doc = json.loads(json.dumps(doc))
    node = doc
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value
    return doc


def _mutate_bytes(data: bytes, flips: list[tuple[int, int]], cut: int | None) -> bytes:
    b = bytearray(data)
    for pos, val in flips:
        b[pos % len(b)] = val
    return bytes(b[:cut] if cut is not None else b)


def _delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0) and k != "region"}


def _load_checked(path: Path) -> None:
    """Load ``path`` into a fresh store and into one holding other data: no exception; whole or nothing."""
    from ontology.records import Operator
    from loaders.load import INTERNAL

    with tempfile.TemporaryDirectory() as tmp:
        with open_store(str(Path(tmp) / "a.db")) as fresh:
            (o,) = load_files(fresh, [path])  # must not raise
            assert o.error is None or (isinstance(o.error, str) and INTERNAL not in o.error), o.error
            assert all(isinstance(r, Reject) for r in o.rejects)
            gained = _delta({}, fresh.counts())
            if o.error is not None:
                assert gained == {}, (o.error, gained)  # an unreadable file writes nothing
        with open_store(str(Path(tmp) / "b.db")) as busy:
            busy.write([Operator(id="keep", kind="Farm", name="已有主体")])
            before = busy.counts()
            (o2,) = load_files(busy, [path])
            # the good records, whole (as many as a fresh store got), or nothing
            assert _delta(before, busy.counts()) == ({} if o2.error else gained)
            assert busy.get("operator", "keep") is not None
            rejects = Path(tmp) / "rejects.csv"
            n = write_rejects(o2.rejects, rejects)
            with open(rejects, encoding="utf-8-sig", newline="") as fh:
                rows = list(csv.reader(fh))
            assert rows[0] == list(REJECT_HEADERS.values()) and len(rows) == n + 1  # complete


@SETTINGS
@given(data=st.data())
def test_epcis_json_with_values_replaced(data):
    paths = _paths(SEED_JSON)
    doc = SEED_JSON
    for _ in range(data.draw(st.integers(1, 4))):
        doc = _replace(doc, data.draw(st.sampled_from(paths)), data.draw(json_values))
        paths = _paths(doc) if isinstance(doc, (dict, list)) else [()]
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "doc.jsonld"
        p.write_text(json.dumps(doc, ensure_ascii=False, allow_nan=True), encoding="utf-8")
        _load_checked(p)


@SETTINGS
@given(flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=6),
       cut=st.none() | st.integers(0, 3000), xml=st.booleans())
def test_epcis_bytes_flipped_or_cut(flips, cut, xml):
    seed = SEED_XML if xml else json.dumps(SEED_JSON).encode("utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / ("doc.xml" if xml else "doc.json")
        p.write_bytes(_mutate_bytes(seed, flips, cut))
        _load_checked(p)


@SETTINGS
@given(rows=st.lists(st.lists(cells, min_size=0, max_size=10), min_size=0, max_size=5),
       header_noise=st.lists(cells, max_size=2), encoding=st.sampled_from(["utf-8", "utf-8-sig", "gbk"]))
def test_deliveries_csv_with_any_cells(rows, header_noise, encoding):
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "deliveries.csv"
        lines = [DELIVERY_HEADER + header_noise, DELIVERY_ROW] + rows
        text = "\n".join(",".join('"' + c.replace('"', '""') + '"' for c in r) for r in lines)
        p.write_bytes(text.encode(encoding, errors="replace"))
        _load_checked(p)


@SETTINGS
@given(rows=st.lists(st.lists(cells | st.integers() | st.floats(), max_size=8), max_size=5),
       sheets=st.integers(1, 2))
def test_operators_workbook_with_any_cells(rows, sheets):
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "operators.xlsx"
        wb = openpyxl.Workbook()
        for k in range(sheets):
            ws = wb.active if k == 0 else wb.create_sheet(f"s{k}")
            ws.append(OPERATOR_HEADER)
            ws.append(OPERATOR_ROW)
            for r in rows:
                ws.append([ILLEGAL_CHARACTERS_RE.sub("", c) if isinstance(c, str) else c for c in r])
        wb.save(p)
        _load_checked(p)


def test_rejects_csv_is_never_half_written(tmp_path, monkeypatch):
    """A failure while writing the rejects leaves the previous file (or none), never part of a new one."""
    target = tmp_path / "rejects.csv"
    write_rejects([Reject("a.csv", 2, "f", "v", "old")], target)
    good = target.read_bytes()

    def broken():
        yield Reject("a.csv", 3, "f", "v", "new")
        raise OSError("disk full")

    try:
        write_rejects(broken(), target)
    except OSError:
        pass
    assert target.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["rejects.csv"]
