"""A CJK font for pictures (matplotlib PNGs and any other report that draws Chinese text).

The project depends on the PyPI package ``mplfonts``, which ships Noto Sans CJK SC (SIL Open Font
License), so ``make`` installs a Chinese font on any machine without root or a system package. Where it
is missing, well-known system CJK fonts are tried (Debian's ``fonts-noto-cjk``, WenQuanYi, Source Han,
and the usual Windows/macOS fonts). A font counts only if it really has the glyphs of Chinese text.

>>> p = cjk_font_path()
>>> p is None or has_glyphs(p, "南通市场")
True
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = ["cjk_font_path", "has_glyphs", "use_cjk_font", "cjk_font_face", "CJK_SAMPLE", "WEB_FAMILY"]

#: CSS family name of the embedded CJK font of HTML reports
WEB_FAMILY = "FoodtraceCJK"

#: text a CJK font must be able to draw
CJK_SAMPLE = "南通市食品追溯批次主体"

#: font files inside the mplfonts package, best first
_PACKAGED = ("NotoSansCJKsc-Regular.otf", "SourceHanSerifSC-Regular.otf", "NotoSerifCJKsc-Regular.otf")
#: family names of system fonts that cover simplified Chinese, best first
_SYSTEM_FAMILIES = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN",
                    "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Noto Serif CJK SC", "AR PL UMing CN",
                    "Microsoft YaHei", "SimHei", "PingFang SC", "Hiragino Sans GB", "Droid Sans Fallback")
#: where system fonts live
_SYSTEM_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", str(Path.home() / ".fonts"),
                str(Path.home() / ".local/share/fonts"), "C:/Windows/Fonts", "/System/Library/Fonts",
                "/Library/Fonts")


def has_glyphs(path: str | Path, text: str = CJK_SAMPLE) -> bool:
    """Whether the font file has a glyph for every character of ``text``."""
    try:
        from matplotlib.ft2font import FT2Font

        font = FT2Font(str(path))
    except Exception:  # not a font FreeType can read
        return False
    return all(font.get_char_index(ord(ch)) != 0 for ch in text if not ch.isspace())


def _packaged() -> list[Path]:
    spec = importlib.util.find_spec("mplfonts")  # located, not imported (importing it changes rcParams)
    if spec is None or not spec.submodule_search_locations:
        return []
    folder = Path(list(spec.submodule_search_locations)[0]) / "fonts"
    return [folder / name for name in _PACKAGED if (folder / name).is_file()]


def _system() -> list[Path]:
    found: dict[str, list[Path]] = {}
    wanted = {f.lower() for f in _SYSTEM_FAMILIES}
    for root in _SYSTEM_DIRS:
        base = Path(root)
        if not base.is_dir():
            continue
        for p in base.rglob("*"):
            if p.suffix.lower() not in (".ttf", ".otf", ".ttc"):
                continue
            try:
                from matplotlib.ft2font import FT2Font

                fam = FT2Font(str(p)).family_name.lower()
            except Exception:
                continue
            if fam in wanted:
                found.setdefault(fam, []).append(p)
    out = []
    for fam in _SYSTEM_FAMILIES:
        out.extend(sorted(found.get(fam.lower(), []), key=lambda x: ("regular" not in x.name.lower(), x.name)))
    return out


@lru_cache(maxsize=1)
def cjk_font_path() -> Path | None:
    """The file of a font that draws simplified Chinese, or None when the machine has none.

    Order: the font the project installs (``mplfonts``' Noto Sans CJK SC), then system fonts.
    """
    for p in [*_packaged(), *_system()]:
        if has_glyphs(p):
            return p
    return None


def use_cjk_font() -> Any:
    """Register the CJK font with matplotlib and return its ``FontProperties`` (None if there is none).

    Text drawn with ``fontproperties=`` the returned object, or with the default sans-serif family
    (this puts the CJK font first in ``font.sans-serif``), renders Chinese as characters, not boxes.
    """
    path = cjk_font_path()
    if path is None:
        return None
    import matplotlib as mpl
    from matplotlib import font_manager

    font_manager.fontManager.addfont(str(path))
    props = font_manager.FontProperties(fname=str(path))
    family = props.get_name()
    current = [f for f in mpl.rcParams["font.sans-serif"] if f != family]
    mpl.rcParams["font.sans-serif"] = [family, *current]
    mpl.rcParams["axes.unicode_minus"] = False
    return props


def cjk_font_face(text: str, family: str = WEB_FAMILY) -> str | None:
    """A CSS ``@font-face`` rule embedding the CJK font, cut down to the characters of ``text``.

    HTML reports put it in their ``<style>`` so Chinese renders on any machine, with no font installed and
    no network (a subset of a few hundred characters is some tens of kilobytes, as WOFF in a data URI).
    None when there is no CJK font; pages then fall back to the reader's system fonts.
    """
    import base64
    import io

    path = cjk_font_path()
    if path is None:
        return None
    from fontTools import subset
    from fontTools.ttLib import TTFont

    opts = subset.Options()
    opts.flavor = "woff"
    opts.notdef_outline = True
    font = TTFont(str(path), lazy=True)
    sub = subset.Subsetter(opts)
    sub.populate(text="".join(sorted(set(text) | set("0123456789-:/()（）：，。…★ "))))
    sub.subset(font)
    buf = io.BytesIO()
    font.flavor = "woff"
    font.save(buf)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return (f'@font-face {{ font-family: "{family}"; font-style: normal; font-weight: 400; '
            f'src: url(data:font/woff;base64,{data}) format("woff"); }}')
