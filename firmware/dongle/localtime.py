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


def to_utc(y, mo, d, h, mi, s, zone="CET", dst=None, after=None):
    """Local time -> UTC second. dst (the meter's summer-time flag) says
    which pass of autumn's repeated hour is meant; without it, the first
    pass unless the previous reading (`after`, UTC) is already past it.
    Spring's missing hour is read as summer time."""
    lt = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s
    winter = lt - ZONES[zone][0] * 60          # if this is standard time
    summer_ = winter - 3600                    # if this is summer time
    if dst is not None:
        return summer_ if dst and ZONES[zone][1] else winter
    su, wi = summer(summer_, zone), not summer(winter, zone)
    if su and wi:                              # autumn: the hour comes twice
        return winter if after is not None and summer_ < after else summer_
    return winter if wi else summer_


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
