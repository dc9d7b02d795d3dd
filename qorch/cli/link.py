"""``qorch link``: evaluate an optical link model, or sweep one of its parameters."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qorch.cli.output import emit_json, guarded, message, render

EPILOG = """\b
Examples:
  qorch link --preset telecom-fibre                 the generic 10 km C-band link
  qorch link --length-km 50 --scheme single-click --set bright_state_population=0.05
  qorch link --preset nv-centre --pairs 100 --json  time for 100 pairs, as JSON
  qorch link --preset telecom-fibre --purification dejmps --rounds 2
  qorch link --preset telecom-fibre --sweep length_km=1:100:25 --plot rate.png
  qorch link --plan plans/distributed-qft.yaml --link 0 --length-km 20
                                                     link 0 of a distributed plan, at 20 km
  qorch link --list-presets                          platforms and their sources

\b
Any LinkParams field can be set with --set KEY=VALUE (e.g. t2_s=0.5, cutoff_s=0.01,
multiplexed_modes=100, attempt_rate_hz=2e6, purification=none).
"""


def register(app: typer.Typer) -> None:
    """Add ``qorch link`` to ``app``."""
    app.command("link", epilog=EPILOG)(link)


@guarded
def link(
    preset: Annotated[
        str | None, typer.Option("--preset", help="Start from a platform preset.")
    ] = None,
    length_km: Annotated[float | None, typer.Option("--length-km", help="Fibre length.")] = None,
    scheme: Annotated[
        str | None, typer.Option("--scheme", help="direct, single-click or two-photon.")
    ] = None,
    attenuation_db_per_km: Annotated[
        float | None,
        typer.Option("--attenuation-db-per-km", help="Fibre loss (default 0.2, C-band)."),
    ] = None,
    attempt_rate_hz: Annotated[
        float | None, typer.Option("--attempt-rate-hz", help="Attempt clock rate.")
    ] = None,
    modes: Annotated[int | None, typer.Option("--modes", help="Multiplexed modes.")] = None,
    purification: Annotated[
        str | None, typer.Option("--purification", help="bbpssw or dejmps.")
    ] = None,
    rounds: Annotated[int | None, typer.Option("--rounds", help="Purification rounds.")] = None,
    settings: Annotated[
        list[str] | None,
        typer.Option("--set", metavar="KEY=VALUE", help="Any other link field (repeatable)."),
    ] = None,
    pairs: Annotated[
        int, typer.Option("--pairs", min=1, help="Pairs for the generation-time figures.")
    ] = 1,
    sweep: Annotated[
        str | None,
        typer.Option("--sweep", metavar="FIELD=START:STOP:POINTS", help="Sweep one field."),
    ] = None,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="With --sweep: write a PNG plot here.")
    ] = None,
    plan: Annotated[
        Path | None,
        typer.Option("--plan", metavar="FILE", help="Take the link from a distributed plan."),
    ] = None,
    link_index: Annotated[
        int | None,
        typer.Option(
            "--link",
            metavar="N",
            help="With --plan: the link's index, from 0 (not needed for a plan with one link).",
        ),
    ] = None,
    list_presets: Annotated[
        bool, typer.Option("--list-presets", help="List platform presets and exit.")
    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """Evaluate a heralded-entanglement link: loss, rate, fidelity, PLOB bound, key rate.

    Prints transmissivity, latency, success probability per attempt, Bell-pair rate,
    the time to make --pairs pairs (mean and 95th percentile), fidelity after the
    herald wait and after purification, the repeaterless (PLOB) bound and the
    asymptotic BBM92 key rate of the heralded pairs. With --plan and --link, start from
    that link of the plan; the other flags override its values.
    """
    from qorch.workloads.distributed.linktool import LinkQuery, link_report

    flags = {
        "length_km": length_km,
        "scheme": scheme,
        "attenuation_db_per_km": attenuation_db_per_km,
        "attempt_rate_hz": attempt_rate_hz,
        "multiplexed_modes": modes,
        "purification": purification,
        "purification_rounds": rounds,
    }
    query = LinkQuery(preset=preset, plan=plan, link_index=link_index, overrides=flags,
                      settings=settings or [], pairs=pairs, sweep=sweep, plot=plot,
                      list_presets=list_presets)  # fmt: skip
    report = link_report(query)
    if json_out:
        emit_json(report.data)
        for line in report.view.messages:
            message(line)
    else:
        render(report.view)
