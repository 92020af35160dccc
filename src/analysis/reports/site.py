"""The report site: the index page (analysis.outputs.INDEX) to find a force in (search, sort, region), the
national reports and figures, every CSV described, a methods page, and one CSV per force.

Pages are Jinja templates in reports/templates/site/; they work from the file system with no
server (the search and sort are a few lines of inline JavaScript).
"""

from __future__ import annotations

import re
from pathlib import Path

import jinja2
import pandas as pd

from analysis import __version__, outputs
from analysis.domain import forces, rules
from analysis.reports import provenance, quote
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
    """Each force's CSV (outputs.FORCE_CSV): its rows of the figures to quote and of the rise in
    recording (analysis.reports.quote, where the rules for readers are applied: no share below
    the small-number rule, no ratio on an incomplete year), with a `table` column naming the
    source table. The national tables, every force in each, are downloads of their own."""
    frames: dict[str, list[pd.DataFrame]] = {}
    quoted = (outputs.FIGURES_TO_QUOTE.path(out), outputs.RECORDING_RISE.path(out))
    for path in (p for p in quoted if p.exists()):
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


def _force_rows(out: Path, year: str, nb: dict) -> list[dict]:
    """One row per force for the index, alphabetical; every figure from the figures to quote
    (analysis.reports.quote), so the index and the reports give one value for each."""
    fun = _indexed(out, outputs.FUNNEL, year=year)
    d_col, l_col = funnel.flag_columns("tau2")
    q = outputs.FIGURES_TO_QUOTE.load(out)
    q = q[q["year"] == year].set_index(["force", "measure"])
    rises = _indexed(out, outputs.RECORDING_RISE)
    rows = []
    for f in sorted(forces.registry(), key=lambda f: f.name):
        if (f.name, quote.CLOSED.key) not in q.index:
            continue
        name = outputs.force_report(f.slug)
        files = outputs.report_files(name)
        status = nb.get(name, {}).get("status")
        n = q.loc[(f.name, quote.CLOSED.key), "count"]
        small = rules.small(n)
        cells = {}
        for m in (quote.CHARGED, quote.EVIDENTIAL):
            r = q.loc[(f.name, m.key)]
            text = "–" if pd.isna(n) or n == 0 else quote.share_phrase(r)
            cells[m.key] = quote.fact(quote.fact_key(f.name, year, m.key), text)
            # too few to rank (rules.SMALL_N): no share to sort by, so it sorts after the others
            cells[m.key + "_sort"] = "" if small else _num(r["percent"])
        if f.name in fun.index and not small:
            u = fun.loc[f.name]
            position, pos_sort = funnel.flag_label(u[d_col], u[l_col]), u["z"]
        elif f.name in fun.index:
            position, pos_sort = f"not placed: fewer than {rules.SMALL_N} closed", float("nan")
        else:
            position, pos_sort = "–", float("nan")
        rise = rises.loc[f.name] if f.name in rises.index else None
        ratio = float("nan") if rise is None else rise["rise"]
        rise_cell = "–" if rise is None else quote.rise_phrase(rise)
        if rise is not None and rise_cell != "–":
            rise_cell = (
                quote.fact(f"{f.slug}|rise", rise_cell, years=f"{rise['year_from']} {rise['year_to']}")
                + f'<span class="years">{rise["year_from"]} to {rise["year_to"]}</span>'
            )
        rows.append(
            {
                "name": f.name,
                "region": f.region,
                "search": f"{f.name} {f.region} {' '.join(f.aliases)}".lower(),
                "closed": quote.fact(
                    quote.fact_key(f.name, year, quote.CLOSED.key), "–" if pd.isna(n) else f"{int(n):,}"
                ),
                "closed_sort": _num(n),
                "charge": cells[quote.CHARGED.key],
                "charge_sort": cells[quote.CHARGED.key + "_sort"],
                "evid": cells[quote.EVIDENTIAL.key],
                "evid_sort": cells[quote.EVIDENTIAL.key + "_sort"],
                "funnel": position,
                "funnel_sort": _num(pos_sort),
                "rise": rise_cell,
                "rise_sort": _num(ratio),
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


def _figures(out: Path) -> list[dict]:
    """The national figures with their alt text, as caption their catalogue description, and
    the CSV of the numbers each draws (`csv`, "" if the run wrote none)."""
    alts = outputs.FIGURE_ALT.load(out) if outputs.FIGURE_ALT.path(out).exists() else {}
    found = []
    for f, entry in outputs.found(out, outputs.NATIONAL_FOLDERS):
        if entry.kind == "figure" and f.suffix == ".png":
            rel = f.relative_to(out).as_posix()
            found.append(
                {
                    "src": rel,
                    "alt": alts.get(f.name, entry.described(rel)),
                    "caption": entry.described(rel),
                    "csv": _figure_csv(out, entry, rel),
                }
            )
    return found


def _figure_csv(out: Path, entry: outputs.Output, rel: str) -> str:
    """The path of the CSV beside a figure (outputs.FIGURE_DATA), if it was written, else ""."""
    data = outputs.FIGURE_DATA.get(entry.key)
    if data is None:
        return ""
    fields = {k: v.replace("-", "/") for k, v in (entry.match(rel) or {}).items()}
    return data.relpath(**fields) if data.path(out, **fields).exists() else ""


FUNNEL_MAP_RADIUS = 7  # pixels: a marker is about 8 across; a finger needs a little more


def _png_size(png: bytes) -> tuple[int, int] | None:
    """A PNG's width and height in pixels, from its header; None if it is no PNG."""
    if png[:8] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
        return None
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def funnel_map(out: Path, year: str, nb: dict) -> dict | None:
    """The picture the index opens with: the year's national funnel plot with an image map, one
    circle per force where the figure drew it (the pixel positions `analyse` wrote beside the PNG
    when it saved it, outputs.FIGURE_DATA), titled with its figures to quote ("Kent: charged or
    summonsed 3.5% (12 of 345 closed)", counts only below rules.SMALL_N) and linked to its
    report if the run made one. None if the figure or its numbers are missing."""
    png_path = outputs.FUNNEL_FIGURE.path(out, year=year)
    data = outputs.FIGURE_DATA[outputs.FUNNEL_FIGURE.key]
    if not png_path.exists() or not data.path(out, year=year).exists():
        return None
    size = _png_size(png_path.read_bytes())
    points = data.load(out, year=year)
    if size is None or "x_px" not in points.columns:
        return None
    points = points[points["force"].notna() & points["x_px"].notna()].sort_values("force")
    slugs = {f.name: f.slug for f in forces.registry()}
    q = outputs.FIGURES_TO_QUOTE.load(out)
    charged = q[(q["year"] == year) & (q["measure"] == quote.CHARGED.key)].set_index("force")
    areas = []
    for p in points.itertuples():
        # the share as every page gives it (the figures to quote), never worked out here
        shown = quote.share_phrase(charged.loc[p.force]) if p.force in charged.index else "not published"
        title = f"{p.force}: charged or summonsed {shown}"
        report = outputs.force_report(slugs[p.force]) if p.force in slugs else ""
        ran = report and nb.get(report, {}).get("status") in ("ok", "skipped")
        areas.append(
            {
                "coords": f"{round(float(p.x_px))},{round(float(p.y_px))},{FUNNEL_MAP_RADIUS}",
                "title": title,
                "href": outputs.report_files(report)[outputs.REPORT_PAGE] if ran else "",
            }
        )
    rel = png_path.relative_to(out).as_posix()
    alts = outputs.FIGURE_ALT.load(out) if outputs.FIGURE_ALT.path(out).exists() else {}
    return {
        "src": rel,
        "alt": alts.get(png_path.name, outputs.FUNNEL_FIGURE.described(rel)),
        "width": size[0],
        "height": size[1],
        "areas": areas,
        "numbers": _figure_csv(out, outputs.FUNNEL_FIGURE, rel),
    }


def project_file(*parts: str) -> Path | None:
    """A file of the project folder (docs/..., not installed with the package): looked for in
    the current folder, where commands and notebooks run from, then in the source checkout this
    module was imported from; None for an installed package run elsewhere."""
    for base in (Path.cwd(), Path(__file__).resolve().parents[3]):
        path = base.joinpath(*parts)
        if path.exists():
            return path
    return None


def methods_markdown() -> str | None:
    """docs/methods.md from the project folder (or the source checkout), if there is one."""
    path = project_file("docs", "methods.md")
    return path.read_text(encoding="utf-8") if path is not None else None


# docs/methods.md keeps most of its tables inside list items, which mistune's table plugin
# leaves as paragraphs of pipes unless `table_in_list` is on as well
MARKDOWN_PLUGINS = ("table", "mistune.plugins.table.table_in_list")


def _scrolling_table(renderer: object, text: str) -> str:
    """A table in a focusable box of its own that scrolls sideways, so that a wide table never
    widens the page on a phone (390 px) and can be scrolled from the keyboard."""
    return (
        '<div class="table-scroll" role="region" aria-label="table, scrolls sideways" tabindex="0">'
        f"<table>\n{text}</table>\n</div>\n"
    )


LONG_CELL = 40  # characters of text above which a table cell wraps (a sentence, not a figure)


def _table_cell(renderer: object, text: str, align: str | None = None, head: bool = False) -> str:
    """A table cell that keeps a figure such as "-0.0017 (0.0016)" on one line but lets a
    sentence wrap (class "long"), so a wide table scrolls instead of breaking its numbers."""
    from mistune.plugins.table import render_table_cell

    cell = render_table_cell(renderer, text, align, head)  # type: ignore[arg-type]
    if head or len(re.sub(r"<[^>]+>", "", text)) <= LONG_CELL:
        return cell
    return cell.replace("<td", '<td class="long"', 1)


def methods_html(text: str) -> str:
    """The methods page's body: Markdown with its pipe tables (also those inside list items)
    rendered as HTML tables."""
    import mistune

    md = mistune.create_markdown(plugins=list(MARKDOWN_PLUGINS))
    md.renderer.register("table", _scrolling_table)  # type: ignore[union-attr]
    md.renderer.register("table_cell", _table_cell)  # type: ignore[union-attr]
    return str(md(text))


def write_methods(out: Path, footer: str = "") -> Path:
    """The methods page: docs/methods.md rendered, with a link back to the index and the
    provenance `footer` (analysis.reports.provenance)."""
    text = methods_markdown() or "# Methods\n\nSee docs/methods.md in the stalking-outcomes repository."
    body = methods_html(text)
    css = _env().get_template("style.css.j2").render()
    page = (
        _env()
        .get_template("methods.html.j2")
        .render(
            css=css,
            body=jinja2.utils.markupsafe.Markup(body),
            index=outputs.INDEX.relpath(),
            provenance=jinja2.utils.markupsafe.Markup(footer),
        )
    )
    return _write(outputs.METHODS.path(out), page)


def _standing_markdown(out: Path) -> list[str]:
    """The changes page's lines on funnel positions and rank intervals: the forces whose funnel
    position moved, by name, and how many rank intervals moved (the run's positions table)."""
    from analysis.stats import editions

    if not outputs.POSITION_CHANGES.path(out).exists():  # written by an older package version
        return []
    t = outputs.POSITION_CHANGES.load(out)
    if t.empty:
        return []
    year = t["financial_year"].iloc[0]
    funnel_moved = t[t["funnel_moved"].astype(bool)]
    ranks_moved = int(t["rank_moved"].astype(bool).sum())
    lines = ["", f"## Funnel positions and rank intervals, {year}", ""]
    lines.append(
        f"Each edition fitted on its own: {len(funnel_moved)} of {len(t)} forces changed funnel position "
        f"(random-effects limits) and {ranks_moved} changed rank interval "
        f"([{outputs.POSITION_CHANGES.pattern}]({outputs.POSITION_CHANGES.pattern}))."
    )
    for f in funnel_moved["force"]:
        lines += [f"- {f}: " + "; ".join(editions.position_lines(t, f))]
    return lines


def changes_markdown(out: Path, manifest: dict, synthetic: bool) -> str:
    """The changes page in Markdown, from the run's changes and nowcast tables: what moved since
    the store's previous edition (England and Wales, then each force with anything that moved)
    and England and Wales' years still maturing, with their projected final charge rates."""
    from analysis.reports import verdicts
    from analysis.stats import editions

    held = list(manifest.get("editions_held", []))
    edition = str(manifest.get("store_edition", "")) or "undated"
    earlier = [e for e in held if e < edition]
    before = earlier[-1] if earlier else None
    # a folder an older package version wrote may lack either table: say nothing of it then
    has_changes, has_nowcast = (o.path(out).exists() for o in (outputs.CHANGES, outputs.NOWCAST))
    table = outputs.CHANGES.load(out) if has_changes else pd.DataFrame(columns=["force"])
    lines = ["# What changed since the last edition", ""]
    if synthetic:
        lines += [f"**{data_source_label(True)}**", ""]
    if before is None or not has_changes:
        lines.append(editions.force_text(table, NATIONAL, edition, None))
    else:
        summary = editions.summary_text(table, before, edition, synthetic=False).splitlines()
        lines += [f"- {t.strip()}" if t.startswith("  ") else f"\n{t}\n" for t in summary]
        lines += _standing_markdown(out)
        moved = [f for f in forces.names() if (table["force"] == f).any()]
        if moved:
            lines += ["", "## By force", ""]
            for f in moved:
                lines += [f"### {f}", "", editions.force_text(table, f, edition, before), ""]
    if not has_nowcast:
        return "\n".join(lines) + "\n"
    lines += ["", "## Recent years still maturing (projections)", ""]
    now = outputs.NOWCAST.load(out)
    nat = now[now["force"] == NATIONAL].sort_values("financial_year")
    lines.append(verdicts.maturing(nat, "England and Wales"))
    if len(nat):
        lines += [
            "",
            "| Year | Charge rate as published | Expected final rate | 95% interval | Share of final charges published |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {r.financial_year} | {verdicts.pct(r.charge_rate_recorded)} | {verdicts.pct(r.charge_rate_expected)} "
            f"| {verdicts.pct(r.charge_rate_expected_low)} to {verdicts.pct(r.charge_rate_expected_high)} "
            f"| {verdicts.pct(r.share_published)} |"
            for r in nat.itertuples()
        ]
        lines += [
            "",
            f"Every force: [{outputs.NOWCAST.pattern}]({outputs.NOWCAST.pattern}); every change: "
            f"[{outputs.CHANGES.pattern}]({outputs.CHANGES.pattern}).",
        ]
    return "\n".join(lines) + "\n"


def write_changes(out: Path, manifest: dict, synthetic: bool, footer: str = "") -> Path:
    """The changes page (`changes_markdown` rendered), with a link back to the index and the
    provenance `footer`."""
    env = _env()
    page = env.get_template("methods.html.j2").render(
        title="What changed since the last edition",
        css=env.get_template("style.css.j2").render(),
        body=jinja2.utils.markupsafe.Markup(methods_html(changes_markdown(out, manifest, synthetic))),
        index=outputs.INDEX.relpath(),
        provenance=jinja2.utils.markupsafe.Markup(footer),
    )
    return _write(outputs.CHANGES_PAGE.path(out), page)


def write_index(out: Path, offence: str, synthetic: bool, manifest: dict) -> Path:
    """Write the index page (and the methods page and each force's CSV) from the tables and the
    run's manifest; return the index's path."""
    out = Path(out)
    heads = outputs.HEADLINES.load(out)
    year = heads["financial_year"].iloc[0]
    nb = manifest.get("notebooks", {})
    force_csvs(out)
    footer = provenance.of_manifest(manifest, synthetic).html()
    write_methods(out, footer)
    write_changes(out, manifest, synthetic, footer)
    nat = heads[heads["force"] == NATIONAL]
    national = str(nat["sentence"].iloc[0]).removeprefix(quote.DEMO_PREFIX) if len(nat) else ""
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
        rows=_force_rows(out, year, nb),
        funnel_limits=f"random-effects (τ²) limits in {year}",
        territorial_rule=rules.OUTSIDE_TERRITORIAL_RULE,
        notebooks=notebooks,
        figures=_figures(out),
        funnel_map=funnel_map(out, year, nb),
        tables=tables,
        citation=citation,
        provenance=footer,
        links={
            "methods": outputs.METHODS.relpath(),
            "changes": outputs.CHANGES_PAGE.relpath(),
            "manifest": outputs.MANIFEST.relpath(),
            "summary": outputs.RUN_SUMMARY.relpath(),
        },
    )
    return _write(outputs.INDEX.path(out), page)
