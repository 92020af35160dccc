"""The report site: the index page (analysis.outputs.INDEX) to find a force in (search, sort, region), the
national reports and figures, every CSV described, a methods page, and one CSV per force.

Pages are Jinja templates in reports/templates/site/; they work from the file system with no
server (the search and sort are a few lines of inline JavaScript).
"""

from __future__ import annotations

import math
from pathlib import Path

import jinja2
import pandas as pd

from analysis import __version__, outputs
from analysis.domain import forces, rules
from analysis.reports import verdicts
from analysis.reports.headlines import sentence
from analysis.stats import funnel
from analysis.stats.measures import NATIONAL, data_source_label

TEMPLATES = Path(__file__).parent / "templates"

NATIONAL_TITLES = {
    "national_trends": "{Offence} in England and Wales: recorded offences and outcomes",
    "force_comparison": "Comparing forces on {offence}: funnel plots, shrinkage and rank intervals",
    "reporting_link": "Did forces whose recorded {offence} rose most see charge rates fall most?",
    "method_validation": "Do the methods recover the truth? A simulation study",
}


def page_title(template: str, parameters: dict) -> str:
    """The title and heading of an executed notebook's page, naming its offence."""
    code = parameters.get("offence", rules.DEFAULT_OFFENCE)
    words = {"offence": rules.offence_noun(code), "Offence": rules.offence_title(code)}
    if template == "force_report":
        return f"{parameters['force']}: how the police dealt with {words['offence']}"
    return NATIONAL_TITLES.get(template, template.replace("_", " ").capitalize()).format(**words)


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
    """Each force's CSV (outputs.FORCE_CSV): its rows from every national table that has a force
    column, with a `table` column naming the source table."""
    frames: dict[str, list[pd.DataFrame]] = {}
    for path in _national_tables(out):
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
        written[f.name] = outputs.FORCE_CSV.save(out, frame, slug=f.slug)
    return written


def _national_tables(out: Path) -> list[Path]:
    """The CSV tables the national analysis published in `out`, as the catalogue knows them."""
    return [p for p, e in outputs.found(out, outputs.NATIONAL_FOLDERS) if e.national and p.suffix == ".csv"]


def _force_rows(out: Path, heads: pd.DataFrame, year: str, nb: dict) -> list[dict]:
    """One row per force for the index, alphabetical."""
    fun = _indexed(out, outputs.FUNNEL, year=year)
    res = _indexed(out, outputs.LINK_FORCE_RESIDUALS)
    d_col, l_col = funnel.flag_columns("tau2")
    by_name = heads.set_index("force")
    rows = []
    for f in sorted(forces.registry(), key=lambda f: f.name):
        if f.name not in by_name.index:
            continue
        r = by_name.loc[f.name]
        name = outputs.force_report(f.slug)
        files = outputs.report_files(name)
        status = nb.get(name, {}).get("status")
        k, n = r["charged_closed"], r["outcomes_closed"]
        small = rules.small(n)
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
                # too few to rank: no rate to sort by (rules.SMALL_N), so it sorts after the others
                "charge_sort": "" if small else _num(r["charge_rate_closed"]),
                "evid": evid,
                "evid_sort": "" if small else _num(r["evidential_difficulties_rate_closed"]),
                "funnel": position,
                "funnel_sort": _num(pos_sort),
                "rise": _ratio(rise),
                "rise_sort": _num(rise),
                "status": status,
                "report": files[outputs.REPORT_PAGE] if status in ("ok", "skipped") else "",
                "nocode": files[outputs.REPORT_PAGE_NOCODE],
                "csv": outputs.FORCE_CSV.relpath(slug=f.slug),
            }
        )
    return rows


def _indexed(out: Path, output: outputs.Output, **fields: str) -> pd.DataFrame:
    """A national table indexed by force (empty if the run did not write it)."""
    if not output.path(out, **fields).exists():
        return pd.DataFrame()
    return output.load(out, **fields).set_index("force")


def _ratio(log_growth: float) -> str:
    return "–" if pd.isna(log_growth) else f"×{math.exp(log_growth):.1f}"


def _figures(out: Path) -> list[dict]:
    """The national figures with their alt text and, as caption, their catalogue description."""
    alts = outputs.FIGURE_ALT.load(out) if outputs.FIGURE_ALT.path(out).exists() else {}
    found = []
    for f, entry in outputs.found(out, outputs.NATIONAL_FOLDERS):
        if entry.kind == "figure" and f.suffix == ".png":
            rel = f.relative_to(out).as_posix()
            found.append(
                {"src": rel, "alt": alts.get(f.name, entry.described(rel)), "caption": entry.described(rel)}
            )
    return found


def methods_markdown() -> str | None:
    """docs/methods.md from the project folder (or the source checkout), if there is one."""
    for base in (Path.cwd(), Path(__file__).resolve().parents[3]):
        path = base / "docs" / "methods.md"
        if path.exists():
            return path.read_text(encoding="utf-8")
    return None


def write_methods(out: Path) -> Path:
    """The methods page: docs/methods.md rendered, with a link back to the index."""
    import mistune

    text = methods_markdown() or "# Methods\n\nSee docs/methods.md in the stalking-outcomes repository."
    body = mistune.html(text)
    css = _env().get_template("style.css.j2").render()
    page = (
        _env()
        .get_template("methods.html.j2")
        .render(css=css, body=jinja2.utils.markupsafe.Markup(body), index=outputs.INDEX.relpath())
    )
    return _write(outputs.METHODS.path(out), page)


def write_index(out: Path, offence: str, synthetic: bool, manifest: dict) -> Path:
    """Write the index page (and the methods page and each force's CSV) from the tables and the
    run's manifest; return the index's path."""
    out = Path(out)
    heads = outputs.HEADLINES.load(out)
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
        files = outputs.report_files(name)
        notebooks.append(
            {
                "title": page_title(stem, {"offence": offence}),
                "status": nb[name]["status"],
                "error": nb[name].get("error", "")[:200],
                "html": files[outputs.REPORT_PAGE],
                "nocode": files[outputs.REPORT_PAGE_NOCODE],
            }
        )
    tables = []
    for t, entry in outputs.found(out, outputs.NATIONAL_FOLDERS):
        if entry.kind == "table":
            rel = t.relative_to(out).as_posix()
            tables.append({"name": t.name, "href": rel, "description": entry.described(rel)})
    commit = str(manifest.get("code_commit", ""))[:12]
    data = data_source_label(synthetic)
    citation = (
        f"stalking-outcomes {__version__}"
        + (f" (code commit {commit})" if commit else "")
        + f": {rules.offence_noun(offence)} (offence {offence}) outcomes by police force, England and Wales, {year}. "
        + f"Data: {data}"
        + ("" if synthetic else ", Crown copyright, Open Government Licence v3.0")
        + "."
    )
    env = _env()
    page = env.get_template("index.html.j2").render(
        css=env.get_template("style.css.j2").render(),
        year=year,
        offence=offence,
        noun=rules.offence_noun(offence),
        synthetic=synthetic,
        data_label=data,
        small_n=rules.SMALL_N,
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
        links={
            "methods": outputs.METHODS.relpath(),
            "manifest": outputs.MANIFEST.relpath(),
            "summary": outputs.RUN_SUMMARY.relpath(),
        },
    )
    return _write(outputs.INDEX.path(out), page)
