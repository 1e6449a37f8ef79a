"""The README documents every setting and every command (datasette-style docs tests)."""

from pathlib import Path

from api.cli import cli
from api.settings import Settings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented_with_its_default():
    for name, f in Settings.model_fields.items():
        line = f"| `FOODTRACE_{name.upper()}` | `{f.default}` | {f.description} |"
        assert line in README, f"README lacks the settings row: {line}"


def test_library_code_reads_no_environment():
    """Settings are read at the edges (api/settings.py) and passed in: no other module reads the environment."""
    root = Path(__file__).resolve().parents[2]
    readers = []
    for package in ("ontology", "graph", "loaders", "reasoning", "generator", "api"):
        for path in (root / package).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            if ("os.environ.get(" in text or "os.getenv(" in text or "os.environ[" in text) \
                    and path.relative_to(root).as_posix() not in ("api/service_cli.py",):
                readers.append(path.relative_to(root).as_posix())
    assert readers == [], f"read the environment outside api/settings.py: {readers}"


def _command_paths(group, prefix: str = "foodtrace") -> list[str]:
    import click

    out = []
    for name, cmd in group.commands.items():
        path = f"{prefix} {name}"
        subs = _command_paths(cmd, path) if isinstance(cmd, click.Group) else []
        out.extend(subs or ([] if isinstance(cmd, click.Group) else [path]))
    return out


def test_every_command_is_documented():
    paths = _command_paths(cli)
    assert "foodtrace trace" in paths
    for path in paths:
        assert f"`{path}" in README, f"README does not document `{path}`"


def test_readme_starts_with_the_two_commands():
    head = README[:3000]
    assert "make demo" in head and "make test" in head


def test_readme_column_reference_is_current():
    from loaders.templates import columns_markdown

    begin, end = "<!-- columns:begin -->\n", "\n<!-- columns:end -->"
    documented = README[README.index(begin) + len(begin):README.index(end)]
    assert documented == columns_markdown().rstrip(), "regenerate the README column reference from columns_markdown()"
