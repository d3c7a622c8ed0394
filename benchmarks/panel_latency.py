"""Delay from a text delta reaching the kernel to its text being in the chat panel's DOM.

A real JupyterLab in headless Chromium, `%keboola chat` in the sidebar, and a long answer streamed by
the local stand-in API through the real SDK (about 300 deltas, 5 ms apart). The kernel stamps each
delta with time.time() when the panel sends it; the page records Date.now() once the text is in the
DOM (window.keboolaNbLatency). Same machine, same clock.

    .venv/bin/python benchmarks/panel_latency.py     # writes benchmarks/results/panel_latency.json
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from tests.browser.lab import CHROMIUM, CHROMIUM_ARGS, Chat, Lab, Notebook  # noqa: E402
from tests.standin import StandIn, Text, Turn  # noqa: E402

TARGET_MS = 50
WORDS = 600


def main() -> None:
    from playwright.sync_api import sync_playwright

    base = Path(tempfile.mkdtemp(prefix="kbnb-latency-"))
    with StandIn() as api:
        api.push(Turn([Text(" ".join(f"word{i}" for i in range(WORDS)))], delay=0.005, chunk=16))
        env = {"ANTHROPIC_API_KEY": "bench-key", "ANTHROPIC_BASE_URL": api.base_url,
               "KEBOOLA_NB_PROJECT": str(base / "project"), "KEBOOLA_NB_SECRETS_DIR": str(base / "secrets")}
        lab = Lab.start(base / "lab", env)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                nb = Notebook.open(lab, page, "latency.ipynb", ["%load_ext keboola_nb\n%keboola chat"])
                nb.run_cell(0)
                chat = Chat(page)
                chat.root.wait_for()
                chat.send("write a long answer")
                chat.item("assistant", status="done").wait_for(timeout=120_000)
                delays = [d * 1000 for d in page.evaluate("() => window.keboolaNbLatency")]
                browser.close()
        finally:
            lab.stop()
    delays.sort()
    result = {
        "what": "text delta in the kernel -> text in the panel's DOM (ms)",
        "deltas": len(delays),
        "median_ms": round(statistics.median(delays), 2),
        "p90_ms": round(delays[int(len(delays) * 0.9)], 2),
        "max_ms": round(delays[-1], 2),
        "target_ms": TARGET_MS,
        "setup": "JupyterLab 4 + headless Chromium, %keboola chat, stand-in API streaming 5 ms apart",
    }
    out = ROOT / "benchmarks" / "results" / "panel_latency.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"{'delta -> panel':<20}{'median':>10}{'p90':>10}{'max':>10}{'target':>10}")
    print(f"{'':<20}{result['median_ms']:>8.1f}ms{result['p90_ms']:>8.1f}ms{result['max_ms']:>8.1f}ms"
          f"{'< ' + str(TARGET_MS) + ' ms':>10}   ({len(delays)} deltas)")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
