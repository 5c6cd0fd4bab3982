# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""json_escape() against Python's UTF-8 decoder, byte for byte.

build/tests/json_escape writes json_escape() of its stdin. For every input
the output must be valid UTF-8, parse with json.loads, and equal the input
decoded the way user/json.h documents: well-formed UTF-8 passes through and
each byte that does not start a well-formed sequence becomes one U+FFFD,
decoding resuming at the next byte. Python's decoder already knows what is
well-formed (overlongs, surrogates, > U+10FFFF, truncation); the custom
error handler below only changes where it resumes.

Needs no root; run by tests/run.py.
"""
import codecs
import json
import os
import random
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(ROOT, "build", "tests", "json_escape")


def _one_fffd_per_byte(exc):
    # Python replaces a maximal invalid subpart with one U+FFFD; json_escape
    # replaces each byte, so resume one byte after the start of the error.
    return ("\ufffd", exc.start + 1)


codecs.register_error("latscope_fffd_per_byte", _one_fffd_per_byte)


def expected(data):
    return data.decode("utf-8", errors="latscope_fffd_per_byte")


def escape(data):
    if not os.access(TOOL, os.X_OK):
        raise AssertionError("%s missing: run make build/tests/json_escape" % TOOL)
    p = subprocess.run([TOOL], input=data, capture_output=True, timeout=30)
    if p.returncode != 0 or p.stderr:
        raise AssertionError("json_escape exited %d on %r: %r" % (p.returncode, data[:64], p.stderr))
    return p.stdout


def check(data):
    out = escape(data)
    try:
        text = out.decode("utf-8")  # strict: the output itself must be UTF-8
    except UnicodeDecodeError as e:
        raise AssertionError("output for %r is not UTF-8: %s" % (data[:64], e)) from None
    try:
        got = json.loads(text)  # strict=True by default: no raw control chars
    except ValueError as e:
        raise AssertionError("output for %r is not JSON: %s: %r" % (data[:64], e, out[:200])) from None
    if not isinstance(got, str):
        raise AssertionError("output for %r is a %s, not a string" % (data[:64], type(got).__name__))
    want = expected(data)
    if got != want:
        i = next((k for k in range(min(len(got), len(want))) if got[k] != want[k]),
                 min(len(got), len(want)))
        raise AssertionError("input %r: decoded output differs at char %d: got %r, want %r"
                             % (data[:64], i, got[i:i + 8], want[i:i + 8]))


def check_each(inputs):
    for data in inputs:
        check(data)


def test_every_single_byte():
    check_each(bytes([b]) for b in range(256))


def test_every_byte_pair_in_one_input():
    # 65536 pairs each followed by "\n", which ends any sequence, so every
    # pair is judged on its own without spawning 65536 processes
    check(b"".join(bytes([a, b]) + b"\n" for a in range(256) for b in range(256)))


def test_every_lead_with_continuation_edges():
    # second and third bytes at and around each lead's allowed range edges
    edges = [0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc2, 0xf4, 0xff]
    parts = []
    for lead in range(0xc0, 0x100):
        for b2 in edges:
            for b3 in edges:
                for b4 in (0x80, 0xbf, 0x41):
                    parts.append(bytes([lead, b2, b3, b4]) + b"\n")
                    parts.append(bytes([lead, b2, b3]))  # truncated at end of input
    check(b"".join(parts))
    # truncation at the very end is its own case: check a few alone
    check_each(bytes([lead, 0x80]) for lead in (0xe0, 0xe1, 0xed, 0xf0, 0xf4))
    check_each(bytes([lead, 0x90, 0x80]) for lead in (0xf0, 0xf3))


TRICKY = [
    b"",
    b"plain ascii",
    b'"quoted" and \\backslash\\',
    bytes(range(0x20)) + b"\x7f",          # every control char and DEL
    b"\x00",
    b"tab\there\nnewline\r\x08\x0c",
    b"/ slash",
    # valid 2, 3 and 4 byte characters, and the edges of each range
    "é€😀".encode(),
    b"\xc2\x80", b"\xdf\xbf",                 # U+0080, U+07FF
    b"\xe0\xa0\x80", b"\xef\xbf\xbf",         # U+0800, U+FFFF
    b"\xed\x9f\xbf", b"\xee\x80\x80",         # around the surrogates
    b"\xf0\x90\x80\x80", b"\xf4\x8f\xbf\xbf",  # U+10000, U+10FFFF
    "\u2028\u2029\ufeff\ufffd".encode(),
    # overlongs
    b"\xc0\x80", b"\xc0\xaf", b"\xc1\xbf",
    b"\xe0\x80\x80", b"\xe0\x80\xaf", b"\xe0\x9f\xbf",
    b"\xf0\x80\x80\x80", b"\xf0\x8f\xbf\xbf",
    # UTF-16 surrogates encoded directly, alone and as a pair
    b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xed\xa0\xbd\xed\xb8\x80",
    # above U+10FFFF and never-valid bytes
    b"\xf4\x90\x80\x80", b"\xf5\x80\x80\x80", b"\xf7\xbf\xbf\xbf",
    b"\xf8\x88\x80\x80\x80", b"\xfc\x84\x80\x80\x80\x80", b"\xfe", b"\xff", b"\xfe\xff",
    # truncated sequences, at the end and in the middle
    b"abc\xc3", b"abc\xe2\x82", b"abc\xf0\x9f\x98",
    b"\xe2\x82abc", b"\xf0\x9f\x98abc", b"\xf0\x9f\xc3\xa9",
    b"\xe2\x82\xe2\x82\xac",
    # lone continuation bytes
    b"\x80", b"\xbf", b"\x80\x80\x80\x80", b"a\x80b",
    # mixtures
    b'{"k": "\xff"}\n', b"\\u0000", b"\\\xff\"", "日本語\x00テキスト".encode(),
]


def test_tricky_cases():
    check_each(TRICKY)


def test_random_bytes_of_many_lengths():
    rng = random.Random(20240601)
    lengths = list(range(0, 64)) + [100, 255, 256, 257, 1000, 4095, 4096, 4097, 65536, 1 << 20]
    for n in lengths:
        check(bytes(rng.getrandbits(8) for _ in range(n)) if n < 4096 else rng.randbytes(n))


def test_random_mostly_valid_utf8_with_damage():
    # random valid text keeps long runs of multi-byte characters, which
    # random bytes rarely produce; then flip, cut or insert bytes in it
    rng = random.Random(7)
    for _ in range(200):
        chars = []
        for _ in range(rng.randrange(1, 200)):
            plane = rng.choice((0x7f, 0x7ff, 0xffff, 0x10ffff))
            cp = rng.randrange(0, plane + 1)
            if 0xd800 <= cp <= 0xdfff:
                cp = 0xfffd
            chars.append(chr(cp))
        data = bytearray("".join(chars).encode())
        for _ in range(rng.randrange(0, 5)):
            i = rng.randrange(0, len(data) + 1)
            op = rng.randrange(3)
            if op == 0 and i < len(data):
                data[i] = rng.randrange(256)
            elif op == 1:
                del data[i:i + rng.randrange(1, 3)]
            else:
                data[i:i] = bytes([rng.randrange(0x80, 0x100)])
        check(bytes(data))


def test_expected_rule_is_one_fffd_per_bad_byte():
    # guard the oracle itself: if the handler ever did what Python does by
    # default (one U+FFFD per maximal subpart) the tests above would agree
    # with a different rule than json.h documents
    assert expected(b"\xe2\x82") == "\ufffd\ufffd", expected(b"\xe2\x82")
    assert expected(b"\xed\xa0\x80") == "\ufffd" * 3
    assert expected(b"\xf0\x9f\x98\x80") == "\U0001f600"
    assert expected(b"\xf0\x9f\x98A") == "\ufffd\ufffd\ufffdA"
