"""The campaign's progress chart: its points, scale and labels."""

from shop.web.progress_chart import BOTTOM, HEIGHT, LEFT, PHONE_WIDTH, RIGHT, TOP, WIDTH, nice_top, progress_chart


def test_the_scale_tops_at_a_round_number_of_at_least_ten():
    assert [nice_top(n) for n in (0, 3, 10, 11, 20, 21, 50, 51, 999)] == [10, 10, 10, 20, 20, 50, 50, 100, 1000]


def test_points_stand_on_the_baseline_at_zero_and_reach_the_top_at_the_scales_top():
    labels = [f"2026-W{n:02d}" for n in range(40, 52)]
    chart = progress_chart(labels, [0] * 11 + [20], [5] * 12)
    baseline = HEIGHT - BOTTOM
    assert (chart.opened[0].x, chart.opened[0].y) == (LEFT, baseline)
    assert (chart.opened[-1].x, chart.opened[-1].y, chart.opened[-1].value) == (WIDTH - RIGHT, TOP, 20)
    assert [n for n, _ in chart.ticks] == [0, 10, 20]
    # 5 of a scale of 20 is a quarter of the way up, the same for every week.
    assert {p.y for p in chart.done} == {baseline - round((baseline - TOP) / 4)}
    assert chart.labels[-1][1] == "2026-W51"  # the last week is always named
    assert len(chart.labels) <= 8


def test_a_phones_chart_is_narrower_and_names_fewer_weeks():
    labels = [f"2026-W{n:02d}" for n in range(40, 52)]
    chart = progress_chart(labels, [1] * 12, [1] * 12, phone=True)
    assert chart.width == PHONE_WIDTH and chart.right == PHONE_WIDTH - RIGHT
    assert len(chart.labels) <= 4 and chart.labels[-1][1] == "2026-W51"


def test_a_single_week_is_drawn_in_the_middle():
    chart = progress_chart(["2026-W49"], [3], [1])
    assert chart.opened[0].x == (LEFT + WIDTH - RIGHT) // 2
    assert chart.opened_points.count(",") == 1
