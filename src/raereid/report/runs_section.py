"""The report page's "Runs, commands and configs" section: the config keys that differ, then one card per run."""

from __future__ import annotations

import yaml

from raereid.config.schema import flat_values
from raereid.report.markup import e, run_anchor, swatch
from raereid.report.runs import Run


def _config_differences(runs: list[Run]) -> str:
    configured = [r for r in runs if r.config]
    if len(configured) < 2:
        return ""
    flat = [flat_values(r.config) for r in configured]
    keys = [k for k in flat[0] if any(f.get(k) != flat[0].get(k) for f in flat[1:])]
    keys += [k for f in flat[1:] for k in f if k not in flat[0] and k not in keys]
    if not keys:
        return '<p class="note">The runs have the same config.</p>'
    head = "".join(f'<th class="text">{e(r.name)}</th>' for r in configured)
    body = ""
    for key in keys:
        cells = "".join(f'<td class="text">{e(str(f[key]) or "(empty)") if key in f else "&ndash;"}</td>' for f in flat)
        body += f'<tr><td class="text"><code>{e(key)}</code></td>{cells}</tr>'
    return ('<h3>Config keys that differ between runs</h3><table id="config-differences"><thead><tr>'
            f'<th class="text">key</th>{head}</tr></thead><tbody>{body}</tbody></table>')


def _run(run: Run, colour: str) -> str:
    command = (f"<pre>{e(run.command)}</pre>" if run.command
               else '<span class="note">not recorded (command.txt is missing: the run predates it)</span>')
    rows = [
        ("folder", f"<code>{e(str(run.path))}</code>"),
        ("variant", e(run.variant)),
        ("learner", e(run.learner) + (f" (the paper's Tables II / III row &ldquo;{e(run.paper_row)}&rdquo;)"
                                      if run.paper_row else "")),
        ("checkpoint",
         f"<code>{e(str(run.checkpoint))}</code> (iteration {run.iteration})" if run.checkpoint else "none"),
        ("command", command),
    ]
    if run.notes:
        rows.append(("notes", "<br>".join(e(n) for n in run.notes)))
    if run.warnings:
        shown = "".join(f"<li>{e(w)}</li>" for w in run.warnings[:20])
        more = f"<li>... and {len(run.warnings) - 20} more in train.log</li>" if len(run.warnings) > 20 else ""
        rows.append(("warnings", f'<ul class="warn">{shown}{more}</ul>'))
    config = (f"<details><summary>config (from {e(run.checkpoint.name)})</summary>"
              f"<pre>{e(yaml.safe_dump(run.config, sort_keys=False))}</pre></details>"
              if run.config and run.checkpoint else '<p class="note">config: not available (no checkpoint)</p>')
    items = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows)
    return (f'<article id="{run_anchor(run)}"><h3>{swatch(colour)}{e(run.name)}</h3>'
            f"<dl>{items}</dl>{config}</article>")


def runs_section(runs: list[Run], colours: dict[str, str]) -> str:
    """The section: what differs between the runs' configs, then each run's folder, command, notes and config."""
    return ('<section id="runs"><h2>Runs, commands and configs</h2>'
            + _config_differences(runs)
            + "".join(_run(run, colours[run.name]) for run in runs)
            + "</section>")
