"""`make mutation`'s bookkeeping: which survivors are explained, and that every explanation still applies."""

import json
from pathlib import Path

from scripts import mutation

ROOT = Path(__file__).resolve().parents[1]


EQ_TO_NOT_EQ = "ReplaceComparisonOperator_Eq_NotEq"


def survivor(**overrides) -> dict:
    found = {"module": "auth.py", "operator": EQ_TO_NOT_EQ, "line": "x == y", "diff": "-x == y\n+x != y"}
    return found | overrides


def test_every_explained_equivalent_names_a_line_its_suite_still_has():
    modules = {Path(m).name: ROOT / m for suite in mutation.SUITES for m in suite.modules}
    for equivalent in json.loads(mutation.EQUIVALENTS.read_text()):
        assert equivalent["module"] in modules, equivalent
        lines = {line.strip() for line in modules[equivalent["module"]].read_text().splitlines()}
        assert equivalent["line"] in lines, f"stale explanation: {equivalent}"
        assert equivalent["why"].strip(), equivalent


def test_a_survivor_is_explained_only_by_its_module_line_and_operator():
    entry = {
        "module": "auth.py",
        "operator": "ReplaceComparisonOperator_Eq_NotEq",
        "line": "x == y",
        "why": "w",
    }
    anything = {**entry, "operator": "*"}
    assert mutation.explained(survivor(), [entry]) is entry
    assert mutation.explained(survivor(), [anything]) is anything
    assert mutation.explained(survivor(operator="NumberReplacer"), [entry]) is None
    assert mutation.explained(survivor(line="x != y"), [anything]) is None
    assert mutation.explained(survivor(module="request.py"), [anything]) is None


def test_the_report_fails_on_an_unexplained_survivor_and_prints_it(capsys):
    suite = mutation.SUITES[0]
    why = {"module": "auth.py", "operator": "*", "line": "x == y", "why": "a reason"}
    assert mutation.report(suite, 10, [survivor()], [why], 1.0)
    assert "killed 9 (90.0%); survived 1, of which 1 are equivalent" in capsys.readouterr().out
    assert not mutation.report(suite, 10, [survivor()], [], 1.0)
    assert "NOT KILLED" in capsys.readouterr().out


def test_each_suite_runs_only_its_own_tests_over_its_own_modules():
    for suite in mutation.SUITES:
        text = mutation.config(suite, ["http://127.0.0.1:1"], "python")
        assert f"module-path = {json.dumps(list(suite.modules))}" in text
        assert all(test in text for test in suite.tests)
        assert all((ROOT / path).is_file() for path in (*suite.modules, *suite.tests))
