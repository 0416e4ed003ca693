"""A table for the terminal that fits the console's width without cutting a cell."""

from __future__ import annotations

from collections.abc import Iterator

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderableType
from rich.table import Table
from rich.text import Text

WORD_WIDTH = 16  # text columns are as wide as their longest word, up to this
COMFORT_WIDTH = 16  # text wraps down to this width (or to COMFORT_LINES lines) before
COMFORT_LINES = 4  # numbers take two lines, or spare columns are listed under the table
GAP = 2  # the space between two columns

Cell = str | tuple[str, ...]  # a number cell may be parts, each kept whole on a line


def markup(text: str, style: str = "") -> Text:
    """Rich markup as text, with no emoji codes: a name such as ``:thumbs_up:`` from the data
    stays as written (Text.from_markup would replace it, whatever the console says)."""
    return Text.from_markup(text, style=style, emoji=False)


class Grid:
    """A table that fits the console without cutting a cell; Rich's own squeezing would cut
    numbers short.

    A number column is never narrower than its widest number (a cell given as parts, such as
    ``("65.4%", "(57)")``, may put each part on a line of its own); text wraps at spaces in
    columns no narrower than its longest word (up to ``WORD_WIDTH``). When the columns do not
    all fit at a comfortable width, the ``move`` columns are listed under the table, one line
    per row after the row's text cells (``A → B: value``), and the ``drop`` columns are left
    out. The title goes above, on lines of its own.

    The title, the headers and the text cells are Rich markup (without emoji codes): escape
    what comes from the data."""

    def __init__(self, title: str | None, headers: tuple[str, ...], numbers: frozenset[int],
                 move: tuple[int, ...] = (), drop: tuple[int, ...] = ()) -> None:
        self.title = title or None
        self.headers = [markup(header) for header in headers]
        self.numbers = numbers
        self.spare = [*move, *drop]
        self.drop = frozenset(drop)
        self.rows: list[tuple[tuple[str, ...] | Text, ...]] = []

    def add_row(self, *cells: Cell) -> None:
        self.rows.append(tuple(
            (cell if isinstance(cell, tuple) else (cell,)) if i in self.numbers
            else markup(cell) for i, cell in enumerate(cells)))

    def _bounds(self, i: int) -> tuple[int, int, int]:
        """The natural, the comfortable and the least width of column ``i``.

        Numbers are comfortable on one line (their header may wrap); text when it holds its
        longest cell in ``COMFORT_LINES`` lines, or is ``COMFORT_WIDTH`` wide."""
        head = self.headers[i].plain
        head_word = max((cell_len(w) for w in head.split()), default=0)
        if i in self.numbers:
            parts = [row[i] for row in self.rows]
            widest = max([1, head_word, *(cell_len(" ".join(p)) for p in parts)])
            least = max([1, head_word, *(cell_len(x) for p in parts for x in p)])
            return max(widest, cell_len(head)), widest, least
        texts = [row[i].plain for row in self.rows]
        natural = max([1, cell_len(head), *(cell_len(t) for t in texts)])
        word = max([head_word, *(cell_len(w) for t in texts for w in t.split())])
        least = max(1, min(word, WORD_WIDTH))
        lines = -(-natural // COMFORT_LINES)
        return natural, max(least, min(natural, max(COMFORT_WIDTH, lines))), least

    def widths(self, width: int) -> dict[int, int]:
        """The columns shown in a table ``width`` wide, and the width of each."""
        bounds = [self._bounds(i) for i in range(len(self.headers))]
        natural, comfortable, least = (dict(enumerate(b)) for b in zip(*bounds, strict=True))
        # Rather than squeeze a column below its comfortable width, list or leave out spares.
        shown, spare = list(natural), list(self.spare)
        while spare and _total({i: comfortable[i] for i in shown}) > width:
            shown.remove(spare.pop(0))
        widths = {i: natural[i] for i in shown}
        texts = [i for i in shown if i not in self.numbers]
        numbers = [i for i in shown if i in self.numbers]
        # Text wraps first, down to a comfortable width; then the headers of numbers wrap,
        # then numbers take two lines; then text wraps to its longest word, and last (on
        # very narrow consoles) within words.
        _shrink(widths, width, {i: comfortable[i] for i in texts})
        _shrink(widths, width, {i: comfortable[i] for i in numbers})
        _shrink(widths, width, {i: least[i] for i in numbers})
        _shrink(widths, width, {i: least[i] for i in texts})
        _shrink(widths, width, dict.fromkeys(texts, 1))
        return widths

    def __rich_console__(self, console: Console,
                         options: ConsoleOptions) -> Iterator[RenderableType]:
        widths = self.widths(options.max_width)
        if self.title:
            yield markup(self.title, style="bold")
        grid = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
        for i, w in widths.items():
            grid.add_column(self.headers[i], justify="right" if i in self.numbers else "left",
                            width=w, overflow="fold")
        for row in self.rows:
            grid.add_row(*(_lines(row[i], w) if i in self.numbers else row[i]
                           for i, w in widths.items()))
        yield grid
        keys = [i for i in widths if i not in self.numbers]
        for i in (i for i in self.spare if i not in widths and i not in self.drop):
            yield Text.assemble(self.headers[i], style="bold")
            yield self._listed(i, keys)

    def _listed(self, i: int, keys: list[int]) -> Table:
        """Column ``i`` as a list under the table, each value after its row's ``keys``:
        a number on the right, kept on one line; text after a colon."""
        listed = Table.grid(padding=(0, 1))
        listed.add_column(width=1)
        listed.add_column(overflow="fold")
        if i in self.numbers:
            listed.add_column(justify="right", no_wrap=True)
        for row in self.rows:
            key = Text(" → ").join(row[k] for k in keys)
            if i in self.numbers:
                listed.add_row("•", key, Text(" ".join(row[i])))
            elif row[i].plain:
                listed.add_row("•", Text.assemble(key, ": ", row[i]))
        return listed


def _lines(parts: tuple[str, ...], width: int) -> Text:
    """Parts of a number cell, as many on each line as ``width`` holds."""
    lines: list[str] = []
    for part in parts:
        if lines and cell_len(lines[-1]) + 1 + cell_len(part) <= width:
            lines[-1] += " " + part
        else:
            lines.append(part)
    return Text("\n".join(lines))


def _total(widths: dict[int, int]) -> int:
    return sum(widths.values()) + GAP * (len(widths) - 1)


def _shrink(widths: dict[int, int], width: int, floors: dict[int, int]) -> None:
    """Narrow the widest of the columns in ``floors``, one step at a time and none below
    its floor, until the table is ``width`` wide."""
    for _ in range(_total(widths) - width):
        wide = [i for i, floor in floors.items() if widths[i] > floor]
        if not wide:
            return
        widths[max(wide, key=lambda i: widths[i])] -= 1
