"""Seeds and random generators: the one place a seed is drawn, and scikit-learn's
``random_state`` turned into a NumPy Generator."""
import secrets

import numpy as np

#: Drawn seeds lie in [0, SEED_RANGE): every seed the package draws for a run that
#: was given none (a fit, a recipe, the command line) comes from :func:`draw_seed`.
SEED_RANGE = 2 ** 63


def draw_seed():
    """A fresh random seed, an int in [0, SEED_RANGE), for a run given none (recorded
    in its history and checkpoints, so that it can be repeated)."""
    return secrets.randbelow(SEED_RANGE)


def random_generator(random_state):
    """A NumPy Generator from scikit-learn's random_state: an int, None, a Generator or
    a RandomState (which then draws the seed)."""
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
    return np.random.default_rng(random_state)
