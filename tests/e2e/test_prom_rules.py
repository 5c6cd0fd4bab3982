# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""The Prometheus rules an SRE loads as they are
(scripts/prometheus/latscope.rules.yml): promtool accepts them without lint
findings, their unit tests pass, every alert is tested both firing and
quiet and every recording rule against a known value, and the checks
themselves catch a broken file."""
import json
import os
import re
import shutil
import subprocess
import tempfile

import lib

PROMDIR = os.path.join(lib.ROOT, "scripts", "prometheus")
RULES = os.path.join(PROMDIR, "latscope.rules.yml")
RULES_TEST = os.path.join(PROMDIR, "latscope.rules.test.yml")
PROMTOOL_TIMEOUT_S = 60
# Debian's interpreter: PyYAML is its python3-yaml, which scripts/deps.sh
# brings in (llvm -> llvm-14-tools -> python3-yaml). The python3 running
# the tests may be another one (a virtualenv) without it.
SYSTEM_PYTHON = "/usr/bin/python3"


def _promtool(*args, cwd=None):
    exe = shutil.which("promtool")
    assert exe, "promtool not found (Debian package prometheus; run scripts/deps.sh)"
    return subprocess.run([exe] + list(args), capture_output=True, text=True, cwd=cwd,
                          timeout=PROMTOOL_TIMEOUT_S)


def _describe(p):
    return "exit %d\nstdout:\n%s\nstderr:\n%s" % (p.returncode, p.stdout, p.stderr)


def _load_yaml(path):
    p = subprocess.run([SYSTEM_PYTHON, "-c",
                        "import json, sys, yaml\n"
                        "json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)", path],
                       capture_output=True, text=True)
    assert p.returncode == 0, "cannot parse %s with %s and PyYAML (python3-yaml): %s" % (
        path, SYSTEM_PYTHON, p.stderr.strip())
    return json.loads(p.stdout)


def _seconds(duration):
    """A Prometheus duration ("90s", "10m", "1h30m") in seconds."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
    parts = re.findall(r"(\d+)(ms|s|m|h|d|w|y)", str(duration))
    assert parts and "".join(n + u for n, u in parts) == str(duration), \
        "not a Prometheus duration: %r" % (duration,)
    return sum(int(n) * units[u] for n, u in parts)


def _rules(doc):
    return [r for g in doc["groups"] for r in g["rules"]]


def _coverage_problems(rules_doc, tests_doc):
    """What the unit tests leave unproven: an alert never expected to fire,
    or never expected quiet once its `for:` has run out (so not merely
    pending); a test naming an alert that does not exist (it would pass
    vacuously); a recording rule never checked against a value."""
    alerts = {r["alert"]: _seconds(r.get("for", "0s")) for r in _rules(rules_doc) if "alert" in r}
    records = {r["record"] for r in _rules(rules_doc) if "record" in r}
    fires, quiet, checked = set(), set(), set()
    problems = []
    for group in tests_doc["tests"]:
        for case in group.get("alert_rule_test") or []:
            name = case["alertname"]
            if name not in alerts:
                problems.append("test group %r checks alert %s, which the rules do not have"
                                % (group.get("name"), name))
                continue
            if case.get("exp_alerts"):
                fires.add(name)
            elif _seconds(case["eval_time"]) > alerts[name]:
                quiet.add(name)
        for case in group.get("promql_expr_test") or []:
            if case.get("exp_samples") and case["expr"].strip() in records:
                checked.add(case["expr"].strip())
    for name in sorted(alerts):
        if name not in fires:
            problems.append("alert %s is never expected to fire (no non-empty exp_alerts)" % name)
        if name not in quiet:
            problems.append("alert %s is never expected quiet (no exp_alerts: [] after its "
                            "for: of %ds)" % (name, alerts[name]))
    for name in sorted(records - checked):
        problems.append("recording rule %s is never compared with exp_samples" % name)
    return problems


def test_promtool_check_rules_passes_without_lint_findings_or_warnings():
    p = _promtool("check", "rules", "--lint=all", "--lint-fatal", RULES)
    # everything but the "Checking PATH" line (the path could say anything)
    out = re.sub(r"(?m)^Checking .*$", "", p.stdout + p.stderr)
    assert p.returncode == 0, "promtool check rules: %s" % _describe(p)
    assert not re.search(r"warn|lint|FAILED", out, re.I), "promtool check rules: %s" % _describe(p)
    m = re.search(r"SUCCESS: (\d+) rules found", out)
    want = len(_rules(_load_yaml(RULES)))
    assert m and int(m.group(1)) == want, "promtool found %s rules, the file has %d: %s" % (
        m and m.group(1), want, _describe(p))
    return "%d rules" % want


def test_promtool_unit_tests_of_the_rules_pass():
    p = _promtool("test", "rules", os.path.basename(RULES_TEST), cwd=PROMDIR)
    assert p.returncode == 0 and "SUCCESS" in p.stdout, "promtool test rules: %s" % _describe(p)
    doc = _load_yaml(RULES_TEST)
    alerts = sum(len(g.get("alert_rule_test") or []) for g in doc["tests"])
    exprs = sum(len(g.get("promql_expr_test") or []) for g in doc["tests"])
    return "%d test groups: %d alert checks, %d expression checks" % (
        len(doc["tests"]), alerts, exprs)


def test_every_alert_is_tested_firing_and_quiet_and_every_recording_rule_by_value():
    rules_doc, tests_doc = _load_yaml(RULES), _load_yaml(RULES_TEST)
    problems = _coverage_problems(rules_doc, tests_doc)
    assert not problems, "%s leaves unproven:\n  %s" % (
        os.path.basename(RULES_TEST), "\n  ".join(problems))
    rules = _rules(rules_doc)
    for r in rules:
        if "alert" in r:
            what = "alert %s" % r["alert"]
            assert r.get("for"), "%s has no for:" % what
            assert r.get("labels", {}).get("severity") in ("critical", "warning", "info"), \
                "%s: severity label missing or not critical/warning/info" % what
            notes = r.get("annotations", {})
            for key in ("summary", "description"):
                assert notes.get(key, "").strip(), "%s: annotation %s missing" % (what, key)
            # an absent() alert has no labels to name
            assert "{{" in notes["summary"] + notes["description"] or \
                r["expr"].strip().startswith("absent("), \
                "%s: annotations do not name what fired ($labels/$value)" % what
    return "%d alerts, %d recording rules" % (sum("alert" in r for r in rules),
                                              sum("record" in r for r in rules))


def test_the_checks_catch_a_broken_rule_an_untested_alert_and_a_wrong_expectation():
    with open(RULES) as f:
        rules_text = f.read()
    with open(RULES_TEST) as f:
        test_text = f.read()
    with tempfile.TemporaryDirectory() as d:
        # a syntax error in an expression
        broken = rules_text.replace("histogram_quantile(0.99,", "histogram_quantile(0.99,,", 1)
        assert broken != rules_text, "no histogram_quantile(0.99, in the rules to break"
        path = os.path.join(d, "latscope.rules.yml")
        with open(path, "w") as f:
            f.write(broken)
        p = _promtool("check", "rules", "--lint=all", "--lint-fatal", path)
        assert p.returncode != 0 and "parse error" in p.stderr, \
            "promtool check rules accepted an expression with a syntax error: %s" % _describe(p)

        # an unterminated template action in an annotation
        broken = rules_text.replace("{{ $labels.comm }}", "{{ $labels.comm", 1)
        with open(path, "w") as f:
            f.write(broken)
        p = _promtool("check", "rules", path)
        assert p.returncode != 0 and "template" in p.stderr, \
            "promtool check rules accepted a broken annotation template: %s" % _describe(p)

        # one expected value off: promtool test rules must fail
        with open(path, "w") as f:
            f.write(rules_text)
        wrong = test_text.replace("value: 0.024", "value: 0.025", 1)
        assert wrong != test_text, "no 'value: 0.024' in the unit tests to change"
        with open(os.path.join(d, "latscope.rules.test.yml"), "w") as f:
            f.write(wrong)
        p = _promtool("test", "rules", "latscope.rules.test.yml", cwd=d)
        assert p.returncode != 0 and "FAILED" in p.stdout + p.stderr, \
            "promtool test rules passed with a wrong expected value: %s" % _describe(p)

    # an alert added without tests, and a test of an alert that does not exist
    rules_doc, tests_doc = _load_yaml(RULES), _load_yaml(RULES_TEST)
    rules_doc["groups"][-1]["rules"].append(
        {"alert": "LatscopeUntested", "expr": "vector(1)", "for": "1m"})
    tests_doc["tests"][0].setdefault("alert_rule_test", []).append(
        {"alertname": "LatscopeTypo", "eval_time": "1h", "exp_alerts": []})
    problems = "\n".join(_coverage_problems(rules_doc, tests_doc))
    for want in ("alert LatscopeUntested is never expected to fire",
                 "alert LatscopeUntested is never expected quiet",
                 "checks alert LatscopeTypo, which the rules do not have"):
        assert want in problems, "the coverage check misses %r; it said:\n%s" % (want, problems)
