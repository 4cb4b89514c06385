#!/usr/bin/env python3
"""The monitor clock's latency case of net_monitor (tests/suites/net_monitor.py, run_latency),
on its own so that run_tests.py can run it with nothing beside it.

With the guest idle and again busy, the host pings the monitor 100 times and no reply may be
later than 50 ms (issue 11). On the 2-core CI host a second emulator beside it stalls QEMU
itself past that limit: in one make test all three idle series had a late reply (55-122 ms)
and the monitor's own clock line counted the same stalls in guest time, which follows the
host's. Alone, the other core takes the host side (ping, the bridge, the suite). ALONE below
is what run_tests.py looks for.

Prints `PASS net-monitor-latency ...` / `FAIL net-monitor-latency: why`. Needs root.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _netlib as nl  # noqa: E402
import net_monitor  # noqa: E402

ALONE = True


def main():
    return nl.run_suite("net-monitor", __doc__.split("\n")[0], [("latency", net_monitor.run_latency)],
                        net_monitor.LOGS)


if __name__ == "__main__":
    sys.exit(main())
