"""README.md stays true: its two commands are what CI runs, every verb and data kind is documented."""

from __future__ import annotations

import os
import re

import zoo
from zoo.cli import _parser

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()


def test_readme_opens_with_the_two_commands_ci_runs():
    block = re.search(r"```bash\n(.*?)```", README, re.S).group(1).strip().splitlines()
    assert len(block) == 2
    ci = open(os.path.join(ROOT, ".ci", "run"), encoding="utf-8").read().splitlines()
    for command in block:
        assert command in ci


def test_every_cli_verb_is_documented():
    verbs = _parser()._subparsers._group_actions[0].choices
    for verb in verbs:
        assert f"`zoo {verb}" in README, verb


def test_every_data_kind_and_entry_is_documented():
    for name in zoo.list_models():
        spec = zoo.get(name)
        assert f"`{name}`" in README
        for kind in spec.task.data_kinds:
            assert f"`{kind}:" in README, kind


def test_results_table_is_filled_in():
    assert "RESULTS_TABLE" not in README and "TEST_MINUTES" not in README
