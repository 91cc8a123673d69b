"""One module derives every seed."""

from udd_keras.seeding import derive_seed, reinitialization_seed


def test_derived_seeds_are_deterministic_distinct_and_in_range():
    seeds = [derive_seed(7, index) for index in range(50)]
    assert seeds == [derive_seed(7, index) for index in range(50)]
    assert len(set(seeds)) == 50
    assert all(0 <= seed < 2**31 for seed in seeds)
    assert derive_seed(None, 3) is None
    assert derive_seed(8, 0) != derive_seed(7, 0)


def test_reinitialization_seed_is_the_formula_runs_were_written_with():
    # Changing it would change every distillation (refactor_equivalence.py).
    assert reinitialization_seed(3, 2, 5) == 3 * 1009 + 2 * 7 + 5
