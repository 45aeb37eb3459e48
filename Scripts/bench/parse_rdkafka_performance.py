"""Reads rdkafka_performance's output on stdin and prints its final summary as one JSON line."""
import argparse
import json
import re
import sys

PRODUCED = re.compile(r"% (\d+) messages produced \((\d+) bytes\), (\d+) delivered \(offset (-?\d+), (\d+) failed\) "
                      r"in (\d+)ms: (\d+) msgs/s and ([\d.]+) MB/s")
CONSUMED = re.compile(r"% (\d+) messages \((\d+) bytes\) consumed in (\d+)ms: (\d+) msgs/s \(([\d.]+) MB/s\)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("direction", choices=["produce", "consume"])
    parser.add_argument("size", type=int)
    parser.add_argument("--broker-cpu-ms", type=int)
    parser.add_argument("--client-time", help="GNU time -f 'client_cpu_ms %%e %%U %%S' output file")
    args = parser.parse_args()
    direction, size = args.direction, args.size
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
    if args.broker_cpu_ms is not None:
        result["broker_cpu_ms"] = args.broker_cpu_ms
        result["broker_cpu_us_per_msg"] = round(args.broker_cpu_ms * 1000 / max(1, result["messages"]), 3)
    if args.client_time:
        _, wall, user, system = open(args.client_time).read().split()[-4:]
        result["client_cpu_ms"] = int((float(user) + float(system)) * 1000)
        result["client_wall_ms"] = int(float(wall) * 1000)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
