"""build/bench/report.html: one self-contained page (inline SVG, no script, no network) with
every measurement against its goal and the plots docs/bench.md describes."""
import html
import json
import os

W = 760  # drawing width in px
COLORS = ["#3b6ea5", "#e08a2c", "#5a9e4b", "#b8433e", "#7b5ea7", "#8c6d31", "#c75d9c", "#5f8f99"]


def load_history(path):
    if not os.path.exists(path):
        return []
    out = []
    with open(path) as f:
        for line in f:
            try:
                out.append(json.loads(line))
            except ValueError:
                continue  # a torn line from an interrupted run: skipped, the rest still plots
    return out


def esc(s):
    return html.escape(str(s), quote=True)


def svg(height, body):
    return '<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11">%s</svg>' % (
        W, height, "".join(body))


def text(x, y, s, anchor="start", extra=""):
    return '<text x="%.1f" y="%.1f" text-anchor="%s" %s>%s</text>' % (x, y, anchor, extra, esc(s))


def hbars(items, unit, marks=None, label_w=300):
    """items: (label, value, color); marks: {label: goal value} drawn as a black tick."""
    if not items:
        return "<p><i>no data in this run</i></p>"
    marks = marks or {}
    top = max([v for _, v, _ in items] + list(marks.values()) + [1e-9]) * 1.1
    scale = (W - label_w - 80) / top
    body = []
    for i, (label, v, color) in enumerate(items):
        y = 8 + i * 20
        body.append(text(label_w - 6, y + 12, label, "end"))
        body.append('<rect x="%d" y="%d" width="%.1f" height="14" fill="%s"/>' % (label_w, y, max(v * scale, 1), color))
        body.append(text(label_w + v * scale + 4, y + 12, "%g %s" % (v, unit)))
        if label in marks:
            gx = label_w + marks[label] * scale
            body.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="black" stroke-width="2"/>' % (gx, y - 2, gx, y + 16))
    return svg(16 + len(items) * 20, body)


def grouped(groups, series, unit, label_w=300):
    """groups: [(label, [v per series or None])]; series: names, one color each."""
    if not groups:
        return "<p><i>no data in this run</i></p>"
    vals = [v for _, vs in groups for v in vs if v is not None]
    top = max(vals + [1e-9]) * 1.1
    scale = (W - label_w - 90) / top
    body, y = [], 8
    for gi, name in enumerate(series):
        body.append('<rect x="%d" y="%d" width="10" height="10" fill="%s"/>' % (label_w + gi * 170, y, COLORS[gi]))
        body.append(text(label_w + gi * 170 + 14, y + 9, name))
    y += 20
    for label, vs in groups:
        body.append(text(label_w - 6, y + 6 + 7 * len(vs), label, "end"))
        for si, v in enumerate(vs):
            if v is None:
                continue
            body.append('<rect x="%d" y="%d" width="%.1f" height="12" fill="%s"/>' % (label_w, y, max(v * scale, 1), COLORS[si]))
            body.append(text(label_w + v * scale + 4, y + 10, "%g %s" % (v, unit)))
            y += 14
        y += 8
    return svg(y + 4, body)


def stacked(rows, label_w=300):
    """rows: [(label, {reason: value})]: one bar per path, one color per reason."""
    if not rows:
        return "<p><i>no data in this run</i></p>"
    reasons = sorted({k for _, d in rows for k in d})
    color = {r: COLORS[i % len(COLORS)] for i, r in enumerate(reasons)}
    top = max([sum(d.values()) for _, d in rows] + [1e-9]) * 1.1
    scale = (W - label_w - 80) / top
    body, y = [], 8
    for i, r in enumerate(reasons):
        x = 10 + (i % 6) * 125
        yy = y + (i // 6) * 14
        body.append('<rect x="%d" y="%d" width="10" height="10" fill="%s"/>' % (x, yy, color[r]))
        body.append(text(x + 14, yy + 9, r))
    y += 14 * ((len(reasons) + 5) // 6) + 8
    for label, d in rows:
        body.append(text(label_w - 6, y + 12, label, "end"))
        x = label_w
        for r in reasons:
            v = d.get(r, 0)
            if v:
                body.append('<rect x="%.1f" y="%d" width="%.1f" height="14" fill="%s"><title>%s %g</title></rect>' % (
                    x, y, v * scale, color[r], esc(r), v))
                x += v * scale
        body.append(text(x + 4, y + 12, "%g exits/MiB" % round(sum(d.values()), 2)))
        y += 20
    return svg(y + 4, body)


def histogram(series, unit, bins=20):
    """series: [(label, [samples])]: one row of bins per series, counts as bar heights."""
    series = [(l, s) for l, s in series if s]
    if not series:
        return "<p><i>no samples in this run</i></p>"
    hi = max(max(s) for _, s in series) or 1.0
    width = hi / bins
    body, y, bw = [], 4, (W - 120) / bins
    for label, s in series:
        counts = [0] * bins
        for v in s:
            counts[min(int(v / width), bins - 1)] += 1
        peak = max(counts) or 1
        body.append(text(4, y + 40, label))
        for i, c in enumerate(counts):
            h = 50.0 * c / peak
            body.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%d samples %.1f-%.1f %s</title></rect>' % (
                110 + i * bw, y + 55 - h, bw - 2, h, COLORS[0], c, i * width, (i + 1) * width, unit))
        y += 62
    for i in range(0, bins + 1, 5):
        body.append(text(110 + i * bw, y + 10, "%.0f" % (i * width), "middle"))
    body.append(text(W - 10, y + 10, unit, "end"))
    return svg(y + 16, body)


def lines(history, names):
    """Each named ratio across the recorded commits."""
    pts = {n: [] for n in names}
    for i, h in enumerate(history):
        for r in h.get("results", []):
            if r.get("name") in pts and r.get("ratio") is not None:
                pts[r["name"]].append((i, r["ratio"]))
    pts = {n: p for n, p in pts.items() if p}
    if not pts or len(history) < 2:
        return "<p><i>fewer than two recorded runs: nothing to draw yet</i></p>"
    top = max(v for p in pts.values() for _, v in p) * 1.15
    left, h = 50, 220
    xs = (W - left - 20) / max(len(history) - 1, 1)
    body = ['<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#888"/>' % (left, h, W - 10, h)]
    for k, (n, p) in enumerate(sorted(pts.items())):
        c = COLORS[k % len(COLORS)]
        body.append('<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>' % (
            c, " ".join("%.1f,%.1f" % (left + i * xs, h - v / top * (h - 10)) for i, v in p)))
        body.append(text(left, h + 30 + 13 * k, n, extra='fill="%s"' % c))
    for i, hrec in enumerate(history):
        body.append(text(left + i * xs, h + 12, hrec.get("commit", "?")[:8], "middle"))
    return svg(h + 36 + 13 * len(pts), body)


def table(rows):
    out = ["<table><tr><th>measurement</th><th>value</th><th>unit</th><th>peer</th><th>peer value</th>"
           "<th>ratio</th><th>goal</th><th>machine / cpu / vendor</th></tr>"]
    for r in rows:
        g = r["goal"]
        if g and r["met"] is None:
            goal = "%s %s %s: not measured in this run" % (esc(g["of"]), esc(g["op"]), g["target"])
        elif g:
            cls = "met" if r["met"] else "missed"
            goal = '<span class="%s">%s %s %s: %s</span>' % (cls, esc(g["of"]), esc(g["op"]), g["target"],
                                                             "met" if r["met"] else "missed")
        else:
            goal = ""
        out.append("<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>" % (
            esc(r["name"]), r["value"], esc(r["unit"]), esc(r["peer"] or ""),
            "" if r["peer_value"] is None else r["peer_value"], "" if r["ratio"] is None else r["ratio"], goal,
            esc("%s / %s / %s" % (r["machine"], r["cpu"], r["vendor"]))))
    out.append("</table>")
    return "\n".join(out)


def render(rows, history, commit):
    with_ratio_goal = [r for r in rows if r["goal"] and r["goal"]["of"] == "ratio" and r["ratio"] is not None]
    ratio_items = [(r["name"], r["ratio"], "#5a9e4b" if r["met"] else "#b8433e") for r in with_ratio_goal]
    ratio_marks = {r["name"]: r["goal"]["target"] for r in with_ratio_goal}
    exits = []
    for r in rows:
        if r["unit"] != "exits/MiB":
            continue
        by = r["extra"].get("by_reason")
        exits.append((r["name"], by if by else {"total (no breakdown)": r["value"]}))
    tput = [(r["name"], [r["value"], r["peer_value"]]) for r in rows if r["unit"] == "MB/s"]
    pings = []
    for r in rows:
        if r["name"].startswith("net_monitor_ping"):
            pings.append((r["name"].replace("net_monitor_ping_rtt_", ""), r["samples"] or []))
            pings.append(("peer: " + r["name"].replace("net_monitor_ping_rtt_", ""), r["extra"].get("guest_samples") or []))
    vendor = [(r["name"].replace("exits_intel_vs_amd_", ""), [r["value"], r["peer_value"]])
              for r in rows if r["name"].startswith("exits_intel_vs_amd_")]
    headline = sorted({r["name"] for r in with_ratio_goal})
    met = sum(1 for r in rows if r["met"])
    missed = sum(1 for r in rows if r["met"] is False)
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>thinvisor bench %s</title>" % esc(commit),
        "<style>body{font-family:sans-serif;margin:24px;max-width:1100px}table{border-collapse:collapse;font-size:12px}"
        "td,th{border:1px solid #ccc;padding:3px 6px;text-align:left}.met{color:#2d7a2d;font-weight:bold}"
        ".missed{color:#b8433e;font-weight:bold}h2{margin-top:32px}</style></head><body>",
        "<h1>thinvisor: make bench</h1><p>commit %s; %d measurements; goals met %d, missed %d. Every ratio "
        "compares against a peer measured in the same run (docs/bench.md).</p>" % (esc(commit), len(rows), met, missed),
        "<h2>Ratios against their goals</h2><p>Bars: the ratio (green met, red missed); black tick: the goal.</p>",
        hbars(ratio_items, "", ratio_marks),
        "<h2>Exits per MiB by reason, per device path</h2>", stacked(exits),
        "<h2>Throughput with and without thinvisor</h2>", grouped(tput, ["thinvisor", "peer (bare, or as named)"], "MB/s"),
        "<h2>The monitor's ping latency</h2><p>Host pings of the monitor's address (and of the guest, the peer), "
        "guest idle and busy.</p>", histogram(pings, "ms"),
        "<h2>Exits by reason: Intel (Bochs) against AMD (QEMU), same guest boot</h2>",
        grouped(vendor, ["Intel VT-x (Bochs)", "AMD-V (QEMU TCG)"], "exits") if vendor else
        "<p><i>not in this run (tests/bench/vendor_exits_bench.py, a Bochs boot of about 5-10 minutes)</i></p>",
        "<h2>Headline ratios across recorded commits</h2>", lines(history, headline),
        "<h2>Every measurement</h2>", table(rows),
        "</body></html>",
    ]
    return "\n".join(parts)
