"""What the compiled step (nnkernels.plan) may stand in for: a building block whose
maths is that of a class the step computes, not redefined by a subclass. The answer
depends on the class alone, so it is worked out once per class."""
from functools import lru_cache


def redefined(cls, base, methods):
    """None when `cls` keeps `base`'s `methods` (the ones that define its maths); else
    a sentence naming the first it redefines."""
    for name in methods:
        if getattr(cls, name) is not getattr(base, name):
            return f"{cls.__name__} redefines {base.__name__}.{name}"
    return None


def compiled_base(cls):
    """The nearest class in cls's MRO marked ``compiled = True``, or None."""
    return next((c for c in cls.__mro__ if c.__dict__.get("compiled")), None)


@lru_cache(maxsize=256)
def _why_not(cls, methods, what):
    base = compiled_base(cls)
    if base is None:
        return f"{what} {cls.__name__} has no compiled form"
    return redefined(cls, base, methods)


def why_not(obj, methods, what):
    """None when obj is computed by the compiled step; else why not."""
    return _why_not(type(obj), methods, what)
