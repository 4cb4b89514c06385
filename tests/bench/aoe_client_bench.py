#!/usr/bin/env python3
"""The AoE initiator's sequential read over veth (run by tests/bench/bench.py; docs/aoe.md).

build/tools/aoe-client reads 96 MiB from vblade in the namespaces of tests/suites/aoe_vblade.py
(the same set-up and clean-up), with the default window of 16 requests and with a window of 1,
median of 3 each; the ratio window16/window1. A measurement, so it lives here and not in
make test. Appends JSON lines to build/bench/results.jsonl; needs root and vblade."""
import atexit
import os
import signal
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "suites"))
import aoe_vblade as av  # noqa: E402

sys.path.insert(0, HERE)
import benchlib as bl  # noqa: E402

MIB = 4 if bl.smoke() else 96
RUNS = 1 if bl.smoke() else 3




def median_read(opts, count):
    speeds = []
    for _ in range(RUNS):
        r = av.run_client(opts, "read", 0, count, discard=True)
        if r.rc != 0:
            raise RuntimeError("aoe-client read %s failed (%s)" % (" ".join(opts), r.why()))
        speeds.append(r.mbps())
    return sorted(speeds)[RUNS // 2]


def main():
    if not os.access(av.CLIENT, os.X_OK):
        print("aoe_client_bench: %s not built (make aoe-tools)" % av.CLIENT)
        return 1
    atexit.register(av.ENV.cleanup)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, av.on_signal)
    try:
        av.ENV.setup()
        av.ensure_vblade(av.big_image())
        count = (MIB << 20) // av.SECTOR
        w16 = median_read([], count)
        w1 = median_read(["-w", "1"], count)
    finally:
        av.ENV.cleanup()
    bl.record("aoe_client_read_window16", round(w16, 1), "MB/s", peer="the same read with a window of 1",
              peer_value=round(w1, 1), runs=RUNS, extra={"mib": MIB})
    print("aoe_client_bench: sequential read over veth, median of %d x %d MiB: window 16 %.0f MB/s, "
          "window 1 %.0f MB/s" % (RUNS, MIB, w16, w1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
