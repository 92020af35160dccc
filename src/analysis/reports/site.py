"""The report site: outputs/<source>/index.html to find a force in (search, sort, region), the
national reports and figures, every CSV described, a methods page, and one CSV per force.

Pages are Jinja templates in reports/templates/site/; they work from the file system with no
server (the search and sort are a few lines of inline JavaScript).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import jinja2
import pandas as pd

from analysis import __version__
from analysis.domain import forces, periods
from analysis.reports import verdicts
from analysis.reports.headlines import sentence
from analysis.stats import funnel
from analysis.stats.measures import NATIONAL, data_source_label

TEMPLATES = Path(__file__).parent / "templates"

NATIONAL_TITLES = {
    "national_trends": "Stalking in England and Wales: recorded offences and outcomes",
    "force_comparison": "Comparing forces: funnel plots, shrinkage and rank intervals",
    "reporting_link": "Did forces whose recorded stalking rose most see charge rates fall most?",
    "method_validation": "Do the methods recover the truth? A simulation study",
}

# what each CSV holds, one line each (patterns: the year or years in the name are filled in)
TABLE_DESCRIPTIONS = {
    "force_year.csv": "Every force and year: offences recorded, outcomes by type, and rates with intervals.",
    "national_year.csv": "England and Wales by year: the same counts and rates as force_year.csv.",
    "headlines.csv": "The headline year: each force's sentence and the numbers in it.",
    "funnel_summary.csv": "One line per funnel: overdispersion (phi, tau²) and how many forces each method flags.",
    "shrinkage.csv": "Every year: raw and shrunken (hierarchical model) charge rates with rank intervals per force.",
    "link_models.csv": "Every estimator of the link between the rise in recording and charge rates.",
    "link_model.json": "The primary link estimate, its sentence and caveats.",
    "event_study.csv": "Dose-by-year coefficients of the link model, relative to 2019/20.",
    "link_panel.csv": "The force-year panel the link models are fitted to (charged, closed, dose).",
    "link_influence.csv": "The primary link estimate with each force left out, most influential first.",
    "link_dose_spline.csv": "The dose-response as a spline: charge log-odds and points against the mean dose.",
    "link_dose_thirds.csv": "The dose thirds: each third's forces and doses, and its difference from the bottom third.",
    "link_force_residuals.csv": "Per force: dose, and observed against predicted charge rates since April 2020.",
    "decomposition.csv": "The national change in charge rate split into mix of forces and rates within forces.",
    "decomposition_forces.csv": "Each force's contribution to the national change (within and between).",
}


def page_title(template: str, parameters: dict) -> str:
    """The title and heading of an executed notebook's page."""
    if template == "force_report":
        return f"{parameters['force']}: how the police dealt with stalking"
    return NATIONAL_TITLES.get(template, template.replace("_", " ").capitalize())


def describe_table(name: str) -> str:
    """The one-line description of a CSV in tables/."""
    if name in TABLE_DESCRIPTIONS:
        return TABLE_DESCRIPTIONS[name]
    if name.startswith("funnel_change_") and name.endswith("_limits.csv"):
        return "The change funnel's control limits, to draw it."
    if name.startswith("funnel_change_"):
        return "Per force: change in charge rate across April 2020 against the funnel limits."
    if name.startswith("funnel_limits_"):
        return f"The funnel's control limits in {name[14:-4].replace('-', '/')} for each method and level, to draw it."
    if name.startswith("funnel_"):
        return f"Per force in {name[7:-4].replace('-', '/')}: charge rate, funnel limits and flags for each method."
    return "A table written by the national analysis."


def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES / "site"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        keep_trailing_newline=True,
    )


def _write(path: Path, text: str) -> Path:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path


def _num(x) -> str:
    """A sort key for a data-sort attribute ('' sorts as text, after numbers)."""
    return "" if pd.isna(x) else f"{float(x):.6g}"


def force_csvs(out: Path) -> dict[str, Path]:
    """forces/<slug>.csv: each force's rows from every table in tables/ that has a force column,
    with a `table` column naming the source table."""
    frames: dict[str, list[pd.DataFrame]] = {}
    for path in sorted((out / "tables").glob("*.csv")):
        t = pd.read_csv(path)
        if "force" not in t.columns:
            continue
        for name, rows in t.groupby("force", sort=True):
            frames.setdefault(str(name), []).append(rows.assign(table=path.name))
    written = {}
    for f in forces.registry():
        if f.name not in frames:
            continue
        frame = pd.concat(frames[f.name], ignore_index=True)
        frame = frame[["table"] + [c for c in frame.columns if c != "table"]]
        path = out / "forces" / f"{f.slug}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(path, index=False, lineterminator="\n")
        written[f.name] = path
    return written


def _force_rows(out: Path, heads: pd.DataFrame, year: str, nb: dict) -> list[dict]:
    """One row per force for the index, alphabetical."""
    tables = out / "tables"
    fun_path = tables / f"funnel_{periods.fy_slug(year)}.csv"
    fun = pd.read_csv(fun_path).set_index("force") if fun_path.exists() else pd.DataFrame()
    res_path = tables / "link_force_residuals.csv"
    res = pd.read_csv(res_path).set_index("force") if res_path.exists() else pd.DataFrame()
    d_col, l_col = funnel.flag_columns("tau2")
    by_name = heads.set_index("force")
    rows = []
    for f in sorted(forces.registry(), key=lambda f: f.name):
        if f.name not in by_name.index:
            continue
        r = by_name.loc[f.name]
        name = f"forces/{f.slug}"
        status = nb.get(name, {}).get("status")
        k, n = r["charged_closed"], r["outcomes_closed"]
        small = pd.notna(n) and n < verdicts.SMALL_N
        if pd.isna(n) or n == 0:
            charge = evid = "–"
        elif small:
            charge = verdicts.count_share(k, n)
            evid = verdicts.count_share(r["evidential_difficulties_closed"], n)
        else:
            charge = verdicts.pct(r["charge_rate_closed"])
            evid = verdicts.pct(r["evidential_difficulties_rate_closed"])
        if f.name in fun.index:
            u = fun.loc[f.name]
            position, pos_sort = funnel.flag_label(u[d_col], u[l_col]), u["z"]
        else:
            position, pos_sort = "–", float("nan")
        rise = float(pd.Series(res.loc[f.name, "dose"]).iloc[0]) if f.name in res.index else float("nan")
        rows.append(
            {
                "name": f.name,
                "region": f.region,
                "search": f"{f.name} {f.region} {' '.join(f.aliases)}".lower(),
                "closed": "–" if pd.isna(n) else f"{int(n):,}",
                "closed_sort": _num(n),
                "charge": charge,
                "charge_sort": _num(r["charge_rate_closed"]),
                "evid": evid,
                "evid_sort": _num(r["evidential_difficulties_rate_closed"]),
                "funnel": position,
                "funnel_sort": _num(pos_sort),
                "rise": _ratio(rise),
                "rise_sort": _num(rise),
                "status": status,
                "report": f"{name}.html" if status in ("ok", "skipped") else "",
                "nocode": f"{name}.nocode.html",
                "csv": f"{name}.csv",
            }
        )
    return rows


def _ratio(log_growth: float) -> str:
    return "–" if pd.isna(log_growth) else f"×{math.exp(log_growth):.1f}"


def _figures(out: Path) -> list[dict]:
    alt_path = out / "figures" / "alt.json"
    alts = json.loads(alt_path.read_text(encoding="utf-8")) if alt_path.exists() else {}
    return [
        {
            "src": f"figures/{f.name}",
            "alt": alts.get(f.name, f.stem.replace("_", " ")),
            "caption": f.stem.replace("_", " ").capitalize(),
        }
        for f in sorted((out / "figures").glob("*.png"))
    ]


def methods_markdown() -> str | None:
    """docs/methods.md from the project folder (or the source checkout), if there is one."""
    for base in (Path.cwd(), Path(__file__).resolve().parents[3]):
        path = base / "docs" / "methods.md"
        if path.exists():
            return path.read_text(encoding="utf-8")
    return None


def write_methods(out: Path) -> Path:
    """methods.html: docs/methods.md rendered, with a link back to the index."""
    import mistune

    text = methods_markdown() or "# Methods\n\nSee docs/methods.md in the stalking-outcomes repository."
    body = mistune.html(text)
    css = _env().get_template("style.css.j2").render()
    page = _env().get_template("methods.html.j2").render(css=css, body=jinja2.utils.markupsafe.Markup(body))
    return _write(out / "methods.html", page)


def write_index(out: Path, source: str, offence: str, synthetic: bool, manifest: dict) -> Path:
    """Write index.html (and methods.html and forces/<slug>.csv) from the tables and the run's
    manifest; return the index's path. (`source` is named in the manifest; kept for callers.)"""
    out = Path(out)
    heads = pd.read_csv(out / "tables" / "headlines.csv")
    year = heads["financial_year"].iloc[0]
    nb = manifest.get("notebooks", {})
    force_csvs(out)
    write_methods(out)
    nat = heads[heads["force"] == NATIONAL]
    national = sentence(nat.iloc[0], False) if len(nat) else ""
    columns = [
        {"label": "Force", "sortable": True, "num": False},
        {"label": "Region", "sortable": True, "num": False},
        {"label": "Closed investigations", "sortable": True, "num": True},
        {"label": "Charged or summonsed", "sortable": True, "num": True},
        {"label": "Evidential difficulties", "sortable": True, "num": True},
        {"label": "Funnel position", "sortable": True, "num": False},
        {"label": "Rise in recording", "sortable": True, "num": True},
        {"label": "Downloads", "sortable": False, "num": False},
    ]
    sortable = [dict(c, index=i) for i, c in enumerate(columns) if c["sortable"]]
    notebooks = []
    for name in sorted(k for k in nb if k.startswith("national/")):
        stem = name.split("/", 1)[1]
        notebooks.append(
            {
                "title": NATIONAL_TITLES.get(stem, stem.replace("_", " ")),
                "status": nb[name]["status"],
                "error": nb[name].get("error", "")[:200],
                "html": f"{name}.html",
                "nocode": f"{name}.nocode.html",
            }
        )
    tables = [
        {"name": t.name, "href": f"tables/{t.name}", "description": describe_table(t.name)}
        for t in sorted((out / "tables").glob("*"))
        if t.suffix in (".csv", ".json")
    ]
    commit = str(manifest.get("code_commit", ""))[:12]
    data = data_source_label(synthetic)
    citation = (
        f"stalking-outcomes {__version__}"
        + (f" (code commit {commit})" if commit else "")
        + f": stalking (offence {offence}) outcomes by police force, England and Wales, {year}. "
        + f"Data: {data}"
        + ("" if synthetic else ", Crown copyright, Open Government Licence v3.0")
        + "."
    )
    env = _env()
    page = env.get_template("index.html.j2").render(
        css=env.get_template("style.css.j2").render(),
        year=year,
        offence=offence,
        synthetic=synthetic,
        data_label=data,
        small_n=verdicts.SMALL_N,
        national=national,
        columns=columns,
        sortable=sortable,
        rows=_force_rows(out, heads, year, nb),
        funnel_limits=f"random-effects (τ²) limits in {year}",
        rise_years="2020/21 over 2019/20 (the April 2020 counting-rule change)",
        notebooks=notebooks,
        figures=_figures(out),
        tables=tables,
        citation=citation,
    )
    return _write(out / "index.html", page)
