"""Columns that fit the terminal (wsltui/tui/render.py): they shrink by priority, the verdicts
last, grow into free width, and a symptom is shortened by words, never cut mid-word."""

from __future__ import annotations

from wsltui.tui.render import fit_widths, fit_words


def test_a_symptom_is_shortened_by_words_never_cut_mid_word():
    assert fit_words("✗ no route to host", 20) == "✗ no route to host"
    assert fit_words("✗ no route to host", 12) == "✗ no route"  # its shorter words
    assert fit_words("✗ network unreachable", 15) == "✗ net unreach."
    assert fit_words("? windows-firewall extra words", 20) == "? windows-firewall…"  # whole words only
    for width in range(4, 20):
        text = fit_words("✗ no route to host", width)
        words = text.rstrip("…").split(" ")
        assert all(w in ("✗", "no", "route", "to", "host") for w in words), text


def test_columns_grow_into_free_width_up_to_their_longest_cell():
    # A rule name of 60 characters, preferred 40: on a wide terminal it is shown whole.
    assert fit_widths([6, 60, 8], [6, 40, 8], [3, 10, 3], [9, 8, 1], available=200) == [6, 60, 8]
    assert fit_widths([6, 60, 8], [6, 40, 8], [3, 10, 3], [9, 8, 1], available=70) == [6, 50, 8]


def test_the_least_important_columns_give_way_first_and_the_verdicts_last():
    natural = [5, 7, 4, 13, 18]  # proto, address, port and two verdicts
    priority = [1, 2, 3, 10, 10]
    minimum = [3, 4, 4, 13, 10]
    widths = fit_widths(natural, natural, minimum, priority, available=60)
    assert widths == natural  # all fit (with a gap of 2 each)
    widths = fit_widths(natural, natural, minimum, priority, available=50)
    assert widths[3:] == [13, 18] and widths[0] == 0  # proto went, the verdicts are whole
    widths = fit_widths(natural, natural, minimum, priority, available=30)
    assert widths[:3] == [0, 0, 0] and widths[3] == 13 and 10 <= widths[4] < 18  # verdicts shrink last
    assert sum(w + 2 for w in widths if w) <= 30
