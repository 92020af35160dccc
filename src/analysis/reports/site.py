"""The report site: outputs/<source>/index.html linking every report, with the headline tables
and figure thumbnails."""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from analysis.stats.measures import NATIONAL, data_source_label

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:70rem;color:#222;padding:0 1rem}
table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{border-bottom:1px solid #ddd;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f3f3}.demo{background:#fde8e0;border:2px solid #D55E00;padding:.6rem 1rem;font-weight:bold;color:#8a2b00}
.figs{display:flex;flex-wrap:wrap;gap:1rem}.figs a{display:block;width:16rem;font-size:.8rem}.figs img{width:100%;border:1px solid #ccc}
.failed{color:#b00;font-weight:bold}.note{color:#555;font-size:.85rem}
"""


def _e(text: object) -> str:
    return html.escape("" if text is None else str(text))


def _count(x) -> str:
    return "" if pd.isna(x) else f"{int(x):,}"


def _pct(x) -> str:
    return "" if pd.isna(x) else f"{100 * float(x):.1f}%"


def write_index(out: Path, source: str, offence: str, synthetic: bool, manifest: dict) -> Path:
    """Write index.html from the tables and the run's manifest; return its path."""
    out = Path(out)
    heads = pd.read_csv(out / "tables" / "headlines.csv")
    year = heads["financial_year"].iloc[0]
    nb = manifest.get("notebooks", {})
    parts = [
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Stalking outcomes by force: "
        f"{_e(source)}</title><style>{_CSS}</style></head><body>",
        f"<h1>How police forces deal with stalking ({_e(offence)}), {_e(year)}</h1>",
    ]
    if synthetic:
        parts.append(
            "<p class='demo'>GENERATED DEMO DATA: these figures are synthetic and describe no real "
            "force. They exist to show and test the methods.</p>"
        )
    parts.append(
        f"<p class='note'>Data: {_e(data_source_label(synthetic))}. Rates are shares of the "
        "investigations closed in the year (closed basis), with Wilson 95% intervals.</p>"
    )
    nat = heads[heads["force"] == NATIONAL]
    if len(nat):
        r = nat.iloc[0]
        parts.append(f"<h2>England and Wales</h2><p>{_e(r['sentence'])}</p>")
    parts.append("<h2>National notebooks</h2><ul>")
    for name in sorted(k for k in nb if k.startswith("national/")):
        stem = name.split("/", 1)[1]
        status = nb[name]["status"]
        if status == "failed":
            parts.append(f"<li class='failed'>{_e(stem)}: failed ({_e(nb[name]['error'][:200])})</li>")
        else:
            parts.append(
                f"<li><a href='{_e(name)}.html'>{_e(stem.replace('_', ' '))}</a> "
                f"(<a href='{_e(name)}.nocode.html'>without code</a>)</li>"
            )
    parts.append("</ul>")
    parts.append(
        "<h2>Every force</h2><table><thead><tr><th>Force</th><th>Recorded</th><th>Closed</th>"
        "<th>Evidential difficulties</th><th>Charged or summonsed</th><th>Headline</th><th>Report</th>"
        "</tr></thead><tbody>"
    )
    for _, r in heads[heads["force"] != NATIONAL].iterrows():
        name = f"forces/{r['slug']}"
        status = nb.get(name, {}).get("status")
        if status in ("ok", "skipped"):
            link = f"<a href='{_e(name)}.html'>report</a> · <a href='{_e(name)}.nocode.html'>no code</a>"
        elif status == "failed":
            link = "<span class='failed'>failed</span>"
        else:
            link = "not run"
        recorded = (
            r["offences_recorded"]
            if pd.notna(r["offences_recorded"])
            else r["offences_recorded_outcomes_file"]
        )
        parts.append(
            f"<tr><td>{_e(r['force'])}</td><td>{_count(recorded)}</td><td>{_count(r['outcomes_closed'])}</td>"
            f"<td>{_pct(r['evidential_difficulties_rate_closed'])} ({_pct(r['evidential_difficulties_rate_closed_low'])}–{_pct(r['evidential_difficulties_rate_closed_high'])})</td>"
            f"<td>{_pct(r['charge_rate_closed'])} ({_pct(r['charge_rate_closed_low'])}–{_pct(r['charge_rate_closed_high'])})</td>"
            f"<td>{_e(r['sentence'])}</td><td>{link}</td></tr>"
        )
    parts.append("</tbody></table>")
    figs = sorted((out / "figures").glob("*.png"))
    if figs:
        parts.append("<h2>Figures</h2><div class='figs'>")
        for f in figs:
            rel = f"figures/{f.name}"
            parts.append(
                f"<a href='{_e(rel)}'><img src='{_e(rel)}' alt='{_e(f.stem)}'>{_e(f.stem.replace('_', ' '))}</a>"
            )
        parts.append("</div>")
    parts.append("<h2>Tables</h2><ul>")
    for t in sorted((out / "tables").glob("*")):
        parts.append(f"<li><a href='tables/{_e(t.name)}'>{_e(t.name)}</a></li>")
    parts.append(
        "</ul><p class='note'><a href='manifest.json'>manifest.json</a> (code, inputs and package "
        "versions of this run) · <a href='run-summary.txt'>run summary</a></p></body></html>"
    )
    path = out / "index.html"
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text("\n".join(parts) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path
