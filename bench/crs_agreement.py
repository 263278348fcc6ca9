#!/usr/bin/env python3
"""How often Wafer's findings name the CRS rule a CRS regression test expects.

For each case of `crs-attacks.jsonl` (CRS v4's own regression tests that
expect a rule to fire), whether Wafer found anything, and whether one of its
findings is mapped (`crs` in `wafer rules list --json`) to one of the ids the
test expects. By the test's paranoia level and by CRS rule family.

    wafer eval ../shared/corpora/crs-attacks.jsonl --cases /tmp/cases.jsonl --misses 0
    wafer rules list --json > /tmp/rules.json
    bench/crs_agreement.py /tmp/rules.json /tmp/cases.jsonl ../shared/corpora/crs-attacks.jsonl
"""
import collections
import json
import sys


def main(rules_path, cases_path, corpus_path):
    crs = {r["id"]: set(r["crs"]) for r in json.load(open(rules_path))}
    corpus = {}
    for line in open(corpus_path):
        c = json.loads(line)
        corpus[c["id"]] = c
    by_pl = collections.defaultdict(lambda: [0, 0, 0])
    by_family = collections.defaultdict(lambda: [0, 0, 0])
    for line in open(cases_path):
        case = json.loads(line)
        test = corpus.get(case["id"])
        if not test or not test.get("expect_ids"):
            continue
        expected = set(test["expect_ids"])
        named = set()
        for f in case.get("findings", []):
            named |= crs.get(f["rule"], set())
        row = (1, bool(case.get("findings")), bool(named & expected))
        for table, key in ((by_pl, str(test.get("pl"))), (by_family, str(test.get("crs_rule_id", ""))[:3])):
            for i, v in enumerate(row):
                table[key][i] += v
    total = [sum(v[i] for v in by_pl.values()) for i in range(3)]
    print(f"{total[0]} cases, {total[1]} with a finding, {total[2]} with a finding mapped to an expected id")
    print("| paranoia level | cases | found | mapped to an expected id |")
    print("| --- | ---: | ---: | ---: |")
    for k in sorted(by_pl):
        print(f"| {k} | {by_pl[k][0]} | {by_pl[k][1]} | {by_pl[k][2]} |")
    print("| CRS family | cases | found | mapped to an expected id |")
    print("| --- | ---: | ---: | ---: |")
    for k in sorted(by_family):
        print(f"| {k} | {by_family[k][0]} | {by_family[k][1]} | {by_family[k][2]} |")


if __name__ == "__main__":
    main(*sys.argv[1:4])
