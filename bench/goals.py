"""The speed goals `make bench` holds the project to, each beside what this run measured.

A figure row names the goal it answers with `"goal": key`. A goal reads either
the row's ratio to its baseline or the project's own figure; when several rows
answer one goal (the workers' peak memory of each job, say), the worst counts.
A goal missed prints why, in the words written down when it was last measured;
a goal this run did not measure (BENCH_ONLY, or no baseline) says so.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Goal:
    """One speed goal: what is read, the limit per database, and why it may be missed."""

    key: str
    title: str
    #: "ratio" reads the row's project/baseline ratio; "project" reads the project's own figure.
    reads: str
    #: "higher" when the figure must reach the limit, "lower" when it must stay under it.
    better: str
    #: The limit on each database ("sqlite", "postgresql"); a database not named has no goal.
    limits: dict
    unit: str = "×"
    #: Why the goal is not met yet, when it is not: what is known about where the time or memory goes.
    missed_because: str = ""


GOALS = (
    Goal(
        "sale_ratio",
        "counter sales per second vs the bare insert",
        "ratio",
        "higher",
        {"sqlite": 0.40, "postgresql": 0.30},
    ),
    Goal(
        "sale_steady_p95",
        "sale p95 at a steady 50 sales/s",
        "project",
        "lower",
        {"sqlite": 50.0, "postgresql": 50.0},
        unit=" ms",
    ),
    Goal(
        "catalog_ratio",
        "catalog of 500 products vs the bare render",
        "ratio",
        "higher",
        {"sqlite": 0.5, "postgresql": 0.5},
    ),
    Goal(
        "page_weight",
        "heaviest public page, first load at 360 px",
        "project",
        "lower",
        {"sqlite": 150.0, "postgresql": 150.0},
        unit=" KB",
    ),
    Goal("year_report_ratio", "yearly report vs the raw aggregate", "ratio", "lower", {"postgresql": 1.5}),
    Goal(
        "review_overview_ms",
        "review overview of 10,000 households",
        "project",
        "lower",
        {"sqlite": 300.0, "postgresql": 300.0},
        unit=" ms",
    ),
    Goal(
        "statements_s",
        "a month's 3,000 statements, wall time on this machine",
        "project",
        "lower",
        {"sqlite": 60.0, "postgresql": 60.0},
        unit=" s",
    ),
    Goal("worker_memory", "worker peak memory vs the baseline's", "ratio", "lower", {"sqlite": 2.0, "postgresql": 2.0}),
)


def figure_of(goal: Goal, rows: list[dict]) -> float | None:
    """The figure this run gives the goal: the worst of the rows that answer it, or None."""
    values = []
    for row in rows:
        if row.get("goal") != goal.key:
            continue
        value = row["ratio"] if goal.reads == "ratio" else row["project"]
        if value is not None:
            values.append(value)
    if not values:
        return None
    return min(values) if goal.better == "higher" else max(values)


def verdict(goal: Goal, rows: list[dict], database: str) -> dict:
    """One goal's line: its limit on this database, the measured figure, met or not, and why not."""
    limit = goal.limits.get(database)
    measured = figure_of(goal, rows)
    if limit is None:
        state, why = "no goal", f"the goal is set for {', '.join(goal.limits)} only"
    elif measured is None:
        state, why = "not measured", "this run did not measure it (BENCH_ONLY, or no baseline to compare with)"
    elif (measured >= limit) if goal.better == "higher" else (measured <= limit):
        state, why = "met", ""
    else:
        state, why = "NOT MET", goal.missed_because or "no reason recorded yet"
    return {"goal": goal.key, "title": goal.title, "limit": limit, "measured": measured, "state": state, "why": why}


def verdicts(rows: list[dict], database: str) -> list[dict]:
    """Every goal's line for this run."""
    return [verdict(goal, rows, database) for goal in GOALS]


def print_verdicts(lines: list[dict]) -> None:
    """The goals table: goal, limit, measured, met or not, and the reason for each one missed."""
    units = {goal.key: goal for goal in GOALS}
    width = max(len(line["title"]) for line in lines)
    print(f"\n{'goal':<{width}}  {'limit':>10}  {'measured':>10}  state")
    for line in lines:
        goal = units[line["goal"]]
        sign = "≥" if goal.better == "higher" else "≤"
        limit = "" if line["limit"] is None else f"{sign}{line['limit']:g}{goal.unit}"
        measured = "" if line["measured"] is None else f"{line['measured']:.2f}{goal.unit}"
        print(f"{line['title']:<{width}}  {limit:>10}  {measured:>10}  {line['state']}")
        if line["why"] and line["state"] == "NOT MET":
            print(f"{'':<{width}}    why: {line['why']}")
