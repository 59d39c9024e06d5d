#!/usr/bin/env python3
# tests/fuzz/make_seeds.py: writes the seed corpora under tests/fuzz/corpus/ from the
# project's own inputs (tests/scenarios/*.jsonl, docs/sample-events.jsonl,
# config/paydist.example.toml) plus hand-written hostile inputs. Each seed is named by the
# SHA-1 of its bytes, as libFuzzer names what it finds. Run from anywhere; re-running it
# rewrites the same files (fuzzer-found inputs may be added to the corpus by hand later).
import hashlib
import pathlib

here = pathlib.Path(__file__).resolve().parent
root = here.parent.parent


def write(target, data):
    if isinstance(data, str):
        data = data.encode()
    folder = here / "corpus" / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)


streams = sorted((root / "tests" / "scenarios").glob("*.jsonl")) + [root / "docs" / "sample-events.jsonl"]

# ---- message: one line each ----
lines = set()
for stream in streams:
    for line in stream.read_bytes().split(b"\n"):
        if line.strip():
            lines.add(line)
for line in sorted(lines):
    write("message", line)

ok_payment = ('{"type":"payment","event_id":"E1","account_id":"A1","payment_id":"P1","amount":"10.00",'
              '"received_date":"2026-03-01","method":"eft"}')
hostile_messages = [
    "",
    " \t\r",
    "\xef\xbb\xbf" + ok_payment,                                  # byte-order mark
    ok_payment[:-1],                                              # unclosed object
    ok_payment + "x",                                             # content after the value
    ok_payment + " " + ok_payment,                                # two objects
    '{"a":' * 70 + "1" + "}" * 70,                                # 70 levels of objects
    "[" * 65 + "]" * 65,                                          # 65 levels of arrays
    '{"type":"payment","type":"payment"}',                        # duplicate key
    '{"type":"payment","t\\u0079pe":"payment"}',                  # duplicate after unescaping
    '{"event_id":"E1","x":NaN}',
    '{"event_id":"E1","x":-Infinity}',
    '{"event_id":"E1","x":1e400}',
    '{"event_id":"E1","x":18446744073709551616}',
    '{"event_id":"E1","x":-9223372036854775809}',
    '{"event_id":"E1","x":"\\ud800"}',                            # lone surrogate
    '{"event_id":"E1","x":"\\udc00\\ud800"}',
    '{"event_id":"E1","x":"\x01"}',                               # unescaped control character
    '{"event_id":"' + "E" * 65 + '"}',                            # id too long
    '{"event_id":"E 1"}',
    "[1,2,3]",
    '"just a string"',
    "null",
    ok_payment.replace('"10.00"', '"-0.00"'),
    ok_payment.replace('"10.00"', '"0010.00"'),
    ok_payment.replace('"10.00"', '"9999999999999.99"'),
    ok_payment.replace('"10.00"', '"99999999999999.99"'),
    ok_payment.replace('"10.00"', '"1e3"'),
    ok_payment.replace('"10.00"', "10.00"),
    ok_payment.replace('"2026-03-01"', '"0000-12-31"'),
    ok_payment.replace('"2026-03-01"', '"9999-12-31"'),
    ok_payment.replace('"2026-03-01"', '"2026-02-29"'),
    ok_payment.replace('"2026-03-01"', '"2024-02-29"'),
    ok_payment.replace('}', ',"currency":"AUD","obligation_id":null,"arrangement_id":"R1"}'),
    ok_payment.replace('}', ',"currency":"aud"}'),
    '{"type":"arrangement_created","event_id":"E2","account_id":"A1","arrangement_id":"R1","kind":"cash",'
    '"covered_obligations":["O1","O1"],"schedule":[{"due_date":"2026-03-01","amount":"1.00"}]}',
    '{"type":"arrangement_created","event_id":"E2","account_id":"A1","arrangement_id":"R1","kind":"discount",'
    '"covered_obligations":["O1"],"settlement_amount":"5.00","recommend":{"rule":"equal_instalments",'
    '"count":1000,"frequency":"weekly","first_due_date":"9999-12-01"}}',
    '{"type":"arrangement_created","event_id":"E2","account_id":"A1","arrangement_id":"R1","kind":"cash",'
    '"covered_obligations":["O1"],"recommend":{"rule":"fixed_amount","amount":"0.01","frequency":"monthly",'
    '"first_due_date":"2026-01-31","count":1.5}}',
    '{"type":"arrangement_created","event_id":"E2","account_id":"A1","arrangement_id":"R1","kind":"cash",'
    '"covered_obligations":["O1"],"schedule":[' +
    ",".join('{"due_date":"2026-%02d-01","amount":"1.00"}' % m for m in range(1, 13)) + "]}",
    '{"type":"business_date","event_id":"B1","date":"2026-01-01","account_id":"not an id!"}',
    "\xff\xfe\xfd",
    '{"event_id":"E1","x":"\xc3\x28"}',                           # invalid UTF-8 in a string
]
for text in hostile_messages:
    write("message", text)

# ---- engine: whole streams, and a few made of pieces ----
for stream in streams:
    data = stream.read_bytes()
    if len(data) <= 16384:
        write("engine", data)
    else:  # the sample stream is longer than -max_len: in pieces of whole lines
        piece = b""
        for line in data.split(b"\n"):
            if len(piece) + len(line) + 1 > 8000:
                write("engine", piece)
                piece = b""
            piece += line + b"\n"
        if piece.strip():
            write("engine", piece)
write("engine", "\n".join(hostile_messages))
write("engine", '{"type":"business_date","event_id":"B1","date":"9999-12-31"}\n'
      '{"type":"obligation_assessed","event_id":"E1","account_id":"A","obligation_id":"O1",'
      '"due_date":"9999-12-31","amounts":{"tax":"9999999999999.99","penalty":"9999999999999.99",'
      '"interest":"9999999999999.99"}}\n'
      '{"type":"obligation_adjusted","event_id":"E2","account_id":"A","obligation_id":"O1",'
      '"amounts":{"tax":"9999999999999.99"}}\n'
      '{"type":"payment","event_id":"E3","account_id":"A","payment_id":"P1","amount":"9999999999999.99",'
      '"received_date":"9999-12-31","method":"cash"}\n'
      '{"type":"payment_returned","event_id":"E4","account_id":"A","payment_id":"P1",'
      '"return_date":"9999-12-31","reason_code":"R01"}\n')

# ---- config: the example file, small files, hostile ones ----
example = (root / "config" / "paydist.example.toml").read_text()
write("config", example)
configs = [
    "",
    "[rules]\n",
    "[rules]\ncurrency = \"NZD\"\ncash_grace_days = 21\nno_arrangement_threshold = \"0.00\"\n",
    "[rules]\nmax_instalments = 100001\n",
    "[rules]\nmax_message_bytes = 9223372036854775807\n",
    "[rules]\nno_arrangement_threshold = 1500.00\n",
    "[rules]\ncash_grace_day = 21\n",
    "currency = \"AUD\"\n[rules]\n",
    "[kafka]\nbrokers = \"h1:9092,h2:9092\"\n[kafka.topics]\nextra_inputs = [\"a\", \"b\", \"a\"]\n",
    "[kafka.topics]\nevents = \"x\"\nrejects = \"x\"\n",
    "[kafka.client]\n\"security.protocol\" = \"SASL_SSL\"\n\"linger.ms\" = 5\n\"enable.idempotence\" = true\n",
    "[kafka.client]\nx = 1.5\n",
    "[business_date]\nsource = \"clock\"\ntime_zone = \"Australia/Sydney\"\n",
    "[business_date]\ntime_zone = \"../../etc/passwd\"\n",
    "[history]\nentries_per_account = 0\n",
    "[http]\nlisten = \"127.0.0.1:0\"\n",
    "[state]\ndir = \"\"\n",
    "rules = 5\n",
    "[rules\n",
    "[rules]\ncurrency = \"\xff\"\n",
    "a = " + "[" * 300 + "]" * 300 + "\n",
    "a = " + "{ b = " * 300 + "1" + " }" * 300 + "\n",
    "[" + ".".join(["t"] * 200) + "]\n",
    "[rules]\ncurrency = \"\"\"AU\nD\"\"\"\n",
    "[rules]\ndate = 1979-05-27T07:32:00-08:00\n",
    "[rules]\nx = inf\ny = nan\nz = 0x7fffffffffffffff\n",
    "\x00",
    "[rules]\n\"\\u0000\" = 1\n",
]
for text in configs:
    write("config", text)
