"""`network_pool`: outer iterations cycle through a pool of recorded networks."""

import numpy as np
import pytest

from udd_keras.data import load_dataset
from udd_keras.distillation import DistillationInterrupted, DistillConfig, Distiller

# udd with mined regions and CFC: every part of the image step replayed.
MINED = dict(method="udd", formation="tiles+regions")
TINY = dict(width=8, net_images=20, real_batch=16, precision="float32", log_every=1)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def _config(**settings):
    settings = {"iterations": 3, "inner_steps": 2, "ipc": 1, **TINY, **settings}
    return DistillConfig("digits", **settings)


def _run(digits, out_dir=None, callbacks=(), resume=False, **settings):
    distiller = Distiller(
        _config(**settings),
        dataset=digits,
        out_dir=out_dir,
        callbacks=callbacks,
        resume=resume,
    )
    return distiller, distiller.run()


def _per_iteration(result, name):
    iterations = sorted({m["iteration"] for m in result.metrics})
    return [
        [m[name] for m in result.metrics if m["iteration"] == i] for i in iterations
    ]


def _assert_same_run(a, b):
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.boxes, b.boxes)
    for name in ("matching_loss", "cfc_loss", "network_loss"):
        assert [m[name] for m in a.metrics] == [m[name] for m in b.metrics], name


@pytest.fixture(scope="module")
def pooled(digits, tmp_path_factory):
    """A 3-iteration run on a pool of 2, kept in its run directory."""
    out = tmp_path_factory.mktemp("pooled") / "run"
    distiller, result = _run(digits, out_dir=out, network_pool=2, **MINED)
    return out, distiller, result


def test_iterations_beyond_the_pool_train_against_its_networks(digits, pooled):
    _, _, result = pooled
    losses = _per_iteration(result, "network_loss")
    assert losses[2] == losses[0]
    assert losses[1] != losses[0]
    unpooled = _per_iteration(_run(digits, **MINED)[1], "network_loss")
    assert unpooled[:2] == losses[:2]
    assert unpooled[2] != losses[2]


def test_only_the_pool_s_real_side_is_computed(pooled):
    out, distiller, _ = pooled
    assert distiller.trajectory.path.parent == out / "trajectory"
    # Iterations 0 and 1 record their 2 steps; iteration 2 reads iteration 0's
    # (its second step's entry was read with the first, to load the network).
    assert (distiller.trajectory.misses, distiller.trajectory.hits) == (4, 2)
    assert len(list(distiller.trajectory.path.glob("step-*.npz"))) == 4


def test_a_replayed_pool_ends_with_the_images_computed_inline(digits, pooled):
    inline = Distiller(_config(network_pool=2, **MINED), dataset=digits)
    inline.trajectory = None  # every step computed, the real side included
    _assert_same_run(inline.run(), pooled[2])


def test_a_pool_as_large_as_the_run_changes_nothing(digits):
    pool = _run(digits, iterations=2, network_pool=2, **MINED)[1]
    _assert_same_run(_run(digits, iterations=2, **MINED)[1], pool)


def test_without_an_output_directory_the_pool_is_temporary(digits, pooled):
    distiller = Distiller(_config(network_pool=2, **MINED), dataset=digits)
    folder = distiller.trajectory.path.parent
    assert folder.exists()
    _assert_same_run(distiller.run(), pooled[2])
    assert not folder.exists()


def test_a_pooled_run_resumes_exactly(digits, tmp_path, pooled, interrupt_at):
    out = tmp_path / "run"
    with pytest.raises(DistillationInterrupted):
        _run(
            digits,
            out_dir=out,
            callbacks=[interrupt_at(5)],
            network_pool=2,
            checkpoint_every=1,
            **MINED,
        )
    resumed = _run(digits, out_dir=out, resume=True, network_pool=2, **MINED)[1]
    np.testing.assert_array_equal(pooled[2].images, resumed.images)
    np.testing.assert_array_equal(pooled[2].boxes, resumed.boxes)


@pytest.mark.parametrize("pool, used", [(3, [0, 1, 2, 0, 1]), (None, [0, 1, 2, 3, 4])])
def test_pooled_iteration_cycles(digits, tmp_path, pool, used):
    config = _config(iterations=5, network_pool=pool, method="idc")
    distiller = Distiller(config, dataset=digits, out_dir=tmp_path)
    try:
        assert [distiller.pooled_iteration(i) for i in range(5)] == used
    finally:
        distiller._release_run_dir()
