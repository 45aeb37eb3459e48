"""Reads rdkafka_performance's output on stdin and prints its final summary as one JSON line."""
import json
import re
import sys

PRODUCED = re.compile(r"% (\d+) messages produced \((\d+) bytes\), (\d+) delivered \(offset (-?\d+), (\d+) failed\) "
                      r"in (\d+)ms: (\d+) msgs/s and ([\d.]+) MB/s")
CONSUMED = re.compile(r"% (\d+) messages \((\d+) bytes\) consumed in (\d+)ms: (\d+) msgs/s \(([\d.]+) MB/s\)")


def main() -> None:
    direction, size = sys.argv[1], int(sys.argv[2])
    text = sys.stdin.read()
    if direction == "produce":
        found = PRODUCED.findall(text)
        if not found:
            sys.exit(f"no produce summary in rdkafka_performance output:\n{text[-2000:]}")
        msgs, _bytes, delivered, _offset, failed, ms, rate, mbs = found[-1]
        result = {"direction": "produce", "message_bytes": size, "messages": int(delivered), "failed": int(failed),
                  "elapsed_ms": int(ms), "msgs_per_s": int(rate), "mb_per_s": float(mbs)}
    else:
        found = CONSUMED.findall(text)
        if not found:
            sys.exit(f"no consume summary in rdkafka_performance output:\n{text[-2000:]}")
        msgs, _bytes, ms, rate, mbs = found[-1]
        result = {"direction": "consume", "message_bytes": size, "messages": int(msgs), "failed": 0,
                  "elapsed_ms": int(ms), "msgs_per_s": int(rate), "mb_per_s": float(mbs)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
