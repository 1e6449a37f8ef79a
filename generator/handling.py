"""What the bureau did about it: 核查处置 cases and 投诉举报 handling, at realistic rates, with their truth.

A disposal case opens for each nonconforming, undisputed, announced supervisory sample (and for 40 % of the
nonconforming rapid tests, on demand) when the laboratory's result reaches the district bureau, 8 to 20
working days after sampling (never after the announcement). Its steps follow the rules of
:mod:`ontology.handling`: the result served on the business (and on a named producer), now and then an
objection and a re-test (half of them pass, clearing the sample), control measures (a recall with the
receivers of the sampled lot, who confirm one by one, a few never), the cause, the rectification, a case
decision (立案 where an enforcement case followed the sample, else 不予立案 with a reason), publication and
closing: about 80 % on time, 13 % late, 7 % never closed within the two years (an unconfirmed recall, a
stalled case); a few get an approved extension, overdue ones an escalation (提示, then 督办).

Complaints (generated in :mod:`generator.events`) get a kind (举报 for whistleblowers and 30 % of the
rest), a rural flag, a real-name flag, a linked recent nonconforming sample now and then, and their
handling: acceptance or rejection (some late), mediation ending in or beyond 45 working days, reports
verified and decided in 15 working days (some with an extension, some late), real-name replies, closing.

Everything uses its own random stream, so the files written before (EPCIS, templates, announcements) are
byte-identical to what the same seed gave before these were added. The truth (``truth/handling.json``)
lists every case and complaint with its deadline in force, the day it was done and whether that was on
time, computed from the plan here, not from the files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from ontology.handling import due as rule_due
from ontology.workdays import add_workdays

from .events import Events
from .flow import Flow
from .network import KINDS, Network

__all__ = ["plan_complaints", "plan_cases", "Plan", "step_rows", "case_rows"]

_NOT_FILED = ("经核查，当事人已履行进货查验义务，能如实说明进货来源，依法不予立案",
              "违法行为轻微并及时改正，没有造成危害后果，依法不予立案", "初次违法且危害后果轻微并及时改正，依法不予立案")
_REJECT = ("不属于本部门职责范围", "未提供具体的投诉请求以及消费者权益争议事实", "法院已受理同一消费者权益争议")
_REPORT_NOT_FILED = ("经核查，举报线索不实", "经核查，未发现违法行为", "举报内容不具体，无法核实")
_OFFICERS = ("张明", "李华", "王芳", "陈刚", "刘洋", "杨静", "赵磊", "黄敏", "周强", "吴婷")


def _d(x: date) -> str:
    return x.isoformat()


@dataclass
class Plan:
    """Cases and complaint handling as planned: template rows and their truth."""

    cases: list[dict] = field(default_factory=list)
    steps: list[dict] = field(default_factory=list)
    truth_cases: list[dict] = field(default_factory=list)
    truth_complaints: list[dict] = field(default_factory=list)
    cleared: dict[int, str] = field(default_factory=dict)   # sample index -> day its re-test passed


def _wd(rng: np.random.Generator, lo: int, hi: int) -> int:
    return int(rng.integers(lo, hi + 1))


def _emit(plan: Plan, subject: str, subject_kind: str, items: list[tuple[date, str, dict]], end: date,
          officer: str) -> list[tuple[date, str, dict]]:
    """Sort the planned steps by day (stable: the planned order breaks ties), keep those up to ``end``, number
    them and add their rows; returns the steps kept."""
    kept = [it for it in sorted(items, key=lambda it: it[0]) if it[0] <= end]
    for seq, (day, kind, extra) in enumerate(kept, 1):
        plan.steps.append({"subject": subject, "subject_kind": subject_kind, "seq": str(seq), "kind": kind,
                           "date": _d(day), "by": extra.pop("by", officer), **extra})
    return kept


# -- complaints ---------------------------------------------------------------------------------------------


def plan_complaints(net: Network, ev: Events, rng: np.random.Generator, start: date, end: date,
                    plan: Plan) -> None:
    """Give each complaint its kind, rural and real-name flags and a linked sample, and plan its handling.

    The complaint dicts of ``ev.complaints`` gain ``kind``, ``rural``, ``real_name`` and ``sample`` (a sample
    number), which the complaints template carries.
    """
    n = net.n
    rural_op = rng.random(n) < np.where(np.array([net.districts[int(d)]["code"] == "320602"
                                                  for d in net.district]), 0.05, 0.3)
    recent: dict[int, list[tuple[str, str]]] = {}
    for s in ev.samples:
        if s["fail"] and s["plan"] != "supervisory":
            recent.setdefault(s["station"], []).append((s["date"], s["id"]))
    for c in ev.complaints:
        op = c["operator"]
        u = rng.random(8)
        report = c["channel"] == "吹哨人" or u[0] < 0.3
        c["kind"] = "report" if report else "complaint"
        c["rural"] = bool(rural_op[op])
        c["real_name"] = bool(u[1] < 0.7)
        c["sample"] = ""
        linked = [sid for day, sid in recent.get(op, ()) if 0 <= (date.fromisoformat(c["date"]) -
                                                                  date.fromisoformat(day)).days <= 30]
        if linked and u[2] < 0.5:
            c["sample"] = linked[0]
        received = date.fromisoformat(c["date"])
        officer = _OFFICERS[int(rng.integers(len(_OFFICERS)))]
        items: list[tuple[date, str, dict]] = []
        if report:
            base_due = date.fromisoformat(rule_due(received, "report_decide")[0])
            verified = add_workdays(received, _wd(rng, 1, 8))
            items.append((verified, "verified", {}))
            r = u[3]
            if r < 0.08:   # extended, decided within the extension
                ext_day = min(add_workdays(received, _wd(rng, 8, 14)), base_due)
                ext_day = max(ext_day, verified)
                items.append((ext_day, "extension", {"due": _d(add_workdays(base_due, 15)),
                                                     "reason": "案情复杂，经负责人批准延长十五个工作日"}))
                decided = add_workdays(received, _wd(rng, 16, 30))
            elif r < 0.91:
                decided = add_workdays(received, _wd(rng, 2, 15))
            elif r < 0.97:
                decided = add_workdays(received, _wd(rng, 16, 25))   # late
            else:
                decided = None                                        # never decided
            if decided is not None:
                decided = max(decided, verified)
                if c["substantiated"] and u[4] < 0.5:
                    items.append((decided, "filed", {}))
                else:
                    items.append((decided, "not_filed",
                                  {"reason": _REPORT_NOT_FILED[int(rng.integers(len(_REPORT_NOT_FILED)))]}))
                last = decided
                if c["real_name"]:
                    last = add_workdays(decided, _wd(rng, 0, 5))
                    items.append((last, "replied", {}))
                items.append((add_workdays(last, _wd(rng, 0, 2)), "closed", {}))
        else:
            k = _wd(rng, 0, 6) if u[3] < 0.93 else _wd(rng, 7, 12)
            decided = add_workdays(received, k)
            r = u[4]
            if r < 0.07:
                items.append((decided, "rejected", {"reason": _REJECT[int(rng.integers(len(_REJECT)))]}))
                last = decided
            elif r < 0.12:
                items.append((decided, "transferred", {"note": "移送有管辖权的部门处理"}))
                last = decided
            else:
                items.append((decided, "accepted", {}))
                m = u[5]
                if m < 0.90:
                    last = add_workdays(decided, _wd(rng, 3, 45))
                elif m < 0.96:
                    last = add_workdays(decided, _wd(rng, 46, 60))     # late
                else:
                    last = None                                         # never
                if last is not None:
                    items.append((last, "mediated" if u[6] < 0.65 else "mediation_ended", {}))
            if last is not None:
                if c["real_name"]:
                    last = add_workdays(last, _wd(rng, 0, 3))
                    items.append((last, "replied", {}))
                items.append((add_workdays(last, _wd(rng, 0, 2)), "closed", {}))
        kept = _emit(plan, c["id"], "投诉举报", items, end, officer)
        closed = next((day for day, kind, _ in kept if kind == "closed"), None)
        if report:
            ext = next((x["due"] for day, kind, x in kept if kind == "extension"), None)
            in_force = ext or rule_due(received, "report_decide")[0]
        else:
            acc = next((day for day, kind, _ in kept if kind == "accepted"), None)
            in_force = rule_due(acc, "complaint_mediate")[0] if acc else rule_due(received, "complaint_accept")[0]
        plan.truth_complaints.append({
            "number": c["id"], "operator": net.canon[op], "district": f"urn:foodtrace:region:"
            f"{net.districts[int(net.district[op])]['code']}", "kind": c["kind"], "rural": c["rural"],
            "received": c["date"], "due": in_force, "done": _d(closed) if closed else None,
            "on_time": None if closed is None else _d(closed) <= in_force})


# -- disposal cases -----------------------------------------------------------------------------------------


def _receivers(flow: Flow, lot: int) -> list[int]:
    """Operators that received the lot (the explicit deliveries of it), sorted."""
    idx = np.flatnonzero(flow.d_lot == lot)
    return sorted({int(x) for x in flow.d_receiver[idx].tolist()})


def plan_cases(net: Network, flow: Flow, ev: Events, ann: list[dict], rng: np.random.Generator, start: date,
               end: date, plan: Plan) -> None:
    """Open and work the disposal cases (see the module's description)."""
    ann_of = {a["sample"]: a for a in ann}
    case_of_sample = {c["sample"]: c for c in ev.cases if c["sample"] is not None}
    seqs: dict[tuple[str, int], int] = {}
    for i, s in enumerate(ev.samples):
        if not s["fail"]:
            continue
        a = ann_of.get(i)
        if s["plan"] == "supervisory":
            if a is None or a["disputed"]:
                continue
            trigger = "supervisory_sample"
        elif s["plan"] == "rapid":
            if rng.random() >= 0.4:
                continue
            trigger = "rapid_test"
        else:
            continue
        u = rng.random(24)
        st = int(s["station"])
        taken = date.fromisoformat(s["date"])
        opened = add_workdays(taken, _wd(rng, 8, 20))
        if a is not None and a.get("announced"):
            opened = min(opened, date.fromisoformat(a["announced"]))
        opened = max(opened, taken)
        if opened > end:
            continue
        dist = net.districts[int(net.district[st])]
        key = (dist["code"], opened.year)
        seqs[key] = seqs.get(key, 0) + 1
        number = f"HC{dist['code']}{opened.year}{seqs[key]:05d}"
        lot = int(s["lot"])
        mk = int(flow.lot_producer[lot])
        named = a["named"] if a is not None else True
        producer = mk if named and mk != st else None
        base_due = date.fromisoformat(rule_due(opened, "disposal_complete")[0])
        due = base_due
        officer = _OFFICERS[int(rng.integers(len(_OFFICERS)))]
        row = {"number": number, "trigger": "监督抽检不合格" if trigger == "supervisory_sample" else "快检不合格",
               "operator": net.uscc[st], "producer": net.uscc[producer] if producer is not None else "",
               "district": dist["name"], "opened": _d(opened), "due": _d(base_due), "opened_by": officer}
        if a is not None:
            row.update(announcement=a["announcement"], sampled=net.uscc[st], product_name=s["key"]["name"],
                       batch=a["batch"])
        else:
            row["sample"] = s["id"]
        plan.cases.append(row)

        items: list[tuple[date, str, dict]] = []
        served = add_workdays(opened, _wd(rng, 0, 4) if u[0] < 0.95 else _wd(rng, 5, 8))
        items.append((served, "served", {"party": net.uscc[st], "note": "送达检验报告及告知书"}))
        if producer is not None:
            items.append((add_workdays(opened, _wd(rng, 0, 6)), "served",
                          {"party": net.uscc[producer], "note": "送达检验报告"}))
        cleared = None
        if u[1] < 0.06:
            objection = add_workdays(served, _wd(rng, 1, 7))
            items.append((objection, "objection", {"party": net.uscc[st], "note": "申请复检"}))
            retest = add_workdays(objection, _wd(rng, 10, 20))
            passed = u[2] < 0.5
            items.append((retest, "retest", {"outcome": "pass" if passed else "fail"}))
            if passed:
                cleared = retest
        done = None
        if cleared is None:
            last = served
            if u[3] < 0.85:
                items.append((add_workdays(served, _wd(rng, 0, 2)), "withdraw", {"note": "责令下架停售"}))
            if u[4] < 0.3:
                items.append((add_workdays(served, _wd(rng, 0, 2)), "seal", {"note": "封存库存问题食品"}))
            confirm_days: list[date] = []
            receivers = _receivers(flow, lot)
            never_confirmed = False
            if u[5] < 0.15 and 1 <= len(receivers) <= 15:
                recall = add_workdays(served, _wd(rng, 1, 3))
                items.append((recall, "recall", {"receivers": "；".join(net.uscc[r] for r in receivers),
                                                 "note": "责令召回已售出问题食品"}))
                for j, r in enumerate(receivers):
                    if u[6] < 0.08 and j == len(receivers) - 1:
                        never_confirmed = True
                        continue
                    day = add_workdays(recall, _wd(rng, 1, 10))
                    confirm_days.append(day)
                    items.append((day, "recall_confirmed", {"party": net.uscc[r]}))
            if u[7] < 0.2:
                items.append((add_workdays(served, _wd(rng, 3, 8)), "destroy", {"note": "监督销毁"}))
            cause = add_workdays(served, _wd(rng, 3, 20))
            items.append((cause, "cause", {"note": "排查不合格原因"}))
            rectified = add_workdays(cause, _wd(rng, 2, 15))
            items.append((rectified, "rectified", {"note": "完成整改并提交整改报告"}))
            enforcement = case_of_sample.get(i)
            if enforcement is not None:
                decided = max(date.fromisoformat(enforcement["opened"]), served)
                items.append((decided, "filed", {"case": enforcement["id"]}))
            else:
                decided = add_workdays(cause, _wd(rng, 0, 10))
                items.append((decided, "not_filed", {"reason": _NOT_FILED[int(rng.integers(len(_NOT_FILED)))]}))
            last = max(day for day, _, _ in items)
            r = u[9]
            if never_confirmed or r >= 0.93:
                close = None
            elif r < 0.80:
                close = max(last, min(due, last + timedelta(days=_wd(rng, 0, 20))))
            else:
                close = max(last, due + timedelta(days=_wd(rng, 1, 40)))
            ext_day = max(served, base_due - timedelta(days=_wd(rng, 5, 15)))
            if u[8] < 0.05 and (close is None or close > ext_day):
                due = base_due + timedelta(days=30)
                while not _is_workday(due):
                    due += timedelta(days=1)
                items.append((ext_day, "extension", {"due": _d(due), "reason": "涉及外地协查，经负责人批准延期"}))
            if close is not None:
                items.append((close, "closed", {"note": "核查处置完成"}))
                if u[10] < 0.7:
                    items.append((close + timedelta(days=_wd(rng, 0, 5)), "published", {"note": "向社会公开核查处置情况"}))
            stop = close or end
            prompt = add_workdays(due, 1)
            if prompt < stop:
                items.append((prompt, "escalation", {"outcome": "prompt", "note": "发出食品安全工作提示书"}))
                supervise = add_workdays(due, 10)
                if supervise < stop and u[11] < 0.6:
                    items.append((supervise, "escalation", {"outcome": "supervise", "note": "发出食品安全督办通知书"}))
            done = close
        kept = _emit(plan, number, "核查处置", items, end, officer)
        kinds = {k for _, k, _ in kept}
        ext_due = next((x["due"] for _, k, x in kept if k == "extension"), None)
        in_force = ext_due or _d(base_due)
        if cleared is not None and "retest" in kinds:
            finished: str | None = _d(cleared)
            plan.cleared[i] = _d(cleared)
        else:
            finished = _d(done) if done is not None and "closed" in kinds else None
        plan.truth_cases.append({
            "number": number, "sample": s["id"] if a is None else None, "sample_index": i, "trigger": trigger,
            "operator": net.canon[st], "district": f"urn:foodtrace:region:{dist['code']}", "opened": _d(opened),
            "due": in_force, "done": finished, "on_time": None if finished is None else finished <= in_force,
            "cleared": finished is not None and cleared is not None})


def _is_workday(day: date) -> bool:
    from ontology.workdays import is_workday

    return is_workday(day)


def case_rows(plan: Plan) -> list[dict]:
    """The rows of the disposal_cases template."""
    return plan.cases


def step_rows(plan: Plan) -> list[dict]:
    """The rows of the handling_steps template, step kinds and outcomes in Chinese as a bureau writes them."""
    from ontology.handling import rules
    from ontology.vocab import labels

    kind_zh = {k: v[0] for k, v in labels("handling_step").items()}
    outcome_zh = {"pass": "通过", "fail": "不通过", **{lv.level: lv.zh for lv in rules().escalation}}
    return [{**r, "kind": kind_zh[r["kind"]], "outcome": outcome_zh.get(r.get("outcome", ""), r.get("outcome", ""))}
            for r in plan.steps]


def truth(plan: Plan) -> bytes:
    """``truth/handling.json``."""
    return json.dumps({"cases": plan.truth_cases, "complaints": plan.truth_complaints}, ensure_ascii=False,
                      indent=1).encode("utf-8")


__all__ += ["truth", "KINDS"]
