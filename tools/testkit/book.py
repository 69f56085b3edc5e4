"""A dongle's energy accounts after a year, as its own code keeps them:
what the tests and make bench give a virtual dongle to measure a year-old
board's heap by."""
import sys

from .mpy import ROOT

for _path in (ROOT / "lib", ROOT / "firmware"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))


def year_of_energy(path, end, last_import_wh):
    """energy.json as the dongle's own code (dongle.energy, energyview)
    writes it after a year of a meter's hourly registers, four readings an
    hour, up to UTC second `end`, the import register then at
    `last_import_wh`: twelve closed months, two months of days, a day of
    hours."""
    from dongle import energy, energyview
    book = energy.Energy("CET", 3)
    t = end - 365 * 86400
    steps = []
    while t < end:
        steps.append(t)
        t += 900
    imp = last_import_wh - sum(300 + t // 3600 % 7 * 40 for t in steps)
    for t in steps:
        imp += 300 + t // 3600 % 7 * 40
        book.sample(t, 1200000, 0, imp, 0)
    energyview.write(book, str(path))
    return book

