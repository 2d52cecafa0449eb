"""The bench's goals table: each goal met, missed with its reason, or said to be unmeasured."""

from bench.goals import GOALS, Goal, verdict, verdicts

SALES = Goal(
    "sale_ratio", "sales vs bare", "ratio", "higher", {"sqlite": 0.40, "postgresql": 0.30}, missed_because="locks"
)
P95 = Goal("sale_steady_p95", "p95", "project", "lower", {"sqlite": 50.0}, unit=" ms")


def row(goal, project, ratio):
    return {"goal": goal, "project": project, "baseline": 1, "ratio": ratio}


def test_a_ratio_goal_is_met_at_its_limit_and_missed_below_it():
    assert verdict(SALES, [row("sale_ratio", 40, 0.40)], "sqlite")["state"] == "met"
    missed = verdict(SALES, [row("sale_ratio", 39, 0.39)], "sqlite")
    assert (missed["state"], missed["why"]) == ("NOT MET", "locks")


def test_each_database_has_its_own_limit():
    rows = [row("sale_ratio", 35, 0.35)]
    assert verdict(SALES, rows, "postgresql")["state"] == "met"
    assert verdict(SALES, rows, "sqlite")["state"] == "NOT MET"


def test_a_lower_is_better_goal_reads_the_projects_own_figure():
    assert verdict(P95, [row("sale_steady_p95", 49.0, 9.0)], "sqlite")["state"] == "met"
    assert verdict(P95, [row("sale_steady_p95", 51.0, 0.5)], "sqlite")["state"] == "NOT MET"


def test_the_worst_of_several_rows_counts():
    memory = next(goal for goal in GOALS if goal.key == "worker_memory")
    rows = [row("worker_memory", 100, 1.5), row("worker_memory", 300, 2.5), row("other", 1, 9.0)]
    line = verdict(memory, rows, "sqlite")
    assert (line["measured"], line["state"]) == (2.5, "NOT MET")


def test_an_unmeasured_goal_and_a_database_without_a_goal_say_so():
    assert verdict(P95, [row("sale_ratio", 40, 0.4)], "sqlite")["state"] == "not measured"
    assert verdict(P95, [row("sale_steady_p95", 10, 1.0)], "postgresql")["state"] == "no goal"
    assert (
        verdict(SALES, [{"goal": "sale_ratio", "project": 5, "baseline": 0, "ratio": None}], "sqlite")["state"]
        == "not measured"
    )


def test_every_goal_gets_a_line():
    lines = verdicts([], "postgresql")
    assert [line["goal"] for line in lines] == [goal.key for goal in GOALS]
