# Civil time for the meter's clock: UTC seconds <-> local date and hour, with
# the EU summer-time rule (last Sunday of March 01:00 UTC to last Sunday of
# October 01:00 UTC). MicroPython has no time zones; this is all it takes.

# zone -> standard offset from UTC in minutes, EU summer time or not
ZONES = {"CET": (60, True), "EET": (120, True), "WET": (0, True), "UTC": (0, False)}


def days_from_civil(y, m, d):
    """Days since 1970-01-01 of a proleptic Gregorian date."""
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def civil_from_days(z):
    """(y, m, d) of days since 1970-01-01."""
    z += 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + (3 if mp < 10 else -9)
    return y + (m <= 2), m, d


def _last_sunday(y, m):
    """Day of month of the last Sunday of month m (March or October)."""
    last = 31
    wd = (days_from_civil(y, m, last) + 3) % 7   # 0 = Monday
    return last - (wd + 1) % 7


def summer(t, zone="CET"):
    """Is UTC second t in EU summer time (for a zone that keeps it)?"""
    if not ZONES[zone][1]:
        return False
    y = civil_from_days(t // 86400)[0]
    start = days_from_civil(y, 3, _last_sunday(y, 3)) * 86400 + 3600
    end = days_from_civil(y, 10, _last_sunday(y, 10)) * 86400 + 3600
    return start <= t < end


def offset(t, zone="CET"):
    """Local time minus UTC at UTC second t, in seconds."""
    return (ZONES[zone][0] + (60 if summer(t, zone) else 0)) * 60


def local(t, zone="CET"):
    """UTC second t -> (y, mo, d, h, mi, s, dst)."""
    dst = summer(t, zone)
    lt = t + (ZONES[zone][0] + (60 if dst else 0)) * 60
    y, mo, d = civil_from_days(lt // 86400)
    s = lt % 86400
    return y, mo, d, s // 3600, s // 60 % 60, s % 60, dst


def to_utc(y, mo, d, h, mi, s, zone="CET", dst=None, near=None):
    """Local time -> UTC second. dst (the meter's summer-time flag) says
    which pass of autumn's repeated hour is meant; without it, the pass
    nearer to `near` (the live clock, UTC), else the first. Spring's missing
    hour is read as summer time."""
    lt = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s
    winter = lt - ZONES[zone][0] * 60          # if this is standard time
    summer_ = winter - 3600                    # if this is summer time
    if dst is not None:
        return summer_ if dst and ZONES[zone][1] else winter
    su, wi = summer(summer_, zone), not summer(winter, zone)
    if su and wi:                              # autumn: the hour comes twice
        return winter if near is not None and abs(winter - near) < abs(summer_ - near) else summer_
    return winter if wi else summer_


def meter_time(text, zone, dst, near):
    """A meter's time stamp ("2025-10-26T02:00:10[+01:00]") -> UTC second,
    or None."""
    p = parse_iso(text)
    if p is None:
        return None
    y, mo, d, h, mi, s, off = p
    if off is not None:
        return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - off * 60
    return to_utc(y, mo, d, h, mi, s, zone, dst, near)


def parse_iso(text):
    """"2021-09-27T09:47:15[+02:00]" -> (y, mo, d, h, mi, s, offset minutes
    or None); None if it is not such a time."""
    try:
        y, mo, d = int(text[0:4]), int(text[5:7]), int(text[8:10])
        h, mi, s = int(text[11:13]), int(text[14:16]), int(text[17:19])
    except (ValueError, IndexError, TypeError):
        return None
    off = None
    if len(text) >= 25 and text[19] in "+-":
        try:
            off = int(text[20:22]) * 60 + int(text[23:25])
        except ValueError:
            return None
        if text[19] == "-":
            off = -off
    return y, mo, d, h, mi, s, off


class Clock:
    """The meter's clock, live: its last time and our milliseconds then
    (`ms` from any counter that only goes up). It never goes backwards
    without a reason: a time behind the live clock by more than BEHIND_S is
    taken as stale (the live clock is used) unless the next stamp agrees
    with it, and then the setback is noted."""
    BEHIND_S = 60

    def __init__(self):
        self.t = None
        self.ms = 0
        self.behind = None      # seconds the last stamp was behind, not accepted yet

    def now(self, ms):
        return None if self.t is None else self.t + (ms - self.ms) // 1000

    def stamp(self, t, ms):
        """A meter stamp t (UTC s, None if the frame has none) at ms ->
        (UTC second to count the frame at or None, b): b 0 normally, N > 0
        when the stamp was N s behind and not taken (stale), -N when the
        clock was set back N s (the second stamp in a row that says so)."""
        now = self.now(ms)
        if t is None:
            return now, 0
        back = 0
        if now is not None and t < now - self.BEHIND_S:
            prev, self.behind = self.behind, now - t
            if prev is None or abs(prev - self.behind) > self.BEHIND_S:
                return now, self.behind
            back = t - now
        self.behind = None
        self.t, self.ms = t, ms
        return t, back
