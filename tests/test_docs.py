"""The README and the documentation site stay true: the two commands are what CI runs, the README is short,
the command-line page lists every verb with its options, the data page every data kind, every generated
table (registry, hyperparameters, results) matches the registry and the result files, and the site builds
with ``mkdocs build --strict`` (no broken link, no missing reference)."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys

import pytest

import zoo
from zoo.cli import _parser

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()


def _page(path: str) -> str:
    with open(os.path.join(ROOT, "docs", path), encoding="utf-8") as f:
        return f.read()


def _table(text: str, first_header: str) -> list[list[str]]:
    """The rows (cells stripped) of every Markdown table in ``text`` whose first header cell is ``first_header``."""
    lines, rows, found = text.splitlines(), [], False
    for i, line in enumerate(lines):
        cells = _cells(line)
        if cells and cells[0] == first_header and i + 1 < len(lines) and lines[i + 1].startswith("|---"):
            found = True
            for row in lines[i + 2:]:
                if not row.startswith("|"):
                    break
                rows.append(_cells(row))
    assert found, f"no table with first column {first_header!r}"
    return rows


def _cells(line: str) -> list[str]:
    if not line.startswith("|"):
        return []
    return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]


def test_readme_opens_with_the_two_commands_ci_runs():
    block = re.search(r"```bash\n(.*?)```", README, re.S).group(1).strip().splitlines()
    ci = open(os.path.join(ROOT, ".ci", "run"), encoding="utf-8").read().splitlines()
    ci_commands = [line for line in ci if line.startswith("python3 -m venv")]
    assert block == ci_commands  # the same two lines, in the same order
    assert len(block) == 2 and ".venv/bin/zoo demo" in block[0] and ".venv/bin/python -m pytest" in block[1]
    assert f"```bash\n{chr(10).join(block)}\n```" in _page("getting-started.md")


def test_readme_is_short_and_links_into_the_docs():
    assert len(README.splitlines()) <= 220
    for link in re.findall(r"\]\((docs/[^)#]+)", README):
        assert os.path.exists(os.path.join(ROOT, link)), link


def test_command_page_lists_every_verb_with_its_options():
    subparsers = _parser()._subparsers._group_actions[0].choices
    rows = _table(_page("cli.md"), "verb")
    documented = {}
    for row in rows:
        usage = row[0].strip("`").replace("\\|", "|")
        assert usage.startswith("zoo "), row
        documented[usage.split()[1]] = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", usage))
    assert sorted(documented) == sorted(subparsers)  # every verb in `zoo --help`, and no other
    for verb, parser in subparsers.items():
        options = {o for a in parser._actions for o in a.option_strings if o.startswith("--") and o != "--help"}
        assert documented[verb] == options, verb


def test_registry_tables_list_every_entry_with_its_kind():
    for text in (README, _page("generated/registry.md")):
        rows = _table(text, "entry")
        table = {re.match(r"\[?`([^`]+)`", row[0]).group(1): row[1] for row in rows}
        assert sorted(table) == zoo.list_models()
        for name, kind in table.items():
            assert kind == zoo.get(name).kind, name


def test_every_data_kind_is_documented():
    rows = _table(_page("data.md"), "spec")
    documented = {kind for row in rows for kind in re.findall(r"`(\w+):", row[0])}
    kinds = {kind for name in zoo.list_models() for kind in zoo.get(name).task.data_kinds}
    assert kinds <= documented, kinds - documented


def test_every_hyperparameter_of_every_entry_is_on_its_task_page():
    for name in zoo.list_models():
        page = _page(f"generated/entries-{zoo.get(name).task_name}.md")
        section = page.split(f"### {name}\n", 1)[1].split("\n### ", 1)[0]
        assert {row[0].strip("`") for row in _table(section, "hyperparameter")} == set(zoo.get(name).space()), name


def test_generated_pages_and_readme_blocks_match_the_registry_and_the_result_files():
    done = subprocess.run([sys.executable, os.path.join(ROOT, "experiments", "render_docs.py"), "--check"],
                          capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_render_check_fails_on_a_page_that_drifted(tmp_path, monkeypatch):
    """The check above is not vacuous: a changed number in a generated page is reported by name."""
    spec = importlib.util.spec_from_file_location("render_docs", os.path.join(ROOT, "experiments", "render_docs.py"))
    render = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(render)
    copy = tmp_path / "repo"
    (copy / "docs" / "generated").mkdir(parents=True)
    files = render.outputs()
    for path, text in files.items():
        drifted = text + "| `sentiment/lstm` | 0.999 |\n" if path.endswith("results-sentiment.md") else text
        (copy / path).write_text(drifted)
    (copy / "README.md").write_text(README)
    shutil.copytree(os.path.join(ROOT, "docs", "generated", "img"), copy / "docs" / "generated" / "img")
    monkeypatch.setattr(render, "ROOT", str(copy))
    monkeypatch.setattr(render, "README", str(copy / "README.md"))
    monkeypatch.setattr(render, "GENERATED", str(copy / "docs" / "generated"))
    assert render.main(["--check"]) == 1
    (copy / "docs" / "generated" / "results-sentiment.md").write_text(files["docs/generated/results-sentiment.md"])
    assert render.main(["--check"]) == 0  # the same copy, mended: nothing else differs


@pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None, reason='the docs extra: pip install -e ".[docs]"')
def test_the_site_builds_strictly(tmp_path):
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                          capture_output=True, text=True, cwd=ROOT, timeout=600,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    sentiment = (tmp_path / "site" / "tasks" / "sentiment" / "index.html").read_text(encoding="utf-8")
    assert "SST-2" in sentiment and "sentiment/bilstm" in sentiment  # the included generated tables
    assert "TrainedModel" in (tmp_path / "site" / "reference" / "index.html").read_text(encoding="utf-8")
    assert (tmp_path / "site" / "generated" / "img" / "captioning_shapes.png").exists()
