"""Which written names became one operator, and why: the name merges of announcements, explained.

Announcements name a business in many ways; the loader reads them one way (:mod:`ontology.names`) and keeps
each written form as an Alias of scheme ``name`` (the form the operator's id is made of as an alias to itself). :func:`operator_merges`
lists every operator known under more than one written name with the rules that made them one (Chinese and
English), and every name the loader left unmerged because it names two registered operators (two 统一社会信用代码,
never merged). Branches and stalls are not merges: they are operators of their own linked to their parent or
market (``Operator.parent_id``).

>>> from graph.store import open_store
>>> from ontology.records import Alias, Operator
>>> from ontology.names import operator_id_for
>>> import tempfile, os
>>> s = open_store(os.path.join(tempfile.mkdtemp(), "m.db"))
>>> oid = operator_id_for("乐斯福（明光）有限公司")
>>> _ = s.write([Operator(id=oid, kind="Producer", name="乐斯福（明光）有限公司"),
...              Alias(id="urn:foodtrace:operator:%E4%B9%90%E6%96%AF%E7%A6%8F(%E6%98%8E%E5%85%89)%E6%9C%89%E9%99%90"
...                       "%E8%B4%A3%E4%BB%BB%E5%85%AC%E5%8F%B8", canonical_id=oid, entity="operator", scheme="name")])
>>> m = operator_merges(s)
>>> [(r["form"], [zh for zh, _ in r["reasons"]]) for r in m["merged"][0]["forms"]]
[('乐斯福（明光）有限公司', []), ('乐斯福(明光)有限责任公司', ['全角或兼容字符转为标准字符', '括号不影响名称', '有限责任公司视同有限公司'])]
>>> s.close()
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any
from urllib.parse import unquote

from ontology.names import merge_reasons, operator_id_for

__all__ = ["operator_merges"]

_PREFIX = "urn:foodtrace:operator:"


def _form(alias_id: str) -> str | None:
    """The written name an operator alias of scheme ``name`` stands for."""
    if not alias_id.startswith(_PREFIX) or alias_id.startswith(_PREFIX + "uscc:"):
        return None
    return unquote(alias_id[len(_PREFIX):])


def operator_merges(view: Any) -> dict[str, list[dict[str, Any]]]:
    """The name merges of the store.

    Parameters
    ----------
    view : ReadView or Store
        Read only.

    Returns
    -------
    dict
        ``merged``: one entry per operator known under two or more written names, largest first:
        ``{"operator_id", "name", "kind", "uscc", "forms": [{"form", "reasons": [(zh, en), ...]}, ...]}``
        (the operator's own name first, with no reasons); ``ambiguous``: names two registered operators share,
        left unmerged: ``{"name_id", "form", "operators": [...]}``.
    """
    forms: dict[str, list[str]] = defaultdict(list)
    ambiguous_ids: list[str] = []
    for a in view.scan("alias"):
        if a.entity != "operator" or a.scheme not in ("name", "name_key"):
            continue
        if a.id == a.canonical_id and a.scheme == "name_key":
            ambiguous_ids.append(a.id)
        elif a.scheme == "name":
            f = _form(a.id)
            if f:
                forms[a.canonical_id].append(f)
    ops = view.get_many("operator", sorted(forms))
    merged = []
    for oid, written in forms.items():
        op = ops.get(oid)
        if op is None:
            continue
        own = op.name or ""
        seen = [own]
        for f in sorted(set(written)):
            if f.strip() != own.strip() and f.strip() not in seen:
                seen.append(f.strip())
        if len(seen) < 2:
            continue
        entries = [{"form": own, "reasons": []}]
        for f in seen[1:]:
            reasons = merge_reasons(f, own)
            if op.uscc or not oid.startswith(_PREFIX) or oid.startswith(_PREFIX + "uscc:"):
                reasons.append(("与已登记主体的名称一致" + (f"（统一社会信用代码 {op.uscc}）" if op.uscc else ""),
                                "the name of a registered operator" + (f" (USCC {op.uscc})" if op.uscc else "")))
            entries.append({"form": f, "reasons": reasons})
        merged.append({"operator_id": oid, "name": own, "kind": op.kind, "uscc": op.uscc, "forms": entries})
    merged.sort(key=lambda m: (-len(m["forms"]), m["name"]))
    ambiguous = []
    if ambiguous_ids:
        holders: dict[str, list[str]] = defaultdict(list)
        for o in view.scan("operator"):
            if o.name and not o.individual:
                key = operator_id_for(o.name)
                if key in ambiguous_ids and o.id != key:
                    holders[key].append(o.id)
        ambiguous = [{"name_id": k, "form": _form(k), "operators": sorted(holders.get(k, []))}
                     for k in sorted(ambiguous_ids)]
    return {"merged": merged, "ambiguous": ambiguous}
