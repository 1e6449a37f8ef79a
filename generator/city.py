"""Synthetic Nantong food network: seeded, realistic, with its ground truth.

:func:`generate` builds a food network of Nantong's seven districts (farms,
slaughterhouses, producers, workshops, wholesale and wet markets with their
stalls, supermarkets, distributors, canteens, restaurants, cold stores), lets
lots flow through it in time (slaughter, cutting, processing, repacking,
mixing), takes samples, inspects, opens cases and records complaints and
credit, and writes what a city would receive: GS1 EPCIS 2.0 JSON-LD documents
(``epcis/``), CSV templates (``templates/``) and official sampling
announcements (``announcements/``). What really happened, which the files
only partly show, goes to ``truth/``: planted nonconforming lots with their
true spread, each operator's latent risk, and the imperfections planted at
known rates. ``manifest.json`` lists counts, files and rates.

The same ``scale`` and ``seed`` give byte-identical files. The network is
built in :mod:`generator.network`, the flow of lots in
:mod:`generator.flow`, the records around it (samples, inspections,
cases, complaints, credit) in :mod:`generator.events`, and the files
in :mod:`generator.write`.

Examples
--------
>>> import tempfile
>>> m = generate(tempfile.mkdtemp(), scale=1000, seed=1)
>>> m.counts["delivery"]
1000
>>> sorted(m.counts)[:3]
['banquet', 'case', 'certificate']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Callable

import numpy as np
import orjson

__all__ = ["Manifest", "generate", "GENERATOR_VERSION", "DEFAULT_END", "DEFAULT_RATES"]

#: bumped whenever the same seed would give different files
GENERATOR_VERSION = "1.0.0"

#: last day of the default two-year window (fixed, so that a seed gives the same files on any day)
DEFAULT_END = date(2026, 11, 21)

#: imperfection and planting rates (the truth files record the realised ones)
DEFAULT_RATES: dict[str, float] = {
    "missing_certificate": 0.08,   # deliveries of certified primary produce that carry no certificate
    "missing_ticket": 0.05,        # deliveries without a ticket (票)
    "missing_trace_code": 0.10,    # retail lots without a trace code (码)
    "nolink_station": 0.20,        # stalls / distributors that ship under their own lot without recording inputs
    "mass_balance_station": 0.03,  # markets, stalls, distributors shipping more than they received
    "illegal_slaughter": 0.15,     # slaughterhouses that slaughter unrecorded pigs (私屠滥宰)
    "planted_per_10000": 20.0,     # planted nonconforming lots per 10,000 deliveries (at least 5)
}


@dataclass(frozen=True)
class Manifest:
    """What :func:`generate` wrote: counts per entity, files, rates, parameters."""

    scale: int
    seed: int
    start: str
    end: str
    version: str
    counts: dict[str, int] = field(default_factory=dict)
    files: dict[str, list[str]] = field(default_factory=dict)
    rates: dict[str, Any] = field(default_factory=dict)
    out_dir: str = ""
    settings: dict[str, Any] = field(default_factory=dict)   # settings away from their defaults

    def to_dict(self) -> dict[str, Any]:
        d = {"generator": "foodtrace.synthetic", "version": self.version, "scale": self.scale,
             "seed": self.seed, "start": self.start, "end": self.end, "counts": self.counts,
             "files": self.files, "rates": self.rates}
        if self.settings:
            d["settings"] = self.settings
        return d


def generate(out_dir: str | Path, *, scale: int, seed: int, progress: Callable[[int], None] | None = None,
             end: date | None = None, rates: dict[str, float] | None = None, holding_scale: float = 1.0) -> Manifest:
    """Generate a synthetic Nantong network with ``scale`` deliveries into ``out_dir``.

    Parameters
    ----------
    out_dir
        Directory to write into (created; files of an earlier run are overwritten).
    scale
        Number of deliveries (>= 100).
    seed
        Random seed; the same seed and scale give byte-identical files.
    progress
        Called now and then with how much of the work is done, in deliveries
        (0 to ``scale``, never decreasing), e.g. to drive a progress bar.
    end
        Last day of the two-year window (default :data:`DEFAULT_END`).
    rates
        Overrides of :data:`DEFAULT_RATES`.
    holding_scale
        Multiplies every holding time (how long a station keeps goods before shipping them on): the
        records then show longer or shorter pass-throughs, and learned holding windows follow. Recorded
        in the manifest (``settings``) when not 1, so the default output stays byte-identical.

    Returns
    -------
    Manifest
        Also written to ``out_dir/manifest.json``.
    """
    from . import events, flow as flow_mod, network, write

    if scale < 100:
        raise ValueError(f"scale must be at least 100 deliveries, got {scale}")
    if not 0 < holding_scale <= 10:
        raise ValueError(f"holding_scale must be in (0, 10], got {holding_scale}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    end = end or DEFAULT_END
    start = end - timedelta(days=730)
    r = dict(DEFAULT_RATES)
    r.update(rates or {})
    def report(stage: str, frac: float) -> None:
        if progress is not None:
            progress(int(scale * min(1.0, frac)))


    ss = np.random.SeedSequence(seed)
    s_net, s_flow, s_ev, s_write = ss.spawn(4)
    report("network", 0.0)
    net = network.build(np.random.default_rng(s_net), scale, r)
    report("flow", 0.15)
    flow = flow_mod.run(net, np.random.default_rng(s_flow), scale, days=730.0, rates=r, holding_scale=holding_scale)
    report("events", 0.45)
    ev = events.build(net, flow, np.random.default_rng(s_ev), scale, start, r)
    report("write", 0.6)
    files, counts, realised = write.write_all(out, net, flow, ev, np.random.default_rng(s_write),
                                              start=start, end=end, rates=r, seed=seed, scale=scale,
                                              progress=lambda f: report("write", 0.6 + 0.4 * f))
    m = Manifest(scale=scale, seed=seed, start=start.isoformat(), end=end.isoformat(), version=GENERATOR_VERSION,
                 counts=counts, files=files, rates={"configured": r, "realised": realised}, out_dir=str(out),
                 settings={"holding_scale": holding_scale} if holding_scale != 1.0 else {})
    (out / "manifest.json").write_bytes(orjson.dumps(m.to_dict(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    report("done", 1.0)
    return m
