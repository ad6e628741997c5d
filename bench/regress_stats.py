"""bench/regress.py's verdict on one benchmark: the geometric mean of the pairs' ratios
NEW / BASE, its 95 % Student's t interval, and judge(); and the median of the table."""
import math

# Two-sided 95 % quantiles of Student's t, by degrees of freedom.
T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
        9: 2.262, 10: 2.228, 12: 2.179, 15: 2.131, 20: 2.086, 30: 2.042}


def _t975(df):
    keys = [k for k in sorted(T975) if k <= df]
    return T975[keys[-1]] if df <= 30 else 1.96


def _stats(base, new):
    """Geometric mean ratio new/base over pairs and its 95 % t interval."""
    logs = [math.log(n / b) for b, n in zip(base, new)]
    n = len(logs)
    mean = sum(logs) / n
    if n < 2:
        return math.exp(mean), 0.0, float("inf")
    sd = math.sqrt(sum((v - mean) ** 2 for v in logs) / (n - 1))
    half = _t975(n - 1) * sd / math.sqrt(n)
    return math.exp(mean), math.exp(mean - half), math.exp(mean + half)


def judge(base, new, threshold):
    """(ratio, CI low, CI high, verdict) of one benchmark's per-pair times.

    verdict: "SLOWER" when even the low end of the 95 % interval of NEW/BASE is above
    1 + threshold; "faster" when the high end is below 1 / (1 + threshold); "noisy"
    when a slowdown beyond the threshold can be neither shown nor ruled out; "" else.
    """
    if len(base) != len(new) or len(base) < 2:
        raise ValueError(f"judge: need two or more pairs; got {len(base)} and {len(new)}")
    if min(base) <= 0 or min(new) <= 0:
        raise ValueError("judge: times must be positive")
    limit = 1 + threshold
    ratio, low, high = _stats(base, new)
    if low > limit:
        return ratio, low, high, "SLOWER"
    if high < 1 / limit:
        return ratio, low, high, "faster"
    if high > limit and ratio > 1:
        return ratio, low, high, "noisy"
    return ratio, low, high, ""


def median(values):
    values = sorted(values)
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2
