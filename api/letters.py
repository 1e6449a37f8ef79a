"""The letters of 三书一函: the escalation ladder's documents, filled from a Chinese .docx template.

:func:`reasoning.disposal.escalations` says which overdue cases and complaints of which district reached
which level (提示, 督办, 约谈, 通报: :mod:`ontology.handling`'s table); this module writes the letter of each
(《食品安全工作提示书》, 《食品安全督办通知书》, 《食品安全约谈通知书》, 《食品安全工作通报函》) into the template
``api/data/letter.docx`` with docxtpl, addressed to the district's bureau from the city's food-safety office.

>>> from reasoning.disposal import Escalation
>>> from reasoning.disposal import CaseRow
>>> r = CaseRow("c", "HC1", "supervisory_sample", "o", None, "urn:foodtrace:region:320602", None, "2026-01-05",
...             "2026-04-03", None, "overdue", None, 12, None, "supervise", (), (), (), 0, "2026.1")
>>> text = letter_text(Escalation("urn:foodtrace:region:320602", "supervise", (r,)), as_of="2026-04-22", seq=1)
>>> text["title"], text["addressee"]
('食品安全督办通知书', '崇川区市场监督管理局')
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Mapping

from ontology.handling import districts, rules
from ontology.times import parse_day

__all__ = ["TEMPLATE", "ISSUER", "letter_text", "render_letter", "letter_name"]

TEMPLATE = Path(__file__).with_name("data") / "letter.docx"
#: who signs the letters: the city's food-safety committee office (食安办)
ISSUER = "南通市食品安全委员会办公室"

_TEXT = {
    "prompt": ("示", "经南通市食品安全追溯与风险研判系统核查，你局承办的下列核查处置、投诉举报事项已超过办理期限，现予提示。",
               "请于收到本提示书之日起5个工作日内办结上述事项，并将办理情况书面报送市食安办。"),
    "supervise": ("督", "你局承办的下列事项经提示后仍未办结，逾期已达10个工作日以上，现予督办。",
                  "请于收到本通知书之日起10个工作日内办结，并将办理结果、逾期原因及整改措施书面报送市食安办；"
                  "市食安办将跟踪督办。"),
    "interview": ("约", "你局承办的下列事项经督办后仍未办结，逾期已达20个工作日以上。依照食品安全工作责任约谈有关规定，"
                  "市食安办决定约谈你局主要负责人。",
                  "约谈时间、地点另行通知。请做好准备，约谈时书面说明逾期原因、责任落实及整改计划。"),
    "notify": ("通", "你局承办的下列事项经约谈后仍未办结，逾期已达30个工作日以上，现予通报，并抄送区（县、市）人民政府。",
               "请立即办结上述事项，并将办理结果报送市食安办；相关情况纳入年度食品安全工作评议考核和“照单述职”内容。"),
}


def letter_name(district: str, level: str, as_of: Any) -> str:
    """A file name: ``崇川区-督办-食品安全督办通知书-2026-04-22.docx``."""
    lv = {x.level: x for x in rules().escalation}[level]
    zh = districts().get(district, ("全市", ""))[0]
    return f"{zh}-{lv.zh}-{lv.letter_zh}-{parse_day(as_of).isoformat()}.docx"


def letter_text(esc: Any, *, as_of: Any, seq: int, names: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The fields of a letter (what the template is filled with)."""
    table = rules()
    lv = {x.level: x for x in table.escalation}[esc.level]
    short, opening, request = _TEXT[esc.level]
    day = parse_day(as_of)
    zh = districts().get(esc.district_id, ("全市", ""))[0]
    names = names or {}
    items = []
    for r in esc.items:
        is_case = hasattr(r, "trigger")
        what = "核查处置" if is_case else ("投诉" if getattr(r, "kind", "") == "complaint" else "举报")
        items.append({"number": r.number, "business": names.get(r.operator_id, r.operator_id),
                      "what": what, "due": r.due, "overdue": r.overdue_workdays})
    return {
        "title": lv.letter_zh, "doc_number": f"通食安办{short}〔{day.year}〕{seq}号",
        "addressee": f"{zh}市场监督管理局" if esc.district_id in districts() else "南通市市场监督管理局",
        "opening": opening, "items": items, "request": request,
        "basis": "依据：《食品安全抽样检验管理办法》第四十五条、《市场监督管理投诉举报处理暂行办法》及市食安委“三书一函”工作机制"
                 f"（期限规则版本 {table.version}）。",
        "issuer": ISSUER, "date": f"{day.year}年{day.month}月{day.day}日",
        "footer": f"共 {len(items)} 项；统计截至 {day.isoformat()}（不含当日）。",
    }


def render_letter(esc: Any, *, as_of: Any, seq: int, names: Mapping[str, str] | None = None) -> bytes:
    """The filled letter as .docx bytes."""
    from docxtpl import DocxTemplate

    doc = DocxTemplate(str(TEMPLATE))
    doc.render(letter_text(esc, as_of=as_of, seq=seq, names=names))
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()
