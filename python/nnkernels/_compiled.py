"""What the compiled step (nnkernels.plan) may stand in for: a building block whose
maths is that of a class the step computes, not redefined by a subclass."""


def redefined(obj, base, methods):
    """None when type(obj) keeps `base`'s `methods` (the ones that define its maths);
    else a sentence naming the first it redefines."""
    cls = type(obj)
    for name in methods:
        if getattr(cls, name) is not getattr(base, name):
            return f"{cls.__name__} redefines {base.__name__}.{name}"
    return None


def compiled_base(obj):
    """The nearest class in type(obj)'s MRO marked ``compiled = True``, or None."""
    return next((c for c in type(obj).__mro__ if c.__dict__.get("compiled")), None)


def why_not(obj, methods, what):
    """None when obj is computed by the compiled step; else why not."""
    base = compiled_base(obj)
    if base is None:
        return f"{what} {type(obj).__name__} has no compiled form"
    return redefined(obj, base, methods)
